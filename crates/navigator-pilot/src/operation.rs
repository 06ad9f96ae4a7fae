//! What a requested state needs next: a pure state machine over `spec.requestedState` and the
//! adapter's reports. A new request starts a new operation in `Pending`; `Complete` is sticky
//! until the request changes; `Failed` is re-attempted every retry interval (a refusal such as
//! "keyspace ks needs 3 replicas" clears by itself once the keyspace allows it), and a
//! re-attempt that fails the same way leaves the reported operation exactly as it was; a
//! request no pilot knows fails at once and for good.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use navigator_api::v1beta1::PilotOperationStatus;

use crate::adapter::{Progress, RequestedState};

/// The phase of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Accepted, no step taken yet.
    Pending,
    /// Under way.
    InProgress,
    /// Reached (sticky).
    Complete,
    /// Refused or failed; re-attempted every retry interval while the request stays.
    Failed,
}

impl Phase {
    /// The name `status.operation.phase` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::InProgress => "InProgress",
            Self::Complete => "Complete",
            Self::Failed => "Failed",
        }
    }

    /// `Complete` or `Failed`.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Complete | Self::Failed)
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "Pending" => Some(Self::Pending),
            "InProgress" => Some(Self::InProgress),
            "Complete" => Some(Self::Complete),
            "Failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// The operation the pilot is working on: one requested state and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// `spec.requestedState` as written (`Running` when unset).
    pub requested: String,
    /// The parsed state, `None` when the request names no known state.
    pub state: Option<RequestedState>,
    /// Where it is.
    pub phase: Phase,
    /// What is happening, or why it failed.
    pub message: String,
    /// When the pilot accepted the request.
    pub start_time: Time,
    /// When it reached `Complete` or `Failed` (a re-attempt that fails the same way keeps it).
    pub completion_time: Option<Time>,
    /// When `perform` last reported the failure of a `Failed` operation: retries count from
    /// here (else from `completion_time`). Not part of the status, so a re-attempt that fails
    /// the same way writes nothing; a restarted pilot has none and retries once the completion
    /// time is an interval old. `None` unless `Failed`.
    pub last_attempt: Option<Time>,
}

/// What the runtime should do next for the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// Call the adapter's `perform` with this state.
    Perform(RequestedState),
    /// Nothing: the operation is `Complete`, or its state is unknown.
    Idle,
    /// The operation is `Failed`; re-attempt it (`Perform`) after this long.
    RetryIn(Duration),
}

/// The request text of a Pilot spec (`Running` when unset).
pub fn requested_text(spec_value: Option<&str>) -> &str {
    spec_value
        .filter(|s| !s.is_empty())
        .unwrap_or(RequestedState::Running.as_str())
}

/// The operation after the spec says `requested`: unchanged when it asks for the same state,
/// else a new one in `Pending` (or `Failed` when the state is unknown). `previous` may come from
/// the Pilot's status at start-up, so a restarted pilot keeps a final phase and the start time.
pub fn on_request(previous: Option<&Operation>, requested: &str, now: &Time) -> Operation {
    if let Some(previous) = previous.filter(|p| p.requested == requested) {
        return previous.clone();
    }
    match requested.parse::<RequestedState>() {
        Ok(state) => Operation {
            requested: requested.to_owned(),
            state: Some(state),
            phase: Phase::Pending,
            message: format!("requested {state}"),
            start_time: now.clone(),
            completion_time: None,
            last_attempt: None,
        },
        Err(e) => Operation {
            requested: requested.to_owned(),
            state: None,
            phase: Phase::Failed,
            message: e.to_string(),
            start_time: now.clone(),
            completion_time: Some(now.clone()),
            last_attempt: None,
        },
    }
}

