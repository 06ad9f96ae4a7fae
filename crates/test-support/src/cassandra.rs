//! Cassandra in end-to-end tests: CQL through the Python cassandra-driver (a real client nobody
//! here wrote, from `hack/install-prereqs`' virtualenv, see [`crate::devenv::python`]) and checks
//! of the ring facts a Pilot reports.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::devenv::{python, strings};

/// The CQL script [`cql`] runs: `<mode> <dc> <keyspace> <rf> <rows> <ip>…`.
///
/// Modes: `keyspace` (create the keyspace with NetworkTopologyStrategy `{dc: rf}` and table
/// `kv`), `write` (that, then `rows` rows `k → value-k`), `alter` (the keyspace's RF to `rf`),
/// `system-rf` (the replicated system keyspaces to `rf`), `drop`, `read` (every row through
/// each address in turn, prints `READ <n> rows at <CL> through <ip>`), `ping` (prints
/// `PING <ip> <release_version>` for each address). Reads and writes use the consistency level
/// named by `$CQL_CONSISTENCY` (default `ALL`). Prints `CQL OK` at the end.
pub const CQL_SCRIPT: &str = r#"
import os, sys
from cassandra import ConsistencyLevel
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement

mode, dc, ks, rf, rows, ips = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:]
cl_name = os.environ.get("CQL_CONSISTENCY", "ALL")
cl = getattr(ConsistencyLevel, cl_name)

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
        insert.consistency_level = cl
        for k in range(rows):
            s.execute(insert, (k, "value-%d" % k))
        print("WROTE", rows, "rows at", cl_name, "through", ips[0], flush=True)
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
        select.consistency_level = cl
        found = 0
        for k in range(rows):
            row = s.execute(select, (k,)).one()
            assert row is not None and row.v == "value-%d" % k, (ip, k, row)
            found += 1
        print("READ", found, "rows at", cl_name, "through", ip, flush=True)
        cluster.shutdown()
elif mode == "ping":
    for ip in ips:
        cluster, s = connect(ip)
        print("PING", ip, s.execute("SELECT release_version FROM system.local").one().release_version, flush=True)
        cluster.shutdown()
print("CQL OK", flush=True)
"#;

/// Runs [`CQL_SCRIPT`] in `mode` against keyspace `ks` (RF `rf`, `rows` rows, datacenter `dc`)
/// through `ips`, reading and writing at ALL; prints and returns its stdout. Panics with its
/// output unless it prints `CQL OK`.
pub fn cql(mode: &str, dc: &str, ks: &str, rf: u32, rows: u32, ips: &[String]) -> String {
    cql_at("ALL", mode, dc, ks, rf, rows, ips)
}

/// [`cql`] reading and writing at `consistency` (a `ConsistencyLevel` name: `ONE`, `QUORUM`,
/// `ALL`, …).
pub fn cql_at(
    consistency: &str,
    mode: &str,
    dc: &str,
    ks: &str,
    rf: u32,
    rows: u32,
    ips: &[String],
) -> String {
    let out = Command::new(python())
        .env("CQL_CONSISTENCY", consistency)
        .arg("-c")
        .arg(CQL_SCRIPT)
        .args([mode, dc, ks, &rf.to_string(), &rows.to_string()])
        .args(ips)
        .output()
        .expect("run the CQL script");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains("CQL OK"),
        "CQL {mode} {ks} at {consistency} through {ips:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{stdout}");
    stdout
}

/// The script of [`ContinuousWriter`] and [`verify_acked`]:
/// `write <ks> <CL> <acked file> <stop file> <ip>…` inserts `k → value-k` for k = 0, 1, 2, … at
/// `CL` into `<ks>.kv` (which must exist), appending every acknowledged key to the acked file
/// (line-buffered, after the acknowledgement) until the stop file exists, logging failures;
/// `verify <ks> <acked file> <ip>…` reads every acked key at ALL and prints
/// `VERIFIED <n> MISSING <m> <first missing keys>`.
pub const WRITER_SCRIPT: &str = r#"
import os, sys, time
from cassandra import ConsistencyLevel
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.policies import RoundRobinPolicy

