use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::Condition;
use crate::version::{CassandraVersion, ElasticsearchVersion};

/// The agent in one database pod: the controller asks through `spec`, the pilot reports in
/// `status`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pilot {
    /// Standard object metadata; the name and namespace are the pod's.
    pub metadata: ObjectMeta,
    /// What the controller asks of the pilot.
    pub spec: PilotSpec,
    /// What the pilot reports.
    pub status: PilotStatus,
}

/// The cluster kinds a pilot may belong to.
pub const PILOT_CLUSTER_KINDS: &[&str] = &["CassandraCluster", "ElasticsearchCluster"];

/// The states the controller may request of a pilot's node.
pub const REQUESTED_STATES: &[&str] = &[
    REQUESTED_STATE_RUNNING,
    REQUESTED_STATE_DRAINED,
    REQUESTED_STATE_DECOMMISSIONED,
];
/// Run normally.
pub const REQUESTED_STATE_RUNNING: &str = "Running";
/// Elasticsearch: hold no shards but stay in the cluster.
pub const REQUESTED_STATE_DRAINED: &str = "Drained";
/// Leave the cluster for good (Cassandra decommission, Elasticsearch drain and exclusion).
pub const REQUESTED_STATE_DECOMMISSIONED: &str = "Decommissioned";

/// The phases of a requested state's progress.
pub const OPERATION_PHASES: &[&str] = &["Pending", "InProgress", "Complete", "Failed"];

/// What the controller asks of a pilot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PilotSpec {
    /// The cluster the pilot's node belongs to.
    pub cluster: Option<PilotClusterReference>,
    /// The node pool the pilot's node belongs to.
    pub node_pool: Option<String>,
    /// `Running`, `Drained` or `Decommissioned`.
    pub requested_state: Option<String>,
}

/// A reference to the cluster owning a pilot, in the pilot's namespace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PilotClusterReference {
    /// `CassandraCluster` or `ElasticsearchCluster`.
    pub kind: String,
    /// The cluster's name.
    pub name: String,
}

/// What a pilot reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PilotStatus {
    /// `Started`, `Ready`, `Stopped` conditions.
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` of the spec the pilot last acted on.
    pub observed_generation: Option<i64>,
    /// When the pilot last reported.
    pub last_heartbeat_time: Option<Time>,
    /// Progress towards the requested state.
    pub operation: Option<PilotOperationStatus>,
    /// Elasticsearch/OpenSearch node facts.
    pub elasticsearch: Option<ElasticsearchPilotStatus>,
    /// Cassandra node facts.
    pub cassandra: Option<CassandraPilotStatus>,
}

/// Progress towards a requested state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PilotOperationStatus {
    /// The requested state this progress is for.
    pub state: String,
    /// `Pending`, `InProgress`, `Complete` or `Failed`.
    pub phase: String,
    /// When work started.
    pub start_time: Option<Time>,
    /// When it completed or failed.
    pub completion_time: Option<Time>,
    /// What is happening, or why it failed.
    pub message: String,
}

/// Facts an Elasticsearch/OpenSearch pilot reports about its node.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ElasticsearchPilotStatus {
    /// Documents on the node; unknown when unset.
    pub documents: Option<i64>,
    /// The running version.
    pub version: Option<ElasticsearchVersion>,
    /// The node id.
    pub node_id: Option<String>,
    /// The node's roles as the database reports them.
    pub roles: Vec<String>,
    /// Shards on the node.
    pub shards: Option<i64>,
    /// Cluster health seen by the leader pilot: `Green`, `Yellow`, `Red`.
    pub cluster_health: Option<String>,
    /// Shards relocating in the cluster (leader pilot only).
    pub relocating_shards: Option<i32>,
    /// Shards initialising in the cluster (leader pilot only).
    pub initializing_shards: Option<i32>,
    /// Unassigned shards in the cluster (leader pilot only).
    pub unassigned_shards: Option<i32>,
}

/// Facts a Cassandra pilot reports about its node.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CassandraPilotStatus {
    /// The running release version.
    pub version: Option<CassandraVersion>,
    /// The node's host id.
    pub host_id: Option<String>,
    /// The datacenter the node reports.
    pub datacenter: Option<String>,
    /// The rack the node reports.
    pub rack: Option<String>,
    /// `STARTING`, `JOINING`, `NORMAL`, `LEAVING`, `DECOMMISSIONED`, `DRAINED` …
    pub operation_mode: Option<String>,
    /// Tokens the node owns.
    pub tokens: Option<i32>,
    /// Data on disk, in bytes.
    pub load_bytes: Option<i64>,
    /// The node's view of its peers.
    pub peers: Option<CassandraPeers>,
}

/// A Cassandra node's view of the ring, as addresses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CassandraPeers {
    /// Live nodes.
    pub live: Vec<String>,
    /// Unreachable nodes.
    pub unreachable: Vec<String>,
    /// Joining nodes.
    pub joining: Vec<String>,
    /// Leaving nodes.
    pub leaving: Vec<String>,
    /// Moving nodes.
    pub moving: Vec<String>,
}
