//! Table tests, one or more per rule and per wait reason, and the whole stories as sequences
//! of planned actions carried out by the fixtures' [`World`].

use pretty_assertions::assert_eq;

use super::fixtures::*;
use super::{Action, Wait, WaitReason};
use crate::elasticsearch::children;
use crate::elasticsearch::names;
use crate::observe::{ChildKind, ChildRef, Observed};
use navigator_api::v1beta1::ElasticsearchCluster;

fn waits(action: &Action) -> &Wait {
    match action {
        Action::Wait(w) => w,
        other => panic!("expected a Wait, got {other:?}"),
    }
}

#[track_caller]
fn assert_wait(action: &Action, reason: WaitReason, object: &str, message_has: &str) {
    let w = waits(action);
    assert_eq!(w.reason, reason, "{w:?}");
    assert_eq!(w.object, object, "{w:?}");
    assert!(
        w.message.contains(message_has),
        "message {:?} should contain {message_has:?}",
        w.message
    );
}

/// Masters 3 + data 3.
fn m3d3() -> ElasticsearchCluster {
    cluster(&[("m", 3, MASTER), ("d", 3, DATA)])
}

fn request(pilot: &str) -> Action {
    Action::RequestDecommission {
        pilot: pilot.to_owned(),
    }
}

#[test]
fn a_healthy_cluster_is_idle() {
    let c = m3d3();
    assert_eq!(run(&c, &healthy(&c)), Action::Idle);
    let one = cluster(&[("a", 1, MASTER_DATA)]);
    assert_eq!(run(&one, &healthy(&one)), Action::Idle);
}

#[test]
fn rule_1_paused_waits_before_anything_else() {
    let mut c = m3d3();
    c.spec.paused = true;
    assert_wait(
        &run(&c, &Observed::default()),
        WaitReason::ClusterPaused,
        "elasticsearchcluster/demo",
        "paused",
    );
}

#[test]
fn rule_2_builder_errors_are_an_invalid_spec() {
    let mut c = m3d3();
    c.metadata.uid = None;
    assert_wait(
        &run(&c, &Observed::default()),
        WaitReason::InvalidSpec,
        "elasticsearchcluster/demo",
        "uid",
    );
    let mut c = m3d3();
    c.spec.version = None;
    assert_wait(
        &run(&c, &healthy(&m3d3())),
        WaitReason::InvalidSpec,
        "elasticsearchcluster/demo",
        "version",
    );
}

#[test]
fn rule_3_missing_and_changed_shared_children_are_applied() {
    let c = m3d3();
    let all = children::shared_children(&c, &settings()).expect("shared");
    assert_eq!(
        run(&c, &Observed::default()),
        Action::ApplyChildren(all.clone())
    );
    let mut o = healthy(&c);
    let changed = all[4].child_ref();
    o.others.insert(changed.clone(), Some("0000".into()));
    let config = all.last().expect("a ConfigMap").child_ref();
    o.others.remove(&config);
    assert_eq!(
        run(&c, &o),
        Action::ApplyChildren(vec![all[4].clone(), all.last().expect("cm").clone()])
    );
    o.others.insert(changed, None);
    assert_eq!(
        run(&c, &o),
        Action::ApplyChildren(vec![all[4].clone(), all.last().expect("cm").clone()])
    );
}

#[test]
fn rule_3_the_configuration_of_a_removed_pool_goes_after_its_statefulset() {
    let before = m3d3();
    let mut o = healthy_with(&before, &[("m", 3)]);
    let c = cluster(&[("m", 3, MASTER)]);
    let config = ChildRef {
        kind: ChildKind::ConfigMap,
        name: names::pool_config(NAME, "d"),
    };
    assert!(o.others.contains_key(&config));
    // A removed pool's StatefulSet still exists: its configuration stays.
    o.statefulsets.push(sts(&before, "d", 0, 0, REV1, REV1));
    assert!(!matches!(run(&c, &o), Action::DeleteChildren(_)));
    o.statefulsets
        .retain(|s| s.metadata.name.as_deref() != Some(names::statefulset(NAME, "d").as_str()));
    assert_eq!(run(&c, &o), Action::DeleteChildren(vec![config]));
    // Objects the builders never name are left alone.
    let mut o = healthy(&c);
    o.others.insert(
        ChildRef {
            kind: ChildKind::ConfigMap,
            name: "someone-elses".into(),
        },
        None,
    );
    assert_eq!(run(&c, &o), Action::Idle);
}

#[test]
fn rule_4_scaled_away_pods_then_their_pilots_go() {
    let c = cluster(&[("m", 3, MASTER), ("d", 1, DATA)]);
    let mut o = healthy_with(&c, &[("m", 3), ("d", 3)]);
    for k in [1, 2] {
        draining(pilot_mut(&mut o, &pod_name("d", k)), "Complete", 0);
    }
    *sts_mut(&mut o, "d") = sts(&c, "d", 1, 0, REV1, REV1);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPodDeletion,
        "pod/es-demo-d-1",
        "above the StatefulSet's 1 replicas",
    );
    o.pods.retain(|p| {
        let name = p.metadata.name.as_deref();
        name != Some("es-demo-d-1") && name != Some("es-demo-d-2")
    });
    assert_eq!(
        run(&c, &o),
        Action::DeletePilot {
            pilot: pod_name("d", 1)
        }
    );
    pilot_mut(&mut o, &pod_name("d", 1))
        .metadata
        .deletion_timestamp = Some(ago(1));
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPodDeletion,
        "pilot/es-demo-d-1",
        "being deleted",
    );
    remove(&mut o, &pod_name("d", 1));
    remove(&mut o, &pod_name("d", 2));
    assert_eq!(run(&c, &o), Action::Idle);
}

