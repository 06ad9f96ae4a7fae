//! The status of an ElasticsearchCluster from the observations and the planned action:
//! per-pool pod counts, the cluster's health as the leader pilot reports it, conditions
//! `Available`, `Progressing`, `Degraded`, and `observedGeneration`. Conditions keep their
//! `lastTransitionTime` while their status holds.
//!
//! The status is a function of its inputs: `now` only enters through report freshness and as
//! the transition time of a condition whose status changed, so the controller can compare the
//! result with the current status and write only on change.
//!
//! - `nodePools`: for every pool of the spec, its Ready pods (`readyReplicas`), existing pods
//!   (`replicas`) and pods on the StatefulSet's `updateRevision` (`updatedReplicas`).
//! - `health`: `clusterHealth` of the leader pilot's report (the Pilot reporting it with the
//!   latest heartbeat) when that report is fresh; unset otherwise.
//! - `Progressing`: [`crate::status::progressing`] of the action (`True` while the planner acts
//!   or waits, with the action's name or the wait's reason; `False` with `Converged` when idle,
//!   `ClusterPaused`, `InvalidSpec`).
//! - `Available`: `True` (`NodesReady`) when every pool of the spec has at least one Ready pod,
//!   else `False` (`NoReadyNodes`, `NoNodePools`).
//! - `Degraded`, the first that holds: `True` with `DecommissionBlocked` while a drain is
//!   refused (the planner waits on it, or the Pilot of a node the scale-in removes reports
//!   `Failed` in a fresh report); `True` with `ClusterRed` when the fresh leader report says `Red`; `True` with
//!   `NodesUnhealthy` when a pod below its StatefulSet's replicas is missing or not Ready, or
//!   its Pilot's report is missing or stale, and no operation explains it (the pod or Pilot the
//!   planner waits on in an upgrade, a drain or a deletion; a node that never joined the
//!   cluster yet — its Pilot reports no node id; a node whose Pilot is asked to leave); else
//!   `False` (`AsExpected`).

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::{ElasticsearchCluster, ElasticsearchClusterStatus, NodePoolStatus};

use super::plan::facts::{self, DecommissionPhase, Health, PoolObjects};
use super::plan::gates::health_facts;
use super::settings::Settings;
use crate::observe::Observed;
use crate::plan::{Action, WaitReason};
use crate::status::progressing;
pub use crate::status::{AVAILABLE, DEGRADED, PROGRESSING};

