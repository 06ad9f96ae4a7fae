//! `cassandra.yaml` for one node.
//!
//! Only what Navigator decides is written; every other setting keeps Cassandra's built-in
//! default, except in the small profile (see [`super::sizing`]), which also bounds threads,
//! caches and memtables. Key names are those of 4.1 and 5.0 (unit-suffixed values such as
//! `10000ms`); 5.0 additionally gets `storage_compatibility_mode`, always written out, with
//! the value the pod template names (`CASSANDRA_4`, 5.0's own default, unless told
//! otherwise; see [`crate::compatibility`]).

use std::fmt::Write as _;
use std::net::IpAddr;

use super::NodeConfig;
use super::sizing::Profile;

/// The contents of `cassandra.yaml` for `c` (validated by the caller).
pub fn render(c: &NodeConfig) -> String {
    let mut y = String::new();
    let data = c.data_dir.trim_end_matches('/');
    let seeds = c
        .seeds
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    // `writeln!` into a String cannot fail.
    let mut line = |s: String| {
        let _ = writeln!(y, "{s}");
    };
    line("# Rendered by pilot-cassandra for this pod; edits are lost at the next start.".into());
    line(format!("cluster_name: {}", single_quoted(&c.cluster_name)));
    line(format!("num_tokens: {}", c.num_tokens));
    line("allocate_tokens_for_local_replication_factor: 3".into());
    line("partitioner: org.apache.cassandra.dht.Murmur3Partitioner".into());
    line("seed_provider:".into());
    line("  - class_name: org.apache.cassandra.locator.SimpleSeedProvider".into());
    line("    parameters:".into());
    line(format!("      - seeds: \"{seeds}\""));
    line(format!("listen_address: {}", c.address));
    line(format!("broadcast_address: {}", c.address));
    line(format!("rpc_address: {}", rpc_address(c.address)));
    line(format!("broadcast_rpc_address: {}", c.address));
    line("endpoint_snitch: GossipingPropertyFileSnitch".into());
    line(format!("storage_port: {}", c.storage_port));
    line(format!(
        "native_transport_port: {}",
        c.native_transport_port
    ));
    line("start_native_transport: true".into());
    line("data_file_directories:".into());
    line(format!("  - {data}/data"));
    line(format!("commitlog_directory: {data}/commitlog"));
    line(format!("saved_caches_directory: {data}/saved_caches"));
    line(format!("hints_directory: {data}/hints"));
    line(format!("cdc_raw_directory: {data}/cdc_raw"));
    line("authenticator: AllowAllAuthenticator".into());
    line("authorizer: AllowAllAuthorizer".into());
    line("role_manager: CassandraRoleManager".into());
    line("network_authorizer: AllowAllNetworkAuthorizer".into());
    line("commitlog_sync: periodic".into());
    line("commitlog_sync_period: 10000ms".into());
    line("disk_failure_policy: stop".into());
    line("commit_failure_policy: stop".into());
    // 5.0 only: 4.1 rejects the key.
    if c.dialect.has_storage_compatibility_mode() {
        line(format!(
            "storage_compatibility_mode: {}",
            c.storage_compatibility.yaml_value()
        ));
    }
    match c.sizing.profile {
        Profile::Standard => {}
        Profile::Small => {
            line("# Small profile: a node in a container below 4 GiB.".into());
            for setting in SMALL_PROFILE {
                line((*setting).into());
            }
        }
    }
    y
}

/// Settings of the small profile, the devenv image's values for nodes on a small machine.
const SMALL_PROFILE: &[&str] = &[
    "commitlog_segment_size: 8MiB",
    "commitlog_total_space: 256MiB",
    "concurrent_reads: 4",
    "concurrent_writes: 4",
    "concurrent_counter_writes: 4",
    "concurrent_materialized_view_writes: 4",
    "concurrent_compactors: 1",
    "memtable_heap_space: 64MiB",
    "memtable_offheap_space: 64MiB",
    "memtable_flush_writers: 1",
    "key_cache_size: 8MiB",
    "counter_cache_size: 2MiB",
    "file_cache_size: 32MiB",
    "networking_cache_size: 16MiB",
    "index_summary_capacity: 4MiB",
    "native_transport_max_threads: 32",
];