#[test]
fn rule_5_pilots_exist_before_their_pods() {
    let c = m3d3();
    let mut o = healthy(&c);
    remove(&mut o, &pod_name("d", 1));
    o.pods.push(pod("d", &pool(&c, "d").roles, 1, REV1));
    assert_eq!(run(&c, &o), Action::CreatePilot(built_pilot(&c, "d", 1)));

    // A scale-out: the Pilots of the new ordinals come first, and are not cleaned up.
    let mut c = m3d3();
    set_replicas(&mut c, "d", 5);
    let mut o = healthy_with(&c, &[("m", 3), ("d", 3)]);
    assert_eq!(run(&c, &o), Action::CreatePilot(built_pilot(&c, "d", 3)));
    o.pilots.push(built_pilot(&c, "d", 3));
    assert_eq!(run(&c, &o), Action::CreatePilot(built_pilot(&c, "d", 4)));
    o.pilots.push(built_pilot(&c, "d", 4));
    assert_eq!(
        run(&c, &o),
        Action::ScaleOut {
            pool: "d".into(),
            from: 3,
            to: 5,
            statefulset: built(&c, "d", 5, 0),
        }
    );
}

#[test]
fn rule_6_a_request_below_the_desired_replicas_is_cancelled_in_any_phase() {
    let c = m3d3();
    for phase in ["Pending", "InProgress", "Complete", "Failed"] {
        let mut o = healthy(&c);
        draining(pilot_mut(&mut o, &pod_name("d", 2)), phase, 3);
        assert_eq!(
            run(&c, &o),
            Action::CancelDecommission {
                pilot: pod_name("d", 2)
            },
            "{phase}"
        );
    }
    let mut o = healthy(&c);
    operation(pilot_mut(&mut o, &pod_name("m", 0)), "Decommissioned", None);
    assert_eq!(
        run(&c, &o),
        Action::CancelDecommission {
            pilot: pod_name("m", 0)
        }
    );
}

/// Masters 3 + data 3, data wanted at 1.
fn data_scale_in() -> (ElasticsearchCluster, Observed) {
    let mut c = m3d3();
    let o = healthy(&c);
    set_replicas(&mut c, "d", 1);
    (c, o)
}

#[test]
fn rule_6_data_nodes_drain_together_and_leave_together() {
    let (c, mut o) = data_scale_in();
    // Only one asked: the next is asked too, without waiting.
    draining(pilot_mut(&mut o, &pod_name("d", 2)), "InProgress", 3);
    assert_eq!(run(&c, &o), request(&pod_name("d", 1)));
    draining(pilot_mut(&mut o, &pod_name("d", 1)), "Pending", 4);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForDrain,
        "pilot/es-demo-d-2",
        "pilot es-demo-d-2 reports the drain InProgress (3 shards on the node): moving shards; pilot es-demo-d-1 reports the drain Pending (4 shards on the node)",
    );
    // One done, one not.
    draining(pilot_mut(&mut o, &pod_name("d", 2)), "Complete", 0);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForDrain,
        "pilot/es-demo-d-1",
        "es-demo-d-1 reports the drain Pending",
    );
    // Refused in a fresh report: blocked; in a stale one: unknown, still draining.
    draining(pilot_mut(&mut o, &pod_name("d", 1)), "Failed", 4);
    pilot_mut(&mut o, &pod_name("d", 1))
        .status
        .operation
        .as_mut()
        .expect("op")
        .message = "shards of index logs cannot be allocated elsewhere".into();
    assert_wait(
        &run(&c, &o),
        WaitReason::DecommissionBlocked,
        "pilot/es-demo-d-1",
        "cannot be allocated elsewhere",
    );
    pilot_mut(&mut o, &pod_name("d", 1))
        .status
        .last_heartbeat_time = Some(ago(600));
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForDrain,
        "pilot/es-demo-d-1",
        "report unknown",
    );
    // Both Complete, fresh: out together.
    let mut done = o.clone();
    draining(pilot_mut(&mut done, &pod_name("d", 1)), "Complete", 0);
    pilot_mut(&mut done, &pod_name("d", 1))
        .status
        .last_heartbeat_time = Some(ago(5));
    assert_eq!(
        run(&c, &done),
        Action::ScaleIn {
            pool: "d".into(),
            from: 3,
            to: 1,
            statefulset: built(&c, "d", 1, 0),
        }
    );
    // A stale Complete is not enough; nor is one the pilot reported before its latest spec.
    pilot_mut(&mut done, &pod_name("d", 2))
        .status
        .last_heartbeat_time = Some(ago(76));
    assert_wait(
        &run(&c, &done),
        WaitReason::WaitingForDrain,
        "pilot/es-demo-d-2",
        "report unknown",
    );
    pilot_mut(&mut done, &pod_name("d", 2))
        .status
        .last_heartbeat_time = Some(ago(5));
    pilot_mut(&mut done, &pod_name("d", 2)).metadata.generation = Some(2);
    assert_wait(
        &run(&c, &done),
        WaitReason::WaitingForDrain,
        "pilot/es-demo-d-2",
        "has not acted on its spec yet",
    );
}

