//! Table tests: one case per action and per wait reason, on fake rings.

use pretty_assertions::assert_eq;

use super::fixtures::*;
use super::{Action, Wait, WaitReason, plan};
use crate::cassandra::children;
use crate::cassandra::observe::Observed;
use crate::cassandra::settings::Settings;
use navigator_api::pilot_contract::CASSANDRA_SEED_LABEL;
use navigator_api::v1beta1::CassandraCluster;

fn run(c: &CassandraCluster, o: &Observed) -> Action {
    plan(c, o, now(), &Settings::default())
}

/// The StatefulSet the builder makes for pool `p`.
fn built(
    c: &CassandraCluster,
    p: &str,
    replicas: i32,
    partition: i32,
) -> k8s_openapi::api::apps::v1::StatefulSet {
    children::statefulset(c, pool(c, p), replicas, partition, &Settings::default())
        .expect("statefulset builder")
}

fn waits(action: &Action) -> &Wait {
    match action {
        Action::Wait(w) => w,
        other => panic!("expected a Wait, got {other:?}"),
    }
}

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

#[test]
fn converged_ring_is_idle() {
    let c = cluster(&[("a", 3)], "5.0.2");
    assert_eq!(run(&c, &ring(&c)), Action::Idle);
    let c2 = cluster(&[("a", 2), ("b", 2)], "5.0.2");
    assert_eq!(run(&c2, &ring(&c2)), Action::Idle);
}

#[test]
fn paused_waits_before_anything_else() {
    let mut c = cluster(&[("a", 3)], "5.0.2");
    c.spec.paused = true;
    let a = run(&c, &Observed::default());
    assert_wait(
        &a,
        WaitReason::ClusterPaused,
        "cassandracluster/demo",
        "paused",
    );
}

#[test]
fn builder_errors_are_an_invalid_spec() {
    let mut c = cluster(&[("a", 3)], "5.0.2");
    c.metadata.uid = None;
    let a = run(&c, &Observed::default());
    assert_wait(&a, WaitReason::InvalidSpec, "cassandracluster/demo", "uid");
    let mut c = cluster(&[("a", 3)], "5.0.2");
    c.spec.version = None;
    let a = run(&c, &Observed::default());
    assert_wait(
        &a,
        WaitReason::InvalidSpec,
        "cassandracluster/demo",
        "version",
    );
}

#[test]
fn missing_and_changed_shared_children_are_applied() {
    let c = cluster(&[("a", 1)], "5.0.2");
    let all = children::shared_children(&c, &Settings::default()).expect("shared");
    assert_eq!(
        run(&c, &Observed::default()),
        Action::ApplyChildren(all.clone())
    );

    let mut o = ring(&c);
    let changed = all[4].child_ref();
    o.others.insert(changed.clone(), Some("0000".into()));
    assert_eq!(run(&c, &o), Action::ApplyChildren(vec![all[4].clone()]));
    o.others.insert(changed, None);
    assert_eq!(run(&c, &o), Action::ApplyChildren(vec![all[4].clone()]));
}

#[test]
fn a_new_pool_gets_its_pilot_then_its_statefulset() {
    let c = cluster(&[("a", 3)], "5.0.2");
    let mut o = ring_with(&c, &[]);
    assert_eq!(
        run(&c, &o),
        Action::CreatePilot(children::pilot(&c, "a", 0).expect("pilot"))
    );
    o.pilots.push(children::pilot(&c, "a", 0).expect("pilot"));
    assert_eq!(
        run(&c, &o),
        Action::CreateNodePool {
            pool: "a".into(),
            statefulset: built(&c, "a", 1, 0)
        }
    );
}

