//! The planner: `(cluster, observed children, pilot reports, now) → the next action`.
//!
//! Exactly one action per pass; the controller carries it out and observes again. Pure: the
//! same inputs always give the same action, so a controller restarted at any point recomputes
//! the step it was taking. Reports older than [`Settings::report_freshness`] count as Unknown,
//! and Unknown never permits a step that could lose data.
//!
//! # The rules, in priority order (the first that applies gives the action)
//!
//! **Whole cluster, ungated** (`shared`):
//! 1. `spec.paused` → `Wait(ClusterPaused)`.
//! 2. A builder of [`super::children`] fails → `Wait(InvalidSpec)` with its error; so does a
//!    4.x `spec.version` while a pool's StatefulSet names a storage compatibility mode past
//!    `CASSANDRA_4` (its nodes may have written SSTables 4.x cannot read).
//! 3. Shared children missing, or carrying another spec-hash than the desired object →
//!    `ApplyChildren` with exactly those, in creation order.
//! 4. Seed labels: pod 0 of every pool carries `navigator.jetstack.io/cassandra-seed=true`, no
//!    other pod carries the label → `SetSeedLabel` (pools in spec order, then ordinals). This
//!    comes before any pool step: a first pod finds its seeds through the label.
//!
//! **Every pool with a StatefulSet, in spec order: finishing what is in flight**
//! (`pools::finish`); `r` = StatefulSet replicas, `d` = desired replicas:
//! 5. Clean-up of ordinals `k ≥ r` that are condemned (`k ≥ d`, or their Pilot requests
//!    `Decommissioned`): pod `k` still exists → `Wait(WaitingForPodDeletion)`; claim
//!    `data-<pod>` exists and the Pilot reports the decommission `Complete` → `DeleteClaim`
//!    (a claim of a node that never left the ring is never deleted); the Pilot exists →
//!    `DeletePilot`.
//! 6. A Pilot missing for an ordinal below `r` → `CreatePilot`.
//! 7. A Pilot below `r` requesting `Decommissioned`:
//!    - the highest (`r - 1`), scale-in wanted (`d < r`): `Complete` → `ScaleIn` to `r - 1`
//!      (partition kept, or at `r - 1` when the template changed and is not applied yet, so
//!      no pod restarts outside the gated roll);
//!      `Failed` in a fresh report → `Wait(DecommissionBlocked)` with the pilot's message;
//!      anything else (absent, `Pending`, `InProgress`, or a stale report) →
//!      `Wait(WaitingForDecommission)`.
//!    - the highest, scale-in no longer wanted (`d ≥ r`, reversal): `Complete` → `ScaleIn`
//!      anyway (the node has left the ring; clean-up and a fresh node follow); `InProgress`
//!      (fresh or not) → `Wait(WaitingForDecommission)`; otherwise → `CancelDecommission`.
//!    - a lower ordinal (never asked for by the planner): `InProgress` →
//!      `Wait(WaitingForDecommission)`; `Complete` → `Wait(DecommissionBlocked)` (needs a
//!      person); otherwise → `CancelDecommission`.
//!
//! **Every pool in spec order: the next change** (`pools::advance`); a pool is only
//! touched once every earlier pool needs nothing, and every ring-changing step passes the
//! cluster-wide health gate (`gates::cluster_healthy`: StatefulSets observed, every pod
//! below replicas exists and is Ready, every Pilot's report fresh, every node NORMAL and seeing
//! every other pod's IP live and nothing unreachable, joining, leaving or moving):
//! 8. No StatefulSet: no Pilot 0 → `CreatePilot`; then (gated when any other pool has a
//!    StatefulSet) → `CreateNodePool` with 1 replica and partition 0.
//! 9. StatefulSet spec-hash ≠ desired (the desired template includes the pool's storage
//!    compatibility mode, below) → `UpdatePodTemplate` with the partition at `r` (nothing
//!    restarts). StatefulSet not observed yet → `Wait(WaitingForStatefulSet)`.
//! 10. Rolling update, while pods below `r` run another revision than `status.updateRevision`:
//!     a pod at or above the partition still old → `Wait(WaitingForUpgrade)` (the StatefulSet
//!     controller restarts it); a pod at or above the partition missing, not Ready, without a
//!     fresh report or reporting another version than `spec.version` →
//!     `Wait(WaitingForUpgrade)`; else (gated) → `RollNextPod` for the highest old ordinal
//!     (partition = its ordinal, ending at 0). The version check also holds until the
//!     StatefulSet's `currentRevision` reaches `updateRevision`.
//! 11. `d > r`: (gated) no Pilot `r` → `CreatePilot`; then (gated) → `ScaleOut` to `r + 1`.
//! 12. `d < r`: (gated) → `RequestDecommission` for Pilot `r - 1`; rule 7 takes it from there.
//!
//! **Finally**: the health gate fails → `Wait` with its reason; else `Idle`.
//!
//! # Storage compatibility (Cassandra 5 and later)
//!
//! Every template of 5.x names Cassandra's `storage_compatibility_mode` (the pilot's
//! `--storage-compatibility-mode` and an annotation on the StatefulSet and its pods,
//! [`super::compatibility`]); the mode a pool runs is read from its observed StatefulSet (one
//! of 5.x naming none, or of 4.x, counts as `CASSANDRA_4`), so a restarted controller
//! continues where it was. The desired mode of each pool (`storage::desired_modes`):
//! - no pool has a StatefulSet (a cluster created at 5.x): `NONE`; a pool created later
//!   starts at the lowest mode any pool runs;
//! - a template moving from 4.x to 5.x keeps `CASSANDRA_4` (the cluster is mixed-version
//!   while it rolls);
//! - every pool in the same mode `m` before `NONE`, and the cluster settled in it — every pool
//!   of the spec has its StatefulSet with the desired template in `m` applied and caught up
//!   (`currentRevision` = `updateRevision`, every pod below the replicas on it), every Pilot
//!   that reports a version reports the spec's, no pod was created from a 4.x template, and
//!   the health gate is open → every pool's mode becomes the step after `m`
//!   (`CASSANDRA_4` → `UPGRADING` → `NONE`), applied by rules 9 and 10 like any template change:
//!   pool by pool in spec order, one pod at a time, each restart gated;
//! - some pools already in the step after the lowest mode (a step under way) → the others
//!   follow to that step, never further, while no node runs 4.x; a mode is never lowered.
//!
//! Under `NONE` the pilots rewrite the SSTables still in 4.x's format (`upgradesstables`, the
//! pilot's own step). `Progressing` says `UpgradingStorage` with the step
//! (`storage_compatibility_mode CASSANDRA_4 → UPGRADING`) while a template or pod changes mode.
//!
//! Pools removed from the spec are left alone (their StatefulSets stay; nothing is deleted).
//! A step blocked in an earlier pool (e.g. a blocked decommission) holds every later pool's
//! steps too: one operation at a time, cluster-wide.
//!
//! A report is fresh when `status.lastHeartbeatTime` is within the freshness window of `now`
//! and `status.observedGeneration` ≥ the Pilot's `metadata.generation` (when both are set).
//! `ScaleIn` happens only when the Pilot of the highest ordinal reports its `Decommissioned`
//! operation `Complete` (sticky in the pilot, so fresh or not).
//!
//! # Blocked decommissions
//!
//! A pilot retries a `Failed` operation by itself every `--operation-retry-interval` (15 s by
//! default; `navigator-pilot`'s `operation` module) without a change to its spec, and its
//! status stays as it was while the answer is the same. So a `DecommissionBlocked` wait
//! resolves without the planner touching the Pilot: lower the keyspace's replication factor
//! and the next retry decommissions (the phase moves `Failed` → `InProgress` → `Complete`), or
//! raise the pool's replicas back and the planner cancels the request (rule 7).

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::{CassandraCluster, Pilot};