#[test]
fn rule_6_a_scale_in_before_a_template_change_restarts_nothing() {
    let (c, mut o) = data_scale_in();
    let mut newer = c.clone();
    newer.spec.version = Some("8.15.1".parse().expect("v"));
    for k in [1, 2] {
        draining(pilot_mut(&mut o, &pod_name("d", k)), "Complete", 0);
    }
    assert_eq!(
        run(&newer, &o),
        Action::ScaleIn {
            pool: "d".into(),
            from: 3,
            to: 1,
            statefulset: built(&newer, "d", 1, 1),
        }
    );
}

#[test]
fn rule_6_master_nodes_leave_one_at_a_time() {
    let mut c = cluster(&[("m", 5, MASTER), ("d", 2, DATA)]);
    let mut o = healthy(&c);
    set_replicas(&mut c, "m", 3);
    // The pools' configuration names the new majority first.
    assert!(matches!(run(&c, &o), Action::ApplyChildren(ref c) if c.len() == 2));
    record_children(&c, &mut o);
    assert_eq!(run(&c, &o), request(&pod_name("m", 4)));
    draining(pilot_mut(&mut o, &pod_name("m", 4)), "InProgress", 0);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForDrain,
        "pilot/es-demo-m-4",
        "reports the drain InProgress (0 shards on the node)",
    );
    draining(pilot_mut(&mut o, &pod_name("m", 4)), "Complete", 0);
    assert_eq!(
        run(&c, &o),
        Action::ScaleIn {
            pool: "m".into(),
            from: 5,
            to: 4,
            statefulset: built(&c, "m", 4, 0),
        }
    );
}

#[test]
fn rule_7_pools_are_created_masters_first_ungated() {
    let c = cluster(&[("d", 2, DATA), ("m", 3, MASTER), ("i", 1, INGEST)]);
    let mut o = Observed::default();
    record_children(&c, &mut o);
    // Every Pilot first, in spec order.
    let mut pilots = Vec::new();
    loop {
        match run(&c, &o) {
            Action::CreatePilot(p) => {
                pilots.push(p.metadata.name.clone().unwrap_or_default());
                o.pilots.push(p);
            }
            other => {
                assert_eq!(
                    other,
                    Action::CreateNodePool {
                        pool: "m".into(),
                        statefulset: built(&c, "m", 3, 0),
                    }
                );
                break;
            }
        }
    }
    assert_eq!(
        pilots,
        [
            "es-demo-d-0",
            "es-demo-d-1",
            "es-demo-m-0",
            "es-demo-m-1",
            "es-demo-m-2",
            "es-demo-i-0"
        ]
    );
    // The masters' pods are not Ready yet: the data pool is created anyway, then ingest.
    o.statefulsets.push(sts(&c, "m", 3, 0, REV1, REV1));
    assert_eq!(
        run(&c, &o),
        Action::CreateNodePool {
            pool: "d".into(),
            statefulset: built(&c, "d", 2, 0),
        }
    );
    o.statefulsets.push(sts(&c, "d", 2, 0, REV1, REV1));
    assert_eq!(
        run(&c, &o),
        Action::CreateNodePool {
            pool: "i".into(),
            statefulset: built(&c, "i", 1, 0),
        }
    );
    o.statefulsets.push(sts(&c, "i", 1, 0, REV1, REV1));
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPodReady,
        "pod/es-demo-d-0",
        "does not exist yet",
    );
}

#[test]
fn rule_8_a_changed_template_goes_in_with_the_partition_at_the_replicas() {
    let old = m3d3();
    let mut o = healthy(&old);
    let c = cluster_at(&[("m", 3, MASTER), ("d", 3, DATA)], "8.15.1");
    assert_eq!(
        run(&c, &o),
        Action::UpdatePodTemplate {
            pool: "m".into(),
            statefulset: built(&c, "m", 3, 3),
        }
    );
    let mut s = sts(&c, "m", 3, 3, REV2, REV1);
    s.metadata.generation = Some(2);
    *sts_mut(&mut o, "m") = s;
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForStatefulSet,
        "statefulset/es-demo-m",
        "not been observed",
    );
    let mut s = sts(&c, "m", 3, 3, REV2, REV1);
    s.status.as_mut().expect("status").update_revision = None;
    *sts_mut(&mut o, "m") = s;
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForStatefulSet,
        "statefulset/es-demo-m",
        "no updateRevision",
    );
}

/// Masters 3 + data 3 on 8.15.0, the spec at 8.15.1, the data pool's template applied.
fn rolling() -> (ElasticsearchCluster, Observed) {
    let old = m3d3();
    let mut o = healthy(&old);
    let c = cluster_at(&[("m", 3, MASTER), ("d", 3, DATA)], "8.15.1");
    *sts_mut(&mut o, "m") = sts(&c, "m", 3, 0, REV1, REV1);
    *sts_mut(&mut o, "d") = sts(&c, "d", 3, 3, REV2, REV1);
    (c, o)
}

fn roll(c: &ElasticsearchCluster, k: i32) -> Action {
    Action::RollNextPod {
        pool: "d".into(),
        pod: pod_name("d", k),
        partition: k,
        statefulset: built(c, "d", 3, k),
    }
}