#[test]
fn pools_are_created_one_after_the_other() {
    let c = cluster(&[("a", 2), ("b", 2)], "5.0.2");
    let mut o = ring_with(&c, &[("a", 2)]);
    o.pilots.push(children::pilot(&c, "b", 0).expect("pilot"));
    unready(pod_mut(&mut o, &pod_name("a", 1)));
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPodReady,
        "pod/cass-demo-a-1",
        "is not Ready",
    );
    // An earlier pool below its replicas is scaled out before the next pool starts.
    let mut o = ring_with(&c, &[("a", 1)]);
    o.pilots.push(children::pilot(&c, "a", 1).expect("pilot"));
    o.pilots.push(children::pilot(&c, "b", 0).expect("pilot"));
    assert!(matches!(run(&c, &o), Action::ScaleOut { ref pool, .. } if pool == "a"));
    let mut o = ring_with(&c, &[("a", 2)]);
    o.pilots.push(children::pilot(&c, "b", 0).expect("pilot"));
    assert_eq!(
        run(&c, &o),
        Action::CreateNodePool {
            pool: "b".into(),
            statefulset: built(&c, "b", 1, 0)
        }
    );
}

#[test]
fn seed_labels() {
    let c = cluster(&[("a", 3)], "5.0.2");
    let mut o = ring(&c);
    pod_mut(&mut o, &pod_name("a", 0))
        .metadata
        .labels
        .as_mut()
        .expect("labels")
        .remove(CASSANDRA_SEED_LABEL);
    assert_eq!(
        run(&c, &o),
        Action::SetSeedLabel {
            pod: pod_name("a", 0),
            seed: true
        }
    );
    let mut o = ring(&c);
    pod_mut(&mut o, &pod_name("a", 2))
        .metadata
        .labels
        .as_mut()
        .expect("labels")
        .insert(CASSANDRA_SEED_LABEL.into(), "true".into());
    assert_eq!(
        run(&c, &o),
        Action::SetSeedLabel {
            pod: pod_name("a", 2),
            seed: false
        }
    );
}

#[test]
fn scale_out_creates_the_pilot_then_adds_one_node() {
    let mut c = cluster(&[("a", 2)], "5.0.2");
    let mut o = ring(&c);
    set_replicas(&mut c, "a", 4);
    assert_eq!(
        run(&c, &o),
        Action::CreatePilot(children::pilot(&c, "a", 2).expect("pilot"))
    );
    o.pilots.push(children::pilot(&c, "a", 2).expect("pilot"));
    assert_eq!(
        run(&c, &o),
        Action::ScaleOut {
            pool: "a".into(),
            from: 2,
            to: 3,
            statefulset: built(&c, "a", 3, 0)
        }
    );
    // The StatefulSet was raised but its new pod does not exist yet: neither the next Pilot
    // nor a second node until the new one is in the ring.
    *sts_mut(&mut o, "a") = sts(&c, "a", 3, 0, REV1, REV1);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPodReady,
        "pod/cass-demo-a-2",
        "does not exist yet",
    );
}

