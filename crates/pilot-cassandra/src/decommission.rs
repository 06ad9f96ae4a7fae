//! Decommission: whether it is safe, and what a `Decommissioned` request needs next.
//!
//! Safety: every keyspace must still find its replicas in this node's datacenter after the
//! node leaves, counting only the peers that are up and NORMAL. `system_distributed` and
//! `system_traces` are left out while they keep the SimpleStrategy Cassandra creates them
//! with (RF 3 and 2 whatever the cluster's size; repair history and traces, no user data):
//! checking them would forbid scaling a 3-node cluster to 2, which is also why the pilot
//! asks Cassandra for a forced decommission once its own check has passed (Cassandra's own
//! check counts those keyspaces).
//!
//! Attempting again: the pilot runtime calls `perform` again every retry interval while the
//! operation is `Failed`, so a retry must never do harm. `decommission` is only ever called
//! from [`Next::Start`]: the node NORMAL, no call of the pilot's own in flight or remembered,
//! and the safety check passing on fresh replication settings and peer states. So a refused
//! decommission re-checks each time and starts once the keyspaces allow it (RF lowered, or
//! nodes added); a node LEAVING is never asked again (it reports progress, or the remembered
//! failure); DECOMMISSIONED is `Complete`. A failed call is reported once as `Failed`; when
//! the node is NORMAL again (nothing left in flight: what an operator would re-run
//! `nodetool decommission` on) it is then forgotten ([`after_report`]), so the next retry
//! checks safety and calls `decommission` again. While the node is LEAVING,
//! DECOMMISSION_FAILED, drained or not answering, the failure is kept and every retry reports
//! it unchanged: those need an operator (Cassandra resumes a DECOMMISSION_FAILED node's
//! decommission when asked again; the pilot does not do that by itself).

use crate::mode::OperationMode;
use crate::replication::{KeyspaceReplication, Strategy};

/// Replicated system keyspaces whose SimpleStrategy default is not checked.
pub const UNCHECKED_SIMPLE_SYSTEM_KEYSPACES: &[&str] = &["system_distributed", "system_traces"];

/// Decides whether `node` (in datacenter `dc`) may leave when `remaining` nodes of `dc` would
/// stay up and NORMAL. `Err` carries a message naming every keyspace that blocks it.
pub fn check_safe(
    node: &str,
    dc: &str,
    remaining: usize,
    keyspaces: &[KeyspaceReplication],
) -> Result<(), String> {
    let blocking: Vec<String> = keyspaces
        .iter()
        .filter(|k| {
            !(matches!(k.strategy, Strategy::Simple { .. })
                && UNCHECKED_SIMPLE_SYSTEM_KEYSPACES.contains(&k.keyspace.as_str()))
        })
        .filter_map(|k| {
            let rf = k.strategy.replicas_in(dc);
            (usize::try_from(rf).unwrap_or(usize::MAX) > remaining).then(|| {
                format!(
                    "keyspace {:?} needs {rf} replicas in {dc} but only {remaining} {} would remain",
                    k.keyspace,
                    if remaining == 1 { "node" } else { "nodes" }
                )
            })
        })
        .collect();
    if blocking.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "cannot decommission {node}: {}",
            blocking.join("; ")
        ))
    }
}

/// The state of the pilot's own `decommission` call (it blocks until the node has left, so
/// it runs in a background task).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// Not called.
    NotStarted,
    /// Called, not returned yet.
    Running,
    /// Returned successfully.
    Returned,
    /// Returned an error.
    Failed(String),
}

/// What a `Decommissioned` request needs next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Check safety, then call `decommission`.
    Start,
    /// Not possible yet (the node is not NORMAL); say why.
    Pending(String),
    /// Under way.
    InProgress(String),
    /// The node has left the ring.
    Complete,
    /// It failed or cannot be done.
    Failed(String),
}

