//! The protocol's steps, shared by every kind of cluster: the [`Action`] a planner returns
//! (the controller carries out exactly that, nothing else) and the [`Wait`] it returns when no
//! step may be taken, with its [`WaitReason`]. The planners themselves are per kind
//! ([`crate::cassandra::plan`], [`crate::elasticsearch::plan`]); not every kind uses every
//! action (seed labels and claim deletion are Cassandra's).

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::Pilot;

use crate::children::DesiredChild;
use crate::observe::{ChildRef, Observed};

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
    /// Raise a pool's replicas (Cassandra: by one, every node Ready and every pilot seeing every
    /// peer UP/NORMAL; Elasticsearch: to the desired count at once).
    ScaleOut {
        /// The pool.
        pool: String,
        /// Replicas before.
        from: i32,
        /// Replicas after.
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
    /// Ask a node to leave the cluster: its Pilot's `spec.requestedState = Decommissioned`
    /// (Cassandra: decommission; Elasticsearch: drain its shards, and a voting exclusion when it
    /// is master-eligible).
    RequestDecommission {
        /// The Pilot (= pod) name.
        pilot: String,
    },
    /// Reversal before a decommission started: the Pilot's requested state back to `Running`.
    CancelDecommission {
        /// The Pilot (= pod) name.
        pilot: String,
    },
    /// Lower a pool's replicas, after the Pilots of every pod that goes reported the
    /// decommission `Complete` (Cassandra: one at a time).
    ScaleIn {
        /// The pool.
        pool: String,
        /// Replicas before.
        from: i32,
        /// Replicas after.
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
    /// Delete the StatefulSet of a pool that left the spec, once every node it still runs
    /// reported its decommission `Complete` (Elasticsearch: drained and out of the voting
    /// configuration; its pods go with the StatefulSet, their Pilots are deleted after) or it
    /// has no node left.
    DeleteNodePool {
        /// The pool.
        pool: String,
        /// The StatefulSet's name.
        statefulset: String,
    },
    /// Delete children the cluster no longer wants (e.g. the configuration of a removed pool).
    DeleteChildren(Vec<ChildRef>),
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
    /// The pilot refused the decommission (e.g. a keyspace's replication factor needs the node,
    /// or shards that cannot be allocated elsewhere).
    DecommissionBlocked,
    /// A scaled-away pod has not gone yet.
    WaitingForPodDeletion,
    /// A restarted pod does not yet run the new template/version.
    WaitingForUpgrade,
    /// The StatefulSet controller has not caught up with the StatefulSet's spec.
    WaitingForStatefulSet,
    /// Elasticsearch: the cluster's health (from the leader pilot) does not allow the next step
    /// (red, shards relocating or initializing, or yellow before a restart), or no leader
    /// reports it.
    WaitingForClusterHealth,
    /// Elasticsearch: a node's shards are being moved off before it leaves.
    WaitingForDrain,
    /// Elasticsearch: the step would leave fewer master-eligible nodes than a quorum needs.
    WaitingForMasterQuorum,
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
            WaitReason::WaitingForClusterHealth => "WaitingForClusterHealth",
            WaitReason::WaitingForDrain => "WaitingForDrain",
            WaitReason::WaitingForMasterQuorum => "WaitingForMasterQuorum",
        }
    }
}

/// When the controller should plan again although nothing changed: just after the first
/// fresh Pilot report goes stale (`report_freshness` after its heartbeat: the planners' gates
/// and the status depend on it). `None`
/// when no report is fresh. The controller still requeues on every watch event.
pub fn recheck_after(
    observed: &Observed,
    now: Timestamp,
    report_freshness: std::time::Duration,
) -> Option<std::time::Duration> {
    let window_ms = i64::try_from(report_freshness.as_millis()).unwrap_or(i64::MAX);
    observed
        .pilots
        .iter()
        .filter_map(|p| p.status.last_heartbeat_time.as_ref())
        .map(|hb| {
            hb.0.as_millisecond()
                .saturating_add(window_ms)
                .saturating_sub(now.as_millisecond())
        })
        .filter(|left| *left >= 0)
        .min()
        .map(|left| std::time::Duration::from_millis(left.unsigned_abs() + 1000))
}

/// A `Wait` action.
pub(crate) fn wait(reason: WaitReason, object: String, message: String) -> Action {
    Action::Wait(Wait {
        reason,
        object,
        message,
    })
}

/// The revision a rolling update of `sts` brings its pods to (`status.updateRevision`), or
/// the [`WaitReason::WaitingForStatefulSet`] wait while the StatefulSet controller has not
/// observed its latest spec or reports no update revision yet.
pub(crate) fn rollout_revision(sts: &StatefulSet) -> Result<&str, Wait> {
    let sts_name = sts.metadata.name.clone().unwrap_or_default();
    let sts_wait = |message: &str| Wait {
        reason: WaitReason::WaitingForStatefulSet,
        object: format!("statefulset/{sts_name}"),
        message: format!("statefulset {sts_name} {message}"),
    };
    if crate::observe::facts::sts_lagging(sts) {
        return Err(sts_wait(
            "has not been observed by the StatefulSet controller yet",
        ));
    }
    crate::observe::facts::update_revision(sts)
        .ok_or_else(|| sts_wait("reports no updateRevision yet"))
}

/// Whether the StatefulSet's `status.currentRevision` is not yet its update revision
/// `update_revision` (a rolling update still settling).
pub(crate) fn settling(sts: &StatefulSet, update_revision: &str) -> bool {
    sts.status
        .as_ref()
        .and_then(|s| s.current_revision.as_deref())
        .is_some_and(|c| c != update_revision)
}

/// `Ok` when every member (pod name, pod, Pilot) of a gate may be relied on, else the first
/// reason not, in this order: every pod exists, is not being deleted and is Ready
/// (`WaitingForPodReady`); then every Pilot exists and its report is fresh within `freshness`
/// of `now` (`WaitingForPilotReport`).
pub(crate) fn members_ready<'a>(
    members: impl Iterator<Item = (&'a str, Option<&'a Pod>, Option<&'a Pilot>)> + Clone,
    now: Timestamp,
    freshness: Duration,
) -> Result<(), Wait> {
    for (name, pod, _) in members.clone() {
        let problem = match pod {
            None => Some("does not exist yet"),
            Some(p) if p.metadata.deletion_timestamp.is_some() => Some("is being deleted"),
            Some(p) if !crate::observe::facts::pod_ready(p) => Some("is not Ready"),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            return Err(Wait {
                reason: WaitReason::WaitingForPodReady,
                object: format!("pod/{name}"),
                message: format!("pod {name} {problem}"),
            });
        }
    }
    for (name, _, pilot) in members {
        let problem = match pilot {
            None => Some("does not exist".to_owned()),
            Some(p) => crate::observe::facts::report_freshness(p, now, freshness).err(),
        };
        if let Some(problem) = problem {
            return Err(Wait {
                reason: WaitReason::WaitingForPilotReport,
                object: format!("pilot/{name}"),
                message: format!("pilot {name} {problem}"),
            });
        }
    }
    Ok(())
}