/// A ring of 3 wanting 4, with the new Pilot in place: every gate in turn.
#[test]
fn scale_out_gates() {
    let mut c = cluster(&[("a", 3)], "5.0.2");
    let base = {
        let mut o = ring(&c);
        set_replicas(&mut c, "a", 4);
        o.pilots.push(children::pilot(&c, "a", 3).expect("pilot"));
        o
    };
    let scale_out = Action::ScaleOut {
        pool: "a".into(),
        from: 3,
        to: 4,
        statefulset: built(&c, "a", 4, 0),
    };
    assert_eq!(run(&c, &base), scale_out);

    type Breaker = fn(&mut Observed);
    let cases: Vec<(&str, Breaker, WaitReason, &str, &str)> = vec![
        (
            "pod not ready",
            |o| unready(pod_mut(o, "cass-demo-a-1")),
            WaitReason::WaitingForPodReady,
            "pod/cass-demo-a-1",
            "is not Ready",
        ),
        (
            "pod being deleted",
            |o| {
                pod_mut(o, "cass-demo-a-0").metadata.deletion_timestamp = Some(ago(1));
            },
            WaitReason::WaitingForPodReady,
            "pod/cass-demo-a-0",
            "being deleted",
        ),
        (
            "stale report",
            |o| pilot_mut(o, "cass-demo-a-2").status.last_heartbeat_time = Some(ago(300)),
            WaitReason::WaitingForPilotReport,
            "pilot/cass-demo-a-2",
            "count as unknown",
        ),
        (
            "no report",
            |o| pilot_mut(o, "cass-demo-a-2").status.last_heartbeat_time = None,
            WaitReason::WaitingForPilotReport,
            "pilot/cass-demo-a-2",
            "has not reported",
        ),
        (
            "report for an older spec",
            |o| pilot_mut(o, "cass-demo-a-1").metadata.generation = Some(2),
            WaitReason::WaitingForPilotReport,
            "pilot/cass-demo-a-1",
            "observedGeneration 1 < generation 2",
        ),
        (
            "pilot missing",
            |o| {
                o.pilots
                    .retain(|p| p.metadata.name.as_deref() != Some("cass-demo-a-1"));
            },
            // A missing Pilot below the replicas is created again first.
            WaitReason::ClusterPaused, // placeholder, checked below
            "",
            "",
        ),
        (
            "node not normal",
            |o| facts_mut(pilot_mut(o, "cass-demo-a-1")).operation_mode = Some("JOINING".into()),
            WaitReason::WaitingForRing,
            "pilot/cass-demo-a-1",
            "reports operation mode JOINING",
        ),
        (
            "peer unreachable",
            |o| {
                let f = facts_mut(pilot_mut(o, "cass-demo-a-1"));
                let peers = f.peers.get_or_insert_with(Default::default);
                peers.unreachable = vec!["10.244.0.12".into()];
            },
            WaitReason::WaitingForRing,
            "pilot/cass-demo-a-1",
            "sees 10.244.0.12 unreachable",
        ),
        (
            "peer leaving",
            |o| {
                let f = facts_mut(pilot_mut(o, "cass-demo-a-0"));
                f.peers.get_or_insert_with(Default::default).leaving = vec!["/10.244.0.12".into()];
            },
            WaitReason::WaitingForRing,
            "pilot/cass-demo-a-0",
            "sees /10.244.0.12 leaving",
        ),
        (
            "peer not live",
            |o| {
                let f = facts_mut(pilot_mut(o, "cass-demo-a-2"));
                f.peers
                    .get_or_insert_with(Default::default)
                    .live
                    .retain(|p| p != "10.244.0.10");
            },
            WaitReason::WaitingForRing,
            "pilot/cass-demo-a-2",
            "does not see 10.244.0.10 (pod cass-demo-a-0) live",
        ),
        (
            "statefulset not observed",
            |o| sts_mut(o, "a").metadata.generation = Some(2),
            WaitReason::WaitingForStatefulSet,
            "statefulset/cass-demo-a",
            "not been observed",
        ),
    ];
    for (name, breaker, reason, object, message) in cases {
        let mut o = base.clone();
        breaker(&mut o);
        let got = run(&c, &o);
        if name == "pilot missing" {
            assert_eq!(
                got,
                Action::CreatePilot(children::pilot(&c, "a", 1).expect("pilot")),
                "{name}"
            );
            continue;
        }
        let w = waits(&got);
        assert_eq!(
            (w.reason, w.object.as_str()),
            (reason, object),
            "{name}: {w:?}"
        );
        assert!(w.message.contains(message), "{name}: {:?}", w.message);
    }

    // Peers reported with a leading slash and a port are still the pods' addresses.
    let mut o = base.clone();
    for p in &mut o.pilots {
        if let Some(peers) = p.status.cassandra.as_mut().and_then(|c| c.peers.as_mut()) {
            peers.live = peers.live.iter().map(|a| format!("/{a}:7000")).collect();
        }
    }
    assert_eq!(run(&c, &o), scale_out);
}

/// A ring of 3 wanting 2.
fn scale_in_base() -> (CassandraCluster, Observed) {
    let mut c = cluster(&[("a", 3)], "5.0.2");
    let o = ring(&c);
    set_replicas(&mut c, "a", 2);
    (c, o)
}