#[test]
fn rule_9_the_roll_gate() {
    let (c, base) = rolling();
    assert_eq!(run(&c, &base), roll(&c, 2));
    type Breaker = fn(&mut Observed);
    let cases: Vec<(&str, Breaker, WaitReason, &str, &str)> = vec![
        (
            "yellow",
            |o| leader_mut(o).cluster_health = Some("Yellow".into()),
            WaitReason::WaitingForClusterHealth,
            "pilot/es-demo-m-0",
            "not green (a restart would leave some shard without a copy): the leader pilot es-demo-m-0 reports health Yellow, 0 relocating, 0 initializing, 0 unassigned shards",
        ),
        (
            "red",
            |o| leader_mut(o).cluster_health = Some("Red".into()),
            WaitReason::WaitingForClusterHealth,
            "pilot/es-demo-m-0",
            "the cluster is red",
        ),
        (
            "relocating",
            |o| leader_mut(o).relocating_shards = Some(2),
            WaitReason::WaitingForClusterHealth,
            "pilot/es-demo-m-0",
            "shards are relocating",
        ),
        (
            "initializing",
            |o| leader_mut(o).initializing_shards = Some(1),
            WaitReason::WaitingForClusterHealth,
            "pilot/es-demo-m-0",
            "shards are initializing",
        ),
        (
            "relocating unknown",
            |o| leader_mut(o).relocating_shards = None,
            WaitReason::WaitingForClusterHealth,
            "pilot/es-demo-m-0",
            "unknown relocating",
        ),
        (
            "unknown health",
            |o| leader_mut(o).cluster_health = Some("Purple".into()),
            WaitReason::WaitingForClusterHealth,
            "pilot/es-demo-m-0",
            "not known",
        ),
        (
            // The leader's pod is a member: its stale report is caught as a member's first.
            "stale leader",
            |o| pilot_mut(o, "es-demo-m-0").status.last_heartbeat_time = Some(ago(80)),
            WaitReason::WaitingForPilotReport,
            "pilot/es-demo-m-0",
            "count as unknown",
        ),
        (
            "no leader",
            |o| {
                leader_mut(o).cluster_health = None;
            },
            WaitReason::WaitingForClusterHealth,
            "elasticsearchcluster/demo",
            "no leader pilot",
        ),
        (
            "a pod not ready",
            |o| unready(pod_mut(o, "es-demo-m-1")),
            WaitReason::WaitingForPodReady,
            "pod/es-demo-m-1",
            "is not Ready",
        ),
        (
            "a pod missing",
            |o| {
                o.pods
                    .retain(|p| p.metadata.name.as_deref() != Some("es-demo-d-0"))
            },
            WaitReason::WaitingForPodReady,
            "pod/es-demo-d-0",
            "does not exist",
        ),
        (
            "a report stale",
            |o| pilot_mut(o, "es-demo-d-1").status.last_heartbeat_time = Some(ago(100)),
            WaitReason::WaitingForPilotReport,
            "pilot/es-demo-d-1",
            "count as unknown",
        ),
    ];
    for (what, breaker, reason, object, message) in cases {
        let mut o = base.clone();
        breaker(&mut o);
        let got = run(&c, &o);
        assert!(
            matches!(&got, Action::Wait(w) if w.reason == reason && w.object == object && w.message.contains(message)),
            "{what}: {got:?}"
        );
    }

    // The freshest leader report is stale and its Pilot is no member (ordinal 7 is above the
    // replicas; the planner would clean it up first): the gate itself refuses.
    let mut o = base.clone();
    leader_mut(&mut o).cluster_health = None;
    let mut other = pilot(&c, "m", 7, "8.15.0");
    lead(&mut other);
    other.status.last_heartbeat_time = Some(ago(90));
    o.pilots.push(other);
    let got = super::gates::roll_gate(NAME, &super::facts::pools(&c, &o), &o, now(), &settings());
    assert!(
        matches!(&got, Err(w) if w.reason == WaitReason::WaitingForClusterHealth && w.message.contains("the leader pilot es-demo-m-7 last reported")),
        "{got:?}"
    );
}

#[test]
fn rule_9_a_lone_data_node_may_roll_on_yellow() {
    let old = cluster(&[("a", 1, MASTER_DATA)]);
    let mut o = healthy(&old);
    leader_mut(&mut o).cluster_health = Some("Yellow".into());
    let c = cluster_at(&[("a", 1, MASTER_DATA)], "8.15.1");
    *sts_mut(&mut o, "a") = sts(&c, "a", 1, 1, REV2, REV1);
    assert_eq!(
        run(&c, &o),
        Action::RollNextPod {
            pool: "a".into(),
            pod: pod_name("a", 0),
            partition: 0,
            statefulset: built(&c, "a", 1, 0),
        }
    );
    // Two data nodes on Yellow: no.
    let old = cluster(&[("a", 2, MASTER_DATA)]);
    let mut o = healthy(&old);
    leader_mut(&mut o).cluster_health = Some("Yellow".into());
    let c = cluster_at(&[("a", 2, MASTER_DATA)], "8.15.1");
    *sts_mut(&mut o, "a") = sts(&c, "a", 2, 2, REV2, REV1);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForClusterHealth,
        "pilot/es-demo-a-0",
        "not green",
    );
}

