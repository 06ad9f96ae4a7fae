//! Kubernetes Events on a cluster: one for every action carried out (reason in CamelCase, a
//! message naming the objects), one when the cluster starts waiting for something new, and
//! Warnings for errors. What an event says is decided by the pure [`for_action`].

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use navigator_core::children::DesiredChild;
use navigator_core::observe::Observed;
use navigator_core::plan::{Action, Wait, WaitReason};

/// The reporting controller's name on every event.
pub const REPORTER: &str = "navigator-controller";

/// What an event says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Normal or Warning.
    pub warning: bool,
    /// The CamelCase reason, e.g. `ScaleOut`.
    pub reason: &'static str,
    /// For people: what was done, naming the objects.
    pub message: String,
}

/// The kind of an action, as metrics and logs name it (the `Action` variant).
pub fn action_kind(action: &Action) -> &'static str {
    match action {
        Action::ApplyChildren(_) => "ApplyChildren",
        Action::CreatePilot(_) => "CreatePilot",
        Action::CreateNodePool { .. } => "CreateNodePool",
        Action::ScaleOut { .. } => "ScaleOut",
        Action::SetSeedLabel { .. } => "SetSeedLabel",
        Action::RequestDecommission { .. } => "RequestDecommission",
        Action::CancelDecommission { .. } => "CancelDecommission",
        Action::ScaleIn { .. } => "ScaleIn",
        Action::DeleteClaim { .. } => "DeleteClaim",
        Action::DeletePilot { .. } => "DeletePilot",
        Action::DeleteNodePool { .. } => "DeleteNodePool",
        Action::DeleteChildren(_) => "DeleteChildren",
        Action::UpdatePodTemplate { .. } => "UpdatePodTemplate",
        Action::RollNextPod { .. } => "RollNextPod",
        Action::Wait(_) => "Wait",
        Action::Idle => "Idle",
    }
}

fn child_name(child: &DesiredChild) -> String {
    let r = child.child_ref();
    format!("{:?}/{}", r.kind, r.name)
}

fn name_of(sts: &StatefulSet) -> &str {
    sts.metadata.name.as_deref().unwrap_or_default()
}

