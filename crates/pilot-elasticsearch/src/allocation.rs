//! Replica allocation paused around a data node's restart, pure.
//!
//! A stopping data node that is coming back (its Pilot does not request `Drained` or
//! `Decommissioned`) sets the persistent `cluster.routing.allocation.enable: primaries` before
//! its database stops, so the cluster does not rebuild the node's replicas elsewhere while it
//! restarts ([`pauses_for_restart`], [`pause_step`]). The leader resumes allocation (the
//! setting back to `null`) once every node it expects has rejoined — every Pilot of the
//! cluster not requesting `Decommissioned` names a node in the cluster's node list and reports
//! `Ready` — or once it has seen the pause for longer than a bound, so a node that never comes
//! back cannot leave replicas unallocated for ever ([`decide`]). Only the persistent value
//! `primaries` counts as a pause: any other value (`all`, `none`, `new_primaries`, a transient
//! value) was set by someone else and is left alone.

use std::collections::BTreeSet;
use std::fmt;
use std::time::{Duration, Instant};

use navigator_api::v1beta1::Pilot;
use navigator_pilot::RequestedState;
use navigator_pilot::status::CONDITION_READY;
use serde_json::{Value, json};

use crate::replies::SettingLayers;
use crate::roles::Role;

/// The cluster setting that pauses replica allocation.
pub const ENABLE: &str = "cluster.routing.allocation.enable";
/// Its value while a data node restarts: only primaries are allocated.
pub const PAUSED: &str = "primaries";

/// Whether a stopping pilot pauses replica allocation for its node's restart: the node holds
/// data and its Pilot (`spec.requestedState`) does not ask for `Drained` or `Decommissioned`
/// (such a node holds no shards, or is leaving for good).
pub fn pauses_for_restart(roles: &[Role], requested: Option<&str>) -> bool {
    let leaving = matches!(
        requested.and_then(|r| r.parse::<RequestedState>().ok()),
        Some(RequestedState::Drained | RequestedState::Decommissioned)
    );
    roles.contains(&Role::Data) && !leaving
}

/// What a stopping data node does with the setting it finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PauseStep {
    /// Allocation is enabled (unset or `all`): set the persistent value to `primaries`.
    Pause,
    /// The persistent value is `primaries` already (another node restarts too).
    AlreadyPaused,
    /// Someone else set the value (persistent or transient): leave it alone.
    LeaveAlone(String),
}

/// The step for the setting's current layers.
pub fn pause_step(current: &SettingLayers) -> PauseStep {
    if let Some(t) = &current.transient {
        return PauseStep::LeaveAlone(format!("transient {t:?}"));
    }
    match current.persistent.as_deref() {
        None => PauseStep::Pause,
        Some(v) if v.eq_ignore_ascii_case("all") => PauseStep::Pause,
        Some(v) if v.eq_ignore_ascii_case(PAUSED) => PauseStep::AlreadyPaused,
        Some(v) => PauseStep::LeaveAlone(format!("persistent {v:?}")),
    }
}

/// The `PUT _cluster/settings` body that pauses replica allocation.
pub fn pause_body() -> Value {
    json!({ "persistent": { ENABLE: PAUSED } })
}

/// The `PUT _cluster/settings` body that resumes it (the persistent value removed; a transient
/// value is someone else's and stays).
pub fn resume_body() -> Value {
    json!({ "persistent": { ENABLE: null } })
}

/// Whether the setting holds the pilots' pause: the persistent value `primaries`, no transient
/// value over it.
pub fn paused(current: &SettingLayers) -> bool {
    current.transient.is_none()
        && current
            .persistent
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case(PAUSED))
}

/// A node the leader expects back in the cluster: a Pilot of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The Pilot's (= node's) name.
    pub name: String,
    /// Its status has the condition `Ready=True` (a stopping pilot writes `False` before it
    /// pauses, so a node that is about to leave is not taken for one that is back).
    pub ready: bool,
}

/// Whether a Pilot's status has the condition `Ready=True` (written by its pilot: the node
/// has joined a cluster; `False` from the moment it stops).
pub fn pilot_ready(pilot: &Pilot) -> bool {
    pilot
        .status
        .conditions
        .iter()
        .any(|c| c.type_ == CONDITION_READY && c.status == "True")
}

/// The members the leader waits for: every Pilot (`name`, `spec.requestedState`, `Ready`)
/// except those requesting `Decommissioned` (leaving for good).
pub fn members<'a>(
    pilots: impl IntoIterator<Item = (&'a str, Option<&'a str>, bool)>,
) -> Vec<Member> {
    pilots
        .into_iter()
        .filter(|(_, requested, _)| {
            requested.and_then(|r| r.parse::<RequestedState>().ok())
                != Some(RequestedState::Decommissioned)
        })
        .map(|(name, _, ready)| Member {
            name: name.to_owned(),
            ready,
        })
        .collect()
}