/// Decides the next step of a decommission from the node's mode (None: unknown, Cassandra is
/// not answering) and the state of the pilot's call.
pub fn next(mode: Option<&OperationMode>, call: &Call) -> Next {
    match (mode, call) {
        (Some(OperationMode::Decommissioned), _) => Next::Complete,
        (_, Call::Failed(msg)) => Next::Failed(format!("decommission failed: {msg}")),
        (Some(OperationMode::DecommissionFailed), _) => {
            Next::Failed("Cassandra reports DECOMMISSION_FAILED".into())
        }
        (Some(OperationMode::Leaving), _) => {
            Next::InProgress("leaving the ring: streaming its ranges to the remaining nodes".into())
        }
        (Some(OperationMode::Normal), Call::NotStarted) => Next::Start,
        (Some(OperationMode::Normal), Call::Running) => {
            Next::InProgress("decommission requested; waiting for the node to start leaving".into())
        }
        (Some(OperationMode::Normal), Call::Returned) => Next::InProgress(
            "decommission returned; waiting for the node to report DECOMMISSIONED".into(),
        ),
        (Some(m @ (OperationMode::Draining | OperationMode::Drained)), _) => Next::Failed(format!(
            "the node is {m}: a drained node cannot decommission; restart it first"
        )),
        (Some(m), Call::Running | Call::Returned) => {
            Next::InProgress(format!("decommission requested; the node is {m}"))
        }
        (
            Some(
                m @ (OperationMode::Starting
                | OperationMode::Joining
                | OperationMode::JoiningFailed
                | OperationMode::Moving
                | OperationMode::Other(_)),
            ),
            Call::NotStarted,
        ) => Next::Pending(format!(
            "waiting for the node to be NORMAL before decommissioning (it is {m})"
        )),
        (None, Call::Running | Call::Returned) => {
            Next::InProgress("decommission requested; Cassandra is not answering".into())
        }
        (None, Call::NotStarted) => {
            Next::Pending("waiting for Cassandra to answer before decommissioning".into())
        }
    }
}

