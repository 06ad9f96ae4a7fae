//! Where this node is with its requested state, pure: the leader writes the exclusions, each
//! pilot watches its own node reach the state. A drain is complete when the node holds no
//! shard copy, or when every copy left is one the cluster cannot move that has a started copy
//! on a node that stays ([`crate::stuck`]).

use navigator_pilot::{Progress, RequestedState};

use crate::stuck::{self, Remaining};

/// What the pilot knows about its node for the requested state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    /// The node's name.
    pub name: String,
    /// Shards on the node; `None` when unknown.
    pub shards: Option<i64>,
    /// The node's name is in the allocation exclusion in effect.
    pub excluded: bool,
    /// The node is master-eligible and the flavour has voting exclusions (so `Decommissioned`
    /// needs one).
    pub needs_voting_exclusion: bool,
    /// The node's name is in the voting configuration exclusions.
    pub voting_excluded: bool,
    /// What the copies left on the node mean, when examined ([`examines`]).
    pub remaining: Option<Remaining>,
}

/// Whether the copies left on the node are to be examined for `requested`: a drain whose
/// node is excluded (and out of the voting configuration when it needs to be) and still holds
/// shards.
pub fn examines(requested: RequestedState, v: &NodeView) -> bool {
    let draining = matches!(
        requested,
        RequestedState::Drained | RequestedState::Decommissioned
    );
    let voting = requested == RequestedState::Decommissioned && v.needs_voting_exclusion;
    draining && v.excluded && (!voting || v.voting_excluded) && v.shards.is_some_and(|n| n > 0)
}

