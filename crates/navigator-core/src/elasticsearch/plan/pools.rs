//! Rules 4–12: one node pool's clean-up and the operations in flight (`finish`), then the
//! next change (`advance`).
//!
//! Steps return `Result<Action, Action>`: `Err` is the action that stops a step early (a
//! failed gate's `Wait`), so `?` reads as "unless this gate says otherwise".

#![allow(
    clippy::result_large_err,
    reason = "both variants are the planner's one action per pass, returned once"
)]

use k8s_openapi::api::apps::v1::StatefulSet;
use navigator_api::v1beta1::Pilot;

use super::facts::{self, DecommissionPhase, Pool, PoolObjects};
use super::{Action, Ctx, WaitReason, gates, wait};
use crate::elasticsearch::children;

/// The StatefulSet of `pool` with `replicas` and `partition`, or an `InvalidSpec` wait.
fn statefulset(
    ctx: &Ctx<'_>,
    pool: &Pool,
    replicas: i32,
    partition: i32,
) -> Result<StatefulSet, Action> {
    children::statefulset(ctx.cluster, &pool.spec, replicas, partition, ctx.settings)
        .map_err(|e| ctx.invalid(&e))
}

/// `CreatePilot` for `ordinal` of `pool`, or an `InvalidSpec` wait.
fn create_pilot(ctx: &Ctx<'_>, pool: &Pool, ordinal: i32) -> Action {
    match children::pilot(ctx.cluster, &pool.spec, ordinal) {
        Ok(pilot) => Action::CreatePilot(pilot),
        Err(e) => ctx.invalid(&e),
    }
}

fn unwrap(r: Result<Action, Action>) -> Action {
    match r {
        Ok(a) | Err(a) => a,
    }
}

/// Rules 4–6 (and 12's deletion) for `pool`: clean-up of scaled-away ordinals, missing
/// Pilots, and drains in flight. `None` when nothing is in flight.
pub(super) fn finish(ctx: &Ctx<'_>, pool: &Pool) -> Option<Action> {
    let objects = PoolObjects::of(ctx.name, pool.name(), ctx.observed);
    let r = objects.replicas();
    let d = pool.desired();

    // 4. Clean-up of ordinals at or above the replicas: the pod goes first (the StatefulSet
    //    controller removes it), then the Pilot of a node that is not wanted or was drained.
    //    (A pool of the spec without a StatefulSet keeps its pods: `CreateNodePool` adopts
    //    them.)
    let cleaned = objects.statefulset.is_some() || pool.removed;
    for k in objects
        .ordinals()
        .into_iter()
        .filter(|k| cleaned && *k >= r)
    {
        let pod_name = objects.pod_name(k);
        if objects.pod(k).is_some() {
            let message = match objects.statefulset {
                Some(_) if r > 0 || !pool.removed => format!(
                    "pod {pod_name} is above the StatefulSet's {r} replicas and has not gone yet"
                ),
                _ => format!(
                    "pod {pod_name} of pool {} (no longer in the spec) has not gone yet",
                    pool.name()
                ),
            };
            return Some(wait(
                WaitReason::WaitingForPodDeletion,
                format!("pod/{pod_name}"),
                message,
            ));
        }
        let Some(pilot) = objects.pilot(k) else {
            continue;
        };
        if k < d && !facts::decommission_requested(pilot) {
            // A Pilot created ahead of a scale-out (rule 5).
            continue;
        }
        if pilot.metadata.deletion_timestamp.is_some() {
            return Some(wait(
                WaitReason::WaitingForPodDeletion,
                format!("pilot/{pod_name}"),
                format!("pilot {pod_name} of a removed node is being deleted"),
            ));
        }
        return Some(Action::DeletePilot { pilot: pod_name });
    }

    // 5. Every node that is or will be has its Pilot before its pod.
    if let Some(k) = (0..r.max(d)).find(|k| objects.pilot(*k).is_none()) {
        return Some(create_pilot(ctx, pool, k));
    }

    // 6. Drains in flight: a reversal is cancelled, the condemned nodes are followed.
    if let Some(k) = (0..r.min(d))
        .rev()
        .find(|k| objects.pilot(*k).is_some_and(facts::decommission_requested))
    {
        return Some(Action::CancelDecommission {
            pilot: objects.pod_name(k),
        });
    }
    let condemned: Vec<i32> = (d.min(r)..r).rev().collect();
    let requested: Vec<(i32, &Pilot)> = condemned
        .iter()
        .filter_map(|k| objects.pilot(*k).map(|p| (*k, p)))
        .filter(|(_, p)| facts::decommission_requested(p))
        .collect();
    let pending: Vec<(i32, &Pilot)> = requested
        .iter()
        .copied()
        .filter(|(_, p)| !facts::drained(p, ctx.now, ctx.settings))
        .collect();
    let all_requested = requested.len() == condemned.len();
    if pool.is_master() {
        // One master-eligible node at a time: the one asked to leave finishes first.
        if !pending.is_empty() {
            return Some(drain_wait(ctx, &objects, &pending, r));
        }
        if pool.removed {
            return all_requested.then(|| delete_pool(&objects, pool)).flatten();
        }
        if requested.iter().any(|(k, _)| *k == r - 1) {
            return Some(unwrap(scale_in(ctx, pool, &objects, r, r - 1)));
        }
        return None;
    }
    // Data and ingest nodes leave together: once every condemned node was asked.
    if !all_requested {
        return None;
    }
    if !pending.is_empty() {
        return Some(drain_wait(ctx, &objects, &pending, r));
    }
    if pool.removed {
        return delete_pool(&objects, pool);
    }
    if d < r {
        return Some(unwrap(scale_in(ctx, pool, &objects, r, d)));
    }
    None
}

