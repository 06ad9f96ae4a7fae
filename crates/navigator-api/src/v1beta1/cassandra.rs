use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    Condition, ImageSpec, NavigatorSecurityContext, NodePoolStatus, PersistenceConfig,
    PodDisruptionBudgetConfig,
};
use crate::object::navigator_object;
use crate::serde_helpers::{is_empty_map, is_false};
use crate::version::CassandraVersion;

navigator_object! {
    /// A Cassandra cluster (`navigator.jetstack.io/v1beta1`).
    CassandraCluster {
        version: "v1beta1",
        plural: "cassandraclusters",
        spec: CassandraClusterSpec,
        status: CassandraClusterStatus,
        description: "CassandraCluster describes a Cassandra cluster managed by Navigator.",
    }
}

/// The desired state of a Cassandra cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.CassandraClusterSpec")]
pub struct CassandraClusterSpec {
    /// The image holding the pilot binary, copied into every database pod.
    #[serde(default)]
    pub pilot_image: ImageSpec,
    /// Security settings for the database pods.
    #[serde(default)]
    pub security_context: NavigatorSecurityContext,
    /// When true the controller takes no action on the cluster; status is still observed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
    /// Disruption budget for the cluster's database pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_disruption_budget: Option<PodDisruptionBudgetConfig>,
    /// The Cassandra version (3.11 to 5.0), e.g. `5.0.2`; kept as written and compared
    /// semantically. Raising it performs a rolling upgrade one major version at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<CassandraVersion>,
    /// The node pools, one rack each. Each pool runs as one StatefulSet; pools are matched by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend(
        "x-kubernetes-list-type" = "map",
        "x-kubernetes-list-map-keys" = ["name"],
        "x-kubernetes-patch-strategy" = "merge",
        "x-kubernetes-patch-merge-key" = "name"
    ))]
    pub node_pools: Vec<CassandraClusterNodePool>,
    /// The database image. Defaults to the official `cassandra` image at `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSpec>,
}

/// A group of identically configured Cassandra nodes in one rack, run as one StatefulSet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.CassandraClusterNodePool")]
pub struct CassandraClusterNodePool {
    /// Name of the pool, unique in the cluster; a DNS-1123 label.
    #[serde(default)]
    pub name: String,
    /// Number of nodes. Defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Persistent storage for each node; an emptyDir when unset. May be set once, then immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<PersistenceConfig>,
    /// Node selector for the pool's pods. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// The Cassandra rack of the pool's nodes. Defaults to the pool name. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack: Option<String>,
    /// The Cassandra datacenter of the pool's nodes. Defaults to `navigator-default-datacenter`.
    /// Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacenter: Option<String>,
    /// Compute resources of the database container. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Scheduler for the pool's pods; the default scheduler when empty. Immutable.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scheduler_name: String,
}

/// The observed state of a Cassandra cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.CassandraClusterStatus")]
pub struct CassandraClusterStatus {
    /// `Available`, `Progressing` and `Degraded` conditions, saying what the controller waits for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend(
        "x-kubernetes-list-type" = "map",
        "x-kubernetes-list-map-keys" = ["type"],
        "x-kubernetes-patch-strategy" = "merge",
        "x-kubernetes-patch-merge-key" = "type"
    ))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the controller last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Observed state of each node pool, by pool name.
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub node_pools: BTreeMap<String, NodePoolStatus>,
}