/// A member that is not back yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// Its name.
    pub name: String,
    /// Whether its node is in the cluster's node list (then only its Pilot is not `Ready`).
    pub in_cluster: bool,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.in_cluster {
            write!(f, "{} (in the cluster, its Pilot not Ready)", self.name)
        } else {
            write!(f, "{} (not in the cluster)", self.name)
        }
    }
}

/// The leader's decision about a pause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resume {
    /// The setting holds no pause of the pilots: nothing to do.
    NotPaused,
    /// Paused, and these members are not back yet.
    Wait(Vec<Missing>),
    /// Every member is back: resume.
    AllJoined,
    /// Paused for longer than the bound with these members still missing: resume anyway.
    TimedOut(Vec<Missing>),
}

/// Decides about the pause: `current` is the setting, `members` the nodes expected, `nodes`
/// the names in the cluster's node list, `paused_for` how long the leader has seen the pause
/// (see [`PauseClock`]) and `bound` the longest it may last.
pub fn decide(
    current: &SettingLayers,
    members: &[Member],
    nodes: &BTreeSet<String>,
    paused_for: Duration,
    bound: Duration,
) -> Resume {
    if !paused(current) {
        return Resume::NotPaused;
    }
    let missing: Vec<Missing> = members
        .iter()
        .filter(|m| !m.ready || !nodes.contains(&m.name))
        .map(|m| Missing {
            name: m.name.clone(),
            in_cluster: nodes.contains(&m.name),
        })
        .collect();
    if missing.is_empty() {
        Resume::AllJoined
    } else if paused_for >= bound {
        Resume::TimedOut(missing)
    } else {
        Resume::Wait(missing)
    }
}

/// How long the leader has seen the pause, from its own observations (a new leader starts
/// counting when it first sees it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PauseClock {
    since: Option<Instant>,
}

impl PauseClock {
    /// Records an observation at `now`; returns for how long the pause has been seen (zero
    /// when it is not paused, or seen for the first time).
    pub fn observe(&mut self, paused: bool, now: Instant) -> Duration {
        if paused {
            now.saturating_duration_since(*self.since.get_or_insert(now))
        } else {
            self.since = None;
            Duration::ZERO
        }
    }