use super::children::DesiredChild;
use super::compatibility::StorageCompatibility;
use super::observe::Observed;
use super::settings::Settings;

pub(crate) mod facts;
mod gates;
mod pools;
mod shared;
mod storage;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod storage_tests;
#[cfg(test)]
mod tests;

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

/// The next action for `cluster` given what was observed at `now` (see the module docs for
/// the rules, in priority order).
pub fn plan(
    cluster: &CassandraCluster,
    observed: &Observed,
    now: Timestamp,
    settings: &Settings,
) -> Action {
    let mut ctx = Ctx {
        cluster,
        observed,
        now,
        settings,
        name: cluster.metadata.name.as_deref().unwrap_or_default(),
        modes: storage::Modes::new(),
    };
    if let Some(action) = shared::plan_shared(&ctx) {
        return action;
    }
    ctx.modes = storage::desired_modes(cluster, observed, now, settings);
    for pool in &cluster.spec.node_pools {
        if let Some(action) = pools::finish(&ctx, pool) {
            return action;
        }
    }
    for pool in &cluster.spec.node_pools {
        if let Some(action) = pools::advance(&ctx, pool) {
            return action;
        }
    }
    match gates::cluster_healthy(cluster, observed, now, settings) {
        Ok(()) => Action::Idle,
        Err(wait) => Action::Wait(wait),
    }
}

/// When the controller should plan again although nothing changed: just after the first
/// fresh Pilot report goes stale (the planner's gates and the status depend on it). `None`
/// when no report is fresh. The controller still requeues on every watch event.
pub fn recheck_after(
    observed: &Observed,
    now: Timestamp,
    settings: &Settings,
) -> Option<std::time::Duration> {
    let window_ms = i64::try_from(settings.report_freshness.as_millis()).unwrap_or(i64::MAX);
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

/// The inputs of one planning pass.
pub(crate) struct Ctx<'a> {
    pub cluster: &'a CassandraCluster,
    pub observed: &'a Observed,
    pub now: Timestamp,
    pub settings: &'a Settings,
    /// The cluster's name.
    pub name: &'a str,
    /// The storage compatibility mode each pool's template must name (empty before rule 5,
    /// and for 4.x).
    pub modes: storage::Modes,
}

impl Ctx<'_> {
    /// The mode `pool`'s template must name (`CASSANDRA_4` when none applies: 4.x templates
    /// name no mode, whatever is passed).
    pub fn mode(&self, pool: &str) -> StorageCompatibility {
        self.modes
            .get(pool)
            .copied()
            .unwrap_or(StorageCompatibility::Cassandra4)
    }
}

impl Ctx<'_> {
    /// The cluster-wide health gate.
    pub fn healthy(&self) -> Result<(), Wait> {
        gates::cluster_healthy(self.cluster, self.observed, self.now, self.settings)
    }

    /// A `Wait` about the cluster object itself.
    pub fn wait_cluster(&self, reason: WaitReason, message: String) -> Action {
        Action::Wait(Wait {
            reason,
            object: format!("cassandracluster/{}", self.name),
            message,
        })
    }
}

/// A `Wait` action.
pub(crate) fn wait(reason: WaitReason, object: String, message: String) -> Action {
    Action::Wait(Wait {
        reason,
        object,
        message,
    })
}
