//! Rules 5–12: one node pool's clean-up, the operations in flight, then the next change.
//!
//! Steps return `Result<Action, Action>`: `Err` is the action that stops a step early (a
//! failed gate's `Wait`), so `?` reads as "unless this gate says otherwise".

#![allow(
    clippy::result_large_err,
    reason = "both variants are the planner's one action per pass, returned once"
)]

use navigator_api::v1beta1::{CassandraClusterNodePool, Pilot};
use navigator_api::version::CassandraVersion;

use super::facts::{self, DecommissionPhase, PoolObjects};
use super::{Action, Ctx, WaitReason, wait};
use crate::cassandra::children;

/// The replicas the spec asks of `pool` (1 when unset, never below 0).
pub(crate) fn desired_replicas(pool: &CassandraClusterNodePool) -> i32 {
    pool.replicas.unwrap_or(1).max(0)
}

/// The StatefulSet of `pool` with `replicas` and `partition`, or an `InvalidSpec` wait.
fn statefulset(
    ctx: &Ctx<'_>,
    pool: &CassandraClusterNodePool,
    replicas: i32,
    partition: i32,
) -> Result<k8s_openapi::api::apps::v1::StatefulSet, Action> {
    children::statefulset_in_mode(
        ctx.cluster,
        pool,
        replicas,
        partition,
        ctx.settings,
        ctx.mode(&pool.name),
    )
    .map_err(|e| {
        ctx.wait_cluster(
            WaitReason::InvalidSpec,
            format!("the spec cannot be turned into children: {e}"),
        )
    })
}

/// `CreatePilot` for `ordinal`, or an `InvalidSpec` wait.
fn create_pilot(ctx: &Ctx<'_>, pool: &str, ordinal: i32) -> Action {
    match children::pilot(ctx.cluster, pool, ordinal) {
        Ok(pilot) => Action::CreatePilot(pilot),
        Err(e) => ctx.wait_cluster(
            WaitReason::InvalidSpec,
            format!("the spec cannot be turned into children: {e}"),
        ),
    }
}

fn unwrap(r: Result<Action, Action>) -> Action {
    match r {
        Ok(a) | Err(a) => a,
    }
}

/// Rules 5–7 for `pool`: clean-up of scaled-away ordinals, missing Pilots, and decommissions
/// in flight. `None` when the pool has no StatefulSet or nothing is in flight.
pub(super) fn finish(ctx: &Ctx<'_>, pool: &CassandraClusterNodePool) -> Option<Action> {
    let objects = PoolObjects::of(ctx.name, &pool.name, ctx.observed);
    let sts = objects.statefulset?;
    let r = facts::sts_replicas(sts);
    let d = desired_replicas(pool);

    // 5. Clean-up of condemned ordinals at or above the replicas.
    for k in objects.ordinals().into_iter().filter(|k| *k >= r) {
        let pilot = objects.pilot(k);
        let condemned = k >= d || pilot.is_some_and(facts::decommission_requested);
        if !condemned {
            continue;
        }
        let pod_name = objects.pod_name(k);
        if objects.pod(k).is_some() {
            return Some(wait(
                WaitReason::WaitingForPodDeletion,
                format!("pod/{pod_name}"),
                format!(
                    "pod {pod_name} is above the StatefulSet's {r} replicas and has not gone yet"
                ),
            ));
        }
        let left_ring = pilot.is_some_and(facts::decommission_complete);
        if let Some(claim) = objects.claim(k).filter(|_| left_ring) {
            let claim_name = claim.metadata.name.clone().unwrap_or_default();
            if claim.metadata.deletion_timestamp.is_some() {
                return Some(wait(
                    WaitReason::WaitingForPodDeletion,
                    format!("persistentvolumeclaim/{claim_name}"),
                    format!("claim {claim_name} of a node that left the ring is being deleted"),
                ));
            }
            return Some(Action::DeleteClaim { claim: claim_name });
        }
        if let Some(pilot) = pilot {
            if pilot.metadata.deletion_timestamp.is_some() {
                return Some(wait(
                    WaitReason::WaitingForPodDeletion,
                    format!("pilot/{pod_name}"),
                    format!("pilot {pod_name} of a removed node is being deleted"),
                ));
            }
            return Some(Action::DeletePilot { pilot: pod_name });
        }
    }

    // 6. Every ordinal below the replicas has a Pilot.
    if let Some(k) = (0..r).find(|k| objects.pilot(*k).is_none()) {
        return Some(create_pilot(ctx, &pool.name, k));
    }

    // 7. Decommissions in flight, highest ordinal first.
    for k in (0..r).rev() {
        let Some(pilot) = objects
            .pilot(k)
            .filter(|p| facts::decommission_requested(p))
        else {
            continue;
        };
        return Some(unwrap(in_flight(ctx, pool, &objects, pilot, k, r, d)));
    }
    None
}

