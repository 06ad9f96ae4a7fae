//! The planner: `(cluster, observed children, pilot reports, now) → the next action`.
//!
//! Exactly one action per pass; the controller carries it out and observes again. Pure: the
//! same inputs always give the same action, so a controller restarted at any point recomputes
//! the step it was taking. Reports older than [`Settings::report_freshness`] count as Unknown,
//! and Unknown never permits a step that could lose data.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::{CassandraCluster, Pilot};

use super::children::DesiredChild;
use super::observe::Observed;
use super::settings::Settings;

/// The one next step for a cluster.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Create or update (server-side apply) children that are missing or whose spec-hash
    /// differs from the desired one: ServiceAccount, Role, RoleBinding, Services, PDB.
    ApplyChildren(Vec<DesiredChild>),
    /// Create the Pilot of a pod before the pod exists.
    CreatePilot(Pilot),
    /// Create a node pool's StatefulSet (1 replica; later nodes come by `ScaleOut`).
    CreateNodePool {
        /// The pool.
        pool: String,
        /// The StatefulSet to create.
        statefulset: StatefulSet,
    },
    /// Raise a pool's replicas by one: every node Ready, every pilot sees every peer UP/NORMAL.
    ScaleOut {
        /// The pool.
        pool: String,
        /// Replicas before.
        from: i32,
        /// Replicas after (`from + 1`).
        to: i32,
        /// The StatefulSet to apply.
        statefulset: StatefulSet,
    },
    /// Label a pool's first pod as a seed (`navigator.jetstack.io/cassandra-seed=true`), or take
    /// the label off a pod that is not one.
    SetSeedLabel {
        /// The pod.
        pod: String,
        /// Whether the pod is a seed.
        seed: bool,
    },
    /// Ask a node to leave the ring: its Pilot's `spec.requestedState = Decommissioned`.
    RequestDecommission {
        /// The Pilot (= pod) name.
        pilot: String,
    },
    /// Reversal before a decommission started: the Pilot's requested state back to `Running`.
    CancelDecommission {
        /// The Pilot (= pod) name.
        pilot: String,
    },
    /// Lower a pool's replicas by one, after the highest pod's pilot reported the decommission
    /// `Complete`.
    ScaleIn {
        /// The pool.
        pool: String,
        /// Replicas before.
        from: i32,
        /// Replicas after (`from - 1`).
        to: i32,
        /// The StatefulSet to apply.
        statefulset: StatefulSet,
    },
    /// Delete the data claim of a node that left the ring, so its volume never rejoins.
    DeleteClaim {
        /// The claim.
        claim: String,
    },
    /// Delete the Pilot of a pod that was scaled away (a later node of that ordinal starts
    /// with a fresh Pilot).
    DeletePilot {
        /// The Pilot.
        pilot: String,
    },
    /// Apply a changed pod template (e.g. a new version) with the update partition at the
    /// current replicas, so no pod restarts yet.
    UpdatePodTemplate {
        /// The pool.
        pool: String,
        /// The StatefulSet to apply.
        statefulset: StatefulSet,
    },
    /// Let the next pod (the highest ordinal not yet updated) restart on the new template:
    /// lower the update partition to its ordinal.
    RollNextPod {
        /// The pool.
        pool: String,
        /// The pod that will restart.
        pod: String,
        /// The new partition (= that pod's ordinal).
        partition: i32,
        /// The StatefulSet to apply.
        statefulset: StatefulSet,
    },
    /// Nothing may be done now; the status says why.
    Wait(Wait),
    /// The cluster is as desired.
    Idle,
}

/// Why the planner waits, and on what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wait {
    /// The reason, used as the `Progressing` condition's reason.
    pub reason: WaitReason,
    /// The object waited on, e.g. `pod/cass-demo-a-2` or `pilot/cass-demo-a-2`.
    pub object: String,
    /// What was observed, for people: which fact is missing or wrong.
    pub message: String,
}

/// The reasons to wait, one per gate of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitReason {
    /// `spec.paused` is true.
    ClusterPaused,
    /// The spec cannot be turned into children (e.g. no version).
    InvalidSpec,
    /// A pod is not Ready (starting, restarting, or failing its probes).
    WaitingForPodReady,
    /// A pilot's report is missing or older than the freshness window.
    WaitingForPilotReport,
    /// A node does not (yet) see every peer UP/NORMAL, or is not NORMAL itself.
    WaitingForRing,
    /// A decommission was requested and has not completed.
    WaitingForDecommission,
    /// The pilot refused the decommission (e.g. a keyspace's replication factor needs the node).
    DecommissionBlocked,
    /// A scaled-away pod has not gone yet.
    WaitingForPodDeletion,
    /// A restarted pod does not yet run the new template/version.
    WaitingForUpgrade,
    /// The StatefulSet controller has not caught up with the StatefulSet's spec.
    WaitingForStatefulSet,
}

impl WaitReason {
    /// The CamelCase name used as a condition reason.
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::ClusterPaused => "ClusterPaused",
            WaitReason::InvalidSpec => "InvalidSpec",
            WaitReason::WaitingForPodReady => "WaitingForPodReady",
            WaitReason::WaitingForPilotReport => "WaitingForPilotReport",
            WaitReason::WaitingForRing => "WaitingForRing",
            WaitReason::WaitingForDecommission => "WaitingForDecommission",
            WaitReason::DecommissionBlocked => "DecommissionBlocked",
            WaitReason::WaitingForPodDeletion => "WaitingForPodDeletion",
            WaitReason::WaitingForUpgrade => "WaitingForUpgrade",
            WaitReason::WaitingForStatefulSet => "WaitingForStatefulSet",
        }
    }
}

/// The next action for `cluster` given what was observed at `now`.
pub fn plan(
    cluster: &CassandraCluster,
    observed: &Observed,
    now: Timestamp,
    settings: &Settings,
) -> Action {
    let _ = (cluster, observed, now, settings);
    // Filled in by the planner's implementation (see the module docs).
    Action::Idle
}

#[allow(dead_code)]
fn _types_in_use(_: &Pod, _: &PersistentVolumeClaim) {}
