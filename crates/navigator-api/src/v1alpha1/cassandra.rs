use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    ClusterCondition, ImageSpec, NavigatorSecurityContext, NodePoolStatus, PersistenceConfig,
};
use crate::object::navigator_object;
use crate::serde_helpers::{is_empty_map, is_false};
use crate::version::CassandraVersion;

navigator_object! {
    /// A Cassandra cluster (`navigator.jetstack.io/v1alpha1`, the original project's API).
    CassandraCluster {
        version: "v1alpha1",
        plural: "cassandraclusters",
        spec: CassandraClusterSpec,
        status: CassandraClusterStatus,
        description: "CassandraCluster describes a Cassandra cluster managed by Navigator.",
    }
}

/// The desired state of a Cassandra cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.CassandraClusterSpec")]
pub struct CassandraClusterSpec {
    /// The image holding the pilot binary, copied into every database pod.
    #[serde(default)]
    pub pilot_image: ImageSpec,
    /// Security settings for the database pods.
    #[serde(default)]
    pub security_context: NavigatorSecurityContext,
    /// When true the controller takes no action on the cluster.
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
    /// The node pools, one rack each. Each pool runs as one StatefulSet; pools are matched by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend(
        "x-kubernetes-list-type" = "map",
        "x-kubernetes-list-map-keys" = ["name"],
        "x-kubernetes-patch-strategy" = "merge",
        "x-kubernetes-patch-merge-key" = "name"
    ))]
    pub node_pools: Vec<CassandraClusterNodePool>,
    /// The Cassandra image. Defaults to the official `cassandra` image at `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSpec>,
    /// The Cassandra version, e.g. `3.11.1`; kept as written and compared semantically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<CassandraVersion>,
}

/// A group of identically configured Cassandra nodes in one rack, run as one StatefulSet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.CassandraClusterNodePool")]
pub struct CassandraClusterNodePool {
    /// Name of the pool, unique in the cluster.
    #[serde(default)]
    pub name: String,
    /// Number of nodes. Defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Persistent storage for each node; an emptyDir when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<PersistenceConfig>,
    /// Node selector for the pool's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// The Cassandra rack of the pool's nodes. Defaults to the pool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack: Option<String>,
    /// The Cassandra datacenter of the pool's nodes. Defaults to `navigator-default-datacenter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacenter: Option<String>,
    /// Compute resources of the database container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Scheduler for the pool's pods; the default scheduler when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scheduler_name: String,
}

/// The observed state of a Cassandra cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.CassandraClusterStatus")]
pub struct CassandraClusterStatus {
    /// Conditions of the cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend(
        "x-kubernetes-list-type" = "map",
        "x-kubernetes-list-map-keys" = ["type"],
        "x-kubernetes-patch-strategy" = "merge",
        "x-kubernetes-patch-merge-key" = "type"
    ))]
    pub conditions: Vec<ClusterCondition>,
    /// Observed state of each node pool, by pool name.
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub node_pools: BTreeMap<String, NodePoolStatus>,
}