#[test]
fn rule_9_each_restarted_pod_is_waited_for() {
    let (c, mut o) = rolling();
    *sts_mut(&mut o, "d") = sts(&c, "d", 3, 2, REV2, REV1);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForUpgrade,
        "pod/es-demo-d-2",
        "runs an old revision",
    );
    o.pods
        .retain(|p| p.metadata.name.as_deref() != Some("es-demo-d-2"));
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForUpgrade,
        "pod/es-demo-d-2",
        "being recreated",
    );
    let roles = pool(&c, "d").roles.clone();
    o.pods.push({
        let mut p = pod("d", &roles, 2, REV2);
        unready(&mut p);
        p
    });
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForUpgrade,
        "pod/es-demo-d-2",
        "not Ready yet",
    );
    *pod_mut(&mut o, "es-demo-d-2") = pod("d", &roles, 2, REV2);
    pilot_mut(&mut o, "es-demo-d-2").status.last_heartbeat_time = Some(ago(100));
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForUpgrade,
        "pilot/es-demo-d-2",
        "count as unknown",
    );
    pilot_mut(&mut o, "es-demo-d-2").status.last_heartbeat_time = Some(ago(5));
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForUpgrade,
        "pilot/es-demo-d-2",
        "reports version 8.15.0, not 8.15.1 yet",
    );
    es_mut(pilot_mut(&mut o, "es-demo-d-2")).version = None;
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForUpgrade,
        "pilot/es-demo-d-2",
        "reports no version",
    );
    es_mut(pilot_mut(&mut o, "es-demo-d-2")).version = Some("8.15.1".parse().expect("v"));
    assert_eq!(run(&c, &o), roll(&c, 1));
}

#[test]
fn rule_10_scale_out_is_at_once_and_ungated() {
    let mut c = m3d3();
    let mut o = healthy(&c);
    set_replicas(&mut c, "d", 4);
    o.pilots.push(built_pilot(&c, "d", 3));
    leader_mut(&mut o).cluster_health = Some("Yellow".into());
    assert_eq!(
        run(&c, &o),
        Action::ScaleOut {
            pool: "d".into(),
            from: 3,
            to: 4,
            statefulset: built(&c, "d", 4, 0),
        }
    );
}

#[test]
fn rule_11_data_nodes_are_asked_highest_first_through_the_drain_gate() {
    let (c, mut o) = data_scale_in();
    assert_eq!(run(&c, &o), request(&pod_name("d", 2)));
    // Yellow is fine for a drain; red or unknown health is not.
    leader_mut(&mut o).cluster_health = Some("Yellow".into());
    assert_eq!(run(&c, &o), request(&pod_name("d", 2)));
    leader_mut(&mut o).cluster_health = Some("Red".into());
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForClusterHealth,
        "pilot/es-demo-m-0",
        "the cluster is red",
    );
    leader_mut(&mut o).cluster_health = Some("Green".into());
    pilot_mut(&mut o, "es-demo-m-0").status.last_heartbeat_time = Some(ago(200));
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForClusterHealth,
        "pilot/es-demo-m-0",
        "the leader pilot es-demo-m-0 last reported",
    );
    leader_mut(&mut o).cluster_health = None;
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForClusterHealth,
        "elasticsearchcluster/demo",
        "no leader",
    );
}

#[test]
fn rule_11_masters_keep_a_quorum() {
    // Masters 2 → 1 with minimumMasters 2: never.
    let mut c = cluster(&[("m", 2, MASTER), ("d", 2, DATA)]);
    c.spec.minimum_masters = Some(2);
    let mut o = healthy(&c);
    set_replicas(&mut c, "m", 1);
    record_children(&c, &mut o);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForMasterQuorum,
        "pilot/es-demo-m-1",
        "would leave 1 master-eligible node(s), fewer than the 2 needed",
    );
    // Without minimumMasters: at least one stays.
    c.spec.minimum_masters = None;
    record_children(&c, &mut o);
    assert_eq!(run(&c, &o), request(&pod_name("m", 1)));
    // Another master pool's node already asked to leave counts as gone.
    let before = cluster(&[("m", 2, MASTER), ("n", 1, MASTER), ("d", 1, DATA)]);
    let mut o = healthy(&before);
    let mut c = before.clone();
    set_replicas(&mut c, "m", 1);
    set_replicas(&mut c, "n", 0);
    record_children(&c, &mut o);
    draining(pilot_mut(&mut o, &pod_name("n", 0)), "Complete", 0);
    assert_eq!(
        run(&c, &o),
        Action::ScaleIn {
            pool: "n".into(),
            from: 1,
            to: 0,
            statefulset: built(&c, "n", 0, 0),
        }
    );
    // While n's node drains, m's node is not asked (one master at a time per pool, and the
    // drain in flight is followed first).
    draining(pilot_mut(&mut o, &pod_name("n", 0)), "InProgress", 0);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForDrain,
        "pilot/es-demo-n-0",
        "InProgress",
    );
}

#[test]
fn rule_11_minimum_masters_counts_every_pool() {
    let before = cluster(&[("m", 2, MASTER), ("md", 2, MASTER_DATA), ("d", 1, DATA)]);
    let mut c = before.clone();
    c.spec.minimum_masters = Some(3);
    set_replicas(&mut c, "m", 1);
    set_replicas(&mut c, "md", 1);
    let mut o = healthy(&before);
    record_children(&c, &mut o);
    // 4 masters: one may go.
    assert_eq!(run(&c, &o), request(&pod_name("m", 1)));
    draining(pilot_mut(&mut o, &pod_name("m", 1)), "Complete", 0);
    let step = run(&c, &o);
    assert!(
        matches!(step, Action::ScaleIn { ref pool, from: 2, to: 1, .. } if pool == "m"),
        "{step:?}"
    );
    *sts_mut(&mut o, "m") = sts(&c, "m", 1, 0, REV1, REV1);
    remove(&mut o, &pod_name("m", 1));
    // 3 masters left, 3 needed: md-1 stays.
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForMasterQuorum,
        "pilot/es-demo-md-1",
        "would leave 2 master-eligible node(s), fewer than the 3 needed",
    );
}

