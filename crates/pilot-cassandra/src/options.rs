//! The Cassandra pilot's settings: flags with environment fallbacks, set by the pod template.

use std::path::PathBuf;
use std::time::Duration;

use crate::compatibility::StorageCompatibility;

/// What the pod template tells the Cassandra pilot (the runtime's own options — identity,
/// directories, probes — are separate).
#[derive(Clone, Debug, clap::Args)]
pub struct CassandraOptions {
    /// `cluster_name` of the Cassandra cluster; the same on every node.
    #[arg(long, env = "CASSANDRA_CLUSTER_NAME")]
    pub cluster_name: String,

    /// Datacenter of this node (GossipingPropertyFileSnitch).
    #[arg(
        long,
        env = "CASSANDRA_DC",
        default_value = "navigator-default-datacenter"
    )]
    pub datacenter: String,

    /// Rack of this node (GossipingPropertyFileSnitch), usually the node pool's name.
    #[arg(long, env = "CASSANDRA_RACK", default_value = "rack1")]
    pub rack: String,

    /// DNS name of the cluster's seeds Service (e.g. `demo-seeds.ns.svc.cluster.local`). Its
    /// addresses become the seeds; the cluster's first pod (ordinal 0) seeds itself while
    /// the name resolves to nothing, any other pod waits for it.
    #[arg(long, env = "CASSANDRA_SEEDS_SERVICE")]
    pub seeds_service: String,

    /// How long a pod that is not the first waits for the seeds Service to resolve before
    /// giving up (the container then restarts), in seconds.
    #[arg(long, env = "CASSANDRA_SEED_WAIT_SECONDS", default_value_t = 300)]
    pub seed_wait_seconds: u64,

    /// The Cassandra version of the image (`5.0.8`, `4.1.10`), which picks the configuration
    /// dialect; read from `<cassandra-home>/lib/cassandra-all-<version>.jar` when unset.
    #[arg(long, env = "CASSANDRA_VERSION")]
    pub cassandra_version: Option<String>,

    /// Cassandra 5's `storage_compatibility_mode` (`cassandra-4`, `upgrading`, `none`),
    /// rendered into `cassandra.yaml` on 5.x only (4.1 has no such setting). A cluster
    /// upgraded from 4.1 goes `cassandra-4` → `upgrading` → `none`, one rolling restart each;
    /// the SSTables are rewritten in 5's format under `none` only.
    #[arg(
        long,
        env = "CASSANDRA_STORAGE_COMPATIBILITY_MODE",
        default_value = "cassandra-4"
    )]
    pub storage_compatibility_mode: StorageCompatibility,

    /// `num_tokens` of this node.
    #[arg(long, env = "CASSANDRA_NUM_TOKENS", default_value_t = 16)]
    pub num_tokens: u16,

    /// Cassandra's installation in the image (`bin/cassandra`, `lib/`, `conf/`).
    #[arg(long, env = "CASSANDRA_HOME", default_value = "/opt/cassandra")]
    pub cassandra_home: PathBuf,

    /// Internode port.
    #[arg(long, env = "CASSANDRA_STORAGE_PORT", default_value_t = 7000)]
    pub storage_port: u16,

    /// CQL port.
    #[arg(long, env = "CASSANDRA_CQL_PORT", default_value_t = 9042)]
    pub cql_port: u16,

    /// Port of the Jolokia agent, which listens on 127.0.0.1 only.
    #[arg(long, env = "CASSANDRA_JOLOKIA_PORT", default_value_t = 8778)]
    pub jolokia_port: u16,

    /// How long an observation waits for Jolokia, in milliseconds; a JVM that does not answer
    /// in time is not alive.
    #[arg(long, env = "CASSANDRA_JOLOKIA_TIMEOUT_MS", default_value_t = 3000)]
    pub jolokia_timeout_ms: u64,

    /// Heap in MiB, instead of the one derived from the container's memory limit.
    #[arg(long, env = "CASSANDRA_MAX_HEAP_MIB")]
    pub max_heap_mib: Option<u64>,

    /// A shorter gossip ring delay for test clusters, in milliseconds (Cassandra's default
    /// is 30 s).
    #[arg(long, env = "CASSANDRA_RING_DELAY_MS")]
    pub ring_delay_ms: Option<u32>,

    /// How long `drain` may take at shutdown, in seconds.
    #[arg(long, env = "CASSANDRA_DRAIN_TIMEOUT_SECONDS", default_value_t = 120)]
    pub drain_timeout_seconds: u64,
}

impl CassandraOptions {
    /// The Jolokia timeout.
    pub fn jolokia_timeout(&self) -> Duration {
        Duration::from_millis(self.jolokia_timeout_ms)
    }
}
