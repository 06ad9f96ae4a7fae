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

use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::CassandraCluster;

use super::compatibility::StorageCompatibility;
use super::observe::Observed;
use super::settings::Settings;

pub(crate) use crate::plan::wait;
pub use crate::plan::{Action, Wait, WaitReason};

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
/// fresh Pilot report goes stale ([`crate::plan::recheck_after`] with the settings' window).
pub fn recheck_after(
    observed: &Observed,
    now: Timestamp,
    settings: &Settings,
) -> Option<std::time::Duration> {
    crate::plan::recheck_after(observed, now, settings.report_freshness)
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