#[test]
fn finally_idle_needs_ready_pods_and_no_red() {
    let c = m3d3();
    let mut o = healthy(&c);
    unready(pod_mut(&mut o, "es-demo-d-1"));
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPodReady,
        "pod/es-demo-d-1",
        "not Ready",
    );
    let mut o = healthy(&c);
    leader_mut(&mut o).cluster_health = Some("Red".into());
    leader_mut(&mut o).unassigned_shards = Some(3);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForClusterHealth,
        "pilot/es-demo-m-0",
        "the cluster is red: the leader pilot es-demo-m-0 reports health Red, 0 relocating, 0 initializing, 3 unassigned shards",
    );
    // Yellow, or a stale leader, is no reason to wait.
    leader_mut(&mut o).cluster_health = Some("Yellow".into());
    assert_eq!(run(&c, &o), Action::Idle);
    pilot_mut(&mut o, "es-demo-m-0").status.last_heartbeat_time = Some(ago(500));
    assert_eq!(run(&c, &o), Action::Idle);
}

#[test]
fn the_freshest_leader_report_counts() {
    let c = m3d3();
    let mut o = healthy(&c);
    // An old leader's report, still fresh but older than the new leader's.
    leader_mut(&mut o).cluster_health = Some("Red".into());
    pilot_mut(&mut o, "es-demo-m-0").status.last_heartbeat_time = Some(ago(30));
    lead(pilot_mut(&mut o, "es-demo-m-1"));
    assert_eq!(run(&c, &o), Action::Idle);
}

#[test]
fn recheck_when_the_first_fresh_report_goes_stale() {
    use super::recheck_after;
    use std::time::Duration;
    let c = cluster(&[("a", 2, MASTER_DATA)]);
    let mut o = healthy(&c);
    assert_eq!(
        recheck_after(&o, now(), &settings()),
        Some(Duration::from_secs(71))
    );
    pilot_mut(&mut o, &pod_name("a", 1))
        .status
        .last_heartbeat_time = Some(ago(60));
    assert_eq!(
        recheck_after(&o, now(), &settings()),
        Some(Duration::from_secs(16))
    );
}

// ---- stories ----

fn shorts(actions: &[Action]) -> Vec<String> {
    actions.iter().map(short).collect()
}

#[test]
fn story_create_masters_and_data_from_nothing() {
    let c = m3d3();
    let mut world = World::new();
    let taken = world.converge(&c, 50);
    assert_eq!(
        shorts(&taken),
        [
            "ApplyChildren(8)",
            "CreatePilot es-demo-m-0",
            "CreatePilot es-demo-m-1",
            "CreatePilot es-demo-m-2",
            "CreatePilot es-demo-d-0",
            "CreatePilot es-demo-d-1",
            "CreatePilot es-demo-d-2",
            "CreateNodePool m 3",
            "CreateNodePool d 3",
            "Idle",
        ]
    );
}

#[test]
fn story_data_three_to_one_drains_both_then_scales_in_once() {
    let mut c = m3d3();
    let mut world = World::new();
    world.converge(&c, 50);
    set_replicas(&mut c, "d", 1);
    world.drains_complete = false;
    let taken = world.converge(&c, 50);
    assert_eq!(
        shorts(&taken),
        [
            "RequestDecommission es-demo-d-2",
            "RequestDecommission es-demo-d-1",
            "Wait WaitingForDrain pilot/es-demo-d-2",
        ]
    );
    world.drains_complete = true;
    world.settle(&c);
    let taken = world.converge(&c, 50);
    assert_eq!(
        shorts(&taken),
        [
            "ScaleIn d 3->1",
            "DeletePilot es-demo-d-1",
            "DeletePilot es-demo-d-2",
            "Idle",
        ]
    );
    // Back to 3: fresh Pilots, one scale-out.
    set_replicas(&mut c, "d", 3);
    let taken = world.converge(&c, 50);
    assert_eq!(
        shorts(&taken),
        [
            "CreatePilot es-demo-d-1",
            "CreatePilot es-demo-d-2",
            "ScaleOut d 1->3",
            "Idle",
        ]
    );
}

#[test]
fn story_reversal_mid_drain_cancels() {
    let mut c = m3d3();
    let mut world = World::new();
    world.converge(&c, 50);
    set_replicas(&mut c, "d", 2);
    world.drains_complete = false;
    let taken = world.converge(&c, 50);
    assert_eq!(
        shorts(&taken),
        [
            "RequestDecommission es-demo-d-2",
            "Wait WaitingForDrain pilot/es-demo-d-2",
        ]
    );
    set_replicas(&mut c, "d", 3);
    let taken = world.converge(&c, 50);
    assert_eq!(shorts(&taken), ["CancelDecommission es-demo-d-2", "Idle"]);
    let p = world
        .observed
        .pilots
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("es-demo-d-2"))
        .expect("pilot");
    assert_eq!(p.spec.requested_state.as_deref(), Some("Running"));
}

