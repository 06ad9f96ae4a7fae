//! Test fixtures both kinds' planner and status tests use alike: the planning time, finding
//! a pod or Pilot by name, and marking a pod unready or a Pilot's requested and reported
//! operation.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::{Pilot, PilotOperationStatus};

use crate::observe::Observed;

/// The planning time of every test.
pub fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).expect("valid time")
}

/// `now` minus `secs`.
pub fn ago(secs: i64) -> Time {
    Time(Timestamp::from_second(1_800_000_000 - secs).expect("valid time"))
}

/// The pod called `name`.
pub fn pod_mut<'a>(observed: &'a mut Observed, name: &str) -> &'a mut Pod {
    observed
        .pods
        .iter_mut()
        .find(|p| p.metadata.name.as_deref() == Some(name))
        .expect("pod")
}

/// The Pilot called `name`.
pub fn pilot_mut<'a>(observed: &'a mut Observed, name: &str) -> &'a mut Pilot {
    observed
        .pilots
        .iter_mut()
        .find(|p| p.metadata.name.as_deref() == Some(name))
        .expect("pilot")
}

/// Marks the pod not Ready.
pub fn unready(pod: &mut Pod) {
    if let Some(cs) = pod.status.as_mut().and_then(|s| s.conditions.as_mut()) {
        for c in cs {
            c.status = "False".into();
        }
    }
}

/// Sets the Pilot's requested state and reported operation (its report acted on the spec).
pub fn operation(pilot: &mut Pilot, requested: &str, reported: Option<(&str, &str, &str)>) {
    pilot.spec.requested_state = Some(requested.into());
    pilot.status.operation = reported.map(|(state, phase, message)| PilotOperationStatus {
        state: state.into(),
        phase: phase.into(),
        message: message.into(),
        ..PilotOperationStatus::default()
    });
}
