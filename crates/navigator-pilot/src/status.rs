//! The one writer of the Pilot's status. A pure core turns (the status last written, what the
//! runtime knows now) into the status the Pilot should show and says whether a write is due —
//! only when a fact changed, or when the heartbeat interval has passed. The thin writer patches
//! the `status` subresource with a JSON merge patch holding exactly the difference.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use navigator_api::v1beta1::{Condition, Pilot, PilotStatus};
use navigator_client::merge_patch::merge_diff;

use crate::adapter::{NodeFacts, Observation};
use crate::operation::{self, Operation};

/// Condition type: the database process runs.
pub const CONDITION_STARTED: &str = "Started";
/// Condition type: the database serves clients.
pub const CONDITION_READY: &str = "Ready";
/// Condition type: the database process has stopped (or is stopping).
pub const CONDITION_STOPPED: &str = "Stopped";

/// Where the pilot is with its database process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// The pilot waits for its Pilot object (or has not checked its data yet).
    WaitingForPilot,
    /// The data-directory marker forbids starting the database; the message says why.
    Refused(String),
    /// The adapter could not prepare the database; the message says why.
    PrepareFailed(String),
    /// The database process runs.
    Running,
    /// A graceful stop is under way (SIGTERM or preStop).
    Stopping,
    /// The database process exited with this status.
    Exited(i32),
}

/// What the runtime knows now, for the status.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusFacts<'a> {
    /// The database process's lifecycle.
    pub lifecycle: &'a Lifecycle,
    /// The latest observation, when it is fresh (older ones count as none).
    pub observation: Option<&'a Observation>,
    /// The operation towards the requested state.
    pub operation: Option<&'a Operation>,
    /// The `metadata.generation` of the Pilot spec the pilot has taken in.
    pub generation: Option<i64>,
}

/// Why a status write is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteReason {
    /// A fact changed.
    Changed,
    /// Nothing changed, but the heartbeat interval has passed (or nothing was written yet).
    Heartbeat,
}

impl WriteReason {
    /// A label value for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Changed => "changed",
            Self::Heartbeat => "heartbeat",
        }
    }
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        observed_generation: None,
        last_transition_time: None,
        reason: reason.to_owned(),
        message: message.to_owned(),
    }
}

/// Sets `new` among `conditions` by type, keeping `lastTransitionTime` when the status did not
/// change (the semantics of `navigator_api::conditions::set_condition`, for v1beta1 conditions).
fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition, now: &Time) {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(existing) => {
            new.last_transition_time = if existing.status == new.status {
                existing
                    .last_transition_time
                    .clone()
                    .or_else(|| Some(now.clone()))
            } else {
                Some(now.clone())
            };
            *existing = new;
        }
        None => {
            new.last_transition_time = Some(now.clone());
            conditions.push(new);
        }
    }
}

/// The three conditions for `facts`.
fn conditions_for(facts: &StatusFacts<'_>) -> [Condition; 3] {
    let (started, stopped) = match facts.lifecycle {
        Lifecycle::WaitingForPilot => (
            condition(CONDITION_STARTED, "False", "WaitingForPilot", ""),
            condition(CONDITION_STOPPED, "False", "NotStarted", ""),
        ),
        Lifecycle::Refused(why) => (
            condition(CONDITION_STARTED, "False", "StartRefused", why),
            condition(CONDITION_STOPPED, "False", "NotStarted", ""),
        ),
        Lifecycle::PrepareFailed(why) => (
            condition(CONDITION_STARTED, "False", "PrepareFailed", why),
            condition(CONDITION_STOPPED, "False", "NotStarted", ""),
        ),
        Lifecycle::Running => (
            condition(CONDITION_STARTED, "True", "ProcessRunning", ""),
            condition(CONDITION_STOPPED, "False", "ProcessRunning", ""),
        ),
        Lifecycle::Stopping => (
            condition(CONDITION_STARTED, "True", "ProcessRunning", ""),
            condition(
                CONDITION_STOPPED,
                "False",
                "Stopping",
                "graceful stop under way",
            ),
        ),
        Lifecycle::Exited(code) => (
            condition(CONDITION_STARTED, "False", "ProcessExited", ""),
            condition(
                CONDITION_STOPPED,
                "True",
                "ProcessExited",
                &format!("the database process exited with status {code}"),
            ),
        ),
    };
    let ready = match (facts.lifecycle, facts.observation) {
        (Lifecycle::Running, Some(obs)) if obs.ready => {
            condition(CONDITION_READY, "True", "DatabaseReady", "")
        }
        (Lifecycle::Running, Some(obs)) => {
            condition(CONDITION_READY, "False", "DatabaseNotReady", &obs.detail)
        }
        (Lifecycle::Running, None) => condition(
            CONDITION_READY,
            "Unknown",
            "NoRecentObservation",
            "no recent observation of the database",
        ),
        (_, _) => condition(CONDITION_READY, "False", "NotRunning", ""),
    };
    [started, ready, stopped]
}