mode, ks = sys.argv[1], sys.argv[2]

def connect(ips, timeout):
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=timeout)
    cluster = Cluster(ips, execution_profiles={EXEC_PROFILE_DEFAULT: profile}, connect_timeout=30)
    return cluster, cluster.connect()

if mode == "write":
    cl_name, acked_path, stop_path, ips = sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:]
    cluster, s = connect(ips, 10)
    insert = s.prepare("INSERT INTO %s.kv (k, v) VALUES (?, ?)" % ks)
    insert.consistency_level = getattr(ConsistencyLevel, cl_name)
    acked = open(acked_path, "a", buffering=1)
    k, ok, failed, last = 0, 0, 0, time.time()
    print("WRITER started at", cl_name, "through", ips, flush=True)
    while not os.path.exists(stop_path):
        try:
            s.execute(insert, (k, "value-%d" % k))
            acked.write("%d\n" % k)
            ok += 1
        except Exception as e:
            failed += 1
            print(time.strftime("%H:%M:%S"), "FAILED", k, type(e).__name__, str(e)[:300], flush=True)
            time.sleep(0.2)
        k += 1
        if time.time() - last >= 10:
            last = time.time()
            print(time.strftime("%H:%M:%S"), "PROGRESS acked", ok, "failed", failed, flush=True)
        time.sleep(0.02)
    acked.close()
    print("WRITER acked", ok, "failed", failed, flush=True)
    cluster.shutdown()
elif mode == "verify":
    acked_path, ips = sys.argv[3], sys.argv[4:]
    keys = [int(line) for line in open(acked_path) if line.strip()]
    cluster, s = connect(ips, 60)
    select = s.prepare("SELECT v FROM %s.kv WHERE k = ?" % ks)
    select.consistency_level = ConsistencyLevel.ALL
    results = execute_concurrent_with_args(s, select, [(k,) for k in keys], concurrency=32, raise_on_first_error=True)
    missing = []
    for k, (ok, res) in zip(keys, results):
        row = res.one() if ok else None
        if row is None or row.v != "value-%d" % k:
            missing.append(k)
    print("VERIFIED", len(keys), "MISSING", len(missing), missing[:20], flush=True)
    cluster.shutdown()
"#;

/// A Python client writing rows continuously in the background (see [`WRITER_SCRIPT`]): every
/// acknowledged key is appended to a file, so a test can check afterwards that none was lost
/// ([`verify_acked`]). Killed on drop if still running.
pub struct ContinuousWriter {
    child: Option<Child>,
    acked: PathBuf,
    stop: PathBuf,
    log: PathBuf,
}

/// What a stopped [`ContinuousWriter`] did.
#[derive(Clone, Debug)]
pub struct WriterReport {
    /// The keys acknowledged, in order.
    pub acked: Vec<i64>,
    /// The writes that failed (timeouts, unavailable), not acknowledged.
    pub failed: usize,
    /// The writer's log.
    pub log: String,
}

