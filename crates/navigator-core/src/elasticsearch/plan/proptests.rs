//! Property tests over random observations of a cluster with a master pool `m`, a data pool
//! `d` and, sometimes, a pool `x` that left the spec: nodes present or not, Ready or not, on the
//! old or new revision, Pilots asked to leave or not in every phase, reports fresh, stale or
//! missing, and a leader reporting any health.

use proptest::bool::weighted;
use proptest::prelude::*;

use super::facts;
use super::fixtures::*;
use super::{Action, plan};
use crate::elasticsearch::names;
use crate::observe::Observed;
use navigator_api::v1beta1::{ElasticsearchCluster, Pilot};

/// What can vary about one ordinal.
#[derive(Clone, Debug)]
struct Node {
    pod: bool,
    ready: bool,
    new_revision: bool,
    pilot: bool,
    requested: bool,
    /// (state is Decommissioned, phase index)
    operation: Option<(bool, usize)>,
    /// Seconds since the heartbeat; `None`: never reported.
    heartbeat_age: Option<i64>,
    /// The report predates the Pilot's latest spec.
    behind: bool,
    new_version: bool,
}

fn age(stale_only: bool) -> BoxedStrategy<Option<i64>> {
    if stale_only {
        prop_oneof![Just(None), (76i64..10_000).prop_map(Some)].boxed()
    } else {
        prop_oneof![
            1 => Just(None),
            1 => (76i64..200).prop_map(Some),
            8 => (0i64..75).prop_map(Some),
        ]
        .boxed()
    }
}

fn node(stale_only: bool) -> impl Strategy<Value = Node> {
    // Mostly healthy nodes, so that the gated steps are reached too.
    let likely = || weighted(0.9);
    (
        (likely(), likely(), any::<bool>(), weighted(0.95)),
        (
            weighted(0.15),
            proptest::option::weighted(0.7, (weighted(0.8), 0usize..4)),
            age(stale_only),
        ),
        (weighted(0.05), any::<bool>()),
    )
        .prop_map(
            |(
                (pod, ready, new_revision, pilot),
                (requested, operation, heartbeat_age),
                (behind, new_version),
            )| Node {
                pod,
                ready,
                new_revision,
                pilot,
                requested,
                operation,
                heartbeat_age,
                behind,
                new_version,
            },
        )
}

/// The leader's report.
#[derive(Clone, Debug)]
struct Lead {
    /// Index into the Pilots, modulo their count (`None`: nobody reports health).
    who: Option<usize>,
    health: usize,
    relocating: i32,
    initializing: i32,
    age: Option<i64>,
}

fn lead_strategy(stale_only: bool) -> impl Strategy<Value = Lead> {
    (
        proptest::option::weighted(0.9, 0usize..16),
        prop_oneof![6 => Just(0usize), 2 => Just(1usize), 1 => Just(2usize), 1 => Just(3usize)],
        prop_oneof![8 => Just(0), 2 => 1i32..3],
        prop_oneof![8 => Just(0), 2 => 1i32..3],
        age(stale_only),
    )
        .prop_map(|(who, health, relocating, initializing, age)| Lead {
            who,
            health,
            relocating,
            initializing,
            age,
        })
}