/// The status the Pilot should show, from the status last written and what is known now. The
/// heartbeat time is the previous one: the writer sets it when it writes.
pub fn desired(previous: &PilotStatus, facts: &StatusFacts<'_>, now: &Time) -> PilotStatus {
    let mut conditions = previous.conditions.clone();
    for mut c in conditions_for(facts) {
        c.observed_generation = facts.generation;
        set_condition(&mut conditions, c, now);
    }
    let node_facts = facts.observation.map(|o| &o.facts);
    PilotStatus {
        conditions,
        observed_generation: facts.generation,
        last_heartbeat_time: previous.last_heartbeat_time.clone(),
        operation: facts.operation.map(operation::to_status),
        cassandra: match node_facts {
            Some(NodeFacts::Cassandra(c)) => Some(c.clone()),
            _ => None,
        },
        elasticsearch: match node_facts {
            Some(NodeFacts::Elasticsearch(e)) => Some(e.clone()),
            _ => None,
        },
    }
}

/// Whether to write `desired` given what was `written` and how long ago (`None`: never).
pub fn decide(
    written: &PilotStatus,
    desired: &PilotStatus,
    since_last_write: Option<Duration>,
    heartbeat: Duration,
) -> Option<WriteReason> {
    if written != desired {
        Some(WriteReason::Changed)
    } else if since_last_write.is_none_or(|since| since >= heartbeat) {
        Some(WriteReason::Heartbeat)
    } else {
        None
    }
}

/// Writing the status failed.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The status could not be encoded.
    #[error("encoding the status: {0}")]
    Encode(#[from] serde_json::Error),
    /// The API server refused or could not be reached.
    #[error("patching the status of Pilot {name}: {source}")]
    Patch {
        /// The Pilot.
        name: String,
        /// The underlying error.
        #[source]
        source: kube::Error,
    },
}

/// The thin writer: patches the status subresource of one Pilot.
pub struct StatusWriter {
    api: Api<Pilot>,
    name: String,
    written: PilotStatus,
    last_write: Option<std::time::Instant>,
    heartbeat: Duration,
}

impl StatusWriter {
    /// A writer for Pilot `name`, whose status on the server is `current`.
    pub fn new(api: Api<Pilot>, name: &str, current: PilotStatus, heartbeat: Duration) -> Self {
        Self {
            api,
            name: name.to_owned(),
            written: current,
            last_write: None,
            heartbeat,
        }
    }

    /// The status as last written (or as found on the server).
    pub fn written(&self) -> &PilotStatus {
        &self.written
    }

    /// Writes the status `facts` call for, when a fact changed or a heartbeat is due.
    pub async fn sync(
        &mut self,
        facts: &StatusFacts<'_>,
        now: Time,
    ) -> Result<Option<WriteReason>, StatusError> {
        let desired = desired(&self.written, facts, &now);
        let since = self.last_write.map(|at| at.elapsed());
        let Some(reason) = decide(&self.written, &desired, since, self.heartbeat) else {
            return Ok(None);
        };
        let mut next = desired;
        next.last_heartbeat_time = Some(now);
        let old = serde_json::to_value(&self.written)?;
        let new = serde_json::to_value(&next)?;
        if let Some(diff) = merge_diff(&old, &new) {
            let patch = serde_json::json!({ "status": diff });
            self.api
                .patch_status(&self.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|source| StatusError::Patch {
                    name: self.name.clone(),
                    source,
                })?;
        }
        self.written = next;
        self.last_write = Some(std::time::Instant::now());
        Ok(Some(reason))
    }
}

#[cfg(test)]
mod tests {
    use navigator_api::v1beta1::CassandraPilotStatus;
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::operation::Phase;

