//! Readiness and liveness of a Cassandra node, from what Jolokia answered.

use crate::mode::OperationMode;

/// Ready: the node is NORMAL and its native transport (CQL) is running.
pub fn ready(mode: Option<&OperationMode>, native_transport_running: Option<bool>) -> bool {
    matches!(mode, Some(OperationMode::Normal)) && native_transport_running == Some(true)
}

/// Alive: Jolokia, inside the JVM, answered within the probe's timeout. A frozen JVM
/// (SIGSTOP, a long GC pause beyond the timeout, a deadlock of the agent's threads) does not.
pub fn alive(jolokia_answered: bool) -> bool {
    jolokia_answered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_needs_normal_and_cql() {
        use OperationMode as M;
        let cases = [
            (Some(M::Normal), Some(true), true),
            (Some(M::Normal), Some(false), false),
            (Some(M::Normal), None, false),
            (Some(M::Joining), Some(true), false),
            (Some(M::Leaving), Some(true), false),
            (Some(M::Drained), Some(false), false),
            (None, Some(true), false),
        ];
        for (mode, cql, want) in cases {
            assert_eq!(ready(mode.as_ref(), cql), want, "{mode:?} {cql:?}");
        }
    }

    #[test]
    fn alive_is_jolokia_answering() {
        assert!(alive(true));
        assert!(!alive(false));
    }
}