#[test]
fn scale_in_requests_a_decommission_when_the_ring_is_healthy() {
    let (c, mut o) = scale_in_base();
    assert_eq!(
        run(&c, &o),
        Action::RequestDecommission {
            pilot: pod_name("a", 2)
        }
    );
    unready(pod_mut(&mut o, &pod_name("a", 0)));
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPodReady,
        "pod/cass-demo-a-0",
        "not Ready",
    );
}

#[test]
fn scale_in_follows_the_decommission() {
    let (c, base) = scale_in_base();
    let scale_in = Action::ScaleIn {
        pool: "a".into(),
        from: 3,
        to: 2,
        statefulset: built(&c, "a", 2, 0),
    };
    let d = "Decommissioned";
    type Case<'a> = (
        Option<(&'a str, &'a str, &'a str)>,
        bool,
        Result<Action, (WaitReason, &'a str)>,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            None,
            true,
            Err((WaitReason::WaitingForDecommission, "not accepted")),
        ),
        (
            Some(("Running", "Complete", "up")),
            true,
            Err((WaitReason::WaitingForDecommission, "not accepted")),
        ),
        (
            Some((d, "Pending", "waiting for the node to be NORMAL")),
            true,
            Err((
                WaitReason::WaitingForDecommission,
                "Pending: waiting for the node",
            )),
        ),
        (
            Some((d, "InProgress", "leaving the ring")),
            true,
            Err((
                WaitReason::WaitingForDecommission,
                "InProgress: leaving the ring",
            )),
        ),
        (
            Some((d, "InProgress", "leaving the ring")),
            false,
            Err((WaitReason::WaitingForDecommission, "report unknown")),
        ),
        (
            Some((
                d,
                "Failed",
                r#"cannot decommission cass-demo-a-2: keyspace "ks" needs 3 replicas"#,
            )),
            true,
            Err((
                WaitReason::DecommissionBlocked,
                r#"keyspace "ks" needs 3 replicas"#,
            )),
        ),
        (
            Some((d, "Failed", "no")),
            false,
            Err((WaitReason::WaitingForDecommission, "report unknown")),
        ),
        (
            Some((d, "Complete", "left the ring")),
            true,
            Ok(scale_in.clone()),
        ),
        // Complete is sticky: a stale Complete still allows the scale-in.
        (
            Some((d, "Complete", "left the ring")),
            false,
            Ok(scale_in.clone()),
        ),
    ];
    for (reported, fresh, want) in cases {
        let mut o = base.clone();
        let p = pilot_mut(&mut o, &pod_name("a", 2));
        operation(p, d, reported);
        if !fresh {
            p.status.last_heartbeat_time = Some(ago(600));
        }
        // The leaving node makes the ring unhealthy: the decommission is followed anyway.
        facts_mut(pilot_mut(&mut o, &pod_name("a", 0)))
            .peers
            .get_or_insert_with(Default::default)
            .leaving = vec![ip(0, 2)];
        let got = run(&c, &o);
        match want {
            Ok(action) => assert_eq!(got, action, "{reported:?} fresh={fresh}"),
            Err((reason, message)) => {
                assert_wait(&got, reason, "pilot/cass-demo-a-2", message);
            }
        }
    }
}

#[test]
fn after_a_scale_in_the_pod_then_the_claim_then_the_pilot_go() {
    let (c, mut o) = scale_in_base();
    operation(
        pilot_mut(&mut o, &pod_name("a", 2)),
        "Decommissioned",
        Some(("Decommissioned", "Complete", "left")),
    );
    *sts_mut(&mut o, "a") = sts(&c, "a", 2, 0, REV1, REV1);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPodDeletion,
        "pod/cass-demo-a-2",
        "has not gone yet",
    );
    o.pods
        .retain(|p| p.metadata.name.as_deref() != Some("cass-demo-a-2"));
    assert_eq!(
        run(&c, &o),
        Action::DeleteClaim {
            claim: "data-cass-demo-a-2".into()
        }
    );
    o.claims
        .retain(|p| p.metadata.name.as_deref() != Some("data-cass-demo-a-2"));
    assert_eq!(
        run(&c, &o),
        Action::DeletePilot {
            pilot: pod_name("a", 2)
        }
    );
    remove(&mut o, &pod_name("a", 2));
    assert_eq!(run(&c, &o), Action::Idle);
}

