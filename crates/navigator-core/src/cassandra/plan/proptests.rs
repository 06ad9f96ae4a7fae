//! Property tests over random observations of a one-pool ring.

use proptest::bool::weighted;
use proptest::prelude::*;

use super::fixtures::*;
use super::{Action, plan};
use crate::cassandra::observe::Observed;
use crate::cassandra::settings::Settings;
use navigator_api::v1beta1::CassandraCluster;

/// What can vary about one ordinal.
#[derive(Clone, Debug)]
struct Node {
    pod: bool,
    ready: bool,
    new_revision: bool,
    pilot: bool,
    decommission_requested: bool,
    /// (state is Decommissioned, phase index)
    operation: Option<(bool, usize)>,
    /// Seconds since the heartbeat; `None`: never reported.
    heartbeat_age: Option<i64>,
    mode: usize,
    sees_all: bool,
    unreachable: bool,
    claim: bool,
    new_version: bool,
}

fn node(stale_only: bool) -> impl Strategy<Value = Node> {
    let age = if stale_only {
        prop_oneof![Just(None), (76i64..10_000).prop_map(Some)].boxed()
    } else {
        prop_oneof![
            1 => Just(None),
            1 => (76i64..200).prop_map(Some),
            8 => (0i64..75).prop_map(Some),
        ]
        .boxed()
    };
    // Mostly healthy nodes, so that the gated steps are reached too.
    let likely = || weighted(0.9);
    let mode = prop_oneof![8 => Just(0usize), 1 => Just(1usize), 1 => 2usize..4];
    (
        (likely(), likely(), any::<bool>(), weighted(0.95)),
        (
            weighted(0.15),
            proptest::option::weighted(0.5, (any::<bool>(), 0usize..4)),
            age,
        ),
        (mode, likely(), weighted(0.1), likely(), any::<bool>()),
    )
        .prop_map(
            |(
                (pod, ready, new_revision, pilot),
                (decommission_requested, operation, heartbeat_age),
                (mode, sees_all, unreachable, claim, new_version),
            )| Node {
                pod,
                ready,
                new_revision,
                pilot,
                decommission_requested,
                operation,
                heartbeat_age,
                mode,
                sees_all,
                unreachable,
                claim,
                new_version,
            },
        )
}

/// A random observation: `desired` wanted, StatefulSet at `replicas` with `partition`,
/// template old or new, and `replicas` ordinals (one more when `extra`) described by `nodes`.
fn world(stale_only: bool) -> impl Strategy<Value = (CassandraCluster, Observed)> {
    (
        1i32..5,
        0i32..6,
        0i32..5,
        weighted(0.3),
        weighted(0.1),
        weighted(0.3),
        weighted(0.7),
        proptest::collection::vec(node(stale_only), 6),
    )
        .prop_map(
            |(replicas, desired, partition, upgrading, lagging, extra, applied, nodes)| {
                let old = cluster(&[("a", replicas)], "5.0.2");
                let mut o = ring(&old);
                let c = if upgrading {
                    cluster(&[("a", desired)], "5.0.3")
                } else {
                    cluster(&[("a", desired)], "5.0.2")
                };
                // An upgrade's template is applied already or not yet.
                let template = if upgrading && applied { &c } else { &old };
                let mut s = sts(
                    template,
                    "a",
                    replicas,
                    partition.min(replicas),
                    if upgrading && applied { REV2 } else { REV1 },
                    REV1,
                );
                if lagging {
                    s.metadata.generation = Some(2);
                }
                *sts_mut(&mut o, "a") = s;
                let phases = ["Pending", "InProgress", "Complete", "Failed"];
                let modes = ["NORMAL", "JOINING", "LEAVING", "DECOMMISSIONED"];
                for (k, n) in nodes
                    .iter()
                    .enumerate()
                    .take(replicas as usize + usize::from(extra))
                {
                    let k = k as i32;
                    let name = pod_name("a", k);
                    remove(&mut o, &name);
                    if n.pod {
                        let mut p = pod(0, "a", k, if n.new_revision { REV2 } else { REV1 });
                        if !n.ready {
                            unready(&mut p);
                        }
                        o.pods.push(p);
                    }
                    if n.claim {
                        o.claims.push(claim("a", k));
                    }
                    if n.pilot {
                        let live = (0..=replicas)
                            .filter(|j| n.sees_all || *j != 0)
                            .map(|j| ip(0, j))
                            .collect();
                        let version = if n.new_version { "5.0.3" } else { "5.0.2" };
                        let mut p = pilot(&old, "a", k, version, live);
                        operation(
                            &mut p,
                            if n.decommission_requested {
                                "Decommissioned"
                            } else {
                                "Running"
                            },
                            n.operation.map(|(decommission, phase)| {
                                (
                                    if decommission {
                                        "Decommissioned"
                                    } else {
                                        "Running"
                                    },
                                    phases[phase],
                                    "m",
                                )
                            }),
                        );
                        p.status.last_heartbeat_time = n.heartbeat_age.map(ago);
                        let f = facts_mut(&mut p);
                        f.operation_mode = Some(modes[n.mode].into());
                        if n.unreachable {
                            f.peers.get_or_insert_with(Default::default).unreachable =
                                vec![ip(0, 1)];
                        }
                        o.pilots.push(p);
                    }
                }
                (c, o)
            },
        )
}