/// Rule 7 for a Pilot of ordinal `k` below the replicas `r` that requests `Decommissioned`.
fn in_flight(
    ctx: &Ctx<'_>,
    pool: &CassandraClusterNodePool,
    objects: &PoolObjects<'_>,
    pilot: &Pilot,
    k: i32,
    r: i32,
    d: i32,
) -> Result<Action, Action> {
    let name = objects.pod_name(k);
    let object = format!("pilot/{name}");
    let (phase, message) = facts::decommission_phase(pilot);
    let fresh = facts::report_freshness(pilot, ctx.now, ctx.settings);
    let said = |what: &str| {
        let mut m = format!("pilot {name} {what}");
        if !message.is_empty() {
            m.push_str(&format!(": {message}"));
        }
        if let Err(stale) = &fresh {
            m.push_str(&format!(" (report unknown: {stale})"));
        }
        m
    };
    let phase_text = match phase {
        DecommissionPhase::Absent => "has not accepted the decommission yet",
        DecommissionPhase::Pending => "reports the decommission Pending",
        DecommissionPhase::InProgress => "reports the decommission InProgress",
        DecommissionPhase::Complete => "reports the decommission Complete",
        DecommissionPhase::Failed => "reports the decommission Failed",
    };
    if k != r - 1 {
        return Ok(match phase {
            DecommissionPhase::InProgress => {
                wait(WaitReason::WaitingForDecommission, object, said(phase_text))
            }
            DecommissionPhase::Complete => wait(
                WaitReason::DecommissionBlocked,
                object,
                said(&format!(
                    "left the ring but is not the highest ordinal ({}); a person must repair the pool",
                    r - 1
                )),
            ),
            _ => Action::CancelDecommission { pilot: name },
        });
    }
    let scale_in = || -> Result<Action, Action> {
        let sts = objects.statefulset.ok_or(Action::Idle)?;
        // The scale-in applies today's template. When that differs from the StatefulSet's
        // (a template change not applied yet), the partition goes to the new replicas so no
        // pod restarts outside the gated roll; else the partition in force is kept.
        let changed = {
            let desired = statefulset(ctx, pool, k, k)?;
            facts::annotation_hash(&sts.metadata) != facts::annotation_hash(&desired.metadata)
        };
        let partition = if changed {
            k
        } else {
            facts::sts_partition(sts).min(k)
        };
        Ok(Action::ScaleIn {
            pool: pool.name.clone(),
            from: r,
            to: k,
            statefulset: statefulset(ctx, pool, k, partition)?,
        })
    };
    if d < r {
        match phase {
            DecommissionPhase::Complete => scale_in(),
            DecommissionPhase::Failed if fresh.is_ok() => Ok(wait(
                WaitReason::DecommissionBlocked,
                object,
                format!(
                    "{}; the pilot re-checks periodically: lower the keyspace's replication factor to let it proceed, or set replicas back to {r} to cancel",
                    said(phase_text)
                ),
            )),
            _ => Ok(wait(
                WaitReason::WaitingForDecommission,
                object,
                said(phase_text),
            )),
        }
    } else {
        match phase {
            DecommissionPhase::Complete => scale_in(),
            DecommissionPhase::InProgress => Ok(wait(
                WaitReason::WaitingForDecommission,
                object,
                format!(
                    "{}; replicas were raised, but a leaving node cannot stop: it is removed when done and a fresh node follows",
                    said(phase_text)
                ),
            )),
            _ => Ok(Action::CancelDecommission { pilot: name }),
        }
    }
}

