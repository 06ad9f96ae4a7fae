//! The planner for ElasticsearchClusters: `(cluster, observed children, pilot reports, now) →
//! the next action`.
//!
//! Exactly one action per pass; the controller carries it out and observes again. Pure: the
//! same inputs always give the same action, so a controller restarted at any point recomputes
//! the step it was taking. Reports older than [`Settings::report_freshness`] count as Unknown,
//! and Unknown never permits a step that could lose data.
//!
//! # The rules, in priority order (the first that applies gives the action)
//!
//! `r` = a pool's StatefulSet replicas (0 without one, or while it is being deleted), `d` = the
//! replicas the spec asks (0 for a pool that left the spec); the *condemned* ordinals are
//! `d ≤ k < r`, the nodes a scale-in removes.
//!
//! **Whole cluster, ungated** (`shared`):
//! 1. `spec.paused` → `Wait(ClusterPaused)`.
//! 2. A builder of [`super::children`] fails (shared children, every pool's StatefulSet and
//!    Pilot) → `Wait(InvalidSpec)` with its error.
//! 3. Shared children (ServiceAccount, Role, RoleBinding, Services, PDB and every spec pool's
//!    ConfigMap) missing, or carrying another spec-hash than the desired object →
//!    `ApplyChildren` with exactly those, in creation order. Then children of the cluster in
//!    `observed.others` that are no longer desired and carry a name the builders give →
//!    `DeleteChildren`: e.g. the ConfigMap `es-<c>-<pool>-config` of a pool that left the spec,
//!    once its StatefulSet is gone (while it exists, its pods may restart and read it).
//!
//! **Every pool, finishing what is in flight** (`pools::finish`), the pools of the spec in
//! spec order, then the pools that left the spec (those with a StatefulSet, pods or Pilots
//! left; by name):
//! 4. Clean-up of ordinals `k ≥ r` (for a pool of the spec only once it has a StatefulSet):
//!    pod `k` still exists → `Wait(WaitingForPodDeletion)`; else its Pilot, when `k ≥ d` or it
//!    requests `Decommissioned`, → `DeletePilot` (the leader pilot then drops the node's
//!    allocation and voting exclusions; a Pilot being deleted is waited for).
//! 5. A Pilot missing for an ordinal below `max(r, d)` → `CreatePilot` (Pilots exist before
//!    their pods, ordinals ascending).
//! 6. Pilots below `r` requesting `Decommissioned`:
//!    - one at `k < d` (a reversal, or a request the planner never made) → `CancelDecommission`
//!      (highest first): an Elasticsearch drain is reversible whatever its phase — the node
//!      is still in the cluster, and the leader pilot lifts its exclusions.
//!    - master-eligible pool (one master at a time): while a condemned Pilot asked to leave
//!      has not reported `Complete` in a fresh report → `Wait(DecommissionBlocked)` with the
//!      pilot's message when it reports `Failed` in a fresh report, else
//!      `Wait(WaitingForDrain)`; once every one asked is drained and `r - 1` is among them →
//!      `ScaleIn` from `r` to `r - 1`; a removed pool whose every node is drained →
//!      `DeleteNodePool` (rule 12).
//!    - data/ingest pool, once every condemned Pilot was asked (rule 11 asks them one per
//!      pass): every one `Complete` in a fresh report → `ScaleIn` from `r` to `d` at once (a
//!      removed pool: `DeleteNodePool`); any `Failed` in a fresh report →
//!      `Wait(DecommissionBlocked)`; else `Wait(WaitingForDrain)` naming every pilot still
//!      draining with its shard count (`status.elasticsearch.shards`) and message.
//!
//!    A `ScaleIn` keeps the partition (or puts it at the new replicas when the template changed
//!    and is not applied yet, so no pod restarts outside the gated roll).
//!
//! **The next change** (`pools::advance`):
//! 7. A pool of the spec without a StatefulSet (its Pilots exist by rule 5) → `CreateNodePool`
//!    with `d` replicas and partition 0: the master-eligible pools first (spec order), then the
//!    others; ungated (data nodes join when the masters are there) and ahead of the steps
//!    below.
//!
//!    Then pool by pool (spec order, then removed pools), a pool only touched when every
//!    earlier pool needs nothing:
//! 8. The StatefulSet being deleted (by someone else) → `Wait(WaitingForStatefulSet)` (rule 4
//!    waits for its pods; rule 7 creates it again once it is gone). Its spec-hash ≠ the
//!    desired one → `UpdatePodTemplate` with the partition at
//!    `r` (nothing restarts). The StatefulSet not observed by its controller yet, or without
//!    an `updateRevision` → `Wait(WaitingForStatefulSet)`.
//! 9. Rolling update, while pods below `r` run another revision than `status.updateRevision`
//!    (or `currentRevision` has not caught up): a pod at or above the partition still old,
//!    missing, not Ready, without a fresh report, or reporting another version than
//!    `spec.version` → `Wait(WaitingForUpgrade)`; else, through the roll gate
//!    (`gates::roll_gate`) → `RollNextPod` for the highest old ordinal (partition = its
//!    ordinal). The roll gate: every StatefulSet observed, every pod below its StatefulSet's
//!    replicas exists and is Ready (`WaitingForPodReady`), every such pod's Pilot reports
//!    fresh (`WaitingForPilotReport`), a fresh leader report (the Pilot reporting
//!    `clusterHealth` with the latest heartbeat), health not `Red`, 0 relocating and 0
//!    initializing shards, and `Green` — `Yellow` only when the cluster has exactly one
//!    data-bearing node, whose replicas can never be allocated (`WaitingForClusterHealth`
//!    with the leader's facts).
//! 10. `d > r` → `ScaleOut` from `r` to `d` at once (partition 0); ungated.
//! 11. `d < r` → `RequestDecommission` for the highest condemned Pilot not asked yet, one per
//!     pass (rule 6 holds a master-eligible pool until the previous one is drained, so its
//!     nodes leave one at a time, `r - 1` first). A master-eligible node only when the
//!     master-eligible nodes left after it — over every pool, ordinals below the replicas
//!     whose Pilot is not asked to leave, minus this one — are at least
//!     `max(1, spec.minimumMasters)`, else `Wait(WaitingForMasterQuorum)`. Every request
//!     passes the drain gate (`gates::drain_gate`): a fresh leader report with a known health
//!     that is not `Red`, else `Wait(WaitingForClusterHealth)`.
//! 12. A pool that left the spec (a StatefulSet `es-<c>-<pool>`, pods or Pilots of a pool not in
//!     the spec): `d = 0`, so rules 4, 5, 6 and 11 drain its nodes (master-eligible ones one at a
//!     time, quorum-checked); its template is never changed, rolled or scaled (its spec is gone,
//!     so its StatefulSet cannot be rebuilt): once every node of it reports the drain `Complete`
//!     in a fresh report (or `r = 0`) → `DeleteNodePool`, which takes its pods down together,
//!     all of them drained and, for master-eligible nodes, out of the voting configuration.
//!     Then rule 4 deletes its Pilots as the pods go and rule 3 its ConfigMap. Its roles come
//!     from the role labels of its objects (none: master-eligible and data-bearing).
//!
//! **Finally**: a pod below its StatefulSet's replicas missing or not Ready →
//! `Wait(WaitingForPodReady)`; the fresh leader report says `Red` →
//! `Wait(WaitingForClusterHealth)`; else `Idle`.
//!
//! A report is fresh when `status.lastHeartbeatTime` is within the freshness window of `now`
//! and `status.observedGeneration` ≥ the Pilot's `metadata.generation` (when both are set). A
//! drain counts as done only when its `Complete` is in a fresh report: a stale one may predate a
//! cancelled and repeated request whose exclusion was lifted meanwhile.
//!
//! # Drains that cannot finish
//!
//! A pilot retries a `Failed` operation by itself (every `--operation-retry-interval`), so a
//! `DecommissionBlocked` wait resolves without the planner: make room for the shards and the
//! next retry moves on, or raise the replicas back and the planner cancels the request (rule 6).
//! A drain that waits on shards that cannot move (e.g. an index pinned to the node) stays
//! `InProgress` with the pilot's message and shard count in `WaitingForDrain`.

