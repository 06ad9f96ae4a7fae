//! Table and property tests of the storage compatibility progression (Cassandra 5):
//! `CASSANDRA_4` → `UPGRADING` → `NONE` after an upgrade from 4.x, `NONE` from the start.

use pretty_assertions::assert_eq;
use proptest::prelude::*;

use super::fixtures::*;
use super::{Action, WaitReason, plan};
use crate::cassandra::children;
use crate::cassandra::compatibility::{self, StorageCompatibility as S};
use crate::cassandra::observe::Observed;
use crate::cassandra::settings::Settings;
use crate::cassandra::status::{PROGRESSING, status};
use navigator_api::v1beta1::CassandraCluster;

const OLD: &str = "4.1.10";
const NEW: &str = "5.0.8";

fn run(c: &CassandraCluster, o: &Observed) -> Action {
    plan(c, o, now(), &Settings::default())
}

fn built(
    c: &CassandraCluster,
    p: &str,
    replicas: i32,
    partition: i32,
    mode: S,
) -> k8s_openapi::api::apps::v1::StatefulSet {
    children::statefulset_in_mode(
        c,
        pool(c, p),
        replicas,
        partition,
        &Settings::default(),
        mode,
    )
    .expect("statefulset builder")
}

/// The Progressing condition's reason and message for `action`.
fn progressing(c: &CassandraCluster, o: &Observed, action: &Action) -> (String, String) {
    let s = status(c, o, action, now());
    let p = s
        .conditions
        .iter()
        .find(|c| c.type_ == PROGRESSING)
        .expect("Progressing");
    (p.reason.clone(), p.message.clone())
}

/// Rolls pool `p` (3 replicas, index `i`) of `o` onto `revision` in `mode`, the way the
/// StatefulSet controller and the pilots would once the planner lowered the partition to 0:
/// every pod on the new revision and Ready, every pilot reporting `version`.
fn rolled(
    c: &CassandraCluster,
    o: &mut Observed,
    i: usize,
    p: &str,
    revision: &str,
    mode: S,
    version: &str,
) {
    *sts_mut(o, p) = sts_in_mode(c, p, 3, 0, revision, revision, mode);
    for k in 0..3 {
        let mut new = pod(i, p, k, revision);
        in_mode(&mut new, mode);
        *pod_mut(o, &pod_name(p, k)) = new;
        facts_mut(pilot_mut(o, &pod_name(p, k))).version = Some(version.parse().expect("v"));
    }
}