/// The status to write for `cluster` after planning `action` at `now`.
pub fn status(
    cluster: &ElasticsearchCluster,
    observed: &Observed,
    action: &Action,
    now: Timestamp,
    settings: &Settings,
) -> ElasticsearchClusterStatus {
    let name = cluster.metadata.name.as_deref().unwrap_or_default();
    let generation = cluster.metadata.generation;
    let mut node_pools = BTreeMap::new();
    let mut unready_pools = Vec::new();
    for pool in &cluster.spec.node_pools {
        let objects = PoolObjects::of(name, &pool.name, observed);
        let pods: Vec<_> = objects.pods().collect();
        let ready = pods.iter().filter(|(_, p)| facts::pod_ready(p)).count();
        let updated = objects
            .statefulset
            .and_then(facts::update_revision)
            .map_or(0, |rev| {
                pods.iter()
                    .filter(|(_, p)| facts::pod_revision(p) == Some(rev))
                    .count()
            });
        if ready == 0 {
            unready_pools.push(pool.name.clone());
        }
        node_pools.insert(
            pool.name.clone(),
            NodePoolStatus {
                ready_replicas: count(ready),
                replicas: Some(count(pods.len())),
                updated_replicas: Some(count(updated)),
            },
        );
    }

    let leader = facts::fresh_leader(observed, now, settings).ok();
    let health = leader.as_ref().map(|l| {
        l.health
            .map_or_else(|| l.health_text.to_owned(), |h| h.as_str().to_owned())
    });

    let (p_status, p_reason, p_message) = progressing(action);
    let (a_status, a_reason, a_message) =
        crate::status::available(cluster.spec.node_pools.is_empty(), &unready_pools);
    let (d_status, d_reason, d_message) = degraded(cluster, observed, action, now, settings);

    let previous = &cluster.status.conditions;
    let make = |type_: &str, status: &str, reason: &str, message: String| {
        crate::status::condition(previous, generation, now, type_, status, reason, message)
    };
    ElasticsearchClusterStatus {
        conditions: vec![
            make(AVAILABLE, a_status, a_reason, a_message),
            make(PROGRESSING, p_status, p_reason, p_message),
            make(DEGRADED, d_status, d_reason, d_message),
        ],
        observed_generation: generation,
        node_pools,
        health,
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The `Degraded` condition's status, reason and message.
fn degraded(
    cluster: &ElasticsearchCluster,
    observed: &Observed,
    action: &Action,
    now: Timestamp,
    settings: &Settings,
) -> (&'static str, &'static str, String) {
    if let Action::Wait(w) = action
        && w.reason == WaitReason::DecommissionBlocked
    {
        return ("True", "DecommissionBlocked", w.message.clone());
    }
    let name = cluster.metadata.name.as_deref().unwrap_or_default();
    let pools = facts::pools(cluster, observed);
    let mut blocked: Vec<String> = Vec::new();
    for pool in &pools {
        let objects = PoolObjects::of(name, pool.name(), observed);
        // Condemned nodes only: a request below the desired replicas is being cancelled.
        for k in pool.desired()..objects.replicas() {
            let Some(pilot) = objects.pilot(k) else {
                continue;
            };
            let (phase, message) = facts::decommission_phase(pilot);
            if facts::decommission_requested(pilot)
                && phase == DecommissionPhase::Failed
                && facts::fresh(pilot, now, settings)
            {
                blocked.push(format!(
                    "pilot {} {}: {message}",
                    objects.pod_name(k),
                    phase.text()
                ));
            }
        }
    }
    if !blocked.is_empty() {
        return ("True", "DecommissionBlocked", blocked.join("; "));
    }
    if let Ok(leader) = facts::fresh_leader(observed, now, settings)
        && leader.health == Some(Health::Red)
    {
        return (
            "True",
            "ClusterRed",
            format!(
                "the leader pilot {} reports {}",
                leader.name,
                health_facts(&leader)
            ),
        );
    }
    // The pod (= Pilot) name an operation in flight explains.
    let explained = match action {
        Action::Wait(w)
            if matches!(
                w.reason,
                WaitReason::WaitingForUpgrade
                    | WaitReason::WaitingForDrain
                    | WaitReason::WaitingForPodDeletion
            ) =>
        {
            w.object.split_once('/').map(|(_, n)| n.to_owned())
        }
        _ => None,
    };
    let mut problems = Vec::new();
    for pool in &pools {
        let objects = PoolObjects::of(name, pool.name(), observed);
        for k in 0..objects.replicas() {
            let pod_name = objects.pod_name(k);
            if explained.as_deref() == Some(pod_name.as_str()) {
                continue;
            }
            let pilot = objects.pilot(k);
            // A node that never joined the cluster (no node id yet) is new, not broken; a node
            // asked to leave is on its way out.
            let new = pilot.is_none_or(|p| facts::es(p).and_then(|e| e.node_id.as_ref()).is_none());
            let leaving = pilot.is_some_and(facts::decommission_requested);
            if new || leaving {
                continue;
            }
            crate::status::node_problems(
                &pod_name,
                objects.pod(k),
                pilot,
                now,
                settings.report_freshness,
                &mut problems,
            );
        }
    }
    crate::status::nodes_degraded(&problems)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use navigator_api::v1beta1::Condition;
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::elasticsearch::plan::fixtures::*;
    use crate::plan::Wait;

    fn condition<'a>(s: &'a ElasticsearchClusterStatus, type_: &str) -> &'a Condition {
        s.conditions
            .iter()
            .find(|c| c.type_ == type_)
            .expect("condition")
    }

    fn triple(c: &Condition) -> (&str, &str, &str) {
        (c.status.as_str(), c.reason.as_str(), c.message.as_str())
    }

    fn later() -> Timestamp {
        Timestamp::from_second(1_800_000_030).expect("time")
    }

    fn of(c: &ElasticsearchCluster, o: &Observed) -> ElasticsearchClusterStatus {
        status(c, o, &run(c, o), now(), &settings())
    }

    #[test]
    fn converged_cluster() {
        let mut c = cluster(&[("m", 3, MASTER), ("d", 2, DATA)]);
        c.metadata.generation = Some(4);
        let o = healthy(&c);
        let s = of(&c, &o);
        assert_eq!(s.observed_generation, Some(4));
        assert_eq!(s.health.as_deref(), Some("Green"));
        assert_eq!(
            s.node_pools["d"],
            NodePoolStatus {
                ready_replicas: 2,
                replicas: Some(2),
                updated_replicas: Some(2)
            }
        );
        let p = condition(&s, PROGRESSING);
        assert_eq!(
            (p.status.as_str(), p.reason.as_str()),
            ("False", "Converged")
        );
        assert_eq!(p.observed_generation, Some(4));
        assert_eq!(p.last_transition_time, Some(Time(now())));
        assert_eq!(
            triple(condition(&s, AVAILABLE)),
            ("True", "NodesReady", "every node pool has a Ready node")
        );
        assert_eq!(triple(condition(&s, DEGRADED)), ("False", "AsExpected", ""));
    }

    #[test]
    fn health_is_the_fresh_leader_report() {
        let c = cluster(&[("m", 3, MASTER_DATA)]);
        let mut o = healthy(&c);
        leader_mut(&mut o).cluster_health = Some("yellow".into());
        assert_eq!(of(&c, &o).health.as_deref(), Some("Yellow"));
        pilot_mut(&mut o, "es-demo-m-0").status.last_heartbeat_time = Some(ago(300));
        assert_eq!(of(&c, &o).health, None);
        // Another pilot took over the lead since.
        lead(pilot_mut(&mut o, "es-demo-m-1"));
        assert_eq!(of(&c, &o).health.as_deref(), Some("Green"));
    }

    #[test]
    fn pools_count_ready_existing_and_updated_pods() {
        let old = cluster(&[("m", 3, MASTER)]);
        let mut o = healthy(&old);
        let c = cluster_at(&[("m", 3, MASTER)], "8.15.1");
        *sts_mut(&mut o, "m") = sts(&c, "m", 3, 2, REV2, REV1);
        let roles = old.spec.node_pools[0].roles.clone();
        *pod_mut(&mut o, "es-demo-m-2") = {
            let mut p = pod("m", &roles, 2, REV2);
            unready(&mut p);
            p
        };
        o.pods
            .retain(|p| p.metadata.name.as_deref() != Some("es-demo-m-1"));
        let s = of(&c, &o);
        assert_eq!(
            s.node_pools["m"],
            NodePoolStatus {
                ready_replicas: 1,
                replicas: Some(2),
                updated_replicas: Some(1)
            }
        );
        // The restarting pod is the upgrade's: no degradation for it; the missing one is.
        let d = condition(&s, DEGRADED);
        assert_eq!(
            triple(d),
            ("True", "NodesUnhealthy", "pod es-demo-m-1 is missing")
        );
        assert_eq!(condition(&s, PROGRESSING).reason, "WaitingForUpgrade");
    }

    #[test]
    fn available_needs_a_ready_pod_in_every_pool() {
        let c = cluster(&[("m", 1, MASTER), ("d", 2, DATA)]);
        let mut o = healthy(&c);
        for k in 0..2 {
            unready(pod_mut(&mut o, &pod_name("d", k)));
        }
        let s = of(&c, &o);
        assert_eq!(
            triple(condition(&s, AVAILABLE)),
            ("False", "NoReadyNodes", "no Ready node in pool d")
        );
        assert_eq!(
            triple(condition(&s, DEGRADED)),
            (
                "True",
                "NodesUnhealthy",
                "pod es-demo-d-0 is not Ready; pod es-demo-d-1 is not Ready"
            )
        );
        let mut empty = c.clone();
        empty.spec.node_pools.clear();
        let s = status(
            &empty,
            &Observed::default(),
            &Action::Idle,
            now(),
            &settings(),
        );
        assert_eq!(condition(&s, AVAILABLE).reason, "NoNodePools");
    }

    #[test]
    fn degraded_reasons() {
        let c = cluster(&[("m", 3, MASTER), ("d", 3, DATA)]);

        // A node that never joined (no node id yet) is new, not broken.
        let mut o = healthy(&c);
        unready(pod_mut(&mut o, "es-demo-d-2"));
        es_mut(pilot_mut(&mut o, "es-demo-d-2")).node_id = None;
        assert_eq!(condition(&of(&c, &o), DEGRADED).status, "False");

        // A stale report is.
        let mut o = healthy(&c);
        pilot_mut(&mut o, "es-demo-d-1").status.last_heartbeat_time = Some(ago(100));
        let d = condition(&of(&c, &o), DEGRADED).clone();
        assert_eq!(
            (d.status.as_str(), d.reason.as_str()),
            ("True", "NodesUnhealthy")
        );
        assert!(
            d.message.starts_with("pilot es-demo-d-1 last reported at"),
            "{d:?}"
        );

        // Red, from the leader.
        let mut o = healthy(&c);
        leader_mut(&mut o).cluster_health = Some("Red".into());
        leader_mut(&mut o).unassigned_shards = Some(2);
        assert_eq!(
            triple(condition(&of(&c, &o), DEGRADED)),
            (
                "True",
                "ClusterRed",
                "the leader pilot es-demo-m-0 reports health Red, 0 relocating, 0 initializing, 2 unassigned shards"
            )
        );

        // A refused drain, while other nodes are still asked (no wait on it yet).
        let mut scaled = c.clone();
        set_replicas(&mut scaled, "d", 1);
        let mut o = healthy(&c);
        draining(pilot_mut(&mut o, "es-demo-d-2"), "Failed", 3);
        unready(pod_mut(&mut o, "es-demo-d-2"));
        let s = of(&scaled, &o);
        assert_eq!(
            condition(&s, PROGRESSING).reason,
            "Decommissioning",
            "the next node is asked meanwhile"
        );
        assert_eq!(
            triple(condition(&s, DEGRADED)),
            (
                "True",
                "DecommissionBlocked",
                "pilot es-demo-d-2 reports the drain Failed: moving shards"
            )
        );
        // A node draining is not unhealthy.
        draining(pilot_mut(&mut o, "es-demo-d-2"), "InProgress", 3);
        draining(pilot_mut(&mut o, "es-demo-d-1"), "InProgress", 3);
        let s = of(&scaled, &o);
        assert_eq!(condition(&s, PROGRESSING).reason, "WaitingForDrain");
        assert_eq!(condition(&s, DEGRADED).status, "False");
    }

    #[test]
    fn transition_times_are_kept_while_the_status_holds() {
        let mut c = cluster(&[("m", 3, MASTER_DATA)]);
        let o = healthy(&c);
        let first = status(&c, &o, &Action::Idle, now(), &settings());
        c.status = first.clone();
        assert_eq!(status(&c, &o, &Action::Idle, later(), &settings()), first);
        let wait = Action::Wait(Wait {
            reason: WaitReason::WaitingForClusterHealth,
            object: "pilot/es-demo-m-0".into(),
            message: "the cluster is not green".into(),
        });
        let second = status(&c, &o, &wait, later(), &settings());
        let p = condition(&second, PROGRESSING);
        assert_eq!(
            triple(p),
            (
                "True",
                "WaitingForClusterHealth",
                "the cluster is not green"
            )
        );
        assert_eq!(p.last_transition_time, Some(Time(later())));
        assert_eq!(
            condition(&second, AVAILABLE).last_transition_time,
            Some(Time(now()))
        );
    }

    #[test]
    fn paused_is_not_progressing_and_still_observed() {
        let mut c = cluster(&[("m", 3, MASTER_DATA)]);
        c.spec.paused = true;
        let o = healthy(&c);
        let s = of(&c, &o);
        let p = condition(&s, PROGRESSING);
        assert_eq!(
            (p.status.as_str(), p.reason.as_str()),
            ("False", "ClusterPaused")
        );
        assert_eq!(s.node_pools["m"].ready_replicas, 3);
        assert_eq!(s.health.as_deref(), Some("Green"));
    }
}
