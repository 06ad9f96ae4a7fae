use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A container image.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.ImageSpec")]
pub struct ImageSpec {
    /// Image repository, e.g. `cassandra`.
    #[serde(default)]
    pub repository: String,
    /// Image tag, e.g. `5.0.2`.
    #[serde(default)]
    pub tag: String,
    /// Image pull policy: `Always`, `IfNotPresent` or `Never`. Defaults to `IfNotPresent`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pull_policy: String,
}

/// Security settings for the database pods.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.NavigatorSecurityContext")]
pub struct NavigatorSecurityContext {
    /// The UID the database process runs as; also used as the pod's `fsGroup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
}

/// Persistent storage for each node of a pool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.PersistenceConfig")]
pub struct PersistenceConfig {
    /// Size of each node's volume, e.g. `10Gi`.
    pub size: Quantity,
    /// Storage class of the volumes; the cluster's default class when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

/// How many database pods voluntary disruptions (node drains, evictions) may take down at once.
/// At most one of the two fields may be set; when neither is, `maxUnavailable` is 1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.PodDisruptionBudgetConfig")]
pub struct PodDisruptionBudgetConfig {
    /// Most database pods that may be unavailable, as a number or a percentage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// Fewest database pods that must stay available, as a number or a percentage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_available: Option<IntOrString>,
}

/// A condition of a cluster or a pilot, in the standard Kubernetes shape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.Condition")]
pub struct Condition {
    /// Type of the condition: `Available`, `Progressing`, `Degraded` for clusters; `Started`,
    /// `Ready`, `Stopped` for pilots.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// Status of the condition: `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// The `metadata.generation` the condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// A CamelCase reason for the last transition, e.g. `WaitingForDecommission`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// A human-readable explanation of the last transition.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The observed state of one node pool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1beta1.NodePoolStatus")]
pub struct NodePoolStatus {
    /// Database pods of the pool that are ready.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Database pods of the pool that exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Database pods of the pool running the current pod template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_replicas: Option<i32>,
}
