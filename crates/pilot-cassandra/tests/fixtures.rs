//! Parsing of Jolokia replies recorded from real Cassandra 5.0.8 and 4.1.10 (by
//! `RECORD_FIXTURES=1` runs of `tests/real_cassandra.rs`; `release-versions.json` by
//! `upgrade_from_4_1_to_5_0_on_the_same_data`, on 127.0.0.24).

use std::collections::BTreeMap;
use std::path::PathBuf;

use pilot_cassandra::decommission::check_safe;
use pilot_cassandra::facts;
use pilot_cassandra::jolokia::protocol::parse_bulk;
use pilot_cassandra::mode::OperationMode;
use pilot_cassandra::replication::{self, Strategy};
use pilot_cassandra::sstables;

fn fixture(version: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(version)
        .join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn recorded_gossip_versions_parse() {
    for version in ["5.0.8", "4.1.10"] {
        let replies = parse_bulk(&fixture(version, "release-versions"), 1).unwrap();
        let value = replies[0].value().expect("a value");
        let versions = sstables::parse_release_versions(value).unwrap();
        let want: BTreeMap<String, String> = [("127.0.0.24".to_owned(), version.to_owned())]
            .into_iter()
            .collect();
        assert_eq!(versions, want, "{version}");
    }
}

#[test]
fn recorded_observations_parse_into_facts() {
    for version in ["5.0.8", "4.1.10"] {
        let replies = parse_bulk(&fixture(version, "observe"), facts::requests().len()).unwrap();
        let f = facts::parse(&replies);
        assert!(f.errors.is_empty(), "{version}: {:?}", f.errors);
        assert_eq!(f.release_version.as_deref(), Some(version));
        assert_eq!(f.operation_mode, Some(OperationMode::Normal));
        assert_eq!(f.native_transport_running, Some(true));
        assert_eq!(f.tokens, Some(16));
        assert!(f.load_bytes.is_some_and(|l| l > 0), "{version}");
        assert_eq!(f.live.as_deref(), Some(&["127.0.0.21".to_owned()][..]));
        assert_eq!(f.datacenter.as_deref(), Some("dc1"));
        assert_eq!(f.rack.as_deref(), Some("rack1"));
        assert_eq!(
            f.ring_members.as_deref(),
            Some(&["127.0.0.21".to_owned()][..])
        );
        let s = f.to_status();
        assert_eq!(s.version.unwrap().to_string(), version);
        assert_eq!(s.host_id.unwrap().len(), 36);
    }
}

#[test]
fn recorded_replication_parses_and_decides() {
    let keyspaces = [
        "system_auth",
        "system_distributed",
        "system_traces",
        "system_schema",
    ];
    for version in ["5.0.8", "4.1.10"] {
        let replies = parse_bulk(&fixture(version, "replication"), 1 + keyspaces.len()).unwrap();
        let mut listed: Vec<String> =
            serde_json::from_value(replies[0].value().unwrap().clone()).unwrap();
        listed.sort();
        assert_eq!(
            listed,
            ["system_auth", "system_distributed", "system_traces"]
        );
        let parsed: Vec<_> = keyspaces
            .iter()
            .zip(&replies[1..])
            .map(|(k, r)| replication::parse(k, r.value().unwrap().as_str().unwrap()).unwrap())
            .collect();
        let strategies: Vec<_> = parsed.iter().map(|p| p.strategy.clone()).collect();
        assert_eq!(
            strategies,
            [
                Strategy::Simple { rf: 1 },
                Strategy::Simple { rf: 3 },
                Strategy::Simple { rf: 2 },
                Strategy::Local
            ],
            "{version}"
        );
        assert_eq!(check_safe("cass-2", "dc1", 1, &parsed), Ok(()));
        assert!(check_safe("cass-0", "dc1", 0, &parsed).is_err());
    }
}

#[test]
fn recorded_network_topology_replication_parses() {
    for version in ["5.0.8", "4.1.10"] {
        let replies = parse_bulk(&fixture(version, "replication-nts"), 1).unwrap();
        let info = replies[0].value().unwrap().as_str().unwrap();
        assert_eq!(info, "NetworkTopologyStrategy {dc1=2}", "{version}");
        let parsed = replication::parse("navtest", info).unwrap();
        assert_eq!(parsed.strategy.replicas_in("dc1"), 2);
        assert_eq!(
            check_safe("cass-1", "dc1", 1, &[parsed]),
            Err(r#"cannot decommission cass-1: keyspace "navtest" needs 2 replicas in dc1 but only 1 node would remain"#.into())
        );
    }
}

#[test]
fn recorded_decommission_streams_give_progress() {
    for version in ["5.0.8", "4.1.10"] {
        let replies = parse_bulk(&fixture(version, "streams-leaving"), 1).unwrap();
        let p =
            pilot_cassandra::streams::unbootstrap_progress(replies[0].value().unwrap()).unwrap();
        assert_eq!(p.peers, 1, "{version}");
        // About half of 8 MiB of blobs leaves the node.
        assert!(p.sent <= p.total && p.total > 3 << 20, "{version}: {p:?}");
        assert!(p.to_string().ends_with("to 1 peer"), "{p}");
    }
}