/// What to do next for `op` at `now`: `Perform` while it is under way; a `Failed` operation
/// with a known state is performed again once its last attempt (or, after a restart, its
/// completion) is `retry_interval` old, or lies in the future (the clock went back: waiting for
/// it could take arbitrarily long, and the attempt restarts the count), else `RetryIn` the rest;
/// `Complete`, or an unknown state, is `Idle`.
pub fn next_step(op: &Operation, now: &Time, retry_interval: Duration) -> NextStep {
    match (op.phase, op.state) {
        (Phase::Complete, _) | (_, None) => NextStep::Idle,
        (Phase::Pending | Phase::InProgress, Some(state)) => NextStep::Perform(state),
        (Phase::Failed, Some(state)) => {
            let Some(since) = op.last_attempt.as_ref().or(op.completion_time.as_ref()) else {
                return NextStep::Perform(state);
            };
            let elapsed = now.0.duration_since(since.0);
            let interval = k8s_openapi::jiff::SignedDuration::try_from(retry_interval)
                .unwrap_or(k8s_openapi::jiff::SignedDuration::MAX);
            if elapsed >= interval || elapsed.is_negative() {
                NextStep::Perform(state)
            } else {
                let rest = interval - elapsed;
                NextStep::RetryIn(Duration::try_from(rest).unwrap_or(retry_interval))
            }
        }
    }
}

/// The operation after the adapter reported `progress` for `state` at `now`. A report for
/// another state (the request changed while `perform` ran) or on a `Complete` operation
/// changes nothing. On a `Failed` operation (a re-attempt) the report applies as usual, except
/// that the same failure again only moves `last_attempt`: phase, message and completion time
/// stay, so the status does not change.
pub fn on_progress(
    op: &Operation,
    state: RequestedState,
    progress: &Progress,
    now: &Time,
) -> Operation {
    if op.phase == Phase::Complete || op.state != Some(state) {
        return op.clone();
    }
    let phase = match progress {
        Progress::Pending(_) => Phase::Pending,
        Progress::InProgress(_) => Phase::InProgress,
        Progress::Complete(_) => Phase::Complete,
        Progress::Failed(_) => Phase::Failed,
    };
    if op.phase == Phase::Failed && phase == Phase::Failed && op.message == progress.message() {
        return Operation {
            last_attempt: Some(now.clone()),
            ..op.clone()
        };
    }
    Operation {
        phase,
        message: progress.message().to_owned(),
        completion_time: phase.is_final().then(|| now.clone()),
        last_attempt: (phase == Phase::Failed).then(|| now.clone()),
        ..op.clone()
    }
}

/// The operation as `status.operation` reports it.
pub fn to_status(op: &Operation) -> PilotOperationStatus {
    PilotOperationStatus {
        state: op.requested.clone(),
        phase: op.phase.as_str().to_owned(),
        start_time: Some(op.start_time.clone()),
        completion_time: op.completion_time.clone(),
        message: op.message.clone(),
    }
}