#[test]
fn the_claim_of_a_node_that_never_left_is_kept() {
    // Someone scaled the StatefulSet down by hand: the Pilot of ordinal 2 never decommissioned.
    let (c, mut o) = scale_in_base();
    *sts_mut(&mut o, "a") = sts(&c, "a", 2, 0, REV1, REV1);
    o.pods
        .retain(|p| p.metadata.name.as_deref() != Some("cass-demo-a-2"));
    assert_eq!(
        run(&c, &o),
        Action::DeletePilot {
            pilot: pod_name("a", 2)
        }
    );
}

#[test]
fn reversal_of_a_scale_in() {
    // 3 nodes, a decommission requested on ordinal 2, then replicas raised back to 3.
    let c = cluster(&[("a", 3)], "5.0.2");
    let d = "Decommissioned";
    let cancel = Action::CancelDecommission {
        pilot: pod_name("a", 2),
    };
    for (reported, want) in [
        (None, Some(cancel.clone())),
        (Some((d, "Pending", "waiting")), Some(cancel.clone())),
        (Some((d, "Failed", "keyspace ks")), Some(cancel.clone())),
        (Some((d, "InProgress", "leaving")), None),
        (
            Some((d, "Complete", "left")),
            Some(Action::ScaleIn {
                pool: "a".into(),
                from: 3,
                to: 2,
                statefulset: built(&c, "a", 2, 0),
            }),
        ),
    ] {
        let mut o = ring(&c);
        operation(pilot_mut(&mut o, &pod_name("a", 2)), d, reported);
        let got = run(&c, &o);
        match want {
            Some(action) => assert_eq!(got, action, "{reported:?}"),
            None => assert_wait(
                &got,
                WaitReason::WaitingForDecommission,
                "pilot/cass-demo-a-2",
                "a fresh node follows",
            ),
        }
    }

    // After the scale-in of a completed decommission: the claim and the Pilot go although
    // ordinal 2 is wanted again, then a fresh Pilot and node follow.
    let mut o = ring(&c);
    operation(
        pilot_mut(&mut o, &pod_name("a", 2)),
        d,
        Some((d, "Complete", "left")),
    );
    *sts_mut(&mut o, "a") = sts(&c, "a", 2, 0, REV1, REV1);
    o.pods
        .retain(|p| p.metadata.name.as_deref() != Some("cass-demo-a-2"));
    assert_eq!(
        run(&c, &o),
        Action::DeleteClaim {
            claim: "data-cass-demo-a-2".into()
        }
    );
    o.claims
        .retain(|p| p.metadata.name.as_deref() != Some("data-cass-demo-a-2"));
    assert_eq!(
        run(&c, &o),
        Action::DeletePilot {
            pilot: pod_name("a", 2)
        }
    );
    remove(&mut o, &pod_name("a", 2));
    assert_eq!(
        run(&c, &o),
        Action::CreatePilot(children::pilot(&c, "a", 2).expect("pilot"))
    );
    o.pilots.push(children::pilot(&c, "a", 2).expect("pilot"));
    assert_eq!(
        run(&c, &o),
        Action::ScaleOut {
            pool: "a".into(),
            from: 2,
            to: 3,
            statefulset: built(&c, "a", 3, 0)
        }
    );
}

#[test]
fn a_decommission_on_a_lower_ordinal_is_cancelled() {
    let c = cluster(&[("a", 3)], "5.0.2");
    let mut o = ring(&c);
    operation(pilot_mut(&mut o, &pod_name("a", 1)), "Decommissioned", None);
    assert_eq!(
        run(&c, &o),
        Action::CancelDecommission {
            pilot: pod_name("a", 1)
        }
    );
}