/// The whole story on one pool of 3: 4.1.10 → 5.0.8 under CASSANDRA_4, then UPGRADING, then
/// NONE, each a template update followed by a one-pod-at-a-time roll; Progressing names the
/// storage steps.
#[test]
fn an_upgrade_from_4_goes_through_upgrading_to_none() {
    let old = cluster(&[("a", 3)], OLD);
    let mut o = ring(&old);
    let c = cluster(&[("a", 3)], NEW);

    // The version changes under CASSANDRA_4: a mixed-version cluster keeps 4.x's formats.
    let a = run(&c, &o);
    assert_eq!(
        a,
        Action::UpdatePodTemplate {
            pool: "a".into(),
            statefulset: built(&c, "a", 3, 3, S::Cassandra4),
        }
    );
    assert_eq!(progressing(&c, &o, &a).0, "Upgrading");
    *sts_mut(&mut o, "a") = sts_in_mode(&c, "a", 3, 3, REV2, REV1, S::Cassandra4);
    assert_eq!(
        run(&c, &o),
        Action::RollNextPod {
            pool: "a".into(),
            pod: pod_name("a", 2),
            partition: 2,
            statefulset: built(&c, "a", 3, 2, S::Cassandra4),
        }
    );
    // Half-way (pod 2 on 5.0.8, 1 and 0 on 4.1.10): still CASSANDRA_4, rolling on.
    *sts_mut(&mut o, "a") = sts_in_mode(&c, "a", 3, 2, REV2, REV1, S::Cassandra4);
    *pod_mut(&mut o, &pod_name("a", 2)) = pod(0, "a", 2, REV2);
    facts_mut(pilot_mut(&mut o, &pod_name("a", 2))).version = Some(NEW.parse().expect("v"));
    assert_eq!(
        run(&c, &o),
        Action::RollNextPod {
            pool: "a".into(),
            pod: pod_name("a", 1),
            partition: 1,
            statefulset: built(&c, "a", 3, 1, S::Cassandra4),
        }
    );

    // Every pod on 5.0.8 and the StatefulSet settled: UPGRADING, by a template update first.
    rolled(&c, &mut o, 0, "a", REV2, S::Cassandra4, NEW);
    let a = run(&c, &o);
    assert_eq!(
        a,
        Action::UpdatePodTemplate {
            pool: "a".into(),
            statefulset: built(&c, "a", 3, 3, S::Upgrading),
        }
    );
    assert_eq!(
        progressing(&c, &o, &a),
        (
            "UpgradingStorage".to_owned(),
            "pool a: applying the new pod template; no pod restarts yet \
             (storage_compatibility_mode CASSANDRA_4 → UPGRADING)"
                .to_owned()
        )
    );
    // A restarted controller sees the template in UPGRADING and keeps it (no way back to
    // CASSANDRA_4 although no pod runs UPGRADING yet).
    *sts_mut(&mut o, "a") = sts_in_mode(&c, "a", 3, 3, REV3, REV2, S::Upgrading);
    let a = run(&c, &o);
    assert_eq!(
        a,
        Action::RollNextPod {
            pool: "a".into(),
            pod: pod_name("a", 2),
            partition: 2,
            statefulset: built(&c, "a", 3, 2, S::Upgrading),
        }
    );
    assert_eq!(
        progressing(&c, &o, &a),
        (
            "UpgradingStorage".to_owned(),
            "pool a: restarting pod cass-demo-a-2 on the new pod template \
             (storage_compatibility_mode CASSANDRA_4 → UPGRADING)"
                .to_owned()
        )
    );
    // Waiting for the restarted pod says which step too.
    *sts_mut(&mut o, "a") = sts_in_mode(&c, "a", 3, 2, REV3, REV2, S::Upgrading);
    let a = run(&c, &o);
    assert_eq!(waits(&a).reason, WaitReason::WaitingForUpgrade);
    let (reason, message) = progressing(&c, &o, &a);
    assert_eq!(reason, "WaitingForUpgrade");
    assert!(
        message.ends_with("(storage_compatibility_mode CASSANDRA_4 → UPGRADING)"),
        "{message}"
    );

    // Every pod in UPGRADING: NONE.
    rolled(&c, &mut o, 0, "a", REV3, S::Upgrading, NEW);
    let a = run(&c, &o);
    assert_eq!(
        a,
        Action::UpdatePodTemplate {
            pool: "a".into(),
            statefulset: built(&c, "a", 3, 3, S::None),
        }
    );
    assert!(progressing(&c, &o, &a).1.contains("UPGRADING → NONE"));
    *sts_mut(&mut o, "a") = sts_in_mode(&c, "a", 3, 3, REV4, REV3, S::Upgrading);
    *sts_mut(&mut o, "a") = sts_in_mode(&c, "a", 3, 3, REV4, REV3, S::None);
    assert_eq!(
        run(&c, &o),
        Action::RollNextPod {
            pool: "a".into(),
            pod: pod_name("a", 2),
            partition: 2,
            statefulset: built(&c, "a", 3, 2, S::None),
        }
    );
    // Done: NONE everywhere is where it stays.
    rolled(&c, &mut o, 0, "a", REV4, S::None, NEW);
    assert_eq!(run(&c, &o), Action::Idle);
}

fn waits(action: &Action) -> &super::Wait {
    match action {
        Action::Wait(w) => w,
        other => panic!("expected a Wait, got {other:?}"),
    }
}

/// A cluster of pools `a` and `b` (3 each) on 5.0.8, every pod rolled, `a` in `mode_a` and
/// `b` in `mode_b`.
fn two_pools(mode_a: S, mode_b: S) -> (CassandraCluster, Observed) {
    let c = cluster(&[("a", 3), ("b", 3)], NEW);
    let mut o = ring(&c);
    rolled(&c, &mut o, 0, "a", REV2, mode_a, NEW);
    rolled(&c, &mut o, 1, "b", REV2, mode_b, NEW);
    (c, o)
}

