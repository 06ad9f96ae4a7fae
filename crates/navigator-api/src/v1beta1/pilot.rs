use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;
use crate::object::navigator_object;
use crate::version::{CassandraVersion, ElasticsearchVersion};

navigator_object! {
    /// The agent of one database pod (`navigator.jetstack.io/v1beta1`): the controller asks
    /// through `spec`, the pilot reports in `status`.
    Pilot {
        version: "v1beta1",
        plural: "pilots",
        spec: PilotSpec,
        status: PilotStatus,
        description: "Pilot is the agent of one database pod. The controller asks for node operations through spec; the pilot reports the node's state in status. A Pilot has the name and namespace of its pod.",
    }
}

/// What the controller asks of a pilot.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.PilotSpec")]
pub struct PilotSpec {
    /// The cluster the pilot's node belongs to. Immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<PilotClusterReference>,
    /// The node pool the pilot's node belongs to. Immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_pool: Option<String>,
    /// The state the controller asks the node to reach: `Running` (the default), `Drained`
    /// (Elasticsearch: hold no shards, stay in the cluster) or `Decommissioned` (leave the
    /// cluster for good).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_state: Option<String>,
}

/// A reference to the cluster a pilot belongs to, in the pilot's namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.PilotClusterReference")]
pub struct PilotClusterReference {
    /// `CassandraCluster` or `ElasticsearchCluster`.
    #[serde(default)]
    pub kind: String,
    /// Name of the cluster.
    #[serde(default)]
    pub name: String,
}

/// What a pilot reports about its node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.PilotStatus")]
pub struct PilotStatus {
    /// `Started`, `Ready` and `Stopped` conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend(
        "x-kubernetes-list-type" = "map",
        "x-kubernetes-list-map-keys" = ["type"],
        "x-kubernetes-patch-strategy" = "merge",
        "x-kubernetes-patch-merge-key" = "type"
    ))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` of the spec the pilot last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the pilot last reported; older reports count as unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heartbeat_time: Option<Time>,
    /// Progress towards `spec.requestedState`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<PilotOperationStatus>,
    /// Facts about an Elasticsearch or OpenSearch node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elasticsearch: Option<ElasticsearchPilotStatus>,
    /// Facts about a Cassandra node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cassandra: Option<CassandraPilotStatus>,
}

/// Progress towards a requested state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.PilotOperationStatus")]
pub struct PilotOperationStatus {
    /// The requested state this progress is for.
    #[serde(default)]
    pub state: String,
    /// `Pending`, `InProgress`, `Complete` or `Failed`.
    #[serde(default)]
    pub phase: String,
    /// When the pilot started working towards the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the pilot completed or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// What is happening, or why it failed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Facts an Elasticsearch or OpenSearch pilot reports about its node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.ElasticsearchPilotStatus")]
pub struct ElasticsearchPilotStatus {
    /// Documents held by the node; unknown when unset, 0 when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<i64>,
    /// The version the node runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<ElasticsearchVersion>,
    /// The node's id in the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// The node's roles, as the database reports them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub roles: Vec<String>,
    /// Shards held by the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<i64>,
    /// Cluster health (`Green`, `Yellow`, `Red`), reported by the leader pilot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_health: Option<String>,
    /// Shards relocating in the cluster, reported by the leader pilot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relocating_shards: Option<i32>,
    /// Shards initialising in the cluster, reported by the leader pilot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initializing_shards: Option<i32>,
    /// Unassigned shards in the cluster, reported by the leader pilot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unassigned_shards: Option<i32>,
}

/// Facts a Cassandra pilot reports about its node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.CassandraPilotStatus")]
pub struct CassandraPilotStatus {
    /// The release version the node runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<CassandraVersion>,
    /// The node's host id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_id: Option<String>,
    /// The datacenter the node reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacenter: Option<String>,
    /// The rack the node reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack: Option<String>,
    /// The node's operation mode: `STARTING`, `JOINING`, `NORMAL`, `LEAVING`, `DECOMMISSIONED`,
    /// `DRAINING`, `DRAINED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_mode: Option<String>,
    /// Number of tokens the node owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<i32>,
    /// Data the node holds on disk, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_bytes: Option<i64>,
    /// The node's view of the ring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<CassandraPeers>,
}

/// A Cassandra node's view of its peers, by address.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.CassandraPeers")]
pub struct CassandraPeers {
    /// Nodes seen up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub live: Vec<String>,
    /// Nodes seen down.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub unreachable: Vec<String>,
    /// Nodes joining the ring.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub joining: Vec<String>,
    /// Nodes leaving the ring.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub leaving: Vec<String>,
    /// Nodes moving in the ring.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub moving: Vec<String>,
}