use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::ElasticsearchCluster;

use crate::children::ChildrenError;
use crate::observe::Observed;
pub(crate) use crate::plan::wait;
pub use crate::plan::{Action, Wait, WaitReason};

use super::settings::Settings;

pub(crate) mod facts;
pub(crate) mod gates;
mod pools;
mod shared;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

/// The next action for `cluster` given what was observed at `now` (see the module docs for
/// the rules, in priority order).
pub fn plan(
    cluster: &ElasticsearchCluster,
    observed: &Observed,
    now: Timestamp,
    settings: &Settings,
) -> Action {
    let ctx = Ctx {
        cluster,
        observed,
        now,
        settings,
        name: cluster.metadata.name.as_deref().unwrap_or_default(),
    };
    if let Some(action) = shared::plan_shared(&ctx) {
        return action;
    }
    let pools = facts::pools(cluster, observed);
    for pool in &pools {
        if let Some(action) = pools::finish(&ctx, pool) {
            return action;
        }
    }
    if let Some(action) = pools::advance(&ctx, &pools) {
        return action;
    }
    finally(&ctx, &pools)
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

/// Nothing to do: `Idle`, unless a node is not Ready or the cluster is red.
fn finally(ctx: &Ctx<'_>, pools: &[facts::Pool]) -> Action {
    for pool in pools {
        let objects = facts::PoolObjects::of(ctx.name, pool.name(), ctx.observed);
        for k in 0..objects.replicas() {
            let name = objects.pod_name(k);
            let problem = match objects.pod(k) {
                None => "does not exist yet",
                Some(p) if !facts::pod_ready(p) => "is not Ready",
                Some(_) => continue,
            };
            return wait(
                WaitReason::WaitingForPodReady,
                format!("pod/{name}"),
                format!("pod {name} {problem}"),
            );
        }
    }
    if let Ok(leader) = facts::fresh_leader(ctx.observed, ctx.now, ctx.settings)
        && leader.health == Some(facts::Health::Red)
    {
        return wait(
            WaitReason::WaitingForClusterHealth,
            format!("pilot/{}", leader.name),
            format!(
                "the cluster is red: the leader pilot {} reports {}",
                leader.name,
                gates::health_facts(&leader)
            ),
        );
    }
    Action::Idle
}

/// The inputs of one planning pass.
pub(crate) struct Ctx<'a> {
    pub cluster: &'a ElasticsearchCluster,
    pub observed: &'a Observed,
    pub now: Timestamp,
    pub settings: &'a Settings,
    /// The cluster's name.
    pub name: &'a str,
}

impl Ctx<'_> {
    /// A `Wait` about the cluster object itself.
    pub fn wait_cluster(&self, reason: WaitReason, message: String) -> Action {
        wait(
            reason,
            format!("elasticsearchcluster/{}", self.name),
            message,
        )
    }

    /// The `InvalidSpec` wait for a builder's error.
    pub fn invalid(&self, e: &ChildrenError) -> Action {
        self.wait_cluster(
            WaitReason::InvalidSpec,
            format!("the spec cannot be turned into children: {e}"),
        )
    }
}