    /// Forgets the pause (after resuming it, or when leadership is lost).
    pub fn reset(&mut self) {
        self.since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn layers(p: Option<&str>, t: Option<&str>) -> SettingLayers {
        SettingLayers {
            persistent: p.map(str::to_owned),
            transient: t.map(str::to_owned),
        }
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn member(name: &str, ready: bool) -> Member {
        Member {
            name: name.into(),
            ready,
        }
    }

    fn missing(name: &str, in_cluster: bool) -> Missing {
        Missing {
            name: name.into(),
            in_cluster,
        }
    }

    #[test]
    fn who_pauses_at_shutdown() {
        use Role::*;
        let cases: [(&[Role], Option<&str>, bool); 9] = [
            (&[Master, Data, Ingest], None, true),
            (&[Data], Some("Running"), true),
            (&[Data], Some("Drained"), false),
            (&[Data], Some("Decommissioned"), false),
            (&[Data, Ingest], Some("something new"), true),
            (&[Master], None, false),
            (&[Master, Ingest], Some("Running"), false),
            (&[Ingest], None, false),
            (&[], None, false),
        ];
        for (roles, requested, want) in cases {
            assert_eq!(
                pauses_for_restart(roles, requested),
                want,
                "{roles:?} {requested:?}"
            );
        }
    }

    #[test]
    fn pause_steps() {
        let cases = [
            (layers(None, None), PauseStep::Pause),
            (layers(Some("all"), None), PauseStep::Pause),
            (layers(Some("ALL"), None), PauseStep::Pause),
            (layers(Some("primaries"), None), PauseStep::AlreadyPaused),
            (
                layers(Some("none"), None),
                PauseStep::LeaveAlone("persistent \"none\"".into()),
            ),
            (
                layers(Some("new_primaries"), None),
                PauseStep::LeaveAlone("persistent \"new_primaries\"".into()),
            ),
            (
                layers(None, Some("all")),
                PauseStep::LeaveAlone("transient \"all\"".into()),
            ),
            (
                layers(Some("primaries"), Some("none")),
                PauseStep::LeaveAlone("transient \"none\"".into()),
            ),
        ];
        for (current, want) in cases {
            assert_eq!(pause_step(&current), want, "{current:?}");
        }
        assert_eq!(
            pause_body(),
            json!({"persistent": {"cluster.routing.allocation.enable": "primaries"}})
        );
        assert_eq!(
            resume_body(),
            json!({"persistent": {"cluster.routing.allocation.enable": null}})
        );
    }

    #[test]
    fn ready_from_the_pilot_status() {
        let with = |conditions: serde_json::Value| -> Pilot {
            serde_json::from_value(json!({
                "apiVersion": "navigator.jetstack.io/v1beta1", "kind": "Pilot",
                "metadata": {"name": "es-0"}, "spec": {},
                "status": {"conditions": conditions}
            }))
            .expect("a Pilot")
        };
        assert!(pilot_ready(&with(json!([
            {"type": "Started", "status": "True"},
            {"type": "Ready", "status": "True"}
        ]))));
        assert!(!pilot_ready(&with(json!([
            {"type": "Started", "status": "True"},
            {"type": "Ready", "status": "False", "reason": "NotRunning"}
        ]))));
        assert!(!pilot_ready(&with(
            json!([{"type": "Ready", "status": "Unknown"}])
        )));
        assert!(!pilot_ready(&with(json!([]))));
        assert!(!pilot_ready(&Pilot::default()));
    }

    #[test]
    fn members_leave_out_decommissioned_pilots() {
        let pilots = [
            ("a", None, true),
            ("b", Some("Running"), false),
            ("c", Some("Drained"), true),
            ("d", Some("Decommissioned"), false),
            ("e", Some("decommissioned"), false),
        ];
        assert_eq!(
            members(pilots),
            vec![
                member("a", true),
                member("b", false),
                member("c", true),
                member("e", false)
            ]
        );
    }

    #[test]
    fn decisions() {
        let bound = Duration::from_secs(300);
        let early = Duration::from_secs(10);
        let late = Duration::from_secs(300);
        let all = [
            member("es-0", true),
            member("es-1", true),
            member("es-2", true),
        ];
        let es0_not_ready = [
            member("es-0", false),
            member("es-1", true),
            member("es-2", true),
        ];
        let three = set(&["es-0", "es-1", "es-2"]);
        let two = set(&["es-1", "es-2"]);
        let cases = [
            (
                "allocation enabled (unset)",
                layers(None, None),
                &all[..],
                &two,
                late,
                Resume::NotPaused,
            ),
            (
                "all: someone else's value",
                layers(Some("all"), None),
                &all[..],
                &two,
                late,
                Resume::NotPaused,
            ),
            (
                "none: someone else's value",
                layers(Some("none"), None),
                &all[..],
                &three,
                early,
                Resume::NotPaused,
            ),
            (
                "new_primaries: someone else's value",
                layers(Some("new_primaries"), None),
                &all[..],
                &three,
                early,
                Resume::NotPaused,
            ),
            (
                "a transient value over the pause: someone else's",
                layers(Some("primaries"), Some("all")),
                &all[..],
                &three,
                early,
                Resume::NotPaused,
            ),
            (
                "the stopping node is still in the cluster, its Pilot not Ready",
                layers(Some("primaries"), None),
                &es0_not_ready[..],
                &three,
                early,
                Resume::Wait(vec![missing("es-0", true)]),
            ),
            (
                "the node is away",
                layers(Some("primaries"), None),
                &es0_not_ready[..],
                &two,
                early,
                Resume::Wait(vec![missing("es-0", false)]),
            ),
            (
                "a stale Ready while the node is away",
                layers(Some("primaries"), None),
                &all[..],
                &two,
                early,
                Resume::Wait(vec![missing("es-0", false)]),
            ),
            (
                "back in the cluster and Ready",
                layers(Some("PRIMARIES"), None),
                &all[..],
                &three,
                early,
                Resume::AllJoined,
            ),
            (
                "a decommissioned node is not waited for (not a member)",
                layers(Some("primaries"), None),
                &all[1..],
                &two,
                early,
                Resume::AllJoined,
            ),
            (
                "a node that never comes back: resumed after the bound",
                layers(Some("primaries"), None),
                &es0_not_ready[..],
                &two,
                late,
                Resume::TimedOut(vec![missing("es-0", false)]),
            ),
            (
                "no Pilots at all",
                layers(Some("primaries"), None),
                &[][..],
                &three,
                early,
                Resume::AllJoined,
            ),
        ];
        for (name, current, members, nodes, paused_for, want) in cases {
            assert_eq!(
                decide(&current, members, nodes, paused_for, bound),
                want,
                "{name}"
            );
        }
        assert_eq!(
            missing("es-0", false).to_string(),
            "es-0 (not in the cluster)"
        );
        assert_eq!(
            missing("es-0", true).to_string(),
            "es-0 (in the cluster, its Pilot not Ready)"
        );
    }

    #[test]
    fn the_clock_counts_from_the_first_sighting() {
        let t0 = Instant::now();
        let mut clock = PauseClock::default();
        assert_eq!(clock.observe(false, t0), Duration::ZERO);
        assert_eq!(clock.observe(true, t0), Duration::ZERO);
        assert_eq!(
            clock.observe(true, t0 + Duration::from_secs(7)),
            Duration::from_secs(7)
        );
        assert_eq!(
            clock.observe(false, t0 + Duration::from_secs(8)),
            Duration::ZERO
        );
        assert_eq!(
            clock.observe(true, t0 + Duration::from_secs(9)),
            Duration::ZERO
        );
        assert_eq!(
            clock.observe(true, t0 + Duration::from_secs(10)),
            Duration::from_secs(1)
        );
        clock.reset();
        assert_eq!(
            clock.observe(true, t0 + Duration::from_secs(11)),
            Duration::ZERO
        );
    }
}
