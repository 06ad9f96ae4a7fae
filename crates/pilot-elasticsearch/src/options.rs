//! The Elasticsearch pilot's settings: flags with environment fallbacks, set by the pod
//! template. The runtime's own options (directories, probes, kubeconfig) are separate.

use std::path::PathBuf;
use std::time::Duration;

use crate::flavor::Flavor;
use crate::roles::Role;

/// What the pod template tells the Elasticsearch pilot.
#[derive(Clone, Debug, clap::Args)]
pub struct ElasticsearchOptions {
    /// Which database the image holds: `elasticsearch` or `opensearch`. Read from the image
    /// when unset (`<home>/bin/opensearch` exists: OpenSearch).
    #[arg(long, env = "ELASTICSEARCH_FLAVOR", value_enum)]
    pub flavor: Option<Flavor>,

    /// The database version of the image (`2.19.6`, `7.10.2`), which picks the configuration
    /// dialect (flavour and major). Read from `<home>/lib/<flavor>-<version>.jar` when unset.
    #[arg(long = "version", env = "ELASTICSEARCH_VERSION", value_name = "X.Y.Z")]
    pub db_version: Option<String>,

    /// The database's installation in the image (read-only): `bin/`, `lib/`, `modules/`,
    /// `config/`, `plugins/`. Defaults to `/usr/share/opensearch` or
    /// `/usr/share/elasticsearch` by flavour.
    #[arg(long, env = "ELASTICSEARCH_IMAGE_HOME")]
    pub home: Option<PathBuf>,

    /// `cluster.name`; also the value of the Pilots' cluster label
    /// (`navigator.jetstack.io/elasticsearch-cluster-name`) and part of the leader Lease's name
    /// (`es-<cluster-name>-pilot-leader`).
    #[arg(long, env = "ELASTICSEARCH_CLUSTER_NAME")]
    pub cluster_name: String,

    /// The node pool of this node: the node attribute `node.attr.pool`.
    #[arg(long, env = "ELASTICSEARCH_NODE_POOL", default_value = "default")]
    pub node_pool: String,

