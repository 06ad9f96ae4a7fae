//! Where this node is with its requested state, pure: the leader writes the exclusions, each
//! pilot watches its own node reach the state.

use navigator_pilot::{Progress, RequestedState};

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
            match v.shards {
                Some(0) if voting => Progress::Complete(format!(
                    "{name} holds no shards and is excluded from allocation and from the voting configuration"
                )),
                Some(0) => Progress::Complete(format!(
                    "{name} holds no shards and is excluded from allocation"
                )),
                _ => Progress::InProgress(format!(
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
}