#[test]
fn story_masters_five_to_three_one_at_a_time() {
    let mut c = cluster(&[("m", 5, MASTER), ("d", 2, DATA)]);
    let mut world = World::new();
    world.converge(&c, 50);
    set_replicas(&mut c, "m", 3);
    let taken = world.converge(&c, 50);
    assert_eq!(
        shorts(&taken),
        [
            "ApplyChildren(2)",
            "RequestDecommission es-demo-m-4",
            "ScaleIn m 5->4",
            "DeletePilot es-demo-m-4",
            "RequestDecommission es-demo-m-3",
            "ScaleIn m 4->3",
            "DeletePilot es-demo-m-3",
            "Idle",
        ]
    );
    // Down to 1 with minimumMasters 2: one more goes, then the quorum wait.
    c.spec.minimum_masters = Some(2);
    set_replicas(&mut c, "m", 1);
    let taken = world.converge(&c, 50);
    assert_eq!(
        shorts(&taken),
        [
            // minimumMasters 2 is what the configuration says already (a majority of 3).
            "RequestDecommission es-demo-m-2",
            "ScaleIn m 3->2",
            "DeletePilot es-demo-m-2",
            "Wait WaitingForMasterQuorum pilot/es-demo-m-1",
        ]
    );
}

#[test]
fn story_upgrade_rolls_highest_first_pool_by_pool() {
    let c = m3d3();
    let mut world = World::new();
    world.converge(&c, 50);
    let c = cluster_at(&[("m", 3, MASTER), ("d", 3, DATA)], "8.15.1");
    let taken = world.converge(&c, 50);
    assert_eq!(
        shorts(&taken),
        [
            "UpdatePodTemplate m",
            "RollNextPod es-demo-m-2",
            "RollNextPod es-demo-m-1",
            "RollNextPod es-demo-m-0",
            "UpdatePodTemplate d",
            "RollNextPod es-demo-d-2",
            "RollNextPod es-demo-d-1",
            "RollNextPod es-demo-d-0",
            "Idle",
        ]
    );
    for p in &world.observed.pilots {
        assert_eq!(
            p.status
                .elasticsearch
                .as_ref()
                .and_then(|e| e.version.as_ref())
                .map(ToString::to_string)
                .as_deref(),
            Some("8.15.1")
        );
    }
}

#[test]
fn story_upgrade_waits_for_the_cluster_between_restarts() {
    let c = m3d3();
    let mut world = World::new();
    world.converge(&c, 50);
    let c = cluster_at(&[("m", 3, MASTER), ("d", 3, DATA)], "8.15.1");
    world.act(&c, &run(&c, &world.observed)); // UpdatePodTemplate m
    let roll = run(&c, &world.observed);
    assert_eq!(short(&roll), "RollNextPod es-demo-m-2");
    world.act(&c, &roll);
    for (breaker, message) in [
        ("Yellow", "not green"),
        ("relocating", "relocating"),
        ("initializing", "initializing"),
        ("stale", "last reported"),
    ] {
        let mut o = world.observed.clone();
        match breaker {
            "Yellow" => leader_mut(&mut o).cluster_health = Some("Yellow".into()),
            "relocating" => leader_mut(&mut o).relocating_shards = Some(1),
            "initializing" => leader_mut(&mut o).initializing_shards = Some(4),
            _ => {
                // The leader's own report stale (its pod a member: the pilot check says so).
                let l = o
                    .pilots
                    .iter_mut()
                    .find(|p| {
                        p.status
                            .elasticsearch
                            .as_ref()
                            .is_some_and(|e| e.cluster_health.is_some())
                    })
                    .expect("leader");
                l.status.last_heartbeat_time = Some(ago(100));
            }
        }
        let got = run(&c, &o);
        let w = waits(&got);
        assert!(w.message.contains(message), "{breaker}: {w:?}");
        assert!(
            matches!(
                w.reason,
                WaitReason::WaitingForClusterHealth | WaitReason::WaitingForPilotReport
            ),
            "{breaker}: {w:?}"
        );
    }
    assert_eq!(short(&run(&c, &world.observed)), "RollNextPod es-demo-m-1");
}

#[test]
fn story_pool_removal_drains_then_deletes_the_pool_then_its_configuration() {
    let before = cluster(&[("m", 3, MASTER), ("d", 2, DATA), ("old", 2, DATA)]);
    let mut world = World::new();
    world.converge(&before, 50);
    let c = cluster(&[("m", 3, MASTER), ("d", 2, DATA)]);
    let taken = world.converge(&c, 50);
    assert_eq!(
        shorts(&taken),
        [
            "RequestDecommission es-demo-old-1",
            "RequestDecommission es-demo-old-0",
            "DeleteNodePool old",
            "DeleteChildren es-demo-old-config",
            "DeletePilot es-demo-old-0",
            "DeletePilot es-demo-old-1",
            "Idle",
        ]
    );
    assert!(world.observed.statefulsets.len() == 2);
    assert!(world.observed.pilots.len() == 5);
}

#[test]
fn story_removing_a_master_pool_goes_one_at_a_time() {
    let before = cluster(&[("m", 3, MASTER), ("oldm", 2, MASTER), ("d", 1, DATA)]);
    let mut world = World::new();
    world.converge(&before, 50);
    world.drains_complete = false;
    let c = cluster(&[("m", 3, MASTER), ("d", 1, DATA)]);
    let taken = world.converge(&c, 50);
    assert_eq!(
        shorts(&taken),
        [
            "ApplyChildren(2)",
            "RequestDecommission es-demo-oldm-1",
            "Wait WaitingForDrain pilot/es-demo-oldm-1",
        ]
    );
    world.drains_complete = true;
    world.settle(&c);
    let taken = world.converge(&c, 50);
    assert_eq!(
        shorts(&taken),
        [
            "RequestDecommission es-demo-oldm-0",
            "DeleteNodePool oldm",
            "DeleteChildren es-demo-oldm-config",
            "DeletePilot es-demo-oldm-0",
            "DeletePilot es-demo-oldm-1",
            "Idle",
        ]
    );
}