#[test]
fn the_next_step_waits_for_every_pool_every_pod_and_a_healthy_ring() {
    // Settled at CASSANDRA_4: pool a first.
    let (c, o) = two_pools(S::Cassandra4, S::Cassandra4);
    assert_eq!(
        run(&c, &o),
        Action::UpdatePodTemplate {
            pool: "a".into(),
            statefulset: built(&c, "a", 3, 3, S::Upgrading),
        }
    );
    // Not while a pilot of any pool still reports 4.x.
    let mut behind = o.clone();
    facts_mut(pilot_mut(&mut behind, &pod_name("b", 1))).version = Some(OLD.parse().expect("v"));
    assert_eq!(run(&c, &behind), Action::Idle);
    // Nor while a pool no longer in the spec still runs 4.x pods.
    let mut removed = o.clone();
    let only_a = cluster(&[("a", 3)], NEW);
    facts_mut(pilot_mut(&mut removed, &pod_name("b", 1))).version = Some(OLD.parse().expect("v"));
    assert!(!matches!(
        run(&only_a, &removed),
        Action::UpdatePodTemplate { .. }
    ));
    // Nor while the ring is unhealthy.
    let mut sick = o.clone();
    unready(pod_mut(&mut sick, &pod_name("b", 0)));
    assert_eq!(
        waits(&run(&c, &sick)).reason,
        WaitReason::WaitingForPodReady
    );
    // Nor while a pod still runs the previous revision.
    let mut old_pod = o.clone();
    *pod_mut(&mut old_pod, &pod_name("b", 2)) = pod(1, "b", 2, REV1);
    assert!(!matches!(
        run(&c, &old_pod),
        Action::UpdatePodTemplate { .. }
    ));
    // Nor while the StatefulSet controller has not finished (currentRevision behind).
    let mut settling = o.clone();
    *sts_mut(&mut settling, "b") = sts_in_mode(&c, "b", 3, 0, REV2, REV1, S::Cassandra4);
    assert!(!matches!(
        run(&c, &settling),
        Action::UpdatePodTemplate { .. }
    ));
    // Nor while a pool waits for its StatefulSet.
    let mut missing = o.clone();
    let with_c = cluster(&[("a", 3), ("b", 3), ("c", 1)], NEW);
    missing.pilots.push(pilot(&with_c, "c", 0, NEW, Vec::new()));
    assert!(!matches!(
        run(&with_c, &missing),
        Action::UpdatePodTemplate { .. }
    ));
}

#[test]
fn a_step_under_way_finishes_in_every_pool_and_never_skips_upgrading() {
    // a is in UPGRADING, b still in CASSANDRA_4: b follows to UPGRADING (not further).
    let (c, o) = two_pools(S::Upgrading, S::Cassandra4);
    assert_eq!(
        run(&c, &o),
        Action::UpdatePodTemplate {
            pool: "b".into(),
            statefulset: built(&c, "b", 3, 3, S::Upgrading),
        }
    );
    // Not while a pod created from a 4.x template is still there (never made by the planner).
    let mut old_pod = o.clone();
    pod_mut(&mut old_pod, &pod_name("b", 1))
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(children::CASSANDRA_VERSION_ANNOTATION.into(), OLD.into());
    assert!(!matches!(
        run(&c, &old_pod),
        Action::UpdatePodTemplate { .. }
    ));
    // Also when something else is unhealthy: the template goes in, no pod restarts.
    let mut sick = o.clone();
    unready(pod_mut(&mut sick, &pod_name("a", 0)));
    assert_eq!(run(&c, &sick), run(&c, &o));
    // A pool found in NONE beside one in CASSANDRA_4 (never made by the planner): the
    // CASSANDRA_4 pool goes to UPGRADING only, the NONE pool is left alone.
    let (c, o) = two_pools(S::None, S::Cassandra4);
    assert_eq!(
        run(&c, &o),
        Action::UpdatePodTemplate {
            pool: "b".into(),
            statefulset: built(&c, "b", 3, 3, S::Upgrading),
        }
    );
}