impl ContinuousWriter {
    /// Starts writing into `<ks>.kv` (the table must exist) at `consistency` through `ips`
    /// (contact points; the driver finds the rest); its files go into `dir`.
    pub fn start(dir: &Path, ks: &str, consistency: &str, ips: &[String]) -> Self {
        let acked = dir.join(format!("writer-{ks}.acked"));
        let stop = dir.join(format!("writer-{ks}.stop"));
        let log = dir.join(format!("writer-{ks}.log"));
        let _ = std::fs::remove_file(&stop);
        let out = std::fs::File::create(&log).expect("create the writer's log");
        let child = Command::new(python())
            .arg("-c")
            .arg(WRITER_SCRIPT)
            .args(["write", ks, consistency])
            .arg(&acked)
            .arg(&stop)
            .args(ips)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("clone the log's handle"))
            .stderr(out)
            .spawn()
            .expect("start the Python writer");
        ContinuousWriter {
            child: Some(child),
            acked,
            stop,
            log,
        }
    }

    /// The keys acknowledged so far.
    pub fn acked_count(&self) -> usize {
        std::fs::read_to_string(&self.acked)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    /// The writer's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the writer process still runs.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The file of acknowledged keys (one per line).
    pub fn acked_file(&self) -> &Path {
        &self.acked
    }

    /// Asks the writer to stop and waits for it (killing it after `timeout`).
    pub fn stop(&mut self, timeout: Duration) -> WriterReport {
        std::fs::write(&self.stop, b"stop").expect("write the stop file");
        let deadline = Instant::now() + timeout;
        if let Some(mut child) = self.child.take() {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let log = self.log();
        let acked = std::fs::read_to_string(&self.acked)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        let failed = log.lines().filter(|l| l.contains(" FAILED ")).count();
        WriterReport { acked, failed, log }
    }
}

impl Drop for ContinuousWriter {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Reads every key of `acked_file` from `<ks>.kv` at ALL through `ips`; returns the number
/// checked and the keys missing or wrong (at most 20). Panics when the reads themselves fail.
pub fn verify_acked(ks: &str, acked_file: &Path, ips: &[String]) -> (usize, Vec<i64>) {
    let out = Command::new(python())
        .arg("-c")
        .arg(WRITER_SCRIPT)
        .args(["verify", ks])
        .arg(acked_file)
        .args(ips)
        .output()
        .expect("run the Python verifier");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let parsed = parse_verified(&stdout);
    match (out.status.success(), parsed) {
        (true, Some(v)) => v,
        _ => panic!(
            "verifying the acknowledged keys of {ks} at ALL through {ips:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Parses the verifier's `VERIFIED <n> MISSING <m> [k, …]` line. Pure.
pub fn parse_verified(stdout: &str) -> Option<(usize, Vec<i64>)> {
    let line = stdout.lines().find(|l| l.starts_with("VERIFIED "))?;
    let mut words = line.split_whitespace();
    let checked = words.nth(1)?.parse().ok()?;
    let _missing_count: usize = words.nth(1)?.parse().ok()?;
    let rest: String = words.collect::<Vec<_>>().join(" ");
    let missing = rest
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .filter_map(|k| k.trim().parse().ok())
        .collect();
    Some((checked, missing))
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

/// The peers of any kind in a Pilot's `status.cassandra.peers` that are none of `ips`, and
/// every peer listed as other than live (unreachable, joining, leaving, moving): what a node
/// of a settled ring of exactly `ips` should not report. Pure.
pub fn unexpected_peers(peers: &Value, ips: &[String]) -> Vec<String> {
    PEER_KINDS
        .iter()
        .flat_map(|k| strings(&peers[*k]).into_iter().map(move |p| (*k, p)))
        .filter(|(kind, p)| *kind != "live" || !ips.iter().any(|ip| same_host(p, ip)))
        .map(|(kind, p)| format!("{kind} {p}"))
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
    fn verifier_output_is_parsed() {
        assert_eq!(
            parse_verified("x\nVERIFIED 1200 MISSING 0 []\n"),
            Some((1200, vec![]))
        );
        assert_eq!(
            parse_verified("VERIFIED 10 MISSING 2 [3, 7]"),
            Some((10, vec![3, 7]))
        );
        assert_eq!(parse_verified("Traceback"), None);
    }

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
    fn unexpected_peers_are_named() {
        let ips = vec!["10.244.0.10".to_owned(), "10.244.0.11".to_owned()];
        let settled = json!({"live": ["10.244.0.10", "/10.244.0.11:7000"]});
        assert!(unexpected_peers(&settled, &ips).is_empty());
        let stale = json!({"live": ["10.244.0.10", "10.244.0.9"], "unreachable": ["10.244.0.11"]});
        assert_eq!(
            unexpected_peers(&stale, &ips),
            vec!["live 10.244.0.9", "unreachable 10.244.0.11"]
        );
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