/// The pools of a random world: (name, replicas now, replicas wanted (`None`: removed), roles).
type Shape = Vec<(&'static str, i32, Option<i32>, &'static [&'static str])>;

fn shape() -> impl Strategy<Value = Shape> {
    (
        (1i32..5, 1i32..6),
        (0i32..5, 0i32..6),
        proptest::option::weighted(0.3, (0i32..4, any::<bool>())),
    )
        .prop_map(|((mr, md), (dr, dd), x)| {
            let mut shape: Shape = vec![("m", mr, Some(md)), ("d", dr, Some(dd))]
                .into_iter()
                .map(|(n, r, d)| (n, r, d, if n == "m" { MASTER } else { DATA }))
                .collect();
            if let Some((xr, master)) = x {
                shape.push(("x", xr, None, if master { MASTER_DATA } else { DATA }));
            }
            shape
        })
}

/// A random observation and the spec it is planned against.
fn world(stale_only: bool) -> impl Strategy<Value = (ElasticsearchCluster, Observed)> {
    (
        shape(),
        (
            0i32..6,
            weighted(0.3),
            weighted(0.1),
            weighted(0.7),
            weighted(0.2),
        ),
        proptest::option::weighted(0.3, 1i32..4),
        proptest::collection::vec(node(stale_only), 18),
        lead_strategy(stale_only),
        weighted(if stale_only { 0.0 } else { 0.5 }),
    )
        .prop_map(
            |(
                shape,
                (partition, upgrading, lagging, applied, extra),
                minimum,
                mut nodes,
                lead_by,
                calm,
            )| {
                let old_pools: Vec<(&str, i32, &[&str])> = shape
                    .iter()
                    .map(|(n, r, _, roles)| (*n, *r, *roles))
                    .collect();
                let old = cluster(&old_pools);
                let new_pools: Vec<(&str, i32, &[&str])> = shape
                    .iter()
                    .filter_map(|(n, _, d, roles)| d.map(|d| (*n, d, *roles)))
                    .collect();
                let mut c = cluster_at(&new_pools, if upgrading { "8.15.1" } else { VERSION });
                c.spec.minimum_masters = minimum;
                let mut o = healthy(&old);
                // The shared children are today's (else every world applies them first).
                o.others.clear();
                record_children(&old, &mut o);
                if children_ok(&c) {
                    record_children(&c, &mut o);
                }
                for (i, (name, r, d, roles)) in shape.iter().enumerate() {
                    // The template of an upgrade is applied already or not yet.
                    let (template, update) = if upgrading && applied && d.is_some() {
                        (&c, REV2)
                    } else {
                        (&old, REV1)
                    };
                    let mut s = sts(template, name, *r, partition.min(*r), update, REV1);
                    if lagging {
                        s.metadata.generation = Some(2);
                    }
                    *sts_mut(&mut o, name) = s;
                    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
                    // Ordinals below the replicas, those a scale-out adds (Pilots only), and
                    // sometimes a pod left above both.
                    let limit = (*r).max(d.unwrap_or(0)).min(5) + i32::from(extra);
                    for k in 0..limit {
                        let n = &mut nodes[i * 6 + usize::try_from(k).expect("k")];
                        if calm {
                            // A calm world: every node up and reporting; only the condemned
                            // ones asked to leave; a roll in order, highest ordinals first.
                            let p = partition.min(*r);
                            n.pod = true;
                            n.ready = true;
                            n.pilot = true;
                            n.heartbeat_age = Some(5);
                            n.behind = false;
                            n.requested &= k >= d.unwrap_or(0);
                            if lead_by.relocating > 0 && k >= d.unwrap_or(0) && k < *r {
                                // (reusing a coin) a scale-in under way: every condemned
                                // node asked, most of them drained.
                                n.requested = true;
                                n.operation = Some((true, if n.new_version { 2 } else { 1 }));
                            }
                            if upgrading && applied {
                                n.new_revision = k >= p;
                                n.new_version = k >= p;
                            }
                        }
                        let n = &*n;
                        let pod_name = names::pod(NAME, name, k);
                        remove(&mut o, &pod_name);
                        let pod_here = k < *r || (extra && k == limit - 1);
                        if n.pod && pod_here {
                            let mut p =
                                pod(name, &roles, k, if n.new_revision { REV2 } else { REV1 });
                            if !n.ready {
                                unready(&mut p);
                            }
                            o.pods.push(p);
                        }
                        if n.pilot {
                            let version = if n.new_version { "8.15.1" } else { VERSION };
                            let mut p = pilot(&old, name, k, version);
                            let d = facts::DECOMMISSIONED;
                            let phases = ["Pending", "InProgress", "Complete", "Failed"];
                            operation(
                                &mut p,
                                if n.requested { d } else { facts::RUNNING },
                                n.operation.map(|(decommission, phase)| {
                                    (
                                        if decommission { d } else { facts::RUNNING },
                                        phases[phase],
                                        "m",
                                    )
                                }),
                            );
                            p.status.last_heartbeat_time = n.heartbeat_age.map(ago);
                            if n.behind {
                                p.metadata.generation = Some(2);
                            }
                            o.pilots.push(p);
                        }
                    }
                }
                for p in &mut o.pilots {
                    if let Some(es) = p.status.elasticsearch.as_mut() {
                        es.cluster_health = None;
                    }
                }
                let count = o.pilots.len();
                if let Some(i) = lead_by.who.filter(|_| count > 0).map(|i| i % count) {
                    let p = &mut o.pilots[i];
                    lead(p);
                    let es = es_mut(p);
                    es.cluster_health =
                        Some(["Green", "Yellow", "Red", "Unknown"][lead_by.health].into());
                    es.relocating_shards = Some(lead_by.relocating);
                    es.initializing_shards = Some(lead_by.initializing);
                    p.status.last_heartbeat_time = lead_by.age.map(ago);
                }
                (c, o)
            },
        )
}

fn children_ok(c: &ElasticsearchCluster) -> bool {
    crate::elasticsearch::children::shared_children(c, &settings()).is_ok()
}

fn pilot_of<'a>(o: &'a Observed, name: &str) -> Option<&'a Pilot> {
    o.pilots
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some(name))
}

