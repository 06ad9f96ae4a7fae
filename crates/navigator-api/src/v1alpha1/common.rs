use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A container image.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.ImageSpec")]
pub struct ImageSpec {
    /// Image repository, e.g. `cassandra`.
    #[serde(default)]
    pub repository: String,
    /// Image tag, e.g. `3.11.1`.
    #[serde(default)]
    pub tag: String,
    /// Image pull policy: `Always`, `IfNotPresent` or `Never`. Defaults to `IfNotPresent`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pull_policy: String,
}

/// Security settings for the database pods.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.NavigatorSecurityContext")]
pub struct NavigatorSecurityContext {
    /// The UID the database process runs as; also used as the pod's `fsGroup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
}

/// Persistent storage for each node of a pool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.PersistenceConfig")]
pub struct PersistenceConfig {
    /// Deprecated and ignored: persistence is enabled by setting `size`. Accepted so that
    /// manifests written for early Navigator releases still apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Size of each node's volume, e.g. `10Gi`.
    pub size: Quantity,
    /// Storage class of the volumes; the cluster's default class when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

/// A condition of a cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.ClusterCondition")]
pub struct ClusterCondition {
    /// Type of the condition: `Available` or `Progressing`.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// Status of the condition: `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// A CamelCase reason for the last transition.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// A human-readable explanation of the last transition.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The observed state of one node pool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.NodePoolStatus")]
pub struct NodePoolStatus {
    /// Database pods of the pool that are ready.
    #[serde(default)]
    pub ready_replicas: i32,
}
