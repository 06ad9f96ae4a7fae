//! Golden-file tests of the rendered configuration, for the 4.1 and 5.0 dialects.
//!
//! Each case renders into `tests/golden/<case>/`; a difference fails the test. After an
//! intended change, regenerate with `UPDATE_GOLDEN=1 cargo test -p pilot-cassandra --test
//! render_golden` and review the diff.

use std::net::IpAddr;
use std::path::PathBuf;

use pilot_cassandra::compatibility::StorageCompatibility;
use pilot_cassandra::config::{NodeConfig, Sizing, render};
use pilot_cassandra::dialect::Dialect;

const GIB: u64 = 1 << 30;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("an IP address")
}

fn case(dialect: Dialect, limit: Option<u64>) -> NodeConfig {
    NodeConfig {
        dialect,
        cluster_name: "demo".into(),
        datacenter: "dc1".into(),
        rack: "rack1".into(),
        num_tokens: 16,
        address: ip("10.42.0.7"),
        seeds: vec![ip("10.42.0.5"), ip("10.42.0.6")],
        data_dir: "/var/lib/cassandra".into(),
        storage_port: 7000,
        native_transport_port: 9042,
        sizing: Sizing::for_limit(limit),
        ring_delay_ms: None,
        storage_compatibility: StorageCompatibility::Cassandra4,
    }
}

#[test]
fn rendered_files_match_the_golden_files() {
    let cases: Vec<(&str, NodeConfig)> = vec![
        // A small test node: 1 GiB limit → 512 MiB heap, small profile.
        ("5.0-small", case(Dialect::V5_0, Some(GIB))),
        ("4.1-small", case(Dialect::V4_1, Some(GIB))),
        // A production-sized node: 16 GiB → 4 GiB heap, Cassandra's defaults.
        ("5.0-standard", {
            let mut c = case(Dialect::V5_0, Some(16 * GIB));
            c.cluster_name = "it's prod".into();
            c.datacenter = "eu-west-1".into();
            c.rack = "eu-west-1a".into();
            c.num_tokens = 8;
            c.data_dir = "/data/".into();
            c
        }),
        ("4.1-standard", case(Dialect::V4_1, Some(16 * GIB))),
        // The first pod with nothing resolved seeds itself; a short ring delay for tests.
        ("5.0-first-pod", {
            let mut c = case(Dialect::V5_0, None);
            c.seeds = vec![c.address];
            c.ring_delay_ms = Some(5000);
            c
        }),
    ];
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    for (name, config) in cases {
        let dir = root.join(name);
        for file in render(&config).unwrap() {
            let path = dir.join(&file.name);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &file.contents).unwrap();
                continue;
            }
            let want = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
            if want != file.contents {
                mismatches.push(format!(
                    "{}:\n{}",
                    path.display(),
                    pretty_assertions::StrComparison::new(&want, &file.contents)
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
