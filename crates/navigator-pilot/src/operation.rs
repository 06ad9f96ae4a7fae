//! What a requested state needs next: a pure state machine over `spec.requestedState` and the
//! adapter's reports. A new request starts a new operation in `Pending`; `Complete` and `Failed`
//! are sticky until the request changes; a request no pilot knows fails at once.

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
    /// Refused or failed (sticky).
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
    /// When it reached `Complete` or `Failed`.
    pub completion_time: Option<Time>,
}

/// What the runtime should do next for the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// Call the adapter's `perform` with this state.
    Perform(RequestedState),
    /// Nothing: the operation is final.
    Idle,
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
        },
        Err(e) => Operation {
            requested: requested.to_owned(),
            state: None,
            phase: Phase::Failed,
            message: e.to_string(),
            start_time: now.clone(),
            completion_time: Some(now.clone()),
        },
    }
}

/// What to do next for `op`.
pub fn next_step(op: &Operation) -> NextStep {
    match (op.phase, op.state) {
        (Phase::Complete | Phase::Failed, _) | (_, None) => NextStep::Idle,
        (Phase::Pending | Phase::InProgress, Some(state)) => NextStep::Perform(state),
    }
}

/// The operation after the adapter reported `progress` for `state`. A report for another state
/// (the request changed while `perform` ran) or on a final operation changes nothing.
pub fn on_progress(
    op: &Operation,
    state: RequestedState,
    progress: &Progress,
    now: &Time,
) -> Operation {
    if op.phase.is_final() || op.state != Some(state) {
        return op.clone();
    }
    let phase = match progress {
        Progress::Pending(_) => Phase::Pending,
        Progress::InProgress(_) => Phase::InProgress,
        Progress::Complete(_) => Phase::Complete,
        Progress::Failed(_) => Phase::Failed,
    };
    Operation {
        phase,
        message: progress.message().to_owned(),
        completion_time: phase.is_final().then(|| now.clone()),
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
        }
    }

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
                "failed is final",
                pending.clone(),
                Decommissioned,
                Progress::Failed("ks1 RF 3".into()),
                op("Decommissioned", Phase::Failed, "ks1 RF 3", Some(9)),
                NextStep::Idle,
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
                "a final operation stays final",
                op("Decommissioned", Phase::Failed, "no", Some(1)),
                Decommissioned,
                Progress::Complete("late".into()),
                op("Decommissioned", Phase::Failed, "no", Some(1)),
                NextStep::Idle,
            ),
        ];
        for (name, before, state, progress, want, step) in cases {
            let after = on_progress(&before, state, &progress, &t(9));
            assert_eq!(after, want, "{name}");
            assert_eq!(next_step(&after), step, "{name}");
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