    /// The node's roles, comma-separated: any of `master`, `data`, `ingest` (rendered in the
    /// flavour's spelling, e.g. `cluster_manager` on OpenSearch 2+).
    #[arg(
        long,
        env = "ELASTICSEARCH_ROLES",
        value_delimiter = ',',
        default_value = "master,data,ingest"
    )]
    pub roles: Vec<Role>,

    /// DNS name of the cluster's discovery Service (e.g. `demo-discovery.ns.svc.cluster.local`,
    /// headless, publishing not-ready addresses): `discovery.seed_hosts` (Elasticsearch 6:
    /// `discovery.zen.ping.unicast.hosts`), and the addresses probed before the first start.
    #[arg(long, env = "ELASTICSEARCH_DISCOVERY_SERVICE")]
    pub discovery_service: String,

    /// The master-eligible node names (pod names) that form the cluster the first time,
    /// comma-separated, the same on every node. Rendered as `cluster.initial_master_nodes`
    /// (OpenSearch 2+: `cluster.initial_cluster_manager_nodes`) only while the cluster is
    /// formed for the first time: never when the data directory holds node state, never when
    /// a node behind the discovery Service already belongs to a formed cluster. When unset, a
    /// master-eligible pod whose name ends in `-0` forms the cluster alone.
    #[arg(
        long,
        env = "ELASTICSEARCH_INITIAL_MASTER_NODES",
        value_delimiter = ','
    )]
    pub initial_master_nodes: Vec<String>,

    /// Elasticsearch 6 only: `discovery.zen.minimum_master_nodes`. Defaults to a quorum of
    /// `--initial-master-nodes` (1 when unset).
    #[arg(long, env = "ELASTICSEARCH_MINIMUM_MASTER_NODES")]
    pub minimum_master_nodes: Option<u32>,

    /// A plugin to install before start with the distribution's plugin tool
    /// (`bin/<flavor>-plugin install --batch`): a name, a URL, or a path to a zip; repeatable
    /// or comma-separated. Plugins already installed are skipped.
    #[arg(long = "plugin", env = "ELASTICSEARCH_PLUGINS", value_delimiter = ',')]
    pub plugins: Vec<String>,

    /// A node attribute `key=value` (`node.attr.<key>`), e.g. `zone=a`; repeatable.
    #[arg(long = "node-attribute", value_parser = parse_key_value)]
    pub node_attributes: Vec<(String, String)>,

    /// Node attributes for shard allocation awareness
    /// (`cluster.routing.allocation.awareness.attributes`), comma-separated, e.g. `pool`;
    /// none when unset.
    #[arg(
        long,
        env = "ELASTICSEARCH_AWARENESS_ATTRIBUTES",
        value_delimiter = ','
    )]
    pub awareness_attributes: Vec<String>,

    /// An extra setting `key=value` for the rendered configuration (wins over the image's
    /// configuration, loses to the pilot's own settings); repeatable.
    #[arg(long = "setting", value_parser = parse_key_value)]
    pub settings: Vec<(String, String)>,

    /// HTTP port (the pilot talks to the node on 127.0.0.1 at this port).
    #[arg(long, env = "ELASTICSEARCH_HTTP_PORT", default_value_t = 9200)]
    pub http_port: u16,

    /// Transport port.
    #[arg(long, env = "ELASTICSEARCH_TRANSPORT_PORT", default_value_t = 9300)]
    pub transport_port: u16,

    /// Heap in MiB, instead of the one derived from the container's memory limit (half of
    /// it, at most 31 GiB). Without either, the image's `jvm.options` decides.
    #[arg(long, env = "ELASTICSEARCH_HEAP_MIB")]
    pub heap_mib: Option<u64>,

    /// How long one REST request to the node may take, in milliseconds; a node that does not
    /// answer in time is not alive.
    #[arg(long, env = "ELASTICSEARCH_HTTP_TIMEOUT_MS", default_value_t = 3000)]
    pub http_timeout_ms: u64,

    /// How long the probe of one discovery address may take before the first start, in
    /// milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub peer_probe_timeout_ms: u64,

    /// Duration of the leader Lease, in seconds.
    #[arg(long, default_value_t = 15)]
    pub leader_lease_seconds: u64,

    /// How often the leader election runs (renewing the Lease while leading), in
    /// milliseconds. The leader reconciles the exclusions after each election round, and also
    /// within about 50 ms of a change to its cluster's Pilots (a watch wakes it).
    #[arg(long, default_value_t = 2000)]
    pub leader_interval_ms: u64,

    /// The longest the leader leaves replica allocation paused for a data node's restart
    /// (`cluster.routing.allocation.enable: primaries`, set by the stopping node), in seconds:
    /// it resumes allocation as soon as every Pilot not requesting Decommissioned is Ready with
    /// its node in the cluster, and after this long even if one is not back.
    #[arg(
        long,
        env = "ELASTICSEARCH_ALLOCATION_PAUSE_TIMEOUT_SECONDS",
        default_value_t = 300
    )]
    pub allocation_pause_timeout_seconds: u64,
}

impl ElasticsearchOptions {
    /// The REST timeout.
    pub fn http_timeout(&self) -> Duration {
        Duration::from_millis(self.http_timeout_ms)
    }

    /// The peer probe timeout.
    pub fn peer_probe_timeout(&self) -> Duration {
        Duration::from_millis(self.peer_probe_timeout_ms)
    }

    /// The longest pause of replica allocation for a restart.
    pub fn allocation_pause_timeout(&self) -> Duration {
        Duration::from_secs(self.allocation_pause_timeout_seconds)
    }

    /// The leader Lease's name: `es-<cluster>-pilot-leader`.
    pub fn lease_name(&self) -> String {
        format!("es-{}-pilot-leader", self.cluster_name)
    }
}

/// `key=value`, with a non-empty key.
pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("{text:?} is not key=value")),
    }
}