/// Rule 12: `DeleteNodePool` for a removed pool whose nodes drained (or that has none left),
/// or a wait while its StatefulSet is being deleted. `None` without a StatefulSet.
fn delete_pool(objects: &PoolObjects<'_>, pool: &Pool) -> Option<Action> {
    let sts = objects.statefulset?;
    let name = sts.metadata.name.clone().unwrap_or_default();
    if sts.metadata.deletion_timestamp.is_some() {
        return Some(wait(
            WaitReason::WaitingForPodDeletion,
            format!("statefulset/{name}"),
            format!(
                "statefulset {name} of removed pool {} is being deleted",
                pool.name()
            ),
        ));
    }
    Some(Action::DeleteNodePool {
        pool: pool.name().to_owned(),
        statefulset: name,
    })
}

/// `ScaleIn` from `r` to `to`, with the partition kept (or at `to` when the template changed
/// and is not applied yet, so no pod restarts outside the gated roll).
fn scale_in(
    ctx: &Ctx<'_>,
    pool: &Pool,
    objects: &PoolObjects<'_>,
    r: i32,
    to: i32,
) -> Result<Action, Action> {
    // Replicas above 0 come from a StatefulSet.
    let sts = objects.statefulset.ok_or(Action::Idle)?;
    let desired = statefulset(ctx, pool, to, to)?;
    let changed =
        facts::annotation_hash(&sts.metadata) != facts::annotation_hash(&desired.metadata);
    let partition = if changed {
        to
    } else {
        facts::sts_partition(sts).clamp(0, to)
    };
    Ok(Action::ScaleIn {
        pool: pool.name().to_owned(),
        from: r,
        to,
        statefulset: statefulset(ctx, pool, to, partition)?,
    })
}

