//! Cassandra in end-to-end tests: CQL through the Python cassandra-driver (a real client nobody
//! here wrote, from `hack/install-prereqs`' virtualenv, see [`crate::devenv::python`]) and checks
//! of the ring facts a Pilot reports.

use std::process::Command;

use serde_json::Value;

use crate::devenv::{python, strings};

/// The CQL script [`cql`] runs: `<mode> <dc> <keyspace> <rf> <rows> <ip>…`.
///
/// Modes: `keyspace` (create the keyspace with NetworkTopologyStrategy `{dc: rf}` and table
/// `kv`), `write` (that, then `rows` rows `k → value-k` at ALL), `alter` (the keyspace's RF to
/// `rf`), `system-rf` (the replicated system keyspaces to `rf`), `drop`, `read` (every row at ALL
/// through each address in turn, prints `READ <n> rows at ALL through <ip>`), `ping` (prints
/// `PING <ip> <release_version>` for each address). Prints `CQL OK` at the end.
pub const CQL_SCRIPT: &str = r#"
import sys
from cassandra import ConsistencyLevel
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement

mode, dc, ks, rf, rows, ips = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:]

def connect(ip):
    profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([ip]), request_timeout=60)
    cluster = Cluster([ip], execution_profiles={EXEC_PROFILE_DEFAULT: profile}, connect_timeout=30)
    return cluster, cluster.connect()

if mode == "keyspace" or mode == "write":
    cluster, s = connect(ips[0])
    s.execute("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
              "{'class': 'NetworkTopologyStrategy', '%s': %d}" % (ks, dc, rf))
    s.execute("CREATE TABLE IF NOT EXISTS %s.kv (k int PRIMARY KEY, v text)" % ks)
    assert cluster.control_connection.wait_for_schema_agreement(wait_time=60), "no schema agreement"
    print("KEYSPACE", ks, "RF", rf, "in", dc, flush=True)
    if mode == "write":
        insert = s.prepare("INSERT INTO %s.kv (k, v) VALUES (?, ?)" % ks)
        insert.consistency_level = ConsistencyLevel.ALL
        for k in range(rows):
            s.execute(insert, (k, "value-%d" % k))
        print("WROTE", rows, "rows at ALL through", ips[0], flush=True)
    cluster.shutdown()
elif mode == "alter":
    cluster, s = connect(ips[0])
    s.execute("ALTER KEYSPACE %s WITH replication = "
              "{'class': 'NetworkTopologyStrategy', '%s': %d}" % (ks, dc, rf))
    assert cluster.control_connection.wait_for_schema_agreement(wait_time=60), "no schema agreement"
    print("ALTERED", ks, "RF", rf, "in", dc, flush=True)
    cluster.shutdown()
elif mode == "system-rf":
    # What an operator does before shrinking a ring: the replicated system keyspaces follow the
    # datacenter's RF (system_auth is NetworkTopologyStrategy-capable; the others too).
    cluster, s = connect(ips[0])
    for name in ("system_auth", "system_distributed", "system_traces"):
        s.execute("ALTER KEYSPACE %s WITH replication = "
                  "{'class': 'NetworkTopologyStrategy', '%s': %d}" % (name, dc, rf))
    assert cluster.control_connection.wait_for_schema_agreement(wait_time=60), "no schema agreement"
    print("SYSTEM KEYSPACES RF", rf, flush=True)
    cluster.shutdown()
elif mode == "drop":
    cluster, s = connect(ips[0])
    s.execute("DROP KEYSPACE IF EXISTS %s" % ks)
    assert cluster.control_connection.wait_for_schema_agreement(wait_time=60), "no schema agreement"
    print("DROPPED", ks, flush=True)
    cluster.shutdown()
elif mode == "read":
    for ip in ips:
        cluster, s = connect(ip)
        select = s.prepare("SELECT v FROM %s.kv WHERE k = ?" % ks)
        select.consistency_level = ConsistencyLevel.ALL
        found = 0
        for k in range(rows):
            row = s.execute(select, (k,)).one()
            assert row is not None and row.v == "value-%d" % k, (ip, k, row)
            found += 1
        print("READ", found, "rows at ALL through", ip, flush=True)
        cluster.shutdown()
elif mode == "ping":
    for ip in ips:
        cluster, s = connect(ip)
        print("PING", ip, s.execute("SELECT release_version FROM system.local").one().release_version, flush=True)
        cluster.shutdown()
print("CQL OK", flush=True)
"#;