#[test]
fn a_removed_pool_with_unknown_roles_counts_as_master_eligible() {
    let before = cluster(&[("m", 1, MASTER), ("x", 1, DATA)]);
    let mut o = healthy(&before);
    // Strip the role labels of pool x's objects.
    for s in &mut o.statefulsets {
        if let Some(l) = s
            .spec
            .as_mut()
            .and_then(|spec| spec.selector.match_labels.as_mut())
        {
            l.retain(|k, _| !k.contains("elasticsearch-role-"));
        }
    }
    for p in &mut o.pods {
        if let Some(l) = p.metadata.labels.as_mut() {
            l.retain(|k, _| !k.contains("elasticsearch-role-"));
        }
    }
    for p in &mut o.pilots {
        if let Some(l) = p.metadata.labels.as_mut() {
            l.retain(|k, _| !k.contains("elasticsearch-role-"));
        }
    }
    let c = cluster(&[("m", 1, MASTER)]);
    let pools = super::facts::pools(&c, &o);
    assert_eq!(pools.len(), 2);
    assert!(pools[1].removed && pools[1].is_master() && pools[1].is_data());
    // m's one master stays, so x's node (perhaps a master) may go: 2 - 1 ≥ 1.
    assert_eq!(run(&c, &o), request(&pod_name("x", 0)));
}

#[test]
fn a_statefulset_deleted_by_someone_else_is_waited_for() {
    let c = m3d3();
    let mut o = healthy(&c);
    sts_mut(&mut o, "d").metadata.deletion_timestamp = Some(ago(1));
    // Its pods go first (the Pilots of desired nodes stay), then the StatefulSet.
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPodDeletion,
        "pod/es-demo-d-0",
        "has not gone yet",
    );
    o.pods.retain(|p| {
        names::ordinal_of(NAME, "d", p.metadata.name.as_deref().unwrap_or_default()).is_none()
    });
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForStatefulSet,
        "statefulset/es-demo-d",
        "being deleted",
    );
    o.statefulsets
        .retain(|s| s.metadata.name.as_deref() != Some("es-demo-d"));
    assert_eq!(
        run(&c, &o),
        Action::CreateNodePool {
            pool: "d".into(),
            statefulset: built(&c, "d", 3, 0),
        }
    );
}

#[test]
fn a_removed_pool_is_found_by_its_pilots_and_pods_alone() {
    let before = cluster(&[("m", 1, MASTER), ("old", 2, DATA)]);
    let mut o = healthy(&before);
    let c = cluster(&[("m", 1, MASTER)]);
    record_children(&c, &mut o);
    o.statefulsets
        .retain(|s| s.metadata.name.as_deref() != Some("es-demo-old"));
    o.others.retain(|r, _| r.name != "es-demo-old-config");
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPodDeletion,
        "pod/es-demo-old-0",
        "pool old (no longer in the spec) has not gone yet",
    );
    o.pods.retain(|p| {
        names::ordinal_of(NAME, "old", p.metadata.name.as_deref().unwrap_or_default()).is_none()
    });
    assert_eq!(
        run(&c, &o),
        Action::DeletePilot {
            pilot: pod_name("old", 0)
        }
    );
    remove(&mut o, &pod_name("old", 0));
    assert_eq!(
        run(&c, &o),
        Action::DeletePilot {
            pilot: pod_name("old", 1)
        }
    );
    remove(&mut o, &pod_name("old", 1));
    assert_eq!(run(&c, &o), Action::Idle);
}

#[test]
fn a_removed_pool_scaled_to_zero_by_hand_is_deleted_and_one_being_deleted_waited_for() {
    let before = cluster(&[("m", 1, MASTER), ("old", 2, DATA)]);
    let mut o = healthy(&before);
    let c = cluster(&[("m", 1, MASTER)]);
    record_children(&c, &mut o);
    *sts_mut(&mut o, "old") = sts(&before, "old", 0, 0, REV1, REV1);
    for k in 0..2 {
        remove(&mut o, &pod_name("old", k));
    }
    assert_eq!(
        run(&c, &o),
        Action::DeleteNodePool {
            pool: "old".into(),
            statefulset: "es-demo-old".into(),
        }
    );
    sts_mut(&mut o, "old").metadata.deletion_timestamp = Some(ago(1));
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPodDeletion,
        "statefulset/es-demo-old",
        "being deleted",
    );
}

#[test]
fn story_a_refused_drain_proceeds_when_the_pilot_retries() {
    let (c, mut o) = data_scale_in();
    for k in [1, 2] {
        draining(pilot_mut(&mut o, &pod_name("d", k)), "InProgress", 2);
    }
    draining(pilot_mut(&mut o, &pod_name("d", 1)), "Failed", 2);
    assert_wait(
        &run(&c, &o),
        WaitReason::DecommissionBlocked,
        "pilot/es-demo-d-1",
        "set replicas back to 3 to cancel",
    );
    // The pilot's retry: InProgress again, then both done.
    draining(pilot_mut(&mut o, &pod_name("d", 1)), "InProgress", 1);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForDrain,
        "pilot/es-demo-d-2",
        "pilot es-demo-d-1 reports the drain InProgress (1 shards on the node)",
    );
    for k in [1, 2] {
        draining(pilot_mut(&mut o, &pod_name("d", k)), "Complete", 0);
    }
    assert_eq!(short(&run(&c, &o)), "ScaleIn d 3->1");
}