/// The wait for the drains of `pending` (highest ordinal first): `DecommissionBlocked` when one
/// reports `Failed` in a fresh report, else `WaitingForDrain` naming each with its shards.
fn drain_wait(
    ctx: &Ctx<'_>,
    objects: &PoolObjects<'_>,
    pending: &[(i32, &Pilot)],
    r: i32,
) -> Action {
    let describe = |k: i32, pilot: &Pilot| {
        let name = objects.pod_name(k);
        let (phase, message) = facts::decommission_phase(pilot);
        let mut m = format!("pilot {name} {}", phase.text());
        match facts::shards(pilot) {
            Some(n) => m.push_str(&format!(" ({n} shards on the node)")),
            None => m.push_str(" (shards unknown)"),
        }
        if !message.is_empty() {
            m.push_str(&format!(": {message}"));
        }
        if let Err(stale) = facts::report_freshness(pilot, ctx.now, ctx.settings) {
            m.push_str(&format!(" (report unknown: {stale})"));
        }
        m
    };
    if let Some((k, pilot)) = pending.iter().find(|(_, p)| {
        facts::decommission_phase(p).0 == DecommissionPhase::Failed
            && facts::fresh(p, ctx.now, ctx.settings)
    }) {
        return wait(
            WaitReason::DecommissionBlocked,
            format!("pilot/{}", objects.pod_name(*k)),
            format!(
                "{}; the pilot tries again by itself: make room for its shards (e.g. fewer index replicas or more nodes), or set replicas back to {r} to cancel",
                describe(*k, pilot)
            ),
        );
    }
    let (first, _) = pending[0];
    wait(
        WaitReason::WaitingForDrain,
        format!("pilot/{}", objects.pod_name(first)),
        pending
            .iter()
            .map(|(k, p)| describe(*k, p))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// Rules 7–12 over every pool: create pools (master-eligible first), then, pool by pool in
/// order, change templates, roll, scale out, ask nodes to leave. `None` when no pool needs
/// anything.
pub(super) fn advance(ctx: &Ctx<'_>, pools: &[Pool]) -> Option<Action> {
    // 7. Pools without a StatefulSet: master-eligible pools first, ungated.
    let absent = |p: &&Pool| {
        !p.removed
            && PoolObjects::of(ctx.name, p.name(), ctx.observed)
                .statefulset
                .is_none()
    };
    let masters = pools.iter().filter(absent).filter(|p| p.is_master());
    let others = pools.iter().filter(absent).filter(|p| !p.is_master());
    if let Some(pool) = masters.chain(others).next() {
        return Some(unwrap((|| {
            Ok(Action::CreateNodePool {
                pool: pool.name().to_owned(),
                statefulset: statefulset(ctx, pool, pool.desired(), 0)?,
            })
        })()));
    }
    pools
        .iter()
        .find_map(|pool| advance_pool(ctx, pools, pool).map(unwrap))
}

fn advance_pool(ctx: &Ctx<'_>, pools: &[Pool], pool: &Pool) -> Option<Result<Action, Action>> {
    let objects = PoolObjects::of(ctx.name, pool.name(), ctx.observed);
    let sts = objects.statefulset?;
    let r = objects.replicas();
    let d = pool.desired();

    if sts.metadata.deletion_timestamp.is_some() {
        // Deleted by someone else: it is created again once gone (rule 7).
        let name = sts.metadata.name.as_deref().unwrap_or_default();
        return (!pool.removed).then(|| {
            Ok(wait(
                WaitReason::WaitingForStatefulSet,
                format!("statefulset/{name}"),
                format!("statefulset {name} is being deleted"),
            ))
        });
    }
    // A removed pool's template cannot be built (its spec is gone): only rule 11 applies.
    if !pool.removed {
        if let Some(step) = template_and_roll(ctx, pools, pool, &objects, sts, r) {
            return Some(step);
        }
        // 10. Scale out at once; the Pilots exist (rule 5).
        if d > r {
            return Some((|| {
                Ok(Action::ScaleOut {
                    pool: pool.name().to_owned(),
                    from: r,
                    to: d,
                    statefulset: statefulset(ctx, pool, d, 0)?,
                })
            })());
        }
    }

    // 11. Ask the next condemned node to leave.
    if d >= r {
        return None;
    }
    let next = (d..r)
        .rev()
        .find(|k| !objects.pilot(*k).is_some_and(facts::decommission_requested))?;
    let name = objects.pod_name(next);
    Some((|| {
        if pool.is_master() {
            let active = active_masters(ctx, pools);
            let need = ctx.cluster.spec.minimum_masters.unwrap_or(0).max(1);
            if active - 1 < need {
                return Err(wait(
                    WaitReason::WaitingForMasterQuorum,
                    format!("pilot/{name}"),
                    format!(
                        "removing {name} would leave {} master-eligible node(s), fewer than the {need} needed (spec.minimumMasters, at least 1): add master-eligible nodes first",
                        active - 1
                    ),
                ));
            }
        }
        gates::drain_gate(ctx.name, ctx.observed, ctx.now, ctx.settings).map_err(Action::Wait)?;
        Ok(Action::RequestDecommission { pilot: name })
    })())
}

/// The master-eligible nodes that stay: ordinals below their StatefulSet's replicas whose
/// Pilot is not asked to leave, over every pool.
fn active_masters(ctx: &Ctx<'_>, pools: &[Pool]) -> i32 {
    pools
        .iter()
        .filter(|p| p.is_master())
        .map(|p| {
            let objects = PoolObjects::of(ctx.name, p.name(), ctx.observed);
            let staying = (0..objects.replicas())
                .filter(|k| !objects.pilot(*k).is_some_and(facts::decommission_requested))
                .count();
            i32::try_from(staying).unwrap_or(i32::MAX)
        })
        .sum()
}

/// Rules 8 and 9 for a pool of the spec: a changed template, then the rolling update.
fn template_and_roll(
    ctx: &Ctx<'_>,
    pools: &[Pool],
    pool: &Pool,
    objects: &PoolObjects<'_>,
    sts: &StatefulSet,
    r: i32,
) -> Option<Result<Action, Action>> {
    let partition = facts::sts_partition(sts);

    // 8. A changed template goes in with the partition at the replicas.
    let desired = match statefulset(ctx, pool, r, r) {
        Ok(s) => s,
        Err(a) => return Some(Err(a)),
    };
    if facts::annotation_hash(&sts.metadata) != facts::annotation_hash(&desired.metadata) {
        return Some(Ok(Action::UpdatePodTemplate {
            pool: pool.name().to_owned(),
            statefulset: desired,
        }));
    }
    let update_revision = match crate::plan::rollout_revision(sts) {
        Ok(r) => r,
        Err(w) => return Some(Ok(Action::Wait(w))),
    };

    // 9. The rolling update, highest ordinal first.
    let old: Vec<i32> = objects
        .pods()
        .filter(|(k, p)| *k < r && facts::pod_revision(p) != Some(update_revision))
        .map(|(k, _)| k)
        .collect();
    let settling = crate::plan::settling(sts, update_revision);
    if old.is_empty() && !settling {
        return None;
    }
    if let Some(k) = old.iter().rev().find(|k| **k >= partition) {
        let name = objects.pod_name(*k);
        return Some(Ok(wait(
            WaitReason::WaitingForUpgrade,
            format!("pod/{name}"),
            format!(
                "pod {name} runs an old revision; the StatefulSet controller restarts it on {update_revision}"
            ),
        )));
    }
    for k in (partition.max(0)..r).rev() {
        if let Some(w) = upgraded_pod_wait(ctx, objects, k) {
            return Some(Ok(w));
        }
    }
    let &next = old.last()?;
    let name = objects.pod_name(next);
    Some((|| {
        gates::roll_gate(ctx.name, pools, ctx.observed, ctx.now, ctx.settings)
            .map_err(Action::Wait)?;
        Ok(Action::RollNextPod {
            pool: pool.name().to_owned(),
            pod: name,
            partition: next,
            statefulset: statefulset(ctx, pool, r, next)?,
        })
    })())
}

/// Why the restarted pod of ordinal `k` is not done upgrading yet, if it is not.
fn upgraded_pod_wait(ctx: &Ctx<'_>, objects: &PoolObjects<'_>, k: i32) -> Option<Action> {
    let name = objects.pod_name(k);
    let upgrade = |object: String, message: String| {
        Some(wait(WaitReason::WaitingForUpgrade, object, message))
    };
    let Some(pod) = objects.pod(k) else {
        return upgrade(
            format!("pod/{name}"),
            format!("pod {name} is being recreated on the new template"),
        );
    };
    if !facts::pod_ready(pod) {
        return upgrade(
            format!("pod/{name}"),
            format!("pod {name} restarted on the new template and is not Ready yet"),
        );
    }
    let Some(pilot) = objects.pilot(k) else {
        return upgrade(
            format!("pilot/{name}"),
            format!("pilot {name} does not exist"),
        );
    };
    if let Err(stale) = facts::report_freshness(pilot, ctx.now, ctx.settings) {
        return upgrade(format!("pilot/{name}"), format!("pilot {name} {stale}"));
    }
    let want = ctx.cluster.spec.version.as_ref()?;
    match facts::es(pilot).and_then(|e| e.version.as_ref()) {
        Some(v) if facts::version_matches(want, v) => None,
        Some(v) => upgrade(
            format!("pilot/{name}"),
            format!("pilot {name} reports version {v}, not {want} yet"),
        ),
        None => upgrade(
            format!("pilot/{name}"),
            format!("pilot {name} reports no version yet"),
        ),
    }
}
