//! The leader's voting configuration exclusions, pure (Elasticsearch 7+, OpenSearch): a
//! master-eligible node whose Pilot requests `Decommissioned` is excluded from the voting
//! configuration while it is in the cluster, so that removing it never costs the cluster its
//! quorum; once it has left (or the request is withdrawn) the exclusion is removed. The API
//! can only clear every exclusion at once, so removing one clears all and adds back the ones
//! still needed.

use std::collections::BTreeSet;

use crate::replies::{NodeInfo, VotingExclusion};
use crate::roles::reported_master_eligible;

/// What to do with the voting configuration exclusions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VotingAction {
    /// They are as they should be.
    Nothing,
    /// Add exclusions for these node names.
    Add(Vec<String>),
    /// Clear every exclusion (`wait_for_removal=false`), then add these again (maybe none).
    ClearThenAdd(Vec<String>),
}

/// The nodes that must be excluded: requested `Decommissioned`, in the cluster, and
/// master-eligible.
pub fn desired(decommissioning: &BTreeSet<String>, nodes: &[NodeInfo]) -> BTreeSet<String> {
    nodes
        .iter()
        .filter(|n| decommissioning.contains(&n.name) && reported_master_eligible(&n.roles))
        .map(|n| n.name.clone())
        .collect()
}

/// The action that turns `current` into `desired`.
pub fn action(current: &[VotingExclusion], desired: &BTreeSet<String>) -> VotingAction {
    let current_names: BTreeSet<String> = current.iter().map(|e| e.node_name.clone()).collect();
    let stale = current_names.iter().any(|n| !desired.contains(n));
    if stale {
        return VotingAction::ClearThenAdd(desired.iter().cloned().collect());
    }
    let missing: Vec<String> = desired
        .iter()
        .filter(|n| !current_names.contains(*n))
        .cloned()
        .collect();
    if missing.is_empty() {
        VotingAction::Nothing
    } else {
        VotingAction::Add(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn node(name: &str, roles: &[&str]) -> NodeInfo {
        NodeInfo {
            id: format!("id-{name}"),
            name: name.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            version: None,
        }
    }

    fn excl(name: &str) -> VotingExclusion {
        VotingExclusion {
            node_id: format!("id-{name}"),
            node_name: name.into(),
        }
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn desired_exclusions() {
        let nodes = [
            node("m0", &["cluster_manager", "data"]),
            node("m1", &["master"]),
            node("d0", &["data"]),
        ];
        assert_eq!(
            desired(&set(&["m0", "m1", "d0", "gone"]), &nodes),
            set(&["m0", "m1"])
        );
        assert_eq!(desired(&set(&[]), &nodes), set(&[]));
    }

    #[test]
    fn a_withdrawn_decommission_removes_the_exclusion_while_the_node_is_still_there() {
        // m2 was excluded while it was requested Decommissioned; the request went back to
        // Running (or unset) and m2 is still in the cluster: its exclusion is cleared.
        let nodes = [
            node("m0", &["cluster_manager", "data"]),
            node("m1", &["cluster_manager", "data"]),
            node("m2", &["cluster_manager", "data"]),
        ];
        let want = desired(&set(&[]), &nodes);
        assert_eq!(want, set(&[]));
        assert_eq!(
            action(&[excl("m2")], &want),
            VotingAction::ClearThenAdd(vec![])
        );
        // With another master-eligible node still leaving, only m2's goes.
        let want = desired(&set(&["m1"]), &nodes);
        assert_eq!(
            action(&[excl("m1"), excl("m2")], &want),
            VotingAction::ClearThenAdd(vec!["m1".to_owned()])
        );
    }

    #[test]
    fn actions() {
        let s = |v: &[&str]| v.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let cases = [
            ("none", vec![], set(&[]), VotingAction::Nothing),
            ("add", vec![], set(&["m2"]), VotingAction::Add(s(&["m2"]))),
            (
                "in place",
                vec![excl("m2")],
                set(&["m2"]),
                VotingAction::Nothing,
            ),
            (
                "add a second",
                vec![excl("m2")],
                set(&["m1", "m2"]),
                VotingAction::Add(s(&["m1"])),
            ),
            (
                "node left",
                vec![excl("m2")],
                set(&[]),
                VotingAction::ClearThenAdd(vec![]),
            ),
            (
                "one left, one still needed",
                vec![excl("m1"), excl("m2")],
                set(&["m1"]),
                VotingAction::ClearThenAdd(s(&["m1"])),
            ),
        ];
        for (name, current, want_set, want) in cases {
            assert_eq!(action(&current, &want_set), want, "{name}");
        }
    }
}