    fn t(secs: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(1_800_000_000 + secs).unwrap())
    }

    fn obs(ready: bool, mode: &str) -> Observation {
        Observation {
            alive: true,
            ready,
            facts: NodeFacts::Cassandra(CassandraPilotStatus {
                operation_mode: Some(mode.into()),
                ..CassandraPilotStatus::default()
            }),
            detail: if ready { "" } else { "not NORMAL" }.into(),
        }
    }

    fn summary(s: &PilotStatus) -> Vec<(String, String, String, Option<Time>)> {
        s.conditions
            .iter()
            .map(|c| {
                (
                    c.type_.clone(),
                    c.status.clone(),
                    c.reason.clone(),
                    c.last_transition_time.clone(),
                )
            })
            .collect()
    }

    fn c(
        type_: &str,
        status: &str,
        reason: &str,
        at: i64,
    ) -> (String, String, String, Option<Time>) {
        (type_.into(), status.into(), reason.into(), Some(t(at)))
    }

    #[test]
    fn condition_transitions_keep_times() {
        let running = Lifecycle::Running;
        let joining = obs(false, "JOINING");
        let normal = obs(true, "NORMAL");
        let steps: [(i64, StatusFacts<'_>, Vec<_>); 5] = [
            (
                0,
                StatusFacts {
                    lifecycle: &Lifecycle::WaitingForPilot,
                    observation: None,
                    operation: None,
                    generation: None,
                },
                vec![
                    c("Started", "False", "WaitingForPilot", 0),
                    c("Ready", "False", "NotRunning", 0),
                    c("Stopped", "False", "NotStarted", 0),
                ],
            ),
            (
                1,
                StatusFacts {
                    lifecycle: &running,
                    observation: None,
                    operation: None,
                    generation: Some(1),
                },
                vec![
                    c("Started", "True", "ProcessRunning", 1),
                    c("Ready", "Unknown", "NoRecentObservation", 1),
                    c("Stopped", "False", "ProcessRunning", 0),
                ],
            ),
            (
                2,
                StatusFacts {
                    lifecycle: &running,
                    observation: Some(&joining),
                    operation: None,
                    generation: Some(1),
                },
                vec![
                    c("Started", "True", "ProcessRunning", 1),
                    c("Ready", "False", "DatabaseNotReady", 2),
                    c("Stopped", "False", "ProcessRunning", 0),
                ],
            ),
            (
                3,
                StatusFacts {
                    lifecycle: &running,
                    observation: Some(&normal),
                    operation: None,
                    generation: Some(1),
                },
                vec![
                    c("Started", "True", "ProcessRunning", 1),
                    c("Ready", "True", "DatabaseReady", 3),
                    c("Stopped", "False", "ProcessRunning", 0),
                ],
            ),
            (
                4,
                StatusFacts {
                    lifecycle: &Lifecycle::Exited(0),
                    observation: None,
                    operation: None,
                    generation: Some(1),
                },
                vec![
                    c("Started", "False", "ProcessExited", 4),
                    c("Ready", "False", "NotRunning", 4),
                    c("Stopped", "True", "ProcessExited", 4),
                ],
            ),
        ];
        let mut status = PilotStatus::default();
        for (at, facts, want) in steps {
            status = desired(&status, &facts, &t(at));
            assert_eq!(summary(&status), want, "step at {at}");
        }
        assert!(status.conditions[2].message.contains("status 0"));
    }

    #[test]
    fn facts_operation_and_generation() {
        let normal = obs(true, "NORMAL");
        let op = crate::operation::on_request(None, "Decommissioned", &t(0));
        let facts = StatusFacts {
            lifecycle: &Lifecycle::Running,
            observation: Some(&normal),
            operation: Some(&op),
            generation: Some(3),
        };
        let s = desired(&PilotStatus::default(), &facts, &t(0));
        assert_eq!(s.observed_generation, Some(3));
        assert!(
            s.conditions
                .iter()
                .all(|c| c.observed_generation == Some(3))
        );
        assert_eq!(
            s.cassandra.as_ref().unwrap().operation_mode.as_deref(),
            Some("NORMAL")
        );
        assert_eq!(s.elasticsearch, None);
        let operation = s.operation.as_ref().unwrap();
        assert_eq!(
            (operation.state.as_str(), operation.phase.as_str()),
            ("Decommissioned", Phase::Pending.as_str())
        );
        // A stale observation leaves no facts behind.
        let stale = desired(
            &s,
            &StatusFacts {
                observation: None,
                ..facts
            },
            &t(1),
        );
        assert_eq!(stale.cassandra, None);
    }

    #[test]
    fn writes_only_on_change_or_heartbeat() {
        let normal = obs(true, "NORMAL");
        let facts = StatusFacts {
            lifecycle: &Lifecycle::Running,
            observation: Some(&normal),
            operation: None,
            generation: Some(1),
        };
        let written = desired(&PilotStatus::default(), &facts, &t(0));
        let hb = Duration::from_secs(30);
        let same = desired(&written, &facts, &t(10));
        let other_obs = obs(false, "LEAVING");
        let changed = desired(
            &written,
            &StatusFacts {
                observation: Some(&other_obs),
                ..facts.clone()
            },
            &t(10),
        );
        let secs = |s| Some(Duration::from_secs(s));
        let cases = [
            (
                "nothing written yet",
                &same,
                None,
                Some(WriteReason::Heartbeat),
            ),
            ("nothing changed", &same, secs(10), None),
            (
                "heartbeat due",
                &same,
                secs(30),
                Some(WriteReason::Heartbeat),
            ),
            (
                "a fact changed",
                &changed,
                secs(1),
                Some(WriteReason::Changed),
            ),
        ];
        for (name, next, since, want) in cases {
            assert_eq!(decide(&written, next, since, hb), want, "{name}");
        }
    }
}