/// The progress towards `requested`; `None` for `view` when the node has not joined a cluster
/// (no master, or no answer).
pub fn progress(requested: RequestedState, view: Option<&NodeView>) -> Progress {
    let Some(v) = view else {
        return Progress::Pending("waiting for the node to join the cluster".into());
    };
    let name = &v.name;
    match requested {
        RequestedState::Running => {
            if v.excluded {
                Progress::InProgress(format!(
                    "waiting for the leader to remove {name} from the allocation exclusions"
                ))
            } else if v.voting_excluded {
                Progress::InProgress(format!(
                    "waiting for the leader to remove {name} from the voting configuration exclusions"
                ))
            } else {
                Progress::Complete(format!(
                    "{name} is not excluded from allocation: shards may be allocated to it"
                ))
            }
        }
        RequestedState::Drained | RequestedState::Decommissioned => {
            let shards = match v.shards {
                Some(n) => format!("{n} shards on {name}"),
                None => format!("shards on {name} unknown"),
            };
            if !v.excluded {
                return Progress::InProgress(format!(
                    "waiting for the leader to exclude {name} from allocation ({shards})"
                ));
            }
            let voting = requested == RequestedState::Decommissioned && v.needs_voting_exclusion;
            if voting && !v.voting_excluded {
                return Progress::InProgress(format!(
                    "excluded from allocation, {shards}; waiting for the leader to exclude {name} from the voting configuration"
                ));
            }
            let excluded = if voting {
                "excluded from allocation and from the voting configuration"
            } else {
                "excluded from allocation"
            };
            match (v.shards, &v.remaining) {
                (Some(0), _) => {
                    Progress::Complete(format!("{name} holds no shards and is {excluded}"))
                }
                (_, Some(Remaining::Stay(staying))) => Progress::Complete(format!(
                    "{name} is drained and {excluded}; {}",
                    stuck::stay_message(staying)
                )),
                (_, Some(Remaining::Blocked(blocked))) => Progress::InProgress(format!(
                    "excluded from allocation, {shards}: {}",
                    stuck::blocked_message(name, blocked)
                )),
                (_, Some(Remaining::Moving(Some(detail)))) => Progress::InProgress(format!(
                    "excluded from allocation, {shards}: moving them to other nodes ({detail})"
                )),
                (_, Some(Remaining::Moving(None)) | None) => Progress::InProgress(format!(
                    "excluded from allocation, {shards}: moving them to other nodes"
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn view(shards: Option<i64>, excluded: bool, master: bool, voting: bool) -> NodeView {
        NodeView {
            name: "es-1".into(),
            shards,
            excluded,
            needs_voting_exclusion: master,
            voting_excluded: voting,
            remaining: None,
        }
    }

    #[test]
    fn progress_table() {
        use RequestedState::*;
        let ip = |s: &str| Progress::InProgress(s.into());
        let done = |s: &str| Progress::Complete(s.into());
        let cases = [
            (
                Drained,
                None,
                Progress::Pending("waiting for the node to join the cluster".into()),
            ),
            (
                Drained,
                Some(view(Some(5), false, false, false)),
                ip("waiting for the leader to exclude es-1 from allocation (5 shards on es-1)"),
            ),
            (
                Drained,
                Some(view(Some(5), true, false, false)),
                ip("excluded from allocation, 5 shards on es-1: moving them to other nodes"),
            ),
            (
                Drained,
                Some(view(None, true, false, false)),
                ip("excluded from allocation, shards on es-1 unknown: moving them to other nodes"),
            ),
            (
                Drained,
                Some(view(Some(0), true, true, false)),
                done("es-1 holds no shards and is excluded from allocation"),
            ),
            (
                Drained,
                Some(view(Some(0), false, false, false)),
                ip("waiting for the leader to exclude es-1 from allocation (0 shards on es-1)"),
            ),
            (
                Decommissioned,
                Some(view(Some(0), true, true, false)),
                ip(
                    "excluded from allocation, 0 shards on es-1; waiting for the leader to exclude es-1 from the voting configuration",
                ),
            ),
            (
                Decommissioned,
                Some(view(Some(2), true, true, true)),
                ip("excluded from allocation, 2 shards on es-1: moving them to other nodes"),
            ),
            (
                Decommissioned,
                Some(view(Some(0), true, true, true)),
                done(
                    "es-1 holds no shards and is excluded from allocation and from the voting configuration",
                ),
            ),
            (
                Decommissioned,
                Some(view(Some(0), true, false, false)),
                done("es-1 holds no shards and is excluded from allocation"),
            ),
            (
                Running,
                Some(view(Some(0), true, false, false)),
                ip("waiting for the leader to remove es-1 from the allocation exclusions"),
            ),
            (
                Running,
                Some(view(Some(0), false, true, true)),
                ip(
                    "waiting for the leader to remove es-1 from the voting configuration exclusions",
                ),
            ),
            (
                Running,
                Some(view(Some(3), false, true, false)),
                done("es-1 is not excluded from allocation: shards may be allocated to it"),
            ),
            (
                Running,
                None,
                Progress::Pending("waiting for the node to join the cluster".into()),
            ),
        ];
        for (requested, v, want) in cases {
            assert_eq!(progress(requested, v.as_ref()), want, "{requested} {v:?}");
        }
    }

    #[test]
    fn progress_with_copies_left() {
        use crate::stuck::{Blocked, CopyKey, Staying};
        use RequestedState::*;
        let with = |shards: i64, master: bool, voting: bool, r: Option<Remaining>| NodeView {
            remaining: r,
            ..view(Some(shards), true, master, voting)
        };
        let key = |index: &str, primary: bool| CopyKey {
            index: index.into(),
            shard: 0,
            primary,
        };
        let stay = Remaining::Stay(vec![
            Staying {
                copy: key("r", true),
                elsewhere: vec!["es-0".into()],
            },
            Staying {
                copy: key("q", false),
                elsewhere: vec!["es-0".into()],
            },
        ]);
        let blocked = Remaining::Blocked(vec![Blocked {
            copy: key("s", true),
            leaving: vec![],
            why: "on es-0: [filter] no".into(),
        }]);
        let cases = [
            (
                Drained,
                with(2, false, false, Some(stay.clone())),
                Progress::Complete(
                    "es-1 is drained and excluded from allocation; 2 shard copies stay: no other node may hold them ([r][0] primary, [q][0] replica), each has a started copy on es-0".into(),
                ),
            ),
            (
                Decommissioned,
                with(2, true, true, Some(stay.clone())),
                Progress::Complete(
                    "es-1 is drained and excluded from allocation and from the voting configuration; 2 shard copies stay: no other node may hold them ([r][0] primary, [q][0] replica), each has a started copy on es-0".into(),
                ),
            ),
            (
                // Not before the voting exclusion, whatever was examined.
                Decommissioned,
                with(2, true, false, Some(stay.clone())),
                Progress::InProgress(
                    "excluded from allocation, 2 shards on es-1; waiting for the leader to exclude es-1 from the voting configuration".into(),
                ),
            ),
            (
                Drained,
                with(1, false, false, Some(blocked)),
                Progress::InProgress(
                    "excluded from allocation, 1 shards on es-1: [s][0] primary cannot leave es-1: it is the only started copy of its shard, and the cluster cannot move it (on es-0: [filter] no)".into(),
                ),
            ),
            (
                Drained,
                with(3, false, false, Some(Remaining::Moving(Some("2 shard copies relocating or initializing in the cluster".into())))),
                Progress::InProgress(
                    "excluded from allocation, 3 shards on es-1: moving them to other nodes (2 shard copies relocating or initializing in the cluster)".into(),
                ),
            ),
            (
                Drained,
                with(3, false, false, Some(Remaining::Moving(None))),
                Progress::InProgress(
                    "excluded from allocation, 3 shards on es-1: moving them to other nodes".into(),
                ),
            ),
            (
                // A stale examination never hides an empty node.
                Drained,
                with(0, false, false, Some(Remaining::Moving(None))),
                Progress::Complete("es-1 holds no shards and is excluded from allocation".into()),
            ),
        ];
        for (requested, v, want) in cases {
            assert_eq!(progress(requested, Some(&v)), want, "{requested} {v:?}");
        }
    }

    #[test]
    fn examines_only_a_drain_under_way() {
        use RequestedState::*;
        let cases = [
            (Drained, view(Some(2), true, false, false), true),
            (Drained, view(Some(0), true, false, false), false),
            (Drained, view(None, true, false, false), false),
            (Drained, view(Some(2), false, false, false), false),
            (Decommissioned, view(Some(2), true, true, false), false),
            (Decommissioned, view(Some(2), true, true, true), true),
            (Decommissioned, view(Some(2), true, false, false), true),
            (Drained, view(Some(2), true, true, false), true),
            (Running, view(Some(2), true, false, false), false),
        ];
        for (requested, v, want) in cases {
            assert_eq!(examines(requested, &v), want, "{requested} {v:?}");
        }
    }
}
