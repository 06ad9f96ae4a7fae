//! Facts every kind's planner reads the same way from observed objects: pod readiness and
//! revision, StatefulSet replicas, partition, revision and lag, the spec-hash annotation, a
//! Pilot's requested state and the freshness of its report.

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::Pilot;

/// The requested state that asks a node to leave its cluster.
pub(crate) const DECOMMISSIONED: &str = "Decommissioned";
/// The requested state of a node that stays (also what an unset request means).
pub(crate) const RUNNING: &str = "Running";
/// The StatefulSet controller's label naming the revision a pod was created from.
pub(crate) const REVISION_LABEL: &str = "controller-revision-hash";

/// Whether the pod's `Ready` condition is `True` and it is not being deleted.
pub(crate) fn pod_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The revision the pod was created from (its `controller-revision-hash` label).
pub(crate) fn pod_revision(pod: &Pod) -> Option<&str> {
    pod.metadata
        .labels
        .as_ref()?
        .get(REVISION_LABEL)
        .map(String::as_str)
}

/// Why a pilot's report cannot be trusted now, or `Ok` when it is fresh: heartbeat within
/// `window` of `now` (a heartbeat ahead of `now` counts as fresh) and
/// `status.observedGeneration` at least the Pilot's `metadata.generation` when both are set.
pub(crate) fn report_freshness(
    pilot: &Pilot,
    now: Timestamp,
    window: Duration,
) -> Result<(), String> {
    let Some(heartbeat) = pilot.status.last_heartbeat_time.as_ref() else {
        return Err("has not reported yet".to_owned());
    };
    let age_ms = now
        .as_millisecond()
        .saturating_sub(heartbeat.0.as_millisecond());
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    if age_ms > window_ms {
        // The message names the heartbeat, not its age, so it stays the same while the
        // report stays old (the status is written only when it changes).
        return Err(format!(
            "last reported at {} (reports older than {}s count as unknown)",
            heartbeat.0,
            window.as_secs()
        ));
    }
    match (pilot.status.observed_generation, pilot.metadata.generation) {
        (Some(seen), Some(generation)) if seen < generation => Err(format!(
            "has not acted on its spec yet (observedGeneration {seen} < generation {generation})"
        )),
        _ => Ok(()),
    }
}

/// The requested state of a pilot (`Running` when unset or empty).
pub(crate) fn requested_state(pilot: &Pilot) -> &str {
    pilot
        .spec
        .requested_state
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or(RUNNING)
}

/// Whether the pilot is asked to take its node out of the cluster.
pub(crate) fn decommission_requested(pilot: &Pilot) -> bool {
    requested_state(pilot) == DECOMMISSIONED
}

/// `spec.replicas` of a StatefulSet (1 when unset, as the API defaults it).
pub(crate) fn sts_replicas(sts: &StatefulSet) -> i32 {
    sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// The rolling-update partition of a StatefulSet (0 when unset).
pub(crate) fn sts_partition(sts: &StatefulSet) -> i32 {
    sts.spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|u| u.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0)
}

/// The spec-hash annotation of an object's metadata.
pub(crate) fn annotation_hash(meta: &ObjectMeta) -> Option<&str> {
    meta.annotations
        .as_ref()?
        .get(crate::hash::SPEC_HASH_ANNOTATION)
        .map(String::as_str)
}

/// Whether the StatefulSet controller has not yet observed the StatefulSet's latest spec.
pub(crate) fn sts_lagging(sts: &StatefulSet) -> bool {
    let observed = sts.status.as_ref().and_then(|s| s.observed_generation);
    match (observed, sts.metadata.generation) {
        (Some(o), Some(g)) => o < g,
        (None, Some(_)) => true,
        _ => false,
    }
}

/// The revision new pods of the StatefulSet are created from (`status.updateRevision`).
pub(crate) fn update_revision(sts: &StatefulSet) -> Option<&str> {
    sts.status
        .as_ref()?
        .update_revision
        .as_deref()
        .filter(|r| !r.is_empty())
}