#[test]
fn new_pools_start_at_none_on_5_or_at_the_cluster_mode() {
    // A cluster created at 5.x.
    let c = cluster(&[("a", 1)], NEW);
    let mut o = Observed::default();
    for child in children::shared_children(&c, &Settings::default()).expect("children") {
        let hash = child.spec_hash().map(str::to_owned);
        o.others.insert(child.child_ref(), hash);
    }
    o.pilots.push(pilot(&c, "a", 0, NEW, Vec::new()));
    match run(&c, &o) {
        Action::CreateNodePool { statefulset, .. } => {
            assert_eq!(compatibility::of_statefulset(&statefulset), Some(S::None));
            assert_eq!(statefulset, built(&c, "a", 1, 0, S::None));
        }
        other => panic!("expected CreateNodePool, got {other:?}"),
    }
    // A pool added while the cluster runs CASSANDRA_4 (mid-upgrade) joins in CASSANDRA_4.
    let (_, mut o) = two_pools(S::Cassandra4, S::Cassandra4);
    facts_mut(pilot_mut(&mut o, &pod_name("a", 0))).version = Some(OLD.parse().expect("v"));
    let c = cluster(&[("a", 3), ("b", 3), ("c", 1)], NEW);
    o.pilots.push(pilot(&c, "c", 0, NEW, Vec::new()));
    match run(&c, &o) {
        Action::CreateNodePool { pool, statefulset } => {
            assert_eq!(pool, "c");
            assert_eq!(
                compatibility::of_statefulset(&statefulset),
                Some(S::Cassandra4)
            );
        }
        other => panic!("expected CreateNodePool, got {other:?}"),
    }
}

#[test]
fn going_back_to_4_is_refused_once_a_pool_left_cassandra_4() {
    for (mode, refused) in [
        (S::Cassandra4, false),
        (S::Upgrading, true),
        (S::None, true),
    ] {
        let (_, o) = two_pools(mode, S::Cassandra4);
        let back = cluster(&[("a", 3), ("b", 3)], OLD);
        let a = run(&back, &o);
        if refused {
            let w = waits(&a);
            assert_eq!(w.reason, WaitReason::InvalidSpec, "{mode}");
            assert!(
                w.message.contains(&format!(
                    "pool a runs Cassandra 5 with storage_compatibility_mode {mode}"
                )),
                "{}",
                w.message
            );
        } else {
            // A rollback within CASSANDRA_4 is a template change like any other.
            assert!(
                matches!(&a, Action::UpdatePodTemplate { pool, statefulset } if pool == "a" && compatibility::of_statefulset(statefulset).is_none()),
                "{a:?}"
            );
        }
    }
}

/// A random two-pool 5.0.8 cluster: each pool's StatefulSet in a random mode (or a 4.x
/// template), its template applied or not, pods on random revisions and versions, some
/// unhealthy.
fn world() -> impl Strategy<Value = (CassandraCluster, Observed)> {
    let mode = prop_oneof![
        Just(None),
        Just(Some(S::Cassandra4)),
        Just(Some(S::Upgrading)),
        Just(Some(S::None))
    ];
    let node = (
        proptest::bool::weighted(0.8),
        proptest::bool::weighted(0.8),
        proptest::bool::weighted(0.9),
    );
    (
        (mode.clone(), mode),
        (proptest::bool::weighted(0.7), proptest::bool::weighted(0.7)),
        proptest::collection::vec(node, 6),
    )
        .prop_map(|((mode_a, mode_b), (current_a, current_b), nodes)| {
            let old = cluster(&[("a", 3), ("b", 3)], OLD);
            let c = cluster(&[("a", 3), ("b", 3)], NEW);
            let mut o = ring(&c);
            for (i, p, mode, current) in [(0, "a", mode_a, current_a), (1, "b", mode_b, current_b)]
            {
                let template = if mode.is_some() { &c } else { &old };
                *sts_mut(&mut o, p) = sts_in_mode(
                    template,
                    p,
                    3,
                    0,
                    REV2,
                    if current { REV2 } else { REV1 },
                    mode.unwrap_or(S::Cassandra4),
                );
                for k in 0..3 {
                    let (new_revision, new_version, ready) = nodes[i * 3 + k as usize];
                    let mut po = pod(i, p, k, if new_revision { REV2 } else { REV1 });
                    if let Some(m) = mode.filter(|_| new_revision) {
                        in_mode(&mut po, m);
                    }
                    if !ready {
                        unready(&mut po);
                    }
                    *pod_mut(&mut o, &pod_name(p, k)) = po;
                    facts_mut(pilot_mut(&mut o, &pod_name(p, k))).version =
                        Some((if new_version { NEW } else { OLD }).parse().expect("v"));
                }
            }
            (c, o)
        })
}

