use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// A container image.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageSpec {
    /// Image repository, e.g. `cassandra`.
    pub repository: String,
    /// Image tag, e.g. `5.0.2`.
    pub tag: String,
    /// `Always`, `IfNotPresent` or `Never`; empty when unset (defaulting sets `IfNotPresent`).
    pub pull_policy: String,
}

/// The image pull policies Kubernetes supports.
pub const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];

/// The security settings applied to database pods.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SecurityContext {
    /// The user the database runs as; also the pod's `fsGroup`.
    pub run_as_user: Option<i64>,
}

/// Persistent storage for each node of a pool. Absent means an `emptyDir`.
#[derive(Clone, Debug, PartialEq)]
pub struct PersistenceConfig {
    /// The size of each node's volume.
    pub size: Quantity,
    /// The storage class; the cluster default when unset.
    pub storage_class: Option<String>,
}

/// How many of a cluster's database pods voluntary disruptions may take down at once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodDisruptionBudgetConfig {
    /// Most pods that may be unavailable (a number or a percentage).
    pub max_unavailable: Option<IntOrString>,
    /// Fewest pods that must stay available (a number or a percentage).
    pub min_available: Option<IntOrString>,
}

/// Settings shared by every cluster kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterConfig {
    /// The image holding the pilot binary.
    pub pilot_image: ImageSpec,
    /// Security settings for the database pods.
    pub security_context: SecurityContext,
    /// When true the controller takes no action on the cluster.
    pub paused: bool,
    /// Disruption budget for the cluster's pods; absent means `maxUnavailable: 1`.
    pub pod_disruption_budget: Option<PodDisruptionBudgetConfig>,
}

/// A condition of a cluster or a pilot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Condition {
    /// The condition type, e.g. `Available`.
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// The `metadata.generation` the condition was computed from.
    pub observed_generation: Option<i64>,
    /// When the status last changed.
    pub last_transition_time: Option<Time>,
    /// A CamelCase machine-readable reason.
    pub reason: String,
    /// A human-readable message.
    pub message: String,
}

/// The statuses a condition may have.
pub const CONDITION_STATUSES: &[&str] = &["True", "False", "Unknown"];

/// The observed state of one node pool, from its StatefulSet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodePoolStatus {
    /// Ready database pods.
    pub ready_replicas: i32,
    /// Pods that exist.
    pub replicas: Option<i32>,
    /// Pods at the current pod template.
    pub updated_replicas: Option<i32>,
}
