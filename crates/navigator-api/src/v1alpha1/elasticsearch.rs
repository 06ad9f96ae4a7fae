use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    ClusterCondition, ImageSpec, NavigatorSecurityContext, NodePoolStatus, PersistenceConfig,
};
use crate::object::navigator_object;
use crate::serde_helpers::{is_empty_map, is_false};
use crate::version::ElasticsearchVersion;

navigator_object! {
    /// An Elasticsearch cluster (`navigator.jetstack.io/v1alpha1`, the original project's API).
    ElasticsearchCluster {
        version: "v1alpha1",
        plural: "elasticsearchclusters",
        spec: ElasticsearchClusterSpec,
        status: ElasticsearchClusterStatus,
        description: "ElasticsearchCluster describes an Elasticsearch cluster managed by Navigator.",
    }
}

/// The desired state of an Elasticsearch cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.ElasticsearchClusterSpec")]
pub struct ElasticsearchClusterSpec {
    /// The image holding the pilot binary, copied into every database pod.
    #[serde(default)]
    pub pilot_image: ImageSpec,
    /// Security settings for the database pods.
    #[serde(default)]
    pub security_context: NavigatorSecurityContext,
    /// When true the controller takes no action on the cluster.
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
    /// The Elasticsearch version, a semantic version such as `7.17.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<ElasticsearchVersion>,
    /// Plugins to install on every node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub plugins: Vec<String>,
    /// The node pools. Each pool runs as one StatefulSet; pools are matched by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend(
        "x-kubernetes-list-type" = "map",
        "x-kubernetes-list-map-keys" = ["name"],
        "x-kubernetes-patch-strategy" = "merge",
        "x-kubernetes-patch-merge-key" = "name"
    ))]
    pub node_pools: Vec<ElasticsearchClusterNodePool>,
    /// The Elasticsearch image. Defaults to the official image at `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSpec>,
    /// Master-eligible nodes needed to elect a master; a quorum of the masters when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_masters: Option<i32>,
}

/// A group of identically configured nodes, run as one StatefulSet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.ElasticsearchClusterNodePool")]
pub struct ElasticsearchClusterNodePool {
    /// Name of the pool, unique in the cluster.
    #[serde(default)]
    pub name: String,
    /// Number of nodes. Defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Node roles: any of `data`, `ingest`, `master`; at least one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub roles: Vec<String>,
    /// Node selector for the pool's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Compute resources of the database container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Persistent storage for each node; an emptyDir when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<PersistenceConfig>,
    /// Scheduler for the pool's pods; the default scheduler when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scheduler_name: String,
}

/// The observed state of an Elasticsearch cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.ElasticsearchClusterStatus")]
pub struct ElasticsearchClusterStatus {
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
    /// Cluster health: `Green`, `Yellow` or `Red`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
}
