//! The cluster's status from the observations and the planned action: per-pool replicas,
//! ready and updated counts, conditions `Available`, `Progressing`, `Degraded`, and
//! `observedGeneration`. Conditions keep their `lastTransitionTime` while their status holds.
//!
//! The status is a function of its inputs and changes only when they do: `now` only enters as
//! the transition time of a condition whose status changed, so the controller can compare the
//! result with the current status and write only on change.
//!
//! - `Progressing`: `True` while the planner acts or waits, with the action's name as reason
//!   (`ApplyingChildren`, `CreatingPilot`, `CreatingNodePool`, `ScalingOut`, `LabellingSeed`,
//!   `Decommissioning`, `CancellingDecommission`, `ScalingIn`, `DeletingClaim`,
//!   `DeletingPilot`, `Upgrading`) or the wait's reason and message; `False` with `Converged`
//!   when the planner is idle, `ClusterPaused` when paused, `InvalidSpec` when the spec cannot
//!   be built.
//! - `Available`: `True` (`NodesReady`) when every pool of the spec has at least one Ready pod
//!   (so the client Service has endpoints in every rack), else `False` (`NoReadyNodes`,
//!   `NoNodePools`).
//! - `Degraded`: `True` with `DecommissionBlocked` while a pilot refuses a decommission;
//!   `True` with `NodesUnhealthy` when a pod below its StatefulSet's replicas is missing or not
//!   Ready, or its Pilot's report is missing or stale, and no operation explains it (the pod or
//!   Pilot the planner waits on in an upgrade, a decommission or a deletion, and a node that
//!   never joined the ring yet — its Pilot reports no host id — or is bootstrapping, `JOINING`,
//!   and a node whose Pilot requests `Decommissioned`);
//!   else `False` (`AsExpected`).

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::{CassandraCluster, CassandraClusterStatus, NodePoolStatus};

use super::observe::Observed;
use super::plan::facts::{self, PoolObjects};
use super::plan::{Action, WaitReason};
use super::settings::Settings;

use crate::status::progressing;
pub use crate::status::{AVAILABLE, DEGRADED, PROGRESSING};

/// The status to write for `cluster` after planning `action` at `now`, judging report
/// freshness with the default [`Settings`] (use [`status_with`] to pass the controller's).
pub fn status(
    cluster: &CassandraCluster,
    observed: &Observed,
    action: &Action,
    now: Timestamp,
) -> CassandraClusterStatus {
    status_with(cluster, observed, action, now, &Settings::default())
}