/// Whether a reported version is the one the spec names: the components written in the spec
/// must match (`5.0` accepts any `5.0.x`), as must a pre-release the spec names.
pub(crate) fn version_matches(spec: &CassandraVersion, reported: &CassandraVersion) -> bool {
    let written = spec.as_str();
    let core = written.split(['-', '+']).next().unwrap_or(written);
    let components = core.split('.').count();
    let pre_ok = !spec.is_prerelease() || spec == reported;
    spec.major() == reported.major()
        && (components < 2 || spec.minor() == reported.minor())
        && (components < 3 || spec.patch() == reported.patch())
        && pre_ok
}

/// Rules 8–12 for `pool`: create it, change its template, roll it, scale it. `None` when the
/// pool needs nothing.
pub(super) fn advance(ctx: &Ctx<'_>, pool: &CassandraClusterNodePool) -> Option<Action> {
    let objects = PoolObjects::of(ctx.name, &pool.name, ctx.observed);
    Some(unwrap(advance_inner(ctx, pool, &objects)?))
}

fn advance_inner(
    ctx: &Ctx<'_>,
    pool: &CassandraClusterNodePool,
    objects: &PoolObjects<'_>,
) -> Option<Result<Action, Action>> {
    let gate = || ctx.healthy().map_err(Action::Wait);

    // 8. Create the pool: Pilot 0, then the StatefulSet with one replica.
    let Some(sts) = objects.statefulset else {
        if objects.pilot(0).is_none() {
            return Some(Ok(create_pilot(ctx, &pool.name, 0)));
        }
        return Some((|| {
            gate()?;
            Ok(Action::CreateNodePool {
                pool: pool.name.clone(),
                statefulset: statefulset(ctx, pool, 1, 0)?,
            })
        })());
    };
    let r = facts::sts_replicas(sts);
    let d = desired_replicas(pool);
    let partition = facts::sts_partition(sts);

    // 9. A changed template goes in with the partition at the replicas.
    let desired = match statefulset(ctx, pool, r, r) {
        Ok(s) => s,
        Err(a) => return Some(Err(a)),
    };
    if facts::annotation_hash(&sts.metadata) != facts::annotation_hash(&desired.metadata) {
        return Some(Ok(Action::UpdatePodTemplate {
            pool: pool.name.clone(),
            statefulset: desired,
        }));
    }
    let update_revision = match crate::plan::rollout_revision(sts) {
        Ok(r) => r,
        Err(w) => return Some(Ok(Action::Wait(w))),
    };

    // 10. The rolling update.
    let old: Vec<i32> = objects
        .pods()
        .filter(|(k, p)| *k < r && facts::pod_revision(p) != Some(update_revision))
        .map(|(k, _)| k)
        .collect();
    let settling = crate::plan::settling(sts, update_revision);
    if !old.is_empty() || settling {
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
        if let Some(&next) = old.last() {
            let name = objects.pod_name(next);
            return Some((|| {
                gate()?;
                Ok(Action::RollNextPod {
                    pool: pool.name.clone(),
                    pod: name,
                    partition: next,
                    statefulset: statefulset(ctx, pool, r, next)?,
                })
            })());
        }
    }

    // 11. Scale out, one node at a time.
    // The next Pilot is created only once the gate is open, so a cluster that cannot grow yet
    // holds no Pilot for a pod that will not exist.
    if d > r {
        return Some((|| {
            gate()?;
            if objects.pilot(r).is_none() {
                return Ok(create_pilot(ctx, &pool.name, r));
            }
            Ok(Action::ScaleOut {
                pool: pool.name.clone(),
                from: r,
                to: r + 1,
                statefulset: statefulset(ctx, pool, r + 1, 0)?,
            })
        })());
    }

    // 12. Scale in: ask the highest node to leave (rule 7 follows it).
    if d < r {
        let name = objects.pod_name(r - 1);
        return Some((|| {
            gate()?;
            Ok(Action::RequestDecommission { pilot: name })
        })());
    }
    None
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
    match pilot
        .status
        .cassandra
        .as_ref()
        .and_then(|c| c.version.as_ref())
    {
        Some(v) if version_matches(want, v) => None,
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