fn settings() -> Settings {
    Settings::default()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// (a) ScaleIn only removes the highest node, and only when its Pilot reports the
    /// decommission Complete.
    #[test]
    fn scale_in_only_after_a_complete_decommission((c, o) in world(false)) {
        if let Action::ScaleIn { from, to, .. } = plan(&c, &o, now(), &settings()) {
            prop_assert_eq!(to, from - 1);
            let name = pod_name("a", to);
            let p = o.pilots.iter().find(|p| p.metadata.name.as_deref() == Some(name.as_str()));
            let op = p.and_then(|p| p.status.operation.as_ref());
            prop_assert!(
                op.is_some_and(|op| op.state == "Decommissioned" && op.phase == "Complete"),
                "ScaleIn without Complete: {:?}", op
            );
        }
    }

    /// (b) The same inputs give the same action and the same status.
    #[test]
    fn deterministic((c, o) in world(false)) {
        let a = plan(&c, &o, now(), &settings());
        let b = plan(&c.clone(), &o.clone(), now(), &settings());
        prop_assert_eq!(&a, &b);
        let s1 = crate::cassandra::status::status(&c, &o, &a, now());
        let s2 = crate::cassandra::status::status(&c, &o, &b, now());
        prop_assert_eq!(s1, s2);
    }

    /// (d) No StatefulSet change restarts more than the one pod a `RollNextPod` names: a
    /// changed template goes in with the partition at the replicas, and a roll lowers the
    /// partition only past pods already on the update revision.
    #[test]
    fn at_most_one_pod_restarts((c, o) in world(false)) {
        let observed = o.statefulsets.first().expect("statefulset");
        let hash = |s: &k8s_openapi::api::apps::v1::StatefulSet| {
            super::facts::annotation_hash(&s.metadata).map(str::to_owned)
        };
        let partition_and_replicas = |s: &k8s_openapi::api::apps::v1::StatefulSet| {
            (super::facts::sts_partition(s), super::facts::sts_replicas(s))
        };
        match plan(&c, &o, now(), &settings()) {
            Action::ScaleIn { statefulset: s, .. }
            | Action::ScaleOut { statefulset: s, .. }
            | Action::UpdatePodTemplate { statefulset: s, .. }
                if hash(&s) != hash(observed) =>
            {
                let (p, r) = partition_and_replicas(&s);
                prop_assert!(p >= r, "template changed with partition {} < replicas {}", p, r);
            }
            Action::RollNextPod { statefulset: s, partition, .. } => {
                prop_assert_eq!(hash(&s), hash(observed));
                let update = super::facts::update_revision(observed).expect("update revision");
                for (k, pod) in o.pods.iter().filter_map(|p| {
                    let k = crate::cassandra::names::ordinal_of(NAME, "a", p.metadata.name.as_deref()?)?;
                    Some((k, p))
                }) {
                    if k > partition && k < super::facts::sts_replicas(&s) {
                        prop_assert_eq!(super::facts::pod_revision(pod), Some(update), "pod {} restarts too", k);
                    }
                }
            }
            _ => {}
        }
    }

    /// (c) With every report stale or missing, nothing that changes the ring happens.
    #[test]
    fn stale_reports_never_change_the_ring((c, o) in world(true)) {
        let a = plan(&c, &o, now(), &settings());
        prop_assert!(
            !matches!(
                a,
                Action::ScaleOut { .. } | Action::RequestDecommission { .. } | Action::RollNextPod { .. }
            ),
            "{:?}", a
        );
    }
}

/// The random worlds reach every ring-changing action, so the properties above are not
/// vacuous.
#[test]
fn random_worlds_reach_every_ring_change() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = world(false);
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for _ in 0..3000 {
        let (c, o) = strategy.new_tree(&mut runner).expect("a world").current();
        let name = match plan(&c, &o, now(), &settings()) {
            Action::ScaleIn { .. } => "ScaleIn",
            Action::ScaleOut { .. } => "ScaleOut",
            Action::RequestDecommission { .. } => "RequestDecommission",
            Action::RollNextPod { .. } => "RollNextPod",
            Action::CancelDecommission { .. } => "CancelDecommission",
            Action::DeleteClaim { .. } => "DeleteClaim",
            _ => continue,
        };
        *seen.entry(name).or_default() += 1;
    }
    for name in [
        "ScaleIn",
        "ScaleOut",
        "RequestDecommission",
        "RollNextPod",
        "CancelDecommission",
        "DeleteClaim",
    ] {
        assert!(
            seen.get(name).is_some_and(|n| *n > 0),
            "{name} never planned: {seen:?}"
        );
    }
}
