//! What the statuses of every kind of cluster share: the condition types, the `Progressing`
//! condition of an action, and conditions that keep their `lastTransitionTime` while their
//! status holds, and the node problems behind a `Degraded` condition.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::{Condition, Pilot};

use crate::observe::facts;
use crate::plan::{Action, WaitReason};

/// Condition type: at least one node of every pool serves clients.
pub const AVAILABLE: &str = "Available";
/// Condition type: the controller is acting or waiting to act.
pub const PROGRESSING: &str = "Progressing";
/// Condition type: something is wrong that no operation explains.
pub const DEGRADED: &str = "Degraded";

/// The condition `type_` with `status`, `reason` and `message` for a cluster at `generation`;
/// its `lastTransitionTime` is the one in `previous` while the status holds, else `now`.
pub fn condition(
    previous: &[Condition],
    generation: Option<i64>,
    now: Timestamp,
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
) -> Condition {
    let kept = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .and_then(|c| c.last_transition_time.clone());
    Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        observed_generation: generation,
        last_transition_time: Some(kept.unwrap_or(Time(now))),
        reason: reason.to_owned(),
        message,
    }
}

/// The `Progressing` condition's status, reason and message for `action`.
pub fn progressing(action: &Action) -> (&'static str, &'static str, String) {
    let t = |reason, message: String| ("True", reason, message);
    match action {
        Action::ApplyChildren(children) => t(
            "ApplyingChildren",
            format!(
                "applying {}",
                children
                    .iter()
                    .map(|c| {
                        let r = c.child_ref();
                        format!("{:?} {}", r.kind, r.name)
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Action::CreatePilot(pilot) => t(
            "CreatingPilot",
            format!(
                "creating pilot {}",
                pilot.metadata.name.as_deref().unwrap_or_default()
            ),
        ),
        Action::CreateNodePool { pool, statefulset } => t(
            "CreatingNodePool",
            format!(
                "creating StatefulSet {} for pool {pool}",
                statefulset.metadata.name.as_deref().unwrap_or_default()
            ),
        ),
        Action::ScaleOut { pool, from, to, .. } => t(
            "ScalingOut",
            format!("pool {pool}: adding nodes ({from} → {to})"),
        ),
        Action::SetSeedLabel { pod, seed: true } => {
            t("LabellingSeed", format!("marking pod {pod} as a seed"))
        }
        Action::SetSeedLabel { pod, seed: false } => t(
            "LabellingSeed",
            format!("removing the seed label from pod {pod}"),
        ),
        Action::RequestDecommission { pilot } => t(
            "Decommissioning",
            format!("asking pilot {pilot} to decommission its node"),
        ),
        Action::CancelDecommission { pilot } => t(
            "CancellingDecommission",
            format!("replicas were raised: asking pilot {pilot} to keep its node running"),
        ),
        Action::ScaleIn { pool, from, to, .. } => t(
            "ScalingIn",
            format!("pool {pool}: removing decommissioned nodes ({from} → {to})"),
        ),
        Action::DeleteClaim { claim } => t(
            "DeletingClaim",
            format!("deleting claim {claim} of a node that left the ring"),
        ),
        Action::DeletePilot { pilot } => t(
            "DeletingPilot",
            format!("deleting pilot {pilot} of a removed node"),
        ),
        Action::UpdatePodTemplate { pool, .. } => t(
            "Upgrading",
            format!("pool {pool}: applying the new pod template; no pod restarts yet"),
        ),
        Action::DeleteNodePool { pool, statefulset } => t(
            "DeletingNodePool",
            format!(
                "pool {pool} left the spec and its nodes drained or left: deleting StatefulSet {statefulset}"
            ),
        ),
        Action::DeleteChildren(children) => t(
            "DeletingChildren",
            format!(
                "deleting {}",
                children
                    .iter()
                    .map(|r| format!("{:?} {}", r.kind, r.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Action::RollNextPod { pool, pod, .. } => t(
            "Upgrading",
            format!("pool {pool}: restarting pod {pod} on the new pod template"),
        ),
        Action::Wait(w) => {
            let status = match w.reason {
                WaitReason::ClusterPaused | WaitReason::InvalidSpec => "False",
                _ => "True",
            };
            (status, w.reason.as_str(), w.message.clone())
        }
        Action::Idle => ("False", "Converged", "the cluster is as desired".to_owned()),
    }
}

/// What is wrong with the node of pod `pod_name` that should be serving, added to `problems`:
/// its pod missing or not Ready, its pilot's report (if there is a Pilot) not fresh within
/// `freshness` of `now`.
pub(crate) fn node_problems(
    pod_name: &str,
    pod: Option<&Pod>,
    pilot: Option<&Pilot>,
    now: Timestamp,
    freshness: Duration,
    problems: &mut Vec<String>,
) {
    match pod {
        None => problems.push(format!("pod {pod_name} is missing")),
        Some(p) if !facts::pod_ready(p) => {
            problems.push(format!("pod {pod_name} is not Ready"));
        }
        Some(_) => {}
    }
    if let Some(Err(stale)) = pilot.map(|p| facts::report_freshness(p, now, freshness)) {
        problems.push(format!("pilot {pod_name} {stale}"));
    }
}

/// The `Degraded` condition's status, reason and message for the nodes' `problems`.
pub(crate) fn nodes_degraded(problems: &[String]) -> (&'static str, &'static str, String) {
    if problems.is_empty() {
        ("False", "AsExpected", String::new())
    } else {
        ("True", "NodesUnhealthy", problems.join("; "))
    }
}

/// The `Available` condition's status, reason and message: `NoNodePools` when the spec has
/// none (`no_pools`), else `NodesReady` unless some pools have no Ready node
/// (`unready_pools`, named in the message as `NoReadyNodes`).
pub(crate) fn available(
    no_pools: bool,
    unready_pools: &[String],
) -> (&'static str, &'static str, String) {
    if no_pools {
        (
            "False",
            "NoNodePools",
            "the spec has no node pools".to_owned(),
        )
    } else if unready_pools.is_empty() {
        (
            "True",
            "NodesReady",
            "every node pool has a Ready node".to_owned(),
        )
    } else {
        (
            "False",
            "NoReadyNodes",
            format!("no Ready node in pool {}", unready_pools.join(", ")),
        )
    }
}