/// The pilot's call once [`next`] has been reported for it: a failed call on a node that is
/// NORMAL again is forgotten, so that the next attempt (the runtime's retry of the `Failed`
/// operation) starts over with the safety check; anything else is kept.
pub fn after_report(mode: Option<&OperationMode>, call: &Call) -> Call {
    match (mode, call) {
        (Some(OperationMode::Normal), Call::Failed(_)) => Call::NotStarted,
        (_, call) => call.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn ks(name: &str, strategy: Strategy) -> KeyspaceReplication {
        KeyspaceReplication {
            keyspace: name.into(),
            strategy,
        }
    }

    fn nts(pairs: &[(&str, u32)]) -> Strategy {
        Strategy::NetworkTopology {
            per_dc: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn safety_names_every_blocking_keyspace() {
        let defaults = vec![
            ks("system_distributed", Strategy::Simple { rf: 3 }),
            ks("system_traces", Strategy::Simple { rf: 2 }),
            ks("system_auth", Strategy::Simple { rf: 1 }),
        ];
        let with = |extra: Vec<KeyspaceReplication>| {
            let mut v = defaults.clone();
            v.extend(extra);
            v
        };
        let cases = [
            (2, with(vec![]), Ok(())),
            (2, with(vec![ks("ks2", nts(&[("dc1", 2)]))]), Ok(())),
            (
                2,
                with(vec![ks("ks3", nts(&[("dc1", 3)]))]),
                Err(
                    r#"cannot decommission cass-2: keyspace "ks3" needs 3 replicas in dc1 but only 2 nodes would remain"#,
                ),
            ),
            // Another datacenter's replicas do not count here.
            (2, with(vec![ks("other", nts(&[("dc2", 5)]))]), Ok(())),
            (
                1,
                with(vec![
                    ks("a", nts(&[("dc1", 2), ("dc2", 3)])),
                    ks("b", Strategy::Simple { rf: 3 }),
                    ks("c", nts(&[("dc1", 1)])),
                ]),
                Err(
                    r#"cannot decommission cass-2: keyspace "a" needs 2 replicas in dc1 but only 1 node would remain; keyspace "b" needs 3 replicas in dc1 but only 1 node would remain"#,
                ),
            ),
            // The last node of a datacenter holding replicas.
            (
                0,
                with(vec![]),
                Err(
                    r#"cannot decommission cass-2: keyspace "system_auth" needs 1 replicas in dc1 but only 0 nodes would remain"#,
                ),
            ),
            // system_distributed moved to NTS by the user is checked.
            (
                2,
                vec![ks("system_distributed", nts(&[("dc1", 3)]))],
                Err(
                    r#"cannot decommission cass-2: keyspace "system_distributed" needs 3 replicas in dc1 but only 2 nodes would remain"#,
                ),
            ),
            (5, vec![ks("local", Strategy::Local)], Ok(())),
        ];
        for (remaining, keyspaces, want) in cases {
            assert_eq!(
                check_safe("cass-2", "dc1", remaining, &keyspaces),
                want.map_err(str::to_owned),
                "remaining {remaining}"
            );
        }
    }

    #[test]
    fn next_step_follows_the_operation_mode() {
        use OperationMode as M;
        let fail = Call::Failed("boom".into());
        let cases: Vec<(Option<M>, Call, Next)> = vec![
            (Some(M::Normal), Call::NotStarted, Next::Start),
            (
                Some(M::Normal),
                Call::Running,
                Next::InProgress(
                    "decommission requested; waiting for the node to start leaving".into(),
                ),
            ),
            (
                Some(M::Leaving),
                Call::Running,
                Next::InProgress(
                    "leaving the ring: streaming its ranges to the remaining nodes".into(),
                ),
            ),
            // A pilot restarted while the node was leaving finds it LEAVING with no call.
            (
                Some(M::Leaving),
                Call::NotStarted,
                Next::InProgress(
                    "leaving the ring: streaming its ranges to the remaining nodes".into(),
                ),
            ),
            (Some(M::Decommissioned), Call::Running, Next::Complete),
            (Some(M::Decommissioned), Call::NotStarted, Next::Complete),
            (Some(M::Decommissioned), fail.clone(), Next::Complete),
            (
                Some(M::Normal),
                fail.clone(),
                Next::Failed("decommission failed: boom".into()),
            ),
            (
                Some(M::DecommissionFailed),
                Call::Returned,
                Next::Failed("Cassandra reports DECOMMISSION_FAILED".into()),
            ),
            (
                Some(M::Joining),
                Call::NotStarted,
                Next::Pending(
                    "waiting for the node to be NORMAL before decommissioning (it is JOINING)"
                        .into(),
                ),
            ),
            (
                Some(M::Drained),
                Call::NotStarted,
                Next::Failed(
                    "the node is DRAINED: a drained node cannot decommission; restart it first"
                        .into(),
                ),
            ),
            (
                None,
                Call::NotStarted,
                Next::Pending("waiting for Cassandra to answer before decommissioning".into()),
            ),
            (
                None,
                Call::Running,
                Next::InProgress("decommission requested; Cassandra is not answering".into()),
            ),
        ];
        for (mode, call, want) in cases {
            assert_eq!(next(mode.as_ref(), &call), want, "{mode:?} {call:?}");
        }
    }

    #[test]
    fn a_reported_failure_is_forgotten_only_on_a_normal_node() {
        use OperationMode as M;
        let fail = Call::Failed("boom".into());
        let cases: Vec<(Option<M>, Call, Call)> = vec![
            // NORMAL again: the next retry checks safety and calls decommission again.
            (Some(M::Normal), fail.clone(), Call::NotStarted),
            // Still leaving, or stuck: the failure stays; a retry reports it, calls nothing.
            (Some(M::Leaving), fail.clone(), fail.clone()),
            (Some(M::DecommissionFailed), fail.clone(), fail.clone()),
            (Some(M::Drained), fail.clone(), fail.clone()),
            (None, fail.clone(), fail.clone()),
            // Nothing else changes.
            (Some(M::Normal), Call::NotStarted, Call::NotStarted),
            (Some(M::Normal), Call::Running, Call::Running),
            (Some(M::Leaving), Call::Returned, Call::Returned),
        ];
        for (mode, call, want) in cases {
            assert_eq!(
                after_report(mode.as_ref(), &call),
                want,
                "{mode:?} {call:?}"
            );
        }
    }
}
