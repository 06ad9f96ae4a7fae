//! The gates: whether the cluster may restart a node (`roll_gate`) or start a node's drain
//! (`drain_gate`). Both read the leader pilot's report of the cluster's health; a stale or
//! missing report is Unknown and closes them.

use k8s_openapi::jiff::Timestamp;

use super::facts::{self, Health, Leader, Pool, PoolObjects};
use super::{Wait, WaitReason};
use crate::elasticsearch::settings::Settings;
use crate::observe::Observed;

fn wait(reason: WaitReason, object: String, message: String) -> Wait {
    Wait {
        reason,
        object,
        message,
    }
}

/// The leader's health facts as one line, e.g. `health Yellow, 2 relocating, 0 initializing,
/// 1 unassigned shards`.
pub(crate) fn health_facts(leader: &Leader<'_>) -> String {
    let n = |v: Option<i32>| v.map_or_else(|| "unknown".to_owned(), |v| v.to_string());
    format!(
        "health {}, {} relocating, {} initializing, {} unassigned shards",
        leader.health_text,
        n(leader.relocating),
        n(leader.initializing),
        n(leader.unassigned)
    )
}

/// The fresh leader report, or a `WaitingForClusterHealth` wait saying why there is none.
fn leader_or_wait<'a>(
    cluster: &str,
    observed: &'a Observed,
    now: Timestamp,
    settings: &Settings,
) -> Result<Leader<'a>, Wait> {
    facts::fresh_leader(observed, now, settings).map_err(|why| {
        let object = facts::leader(observed).map_or_else(
            || format!("elasticsearchcluster/{cluster}"),
            |l| format!("pilot/{}", l.name),
        );
        wait(WaitReason::WaitingForClusterHealth, object, why)
    })
}

fn health_wait(leader: &Leader<'_>, why: &str) -> Wait {
    wait(
        WaitReason::WaitingForClusterHealth,
        format!("pilot/{}", leader.name),
        format!(
            "{why}: the leader pilot {} reports {}",
            leader.name,
            health_facts(leader)
        ),
    )
}

/// `Ok` when a node may start draining: the leader pilot's report is fresh and the health it
/// reports is known and not `Red` (else `WaitingForClusterHealth`). Moving shards off a node
/// while some primary is unassigned could move away the last copy the cluster can still
/// recover from.
pub(crate) fn drain_gate(
    cluster: &str,
    observed: &Observed,
    now: Timestamp,
    settings: &Settings,
) -> Result<(), Wait> {
    let leader = leader_or_wait(cluster, observed, now, settings)?;
    match leader.health {
        Some(Health::Green | Health::Yellow) => Ok(()),
        Some(Health::Red) => Err(health_wait(&leader, "the cluster is red")),
        None => Err(health_wait(&leader, "the cluster's health is not known")),
    }
}

/// `Ok` when a node may restart, else the first reason not, checked in this order over the
/// pools (spec order, then removed pools) and ordinals ascending:
///
/// 1. every StatefulSet's `status.observedGeneration` has caught up (`WaitingForStatefulSet`);
/// 2. every pod of ordinal below its StatefulSet's replicas exists, is not being deleted and
///    is Ready (`WaitingForPodReady`);
/// 3. every such pod's Pilot exists and its report is fresh (`WaitingForPilotReport`);
/// 4. the leader pilot's report is fresh, its health known and not `Red`, no shard relocating
///    or initializing (unknown counts as some), and the health `Green` — `Yellow` is accepted
///    only when the cluster has exactly one data-bearing node, whose replicas can never be
///    allocated (`WaitingForClusterHealth`).
pub(crate) fn roll_gate(
    cluster: &str,
    pools: &[Pool],
    observed: &Observed,
    now: Timestamp,
    settings: &Settings,
) -> Result<(), Wait> {
    let mut members = Vec::new();
    let mut data_nodes = 0;
    for pool in pools {
        let objects = PoolObjects::of(cluster, pool.name(), observed);
        let Some(sts) = objects.statefulset else {
            continue;
        };
        if facts::sts_lagging(sts) {
            let name = sts.metadata.name.as_deref().unwrap_or_default();
            return Err(wait(
                WaitReason::WaitingForStatefulSet,
                format!("statefulset/{name}"),
                format!(
                    "statefulset {name}: the StatefulSet controller has not observed its latest spec yet"
                ),
            ));
        }
        let replicas = objects.replicas();
        if pool.is_data() {
            data_nodes += replicas;
        }
        for k in 0..replicas {
            members.push((objects.pod_name(k), objects.pod(k), objects.pilot(k)));
        }
    }
    crate::plan::members_ready(
        members
            .iter()
            .map(|(name, pod, pilot)| (name.as_str(), *pod, *pilot)),
        now,
        settings.report_freshness,
    )?;
    let leader = leader_or_wait(cluster, observed, now, settings)?;
    match leader.health {
        None => return Err(health_wait(&leader, "the cluster's health is not known")),
        Some(Health::Red) => return Err(health_wait(&leader, "the cluster is red")),
        _ => {}
    }
    if leader.relocating != Some(0) {
        return Err(health_wait(&leader, "shards are relocating"));
    }
    if leader.initializing != Some(0) {
        return Err(health_wait(&leader, "shards are initializing"));
    }
    if leader.health != Some(Health::Green) && data_nodes != 1 {
        return Err(health_wait(
            &leader,
            "the cluster is not green (a restart would leave some shard without a copy)",
        ));
    }
    Ok(())
}