/// The StatefulSet an action applies, if any.
fn applied(action: &Action) -> Option<&k8s_openapi::api::apps::v1::StatefulSet> {
    match action {
        Action::UpdatePodTemplate { statefulset, .. }
        | Action::RollNextPod { statefulset, .. }
        | Action::CreateNodePool { statefulset, .. }
        | Action::ScaleOut { statefulset, .. }
        | Action::ScaleIn { statefulset, .. } => Some(statefulset),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Never a step to NONE while any pilot reports 4.x or any pool runs CASSANDRA_4
    /// (UPGRADING is never skipped); never UPGRADING on an unsettled cluster; a mode is never
    /// lowered; same observations, same action.
    #[test]
    fn the_progression_is_safe_and_deterministic((c, o) in world()) {
        let action = run(&c, &o);
        prop_assert_eq!(&action, &run(&c.clone(), &o.clone()));
        let Some(s) = applied(&action) else { return Ok(()) };
        let mode = compatibility::of_statefulset(s);
        let pool = s.metadata.name.clone().unwrap_or_default();
        let observed = o.statefulsets.iter().find(|x| x.metadata.name.as_deref() == Some(pool.as_str()));
        let before = observed.map(super::storage::current);
        if let (Some(before), Some(after)) = (before, mode) {
            prop_assert!(after >= before, "{:?} lowered to {:?}", before, after);
        }
        if mode == Some(S::None) && before != Some(S::None) {
            for p in &o.pilots {
                let v = p.status.cassandra.as_ref().and_then(|c| c.version.as_ref());
                prop_assert!(v.is_none_or(|v| v.major() >= 5), "NONE while a pilot reports {:?}", v);
            }
            for x in &o.statefulsets {
                prop_assert!(
                    super::storage::current(x) >= S::Upgrading,
                    "NONE while {:?} runs CASSANDRA_4", x.metadata.name
                );
            }
        }
        if mode == Some(S::Upgrading) && before == Some(S::Cassandra4) {
            // Starting UPGRADING: only once a pool already is, or everything settled on 5.
            let started = o.statefulsets.iter().any(|x| super::storage::current(x) > S::Cassandra4);
            prop_assert!(
                started || super::storage::settled(&c, &o, now(), &Settings::default(), S::Cassandra4),
                "UPGRADING started on an unsettled cluster"
            );
            for p in &o.pilots {
                let v = p.status.cassandra.as_ref().and_then(|c| c.version.as_ref());
                prop_assert!(started || v.is_none_or(|v| v.major() >= 5));
            }
        }
    }
}

/// The random worlds reach every step, so the property is not vacuous.
#[test]
fn random_worlds_reach_every_step() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = world();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..1000 {
        let (c, o) = strategy.new_tree(&mut runner).expect("a world").current();
        let action = run(&c, &o);
        if let Some(s) = applied(&action) {
            let pool = s.metadata.name.clone().unwrap_or_default();
            let before = o
                .statefulsets
                .iter()
                .find(|x| x.metadata.name.as_deref() == Some(pool.as_str()))
                .map(super::storage::current);
            if let (Some(b), Some(a)) = (before, compatibility::of_statefulset(s))
                && b != a
            {
                seen.insert(format!("{b} → {a}"));
            }
        }
    }
    for step in ["CASSANDRA_4 → UPGRADING", "UPGRADING → NONE"] {
        assert!(seen.contains(step), "{step} never planned: {seen:?}");
    }
}