/// The status to write for `cluster` after planning `action` at `now`; `settings` gives the
/// report freshness window (the one the planner used).
pub fn status_with(
    cluster: &CassandraCluster,
    observed: &Observed,
    action: &Action,
    now: Timestamp,
    settings: &Settings,
) -> CassandraClusterStatus {
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

    let (p_status, p_reason, mut p_message) = progressing(action);
    let p_reason = match storage_step(name, observed, action) {
        Some(step) => {
            p_message = format!("{p_message} ({step})");
            match action {
                Action::UpdatePodTemplate { .. } | Action::RollNextPod { .. } => "UpgradingStorage",
                _ => p_reason,
            }
        }
        None => p_reason,
    };
    let (a_status, a_reason, a_message) =
        crate::status::available(cluster.spec.node_pools.is_empty(), &unready_pools);
    let (d_status, d_reason, d_message) = degraded(cluster, observed, action, now, settings);

    let previous = &cluster.status.conditions;
    let make = |type_: &str, status: &str, reason: &str, message: String| {
        crate::status::condition(previous, generation, now, type_, status, reason, message)
    };
    CassandraClusterStatus {
        conditions: vec![
            make(AVAILABLE, a_status, a_reason, a_message),
            make(PROGRESSING, p_status, p_reason, p_message),
            make(DEGRADED, d_status, d_reason, d_message),
        ],
        observed_generation: generation,
        node_pools,
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// When `action` is a step of the storage compatibility progression (Cassandra 5), what it
/// is, e.g. `storage_compatibility_mode CASSANDRA_4 → UPGRADING`: a template update changing
/// the pool's mode, a pod restarting into another mode than it runs, or a wait for a restarted
/// pod of a pool whose pods do not all run its template's mode.
fn storage_step(cluster: &str, observed: &Observed, action: &Action) -> Option<String> {
    use super::compatibility::{self, StorageCompatibility};
    let step = |from: Option<StorageCompatibility>, to: Option<StorageCompatibility>| {
        let to = to?;
        let from = from.unwrap_or(StorageCompatibility::Cassandra4);
        (from != to).then(|| format!("storage_compatibility_mode {from} → {to}"))
    };
    match action {
        Action::UpdatePodTemplate { pool, statefulset } => step(
            PoolObjects::of(cluster, pool, observed)
                .statefulset
                .and_then(compatibility::of_statefulset),
            compatibility::of_statefulset(statefulset),
        ),
        Action::RollNextPod {
            pod, statefulset, ..
        } => step(
            observed
                .pods
                .iter()
                .find(|p| p.metadata.name.as_deref() == Some(pod.as_str()))
                .and_then(compatibility::of_pod),
            compatibility::of_statefulset(statefulset),
        ),
        Action::Wait(w) if w.reason == WaitReason::WaitingForUpgrade => {
            observed.statefulsets.iter().find_map(|sts| {
                let to = compatibility::of_statefulset(sts)?;
                let from = observed
                    .pods
                    .iter()
                    .filter(|p| {
                        let (Some(pod), Some(set)) =
                            (p.metadata.name.as_deref(), sts.metadata.name.as_deref())
                        else {
                            return false;
                        };
                        pod.strip_prefix(set)
                            .and_then(|rest| rest.strip_prefix('-'))
                            .is_some_and(|n| n.parse::<u32>().is_ok())
                    })
                    .map(|p| compatibility::of_pod(p).unwrap_or(StorageCompatibility::Cassandra4))
                    .find(|m| *m != to)?;
                step(Some(from), Some(to))
            })
        }
        _ => None,
    }
}

/// The `Degraded` condition's status, reason and message.
fn degraded(
    cluster: &CassandraCluster,
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
    // The pod (= Pilot) name an operation in flight explains.
    let explained = match action {
        Action::Wait(w)
            if matches!(
                w.reason,
                WaitReason::WaitingForUpgrade
                    | WaitReason::WaitingForDecommission
                    | WaitReason::WaitingForPodDeletion
            ) =>
        {
            w.object.split_once('/').map(|(_, n)| n.to_owned())
        }
        _ => None,
    };
    let name = cluster.metadata.name.as_deref().unwrap_or_default();
    let mut problems = Vec::new();
    for pool in &cluster.spec.node_pools {
        let objects = PoolObjects::of(name, &pool.name, observed);
        let Some(sts) = objects.statefulset else {
            continue;
        };
        for k in 0..facts::sts_replicas(sts) {
            let pod_name = objects.pod_name(k);
            if explained.as_deref() == Some(pod_name.as_str()) {
                continue;
            }
            let pilot = objects.pilot(k);
            // A node that never joined (no host id yet) or is bootstrapping (JOINING) is new,
            // not broken.
            let joining = pilot.is_none_or(|p| {
                let c = p.status.cassandra.as_ref();
                c.and_then(|c| c.host_id.as_ref()).is_none()
                    || c.and_then(|c| c.operation_mode.as_deref()) == Some("JOINING")
            });
            // A node asked to leave the ring is not Ready by design.
            let leaving = pilot.is_some_and(facts::decommission_requested);
            if joining || leaving {
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
    use crate::cassandra::plan::fixtures::*;
    use crate::cassandra::plan::{Wait, plan};

    fn condition<'a>(s: &'a CassandraClusterStatus, type_: &str) -> &'a Condition {
        s.conditions
            .iter()
            .find(|c| c.type_ == type_)
            .expect("condition")
    }

    fn later() -> Timestamp {
        Timestamp::from_second(1_800_000_030).expect("time")
    }

    #[test]
    fn converged_cluster() {
        let mut c = cluster(&[("a", 3), ("b", 1)], "5.0.2");
        c.metadata.generation = Some(4);
        let o = ring(&c);
        let action = plan(&c, &o, now(), &Settings::default());
        assert_eq!(action, Action::Idle);
        let s = status(&c, &o, &action, now());
        assert_eq!(s.observed_generation, Some(4));
        assert_eq!(
            s.node_pools["a"],
            NodePoolStatus {
                ready_replicas: 3,
                replicas: Some(3),
                updated_replicas: Some(3)
            }
        );
        let p = condition(&s, PROGRESSING);
        assert_eq!(
            (p.status.as_str(), p.reason.as_str()),
            ("False", "Converged")
        );
        assert_eq!(p.observed_generation, Some(4));
        assert_eq!(p.last_transition_time, Some(Time(now())));
        assert_eq!(condition(&s, AVAILABLE).status, "True");
        assert_eq!(condition(&s, DEGRADED).status, "False");
    }

    #[test]
    fn transition_times_are_kept_while_the_status_holds() {
        let mut c = cluster(&[("a", 3)], "5.0.2");
        let o = ring(&c);
        let first = status(&c, &o, &Action::Idle, now());
        c.status = first.clone();
        // Same inputs later: nothing changes, so the controller writes nothing.
        assert_eq!(status(&c, &o, &Action::Idle, later()), first);
        // Progressing flips: only its transition time moves.
        let wait = Action::Wait(Wait {
            reason: WaitReason::WaitingForRing,
            object: "pilot/cass-demo-a-1".into(),
            message: "pilot cass-demo-a-1 sees 10.244.0.12 unreachable".into(),
        });
        let second = status(&c, &o, &wait, later());
        let p = condition(&second, PROGRESSING);
        assert_eq!(
            (p.status.as_str(), p.reason.as_str(), p.message.as_str()),
            (
                "True",
                "WaitingForRing",
                "pilot cass-demo-a-1 sees 10.244.0.12 unreachable"
            )
        );
        assert_eq!(p.last_transition_time, Some(Time(later())));
        assert_eq!(
            condition(&second, AVAILABLE).last_transition_time,
            Some(Time(now()))
        );
        // A new reason with the same status keeps the time.
        c.status = second;
        let third = status(
            &c,
            &o,
            &Action::RequestDecommission {
                pilot: "cass-demo-a-2".into(),
            },
            Timestamp::from_second(1_800_000_060).expect("time"),
        );
        let p = condition(&third, PROGRESSING);
        assert_eq!(p.reason, "Decommissioning");
        assert_eq!(p.last_transition_time, Some(Time(later())));
    }

    #[test]
    fn paused_is_not_progressing() {
        let mut c = cluster(&[("a", 3)], "5.0.2");
        c.spec.paused = true;
        let o = ring(&c);
        let action = plan(&c, &o, now(), &Settings::default());
        let s = status(&c, &o, &action, now());
        let p = condition(&s, PROGRESSING);
        assert_eq!(
            (p.status.as_str(), p.reason.as_str()),
            ("False", "ClusterPaused")
        );
        // Still observed.
        assert_eq!(s.node_pools["a"].ready_replicas, 3);
    }

    #[test]
    fn degraded_and_available() {
        let c = cluster(&[("a", 3), ("b", 1)], "5.0.2");
        let mut o = ring(&c);
        unready(pod_mut(&mut o, &pod_name("b", 0)));
        let action = plan(&c, &o, now(), &Settings::default());
        let s = status(&c, &o, &action, now());
        let a = condition(&s, AVAILABLE);
        assert_eq!(
            (a.status.as_str(), a.reason.as_str()),
            ("False", "NoReadyNodes")
        );
        assert_eq!(a.message, "no Ready node in pool b");
        let d = condition(&s, DEGRADED);
        assert_eq!(
            (d.status.as_str(), d.message.as_str()),
            ("True", "pod cass-demo-b-0 is not Ready")
        );

        // A node starting for the first time (no host id yet) is not a degradation.
        let mut o = ring(&c);
        unready(pod_mut(&mut o, &pod_name("a", 2)));
        facts_mut(pilot_mut(&mut o, &pod_name("a", 2))).host_id = None;
        let action = plan(&c, &o, now(), &Settings::default());
        let s = status(&c, &o, &action, now());
        assert_eq!(condition(&s, DEGRADED).status, "False");
        assert_eq!(condition(&s, AVAILABLE).status, "True");

        // Nor is a node that was asked to leave the ring.
        let mut o = ring(&c);
        unready(pod_mut(&mut o, &pod_name("a", 2)));
        operation(
            pilot_mut(&mut o, &pod_name("a", 2)),
            "Decommissioned",
            Some(("Decommissioned", "Complete", "left")),
        );
        let s = status(&c, &o, &Action::Idle, now());
        assert_eq!(condition(&s, DEGRADED).status, "False");

        // A blocked decommission is.
        let blocked = Action::Wait(Wait {
            reason: WaitReason::DecommissionBlocked,
            object: "pilot/cass-demo-a-2".into(),
            message: "keyspace ks needs 3 replicas".into(),
        });
        let s = status(&c, &ring(&c), &blocked, now());
        let d = condition(&s, DEGRADED);
        assert_eq!(
            (d.status.as_str(), d.reason.as_str()),
            ("True", "DecommissionBlocked")
        );
    }
}