/// A ring of 3 on 5.0.2 whose spec moved to 5.0.3.
fn upgrade_base() -> (CassandraCluster, CassandraCluster, Observed) {
    let old = cluster(&[("a", 3)], "5.0.2");
    let o = ring(&old);
    let new = cluster(&[("a", 3)], "5.0.3");
    (old, new, o)
}

#[test]
fn upgrade_applies_the_template_then_rolls_one_pod_at_a_time() {
    let (_, c, mut o) = upgrade_base();
    let template = built(&c, "a", 3, 3);
    assert_eq!(
        run(&c, &o),
        Action::UpdatePodTemplate {
            pool: "a".into(),
            statefulset: template
        }
    );
    // Applied; the StatefulSet controller has not seen it yet.
    let mut s = sts(&c, "a", 3, 3, REV2, REV1);
    s.metadata.generation = Some(2);
    *sts_mut(&mut o, "a") = s;
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForStatefulSet,
        "statefulset/cass-demo-a",
        "not been observed",
    );
    *sts_mut(&mut o, "a") = sts(&c, "a", 3, 3, REV2, REV1);
    let roll = |k: i32| Action::RollNextPod {
        pool: "a".into(),
        pod: pod_name("a", k),
        partition: k,
        statefulset: built(&c, "a", 3, k),
    };
    assert_eq!(run(&c, &o), roll(2));

    // Partition lowered to 2: pod 2 is still old until the StatefulSet controller restarts it.
    *sts_mut(&mut o, "a") = sts(&c, "a", 3, 2, REV2, REV1);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForUpgrade,
        "pod/cass-demo-a-2",
        "runs an old revision",
    );
    // Restarted, not Ready.
    *pod_mut(&mut o, &pod_name("a", 2)) = {
        let mut p = pod(0, "a", 2, REV2);
        unready(&mut p);
        p
    };
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForUpgrade,
        "pod/cass-demo-a-2",
        "not Ready yet",
    );
    // Ready, the pilot still reports the old version.
    *pod_mut(&mut o, &pod_name("a", 2)) = pod(0, "a", 2, REV2);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForUpgrade,
        "pilot/cass-demo-a-2",
        "reports version 5.0.2, not 5.0.3",
    );
    facts_mut(pilot_mut(&mut o, &pod_name("a", 2))).version = Some("5.0.3".parse().expect("v"));
    assert_eq!(run(&c, &o), roll(1));
    // Not while another node is unhealthy.
    let mut sick = o.clone();
    pilot_mut(&mut sick, &pod_name("a", 0))
        .status
        .last_heartbeat_time = Some(ago(500));
    assert_wait(
        &run(&c, &sick),
        WaitReason::WaitingForPilotReport,
        "pilot/cass-demo-a-0",
        "count as unknown",
    );

    // Pods 1 and 0 follow; the partition ends at 0.
    *sts_mut(&mut o, "a") = sts(&c, "a", 3, 1, REV2, REV1);
    *pod_mut(&mut o, &pod_name("a", 1)) = pod(0, "a", 1, REV2);
    facts_mut(pilot_mut(&mut o, &pod_name("a", 1))).version = Some("5.0.3".parse().expect("v"));
    assert_eq!(run(&c, &o), roll(0));
    *sts_mut(&mut o, "a") = sts(&c, "a", 3, 0, REV2, REV1);
    *pod_mut(&mut o, &pod_name("a", 0)) = pod(0, "a", 0, REV2);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForUpgrade,
        "pilot/cass-demo-a-0",
        "reports version 5.0.2",
    );
    facts_mut(pilot_mut(&mut o, &pod_name("a", 0))).version = Some("5.0.3".parse().expect("v"));
    assert_eq!(run(&c, &o), Action::Idle);
}

#[test]
fn a_version_written_short_matches_any_patch() {
    use super::pools::version_matches;
    let v = |s: &str| s.parse().expect("version");
    assert!(version_matches(&v("5.0"), &v("5.0.6")));
    assert!(version_matches(&v("5"), &v("5.1.0")));
    assert!(!version_matches(&v("5.0.2"), &v("5.0.3")));
    assert!(!version_matches(&v("4.1"), &v("5.0.3")));
    assert!(version_matches(&v("5.0.2"), &v("5.0.2")));
}