/// A YAML single-quoted scalar (`'` doubled).
fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Where CQL listens. In a pod: every address (its IP, and loopback for `kubectl port-forward`,
/// which connects to localhost in the pod), advertised to clients as the pod's IP. A loopback
/// address means the nodes share one network namespace (several nodes on one host, as in the
/// host-process tests): each must keep to its own address or the second cannot bind the port.
fn rpc_address(address: IpAddr) -> String {
    match address {
        a if a.is_loopback() => a.to_string(),
        IpAddr::V4(_) => "0.0.0.0".to_owned(),
        IpAddr::V6(_) => "::".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_is_rendered_on_5_0_only() {
        use crate::compatibility::StorageCompatibility as S;
        use crate::dialect::Dialect;
        let node = |dialect, mode| NodeConfig {
            dialect,
            cluster_name: "demo".into(),
            datacenter: "dc1".into(),
            rack: "rack1".into(),
            num_tokens: 16,
            address: [10, 0, 0, 5].into(),
            seeds: vec![[10, 0, 0, 5].into()],
            data_dir: "/var/lib/cassandra".into(),
            storage_port: 7000,
            native_transport_port: 9042,
            sizing: crate::config::Sizing::for_limit(None),
            ring_delay_ms: None,
            storage_compatibility: mode,
        };
        let cases = [
            (Dialect::V5_0, S::Cassandra4, Some("CASSANDRA_4")),
            (Dialect::V5_0, S::Upgrading, Some("UPGRADING")),
            (Dialect::V5_0, S::None, Some("NONE")),
            (Dialect::V4_1, S::Cassandra4, None),
            (Dialect::V4_1, S::None, None),
        ];
        for (dialect, mode, want) in cases {
            let yaml = render(&node(dialect, mode));
            let got: Vec<&str> = yaml
                .lines()
                .filter_map(|l| l.strip_prefix("storage_compatibility_mode: "))
                .collect();
            assert_eq!(
                got,
                want.into_iter().collect::<Vec<_>>(),
                "{dialect} {mode}"
            );
        }
    }

    #[test]
    fn cql_listens_everywhere_and_advertises_the_pod_ip() {
        use crate::compatibility::StorageCompatibility as S;
        use crate::dialect::Dialect;
        for (address, any) in [
            (std::net::IpAddr::from([10, 0, 0, 5]), "0.0.0.0"),
            ("fd00::5".parse().unwrap(), "::"),
            // Nodes sharing the host's network namespace keep to their own address.
            (std::net::IpAddr::from([127, 0, 0, 2]), "127.0.0.2"),
            ("::1".parse().unwrap(), "::1"),
        ] {
            let yaml = render(&NodeConfig {
                dialect: Dialect::V5_0,
                cluster_name: "demo".into(),
                datacenter: "dc1".into(),
                rack: "rack1".into(),
                num_tokens: 16,
                address,
                seeds: vec![address],
                data_dir: "/var/lib/cassandra".into(),
                storage_port: 7000,
                native_transport_port: 9042,
                sizing: crate::config::Sizing::for_limit(None),
                ring_delay_ms: None,
                storage_compatibility: S::None,
            });
            let value = |key: &str| {
                yaml.lines()
                    .find_map(|l| l.strip_prefix(&format!("{key}: ")).map(str::to_owned))
            };
            assert_eq!(value("rpc_address").as_deref(), Some(any));
            assert_eq!(value("broadcast_rpc_address"), Some(address.to_string()));
            assert_eq!(value("listen_address"), Some(address.to_string()));
        }
    }

    #[test]
    fn single_quotes_are_doubled() {
        assert_eq!(single_quoted("Test Cluster"), "'Test Cluster'");
        assert_eq!(single_quoted("it's"), "'it''s'");
    }
}