/// Whether the Pilot `name` was asked to leave and reports the drain Complete, fresh.
fn drained(o: &Observed, name: &str) -> bool {
    pilot_of(o, name).is_some_and(|p| {
        let op = p.status.operation.as_ref();
        p.spec.requested_state.as_deref() == Some("Decommissioned")
            && op.is_some_and(|op| op.state == "Decommissioned" && op.phase == "Complete")
            && p.status
                .last_heartbeat_time
                .as_ref()
                .is_some_and(|t| now().as_second() - t.0.as_second() <= 75)
            && p.status.observed_generation >= p.metadata.generation
    })
}

fn replicas_of(o: &Observed, pool: &str) -> i32 {
    let name = names::statefulset(NAME, pool);
    o.statefulsets
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(name.as_str()))
        .map_or(0, facts::sts_replicas)
}

fn is_master_pool(c: &ElasticsearchCluster, o: &Observed, pool: &str) -> bool {
    facts::pools(c, o)
        .iter()
        .any(|p| p.name() == pool && p.is_master())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A `ScaleIn` removes only nodes whose Pilot was asked to leave and reports the drain
    /// `Complete` in a fresh report; a master-eligible pool loses one node at a time.
    #[test]
    fn scale_in_only_after_complete_drains((c, o) in world(false)) {
        if let Action::ScaleIn { pool, from, to, .. } = plan(&c, &o, now(), &settings()) {
            prop_assert!(to < from);
            prop_assert_eq!(from, replicas_of(&o, &pool));
            if is_master_pool(&c, &o, &pool) {
                prop_assert_eq!(to, from - 1);
            }
            for k in to..from {
                let name = names::pod(NAME, &pool, k);
                prop_assert!(drained(&o, &name), "ScaleIn of {} without a fresh Complete", name);
            }
        }
    }

    /// A pool is deleted only when it left the spec and every node it still has is drained.
    #[test]
    fn delete_node_pool_only_after_complete_drains((c, o) in world(false)) {
        if let Action::DeleteNodePool { pool, .. } = plan(&c, &o, now(), &settings()) {
            prop_assert!(c.spec.node_pools.iter().all(|p| p.name != pool));
            for k in 0..replicas_of(&o, &pool) {
                let name = names::pod(NAME, &pool, k);
                prop_assert!(drained(&o, &name), "DeleteNodePool with {} not drained", name);
            }
        }
    }

    /// No master-eligible node is asked to leave when the master-eligible nodes that stay
    /// would be fewer than `max(1, minimumMasters)`; and never without a fresh, not red leader.
    #[test]
    fn requests_keep_a_master_quorum((c, o) in world(false)) {
        if let Action::RequestDecommission { pilot } = plan(&c, &o, now(), &settings()) {
            let leader = facts::fresh_leader(&o, now(), &settings());
            prop_assert!(leader.is_ok());
            let leader = leader.expect("fresh");
            prop_assert!(matches!(leader.health, Some(facts::Health::Green | facts::Health::Yellow)));
            let pools = facts::pools(&c, &o);
            let pool = pools
                .iter()
                .find(|p| names::ordinal_of(NAME, p.name(), &pilot).is_some())
                .expect("the pilot's pool");
            if pool.is_master() {
                let mut staying = 0;
                for p in pools.iter().filter(|p| p.is_master()) {
                    for k in 0..replicas_of(&o, p.name()) {
                        let name = names::pod(NAME, p.name(), k);
                        let asked = pilot_of(&o, &name)
                            .is_some_and(|p| p.spec.requested_state.as_deref() == Some("Decommissioned"));
                        if !asked && name != pilot {
                            staying += 1;
                        }
                    }
                }
                prop_assert!(
                    staying >= c.spec.minimum_masters.unwrap_or(0).max(1),
                    "{} would leave {} masters", pilot, staying
                );
            }
        }
    }

    /// A pod restarts only when every report is fresh, the leader's too, and the cluster is
    /// not red with nothing relocating or initializing.
    #[test]
    fn rolls_only_on_a_fresh_calm_cluster((c, o) in world(false)) {
        if let Action::RollNextPod { .. } = plan(&c, &o, now(), &settings()) {
            let leader = facts::fresh_leader(&o, now(), &settings());
            prop_assert!(leader.is_ok());
            let leader = leader.expect("fresh");
            prop_assert!(leader.health.is_some() && leader.health != Some(facts::Health::Red));
            prop_assert_eq!(leader.relocating, Some(0));
            prop_assert_eq!(leader.initializing, Some(0));
            for pool in facts::pools(&c, &o) {
                for k in 0..replicas_of(&o, pool.name()) {
                    let name = names::pod(NAME, pool.name(), k);
                    let p = pilot_of(&o, &name);
                    prop_assert!(
                        p.is_some_and(|p| facts::fresh(p, now(), &settings())),
                        "pilot {} not fresh", name
                    );
                }
            }
        }
    }

    /// With every report stale or missing, nothing that moves data or takes a node down
    /// happens (an empty removed pool's StatefulSet may still be deleted).
    #[test]
    fn stale_reports_never_move_data((c, o) in world(true)) {
        let a = plan(&c, &o, now(), &settings());
        if let Action::DeleteNodePool { pool, .. } = &a {
            prop_assert_eq!(replicas_of(&o, pool), 0);
        }
        prop_assert!(
            !matches!(
                a,
                Action::ScaleIn { .. } | Action::RequestDecommission { .. } | Action::RollNextPod { .. }
            ),
            "{:?}", a
        );
    }

    /// Requests and cancellations name the right ordinals: a request only a node the scale-in
    /// removes (`d ≤ k < r`) not asked yet, a cancellation only a node that stays (`k < d`)
    /// that was asked; a Pilot is deleted only above the replicas, with its pod gone.
    #[test]
    fn steps_name_the_right_nodes((c, o) in world(false)) {
        let pools = facts::pools(&c, &o);
        let locate = |name: &str| {
            pools
                .iter()
                .find_map(|p| names::ordinal_of(NAME, p.name(), name).map(|k| (p.clone(), k)))
                .expect("a pool's node")
        };
        let asked = |name: &str| {
            pilot_of(&o, name)
                .is_some_and(|p| p.spec.requested_state.as_deref() == Some("Decommissioned"))
        };
        match plan(&c, &o, now(), &settings()) {
            Action::RequestDecommission { pilot } => {
                let (pool, k) = locate(&pilot);
                prop_assert!(k >= pool.desired() && k < replicas_of(&o, pool.name()), "{}", pilot);
                prop_assert!(!asked(&pilot));
            }
            Action::CancelDecommission { pilot } => {
                let (pool, k) = locate(&pilot);
                prop_assert!(k < pool.desired(), "{}", pilot);
                prop_assert!(asked(&pilot));
            }
            Action::DeletePilot { pilot } => {
                let (pool, k) = locate(&pilot);
                let sts_alive = o.statefulsets.iter().any(|s| {
                    s.metadata.name.as_deref() == Some(names::statefulset(NAME, pool.name()).as_str())
                        && s.metadata.deletion_timestamp.is_none()
                });
                prop_assert!(!sts_alive || k >= replicas_of(&o, pool.name()), "{}", pilot);
                prop_assert!(o.pods.iter().all(|p| p.metadata.name.as_deref() != Some(pilot.as_str())));
            }
            _ => {}
        }
    }

    /// The same inputs give the same action and the same status.
    #[test]
    fn deterministic((c, o) in world(false)) {
        let a = plan(&c, &o, now(), &settings());
        let b = plan(&c.clone(), &o.clone(), now(), &settings());
        prop_assert_eq!(&a, &b);
        let s1 = crate::elasticsearch::status::status(&c, &o, &a, now(), &settings());
        let s2 = crate::elasticsearch::status::status(&c, &o, &b, now(), &settings());
        prop_assert_eq!(s1, s2);
    }

    /// No StatefulSet change restarts more than the one pod a `RollNextPod` names: a changed
    /// template goes in with the partition at the replicas, and a roll lowers the partition
    /// only past pods already on the update revision.
    #[test]
    fn at_most_one_pod_restarts((c, o) in world(false)) {
        let hash = |s: &k8s_openapi::api::apps::v1::StatefulSet| {
            facts::annotation_hash(&s.metadata).map(str::to_owned)
        };
        let observed = |pool: &str| {
            let name = names::statefulset(NAME, pool);
            o.statefulsets
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(name.as_str()))
                .expect("statefulset")
        };
        match plan(&c, &o, now(), &settings()) {
            Action::ScaleIn { statefulset: s, pool, .. }
            | Action::ScaleOut { statefulset: s, pool, .. }
            | Action::UpdatePodTemplate { statefulset: s, pool }
                if hash(&s) != hash(observed(&pool)) =>
            {
                let (p, r) = (facts::sts_partition(&s), facts::sts_replicas(&s));
                prop_assert!(p >= r, "template changed with partition {} < replicas {}", p, r);
            }
            Action::RollNextPod { statefulset: s, partition, pool, .. } => {
                let before = observed(&pool);
                prop_assert_eq!(hash(&s), hash(before));
                let update = facts::update_revision(before).expect("update revision");
                for (k, pod) in o.pods.iter().filter_map(|p| {
                    let k = names::ordinal_of(NAME, &pool, p.metadata.name.as_deref()?)?;
                    Some((k, p))
                }) {
                    if k > partition && k < facts::sts_replicas(&s) {
                        prop_assert_eq!(facts::pod_revision(pod), Some(update), "pod {} restarts too", k);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The random worlds reach every action that moves data or nodes, so the properties above are
/// not vacuous.
#[test]
fn random_worlds_reach_every_step() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = world(false);
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for _ in 0..2000 {
        let (c, o) = strategy.new_tree(&mut runner).expect("a world").current();
        let name = match plan(&c, &o, now(), &settings()) {
            Action::ScaleIn { .. } => "ScaleIn",
            Action::ScaleOut { .. } => "ScaleOut",
            Action::RequestDecommission { .. } => "RequestDecommission",
            Action::RollNextPod { .. } => "RollNextPod",
            Action::CancelDecommission { .. } => "CancelDecommission",
            Action::DeleteNodePool { .. } => "DeleteNodePool",
            Action::DeletePilot { .. } => "DeletePilot",
            Action::UpdatePodTemplate { .. } => "UpdatePodTemplate",
            _ => continue,
        };
        *seen.entry(name).or_default() += 1;
    }
    eprintln!("steps planned in 2000 random worlds: {seen:?}");
    for name in [
        "ScaleIn",
        "ScaleOut",
        "RequestDecommission",
        "RollNextPod",
        "CancelDecommission",
        "DeleteNodePool",
        "DeletePilot",
        "UpdatePodTemplate",
    ] {
        assert!(
            seen.get(name).is_some_and(|n| *n > 0),
            "{name} never planned: {seen:?}"
        );
    }
}