#[test]
fn a_decommission_in_flight_is_followed_before_a_roll() {
    // A version change while the highest node is leaving: the scale-in finishes first, with
    // the partition at the new replicas so that no pod restarts outside the gated roll.
    let (_, mut c, mut o) = upgrade_base();
    set_replicas(&mut c, "a", 2);
    operation(
        pilot_mut(&mut o, &pod_name("a", 2)),
        "Decommissioned",
        Some(("Decommissioned", "Complete", "left")),
    );
    assert_eq!(
        run(&c, &o),
        Action::ScaleIn {
            pool: "a".into(),
            from: 3,
            to: 2,
            statefulset: built(&c, "a", 2, 2),
        }
    );
}

#[test]
fn idle_needs_a_healthy_ring() {
    let c = cluster(&[("a", 3)], "5.0.2");
    let mut o = ring(&c);
    pilot_mut(&mut o, &pod_name("a", 1))
        .status
        .last_heartbeat_time = Some(ago(76));
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPilotReport,
        "pilot/cass-demo-a-1",
        "count as unknown",
    );
    let mut o = ring(&c);
    pilot_mut(&mut o, &pod_name("a", 1))
        .status
        .last_heartbeat_time = Some(ago(75));
    assert_eq!(run(&c, &o), Action::Idle);
}

#[test]
fn terminating_claims_and_pilots_are_waited_for() {
    let (c, mut o) = scale_in_base();
    operation(
        pilot_mut(&mut o, &pod_name("a", 2)),
        "Decommissioned",
        Some(("Decommissioned", "Complete", "left")),
    );
    *sts_mut(&mut o, "a") = sts(&c, "a", 2, 0, REV1, REV1);
    o.pods
        .retain(|p| p.metadata.name.as_deref() != Some("cass-demo-a-2"));
    for claim in &mut o.claims {
        if claim.metadata.name.as_deref() == Some("data-cass-demo-a-2") {
            claim.metadata.deletion_timestamp = Some(ago(1));
        }
    }
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPodDeletion,
        "persistentvolumeclaim/data-cass-demo-a-2",
        "being deleted",
    );
    o.claims
        .retain(|p| p.metadata.name.as_deref() != Some("data-cass-demo-a-2"));
    pilot_mut(&mut o, &pod_name("a", 2))
        .metadata
        .deletion_timestamp = Some(ago(1));
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPodDeletion,
        "pilot/cass-demo-a-2",
        "being deleted",
    );
}

#[test]
fn no_scale_out_while_a_pod_above_the_replicas_is_still_there() {
    // The StatefulSet was lowered by hand to 2 while 3 are wanted: pod 2 is going away.
    let c = cluster(&[("a", 3)], "5.0.2");
    let mut o = ring(&c);
    *sts_mut(&mut o, "a") = sts(&c, "a", 2, 0, REV1, REV1);
    assert_wait(
        &run(&c, &o),
        WaitReason::WaitingForPodDeletion,
        "pod/cass-demo-a-2",
        "above the StatefulSet's 2 replicas",
    );
}

#[test]
fn recheck_when_the_first_fresh_report_goes_stale() {
    use super::recheck_after;
    use std::time::Duration;
    let c = cluster(&[("a", 2)], "5.0.2");
    let mut o = ring(&c);
    // Heartbeats 5 s ago with a 75 s window: stale in 70 s (+1 s margin).
    assert_eq!(
        recheck_after(&o, now(), &Settings::default()),
        Some(Duration::from_secs(71))
    );
    pilot_mut(&mut o, &pod_name("a", 1))
        .status
        .last_heartbeat_time = Some(ago(60));
    assert_eq!(
        recheck_after(&o, now(), &Settings::default()),
        Some(Duration::from_secs(16))
    );
    for p in &mut o.pilots {
        p.status.last_heartbeat_time = Some(ago(100));
    }
    assert_eq!(recheck_after(&o, now(), &Settings::default()), None);
}