/// Runs [`CQL_SCRIPT`] in `mode` against keyspace `ks` (RF `rf`, `rows` rows, datacenter `dc`)
/// through `ips`; prints and returns its stdout. Panics with its output unless it prints
/// `CQL OK`.
pub fn cql(mode: &str, dc: &str, ks: &str, rf: u32, rows: u32, ips: &[String]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(CQL_SCRIPT)
        .args([mode, dc, ks, &rf.to_string(), &rows.to_string()])
        .args(ips)
        .output()
        .expect("run the CQL script");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains("CQL OK"),
        "CQL {mode} {ks} through {ips:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{stdout}");
    stdout
}

/// Whether a peer as Cassandra lists it (`10.244.0.12`, `/10.244.0.12:7000`) is `ip`. Pure.
pub fn same_host(peer: &str, ip: &str) -> bool {
    let p = peer.trim_start_matches('/');
    let host = p
        .rsplit_once(':')
        .filter(|(h, port)| !h.is_empty() && port.chars().all(|c| c.is_ascii_digit()))
        .map_or(p, |(h, _)| h);
    host == ip
}

/// The kinds of peers a Pilot's `status.cassandra.peers` lists.
pub const PEER_KINDS: [&str; 5] = ["live", "unreachable", "joining", "leaving", "moving"];

/// The peers of any kind in a Pilot's `status.cassandra.peers` that are `ip`. Pure.
pub fn listed_as_peer(peers: &Value, ip: &str) -> Vec<String> {
    PEER_KINDS
        .iter()
        .flat_map(|k| strings(&peers[*k]))
        .filter(|peer| same_host(peer, ip))
        .collect()
}

/// Every fact a healthy member of a ring of `others.len() + 1` reports in its Pilot's `status`:
/// `version`, a host id, `NORMAL`, the other nodes' addresses among its live peers. Returns what
/// is missing or wrong. Pure.
pub fn ring_member_problems(status: &Value, version: &str, others: &[String]) -> Vec<String> {
    let c = &status["cassandra"];
    let mut problems = Vec::new();
    if c["version"].as_str() != Some(version) {
        problems.push(format!("version {} (want {version})", c["version"]));
    }
    if c["hostId"].as_str().is_none_or(str::is_empty) {
        problems.push("no hostId".to_owned());
    }
    if c["operationMode"].as_str() != Some("NORMAL") {
        problems.push(format!("operationMode {}", c["operationMode"]));
    }
    let live = strings(&c["peers"]["live"]);
    for o in others {
        if !live.iter().any(|l| same_host(l, o)) {
            problems.push(format!("{o} not among live peers {live:?}"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn peers_are_matched_by_address() {
        assert!(same_host("10.244.0.12", "10.244.0.12"));
        assert!(same_host("/10.244.0.12:7000", "10.244.0.12"));
        assert!(same_host("10.244.0.12:7000", "10.244.0.12"));
        assert!(!same_host("10.244.0.121", "10.244.0.12"));
        assert!(!same_host("/10.244.0.13:7000", "10.244.0.12"));
    }

    #[test]
    fn listed_peers_of_any_kind() {
        let peers = json!({"live": ["10.244.0.10"], "leaving": ["/10.244.0.12:7000"]});
        assert_eq!(
            listed_as_peer(&peers, "10.244.0.12"),
            vec!["/10.244.0.12:7000"]
        );
        assert!(listed_as_peer(&peers, "10.244.0.11").is_empty());
    }

    #[test]
    fn ring_member_facts_are_checked() {
        let others = vec!["10.244.0.11".to_owned(), "10.244.0.12".to_owned()];
        let good = json!({"cassandra": {
            "version": "5.0.8", "hostId": "7e1dbd27-2b8e-4b07-a656-6926346c4acf",
            "operationMode": "NORMAL",
            "peers": {"live": ["10.244.0.10", "/10.244.0.11:7000", "10.244.0.12"]}}});
        assert_eq!(
            ring_member_problems(&good, "5.0.8", &others),
            Vec::<String>::new()
        );
        let mut joining = good.clone();
        joining["cassandra"]["operationMode"] = json!("JOINING");
        joining["cassandra"]["peers"]["live"] = json!(["10.244.0.10", "10.244.0.11"]);
        let problems = ring_member_problems(&joining, "5.0.8", &others);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(
            ring_member_problems(&json!({}), "4.1.10", &[]).len(),
            3,
            "an empty status lacks version, host id and mode"
        );
    }
}