/// The operation a Pilot's status recorded (a restarted pilot resumes from it). A phase that
/// was under way restarts at `Pending`: the adapter's steps are idempotent.
pub fn from_status(status: &PilotOperationStatus, now: &Time) -> Option<Operation> {
    let phase = Phase::parse(&status.phase)?;
    let state = status.state.parse::<RequestedState>().ok();
    Some(Operation {
        requested: status.state.clone(),
        state,
        phase: if phase.is_final() {
            phase
        } else {
            Phase::Pending
        },
        message: status.message.clone(),
        start_time: status.start_time.clone().unwrap_or_else(|| now.clone()),
        completion_time: if phase.is_final() {
            status.completion_time.clone()
        } else {
            None
        },
        last_attempt: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(1_800_000_000 + secs).unwrap())
    }

    fn op(requested: &str, phase: Phase, message: &str, done: Option<i64>) -> Operation {
        Operation {
            requested: requested.into(),
            state: requested.parse().ok(),
            phase,
            message: message.into(),
            start_time: t(0),
            completion_time: done.map(t),
            last_attempt: None,
        }
    }

    /// A `Failed` operation completed at `done`, last attempted at `attempt`.
    fn failed(message: &str, done: i64, attempt: Option<i64>) -> Operation {
        Operation {
            last_attempt: attempt.map(t),
            ..op("Decommissioned", Phase::Failed, message, Some(done))
        }
    }

    const RETRY: Duration = Duration::from_secs(15);

    #[test]
    fn requests() {
        let running_done = op("Running", Phase::Complete, "up", Some(5));
        let cases = [
            (
                "first request",
                None,
                "Decommissioned",
                op(
                    "Decommissioned",
                    Phase::Pending,
                    "requested Decommissioned",
                    None,
                ),
            ),
            (
                "same request keeps a final phase",
                Some(running_done.clone()),
                "Running",
                running_done.clone(),
            ),
            (
                "changed request starts over",
                Some(running_done.clone()),
                "Decommissioned",
                op(
                    "Decommissioned",
                    Phase::Pending,
                    "requested Decommissioned",
                    None,
                ),
            ),
            (
                "unknown state fails at once",
                None,
                "Paused",
                Operation {
                    state: None,
                    ..op(
                        "Paused",
                        Phase::Failed,
                        "unknown requested state \"Paused\" (expected Running, Drained or Decommissioned)",
                        Some(0),
                    )
                },
            ),
        ];
        for (name, previous, requested, want) in cases {
            assert_eq!(
                on_request(previous.as_ref(), requested, &t(0)),
                want,
                "{name}"
            );
        }
        assert_eq!(requested_text(None), "Running");
        assert_eq!(requested_text(Some("")), "Running");
        assert_eq!(requested_text(Some("Drained")), "Drained");
    }

    #[test]
    fn progress_and_next_steps() {
        use RequestedState::*;
        let pending = op("Decommissioned", Phase::Pending, "", None);
        let refusal = "cannot decommission cass-2: keyspace \"ks\" needs 3 replicas";
        let cases = [
            (
                "in progress",
                pending.clone(),
                Decommissioned,
                Progress::InProgress("streaming".into()),
                op("Decommissioned", Phase::InProgress, "streaming", None),
                NextStep::Perform(Decommissioned),
            ),
            (
                "complete is final",
                pending.clone(),
                Decommissioned,
                Progress::Complete("left the ring".into()),
                op("Decommissioned", Phase::Complete, "left the ring", Some(9)),
                NextStep::Idle,
            ),
            (
                "failed is retried an interval after the attempt",
                pending.clone(),
                Decommissioned,
                Progress::Failed("ks1 RF 3".into()),
                failed("ks1 RF 3", 9, Some(9)),
                NextStep::RetryIn(RETRY),
            ),
            (
                "a report for an older request changes nothing",
                pending.clone(),
                Running,
                Progress::Complete("up".into()),
                pending.clone(),
                NextStep::Perform(Decommissioned),
            ),
            (
                "a complete operation stays complete",
                op("Decommissioned", Phase::Complete, "left", Some(1)),
                Decommissioned,
                Progress::Failed("late".into()),
                op("Decommissioned", Phase::Complete, "left", Some(1)),
                NextStep::Idle,
            ),
            (
                "the same failure again only moves the last attempt",
                failed(refusal, 1, Some(2)),
                Decommissioned,
                Progress::Failed(refusal.into()),
                failed(refusal, 1, Some(9)),
                NextStep::RetryIn(RETRY),
            ),
            (
                "a resumed failure that fails the same way keeps its completion time",
                failed(refusal, 1, None),
                Decommissioned,
                Progress::Failed(refusal.into()),
                failed(refusal, 1, Some(9)),
                NextStep::RetryIn(RETRY),
            ),
            (
                "another failure is reported",
                failed(refusal, 1, Some(2)),
                Decommissioned,
                Progress::Failed("decommission failed: boom".into()),
                failed("decommission failed: boom", 9, Some(9)),
                NextStep::RetryIn(RETRY),
            ),
            (
                "a re-attempt that passes is under way",
                failed(refusal, 1, Some(2)),
                Decommissioned,
                Progress::InProgress("decommission started".into()),
                op(
                    "Decommissioned",
                    Phase::InProgress,
                    "decommission started",
                    None,
                ),
                NextStep::Perform(Decommissioned),
            ),
            (
                "a re-attempt that completes",
                failed(refusal, 1, Some(2)),
                Decommissioned,
                Progress::Complete("left".into()),
                op("Decommissioned", Phase::Complete, "left", Some(9)),
                NextStep::Idle,
            ),
        ];
        for (name, before, state, progress, want, step) in cases {
            let after = on_progress(&before, state, &progress, &t(9));
            assert_eq!(after, want, "{name}");
            assert_eq!(next_step(&after, &t(9), RETRY), step, "{name}");
        }
    }

    #[test]
    fn same_failure_leaves_the_status_unchanged() {
        let refusal = "cannot decommission cass-2: keyspace \"ks\" needs 3 replicas";
        let before = failed(refusal, 1, None);
        let mut now = before.clone();
        for at in [16, 31, 46] {
            assert_eq!(
                next_step(&now, &t(at), RETRY),
                NextStep::Perform(RequestedState::Decommissioned),
                "retry due at {at}"
            );
            now = on_progress(
                &now,
                RequestedState::Decommissioned,
                &Progress::Failed(refusal.into()),
                &t(at),
            );
            assert_eq!(to_status(&now), to_status(&before), "status after {at}");
            assert_eq!(
                next_step(&now, &t(at + 1), RETRY),
                NextStep::RetryIn(Duration::from_secs(14)),
                "next retry after {at}"
            );
        }
        assert_eq!(
            now,
            Operation {
                last_attempt: Some(t(46)),
                ..before
            }
        );
    }

    #[test]
    fn retry_timing() {
        use RequestedState::*;
        let unknown = on_request(None, "Paused", &t(0));
        let cases = [
            (
                "not due: counted from the last attempt",
                failed("no", 0, Some(10)),
                20,
                NextStep::RetryIn(Duration::from_secs(5)),
            ),
            (
                "due at exactly one interval",
                failed("no", 0, Some(10)),
                25,
                NextStep::Perform(Decommissioned),
            ),
            (
                "due: a resumed failure counts from its completion",
                failed("no", 0, None),
                15,
                NextStep::Perform(Decommissioned),
            ),
            (
                "not due: a resumed failure completed recently",
                failed("no", 10, None),
                12,
                NextStep::RetryIn(Duration::from_secs(13)),
            ),
            (
                "a clock gone back retries at once",
                failed("no", 100, Some(100)),
                50,
                NextStep::Perform(Decommissioned),
            ),
            (
                "complete is sticky",
                op("Decommissioned", Phase::Complete, "left", Some(0)),
                1000,
                NextStep::Idle,
            ),
            (
                "an unknown state is never retried",
                unknown,
                1000,
                NextStep::Idle,
            ),
            (
                "under way",
                op("Running", Phase::Pending, "", None),
                0,
                NextStep::Perform(Running),
            ),
        ];
        for (name, operation, at, want) in cases {
            assert_eq!(next_step(&operation, &t(at), RETRY), want, "{name}");
        }
    }

    #[test]
    fn status_round_trip_resumes() {
        let done = op("Decommissioned", Phase::Complete, "left", Some(3));
        assert_eq!(from_status(&to_status(&done), &t(50)), Some(done));
        let busy = op("Decommissioned", Phase::InProgress, "streaming", None);
        assert_eq!(
            from_status(&to_status(&busy), &t(50)),
            Some(op("Decommissioned", Phase::Pending, "streaming", None))
        );
        let mut garbage = to_status(&busy);
        garbage.phase = "Sideways".into();
        assert_eq!(from_status(&garbage, &t(50)), None);
    }
}