fn images(sts: &StatefulSet) -> Vec<String> {
    sts.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|p| {
            p.containers
                .iter()
                .filter_map(|c| c.image.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The event for an action carried out on a cluster, `None` for `Wait` and `Idle` (no action).
/// A pod template change is `UpdateVersion` when an image changes, `UpdatePodTemplate` else.
pub fn for_action(action: &Action, observed: &Observed) -> Option<Note> {
    let normal = |reason, message| {
        Some(Note {
            warning: false,
            reason,
            message,
        })
    };
    match action {
        Action::ApplyChildren(children) => normal(
            "ApplyChildren",
            format!(
                "Applied {}",
                children
                    .iter()
                    .map(child_name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Action::CreatePilot(pilot) => normal(
            "CreatePilot",
            format!(
                "Created Pilot {}",
                pilot.metadata.name.as_deref().unwrap_or_default()
            ),
        ),
        Action::CreateNodePool { pool, statefulset } => normal(
            "CreateNodePool",
            format!(
                "Created node pool {pool}: StatefulSet {}",
                name_of(statefulset)
            ),
        ),
        Action::ScaleOut {
            pool,
            from,
            to,
            statefulset,
        } => normal(
            "ScaleOut",
            format!(
                "Scaling node pool {pool} out from {from} to {to} (StatefulSet {})",
                name_of(statefulset)
            ),
        ),
        Action::SetSeedLabel { pod, seed: true } => {
            normal("SetSeed", format!("Labelled pod {pod} as a seed"))
        }
        Action::SetSeedLabel { pod, seed: false } => {
            normal("UnsetSeed", format!("Took the seed label off pod {pod}"))
        }
        Action::RequestDecommission { pilot } => normal(
            "Decommission",
            format!("Asked Pilot {pilot} to decommission its node (requestedState Decommissioned)"),
        ),
        Action::CancelDecommission { pilot } => normal(
            "CancelDecommission",
            format!("Asked Pilot {pilot} to keep running (requestedState Running)"),
        ),
        Action::ScaleIn {
            pool,
            from,
            to,
            statefulset,
        } => normal(
            "ScaleIn",
            format!(
                "Scaling node pool {pool} in from {from} to {to} (StatefulSet {}), the decommission being complete",
                name_of(statefulset)
            ),
        ),
        Action::DeleteClaim { claim } => normal(
            "DeleteClaim",
            format!("Deleted PersistentVolumeClaim {claim} of a decommissioned node"),
        ),
        Action::DeletePilot { pilot } => normal(
            "DeletePilot",
            format!("Deleted Pilot {pilot} of a scaled-away pod"),
        ),
        Action::DeleteNodePool { pool, statefulset } => normal(
            "DeleteNodePool",
            format!("Deleted StatefulSet {statefulset} of node pool {pool}, which left the spec"),
        ),
        Action::DeleteChildren(children) => normal(
            "DeleteChildren",
            format!(
                "Deleted {}",
                children
                    .iter()
                    .map(|r| format!("{:?}/{}", r.kind, r.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Action::UpdatePodTemplate { pool, statefulset } => {
            let old = observed
                .statefulsets
                .iter()
                .find(|s| s.metadata.name == statefulset.metadata.name)
                .map(images)
                .unwrap_or_default();
            let new = images(statefulset);
            if !old.is_empty() && old != new {
                normal(
                    "UpdateVersion",
                    format!(
                        "Updating node pool {pool} (StatefulSet {}) from {} to {}, one pod at a time",
                        name_of(statefulset),
                        old.join(", "),
                        new.join(", ")
                    ),
                )
            } else {
                normal(
                    "UpdatePodTemplate",
                    format!(
                        "Updating the pod template of node pool {pool} (StatefulSet {}), one pod at a time",
                        name_of(statefulset)
                    ),
                )
            }
        }
        Action::RollNextPod {
            pool,
            pod,
            partition,
            statefulset,
        } => normal(
            "RollPod",
            format!(
                "Restarting pod {pod} of node pool {pool} on the new template (StatefulSet {} partition {partition})",
                name_of(statefulset)
            ),
        ),
        Action::Wait(_) | Action::Idle => None,
    }
}

/// The event when a cluster starts waiting on `wait` (published only when the `Progressing`
/// condition changes, so a long wait is one event). Refusals and invalid specs are Warnings.
pub fn for_wait(wait: &Wait) -> Note {
    let warning = matches!(
        wait.reason,
        WaitReason::DecommissionBlocked | WaitReason::InvalidSpec
    );
    Note {
        warning,
        reason: wait.reason.as_str(),
        message: format!("{}: {}", wait.object, wait.message),
    }
}

/// Publishes events on clusters.
#[derive(Clone)]
pub struct Events {
    client: kube::Client,
    reporter: Reporter,
    warnings: Recorder,
}

impl Events {
    /// Events reported by `navigator-controller`, instance `instance`.
    pub fn new(client: kube::Client, instance: String) -> Self {
        let reporter = Reporter {
            controller: REPORTER.to_owned(),
            instance: Some(instance),
        };
        Events {
            warnings: Recorder::new(client.clone(), reporter.clone()),
            client,
            reporter,
        }
    }

    /// Publishes `note` on the object `regarding`; failures are logged, not returned (an event
    /// is never a reason to fail a reconcile).
    pub async fn publish(&self, regarding: &ObjectReference, note: &Note) {
        let event = Event {
            type_: if note.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: note.reason.to_owned(),
            note: Some(truncate(&note.message, 1000)),
            action: note.reason.to_owned(),
            secondary: None,
        };
        // Actions get a fresh recorder each: kube-rs folds events with the same reason into
        // one series keeping the first message, and each step (e.g. ScaleOut 1→2, then 2→3)
        // must say what it did. Repeated warnings are folded into a series.
        let result = if note.warning {
            self.warnings.publish(&event, regarding).await
        } else {
            Recorder::new(self.client.clone(), self.reporter.clone())
                .publish(&event, regarding)
                .await
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, reason = note.reason, "publishing an event");
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::StatefulSetSpec;
    use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn sts(image: &str) -> StatefulSet {
        StatefulSet {
            metadata: ObjectMeta {
                name: Some("cass-demo-a".into()),
                ..ObjectMeta::default()
            },
            spec: Some(StatefulSetSpec {
                template: PodTemplateSpec {
                    spec: Some(PodSpec {
                        containers: vec![Container {
                            name: "cassandra".into(),
                            image: Some(image.into()),
                            ..Container::default()
                        }],
                        ..PodSpec::default()
                    }),
                    ..PodTemplateSpec::default()
                },
                ..StatefulSetSpec::default()
            }),
            ..StatefulSet::default()
        }
    }

    #[test]
    fn every_action_has_its_reason() {
        let observed = Observed {
            statefulsets: vec![sts("cassandra:5.0.2")],
            ..Observed::default()
        };
        let cases: Vec<(Action, Option<&str>)> = vec![
            (Action::ApplyChildren(vec![]), Some("ApplyChildren")),
            (
                Action::CreatePilot(navigator_api::v1beta1::Pilot::default()),
                Some("CreatePilot"),
            ),
            (
                Action::CreateNodePool {
                    pool: "a".into(),
                    statefulset: sts("cassandra:5.0.2"),
                },
                Some("CreateNodePool"),
            ),
            (
                Action::ScaleOut {
                    pool: "a".into(),
                    from: 1,
                    to: 2,
                    statefulset: sts("cassandra:5.0.2"),
                },
                Some("ScaleOut"),
            ),
            (
                Action::SetSeedLabel {
                    pod: "p".into(),
                    seed: true,
                },
                Some("SetSeed"),
            ),
            (
                Action::SetSeedLabel {
                    pod: "p".into(),
                    seed: false,
                },
                Some("UnsetSeed"),
            ),
            (
                Action::RequestDecommission { pilot: "p".into() },
                Some("Decommission"),
            ),
            (
                Action::CancelDecommission { pilot: "p".into() },
                Some("CancelDecommission"),
            ),
            (
                Action::ScaleIn {
                    pool: "a".into(),
                    from: 3,
                    to: 2,
                    statefulset: sts("cassandra:5.0.2"),
                },
                Some("ScaleIn"),
            ),
            (
                Action::DeleteClaim { claim: "c".into() },
                Some("DeleteClaim"),
            ),
            (
                Action::DeletePilot { pilot: "p".into() },
                Some("DeletePilot"),
            ),
            (
                Action::UpdatePodTemplate {
                    pool: "a".into(),
                    statefulset: sts("cassandra:5.0.4"),
                },
                Some("UpdateVersion"),
            ),
            (
                Action::UpdatePodTemplate {
                    pool: "a".into(),
                    statefulset: sts("cassandra:5.0.2"),
                },
                Some("UpdatePodTemplate"),
            ),
            (
                Action::RollNextPod {
                    pool: "a".into(),
                    pod: "cass-demo-a-2".into(),
                    partition: 2,
                    statefulset: sts("cassandra:5.0.4"),
                },
                Some("RollPod"),
            ),
            (
                Action::Wait(Wait {
                    reason: WaitReason::WaitingForRing,
                    object: "pilot/x".into(),
                    message: "m".into(),
                }),
                None,
            ),
            (Action::Idle, None),
        ];
        for (action, want) in cases {
            let note = for_action(&action, &observed);
            assert_eq!(note.as_ref().map(|n| n.reason), want, "{action:?}");
            if let Some(note) = note {
                assert!(!note.warning);
                assert!(!note.message.is_empty());
            }
        }
    }

    #[test]
    fn messages_name_the_objects() {
        let note = for_action(
            &Action::ScaleOut {
                pool: "a".into(),
                from: 1,
                to: 2,
                statefulset: sts("cassandra:5.0.2"),
            },
            &Observed::default(),
        )
        .unwrap();
        assert!(note.message.contains("cass-demo-a"), "{}", note.message);
        assert!(note.message.contains("from 1 to 2"), "{}", note.message);
        let upgrade = for_action(
            &Action::UpdatePodTemplate {
                pool: "a".into(),
                statefulset: sts("cassandra:5.0.4"),
            },
            &Observed {
                statefulsets: vec![sts("cassandra:5.0.2")],
                ..Observed::default()
            },
        )
        .unwrap();
        assert!(
            upgrade.message.contains("cassandra:5.0.2")
                && upgrade.message.contains("cassandra:5.0.4"),
            "{}",
            upgrade.message
        );
    }

    #[test]
    fn blocked_decommissions_are_warnings() {
        let wait = |reason| Wait {
            reason,
            object: "pilot/cass-demo-a-2".into(),
            message: "keyspace ks needs 3 replicas".into(),
        };
        let blocked = for_wait(&wait(WaitReason::DecommissionBlocked));
        assert!(blocked.warning);
        assert_eq!(blocked.reason, "DecommissionBlocked");
        assert!(blocked.message.contains("pilot/cass-demo-a-2"));
        assert!(!for_wait(&wait(WaitReason::WaitingForRing)).warning);
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let text = "é".repeat(600);
        let cut = truncate(&text, 1000);
        assert!(cut.len() <= 1003);
        assert!(cut.ends_with('…'));
    }
}
