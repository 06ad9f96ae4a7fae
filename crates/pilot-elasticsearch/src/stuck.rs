//! Shard copies that can never leave a draining node, pure.
//!
//! A node excluded from allocation drains as the cluster moves its shard copies away. A copy
//! with nowhere to go stays for ever: e.g. two data nodes, an index with one replica, one node
//! drained — the same-shard decider forbids both copies on the other node. Such a drain is
//! still complete when every copy left on the node is one the cluster itself says it cannot
//! move (an allocation explain with `can_remain_on_current_node: no`,
//! `can_move_to_other_node: no` and every other node's decision `no`) **and** that has another
//! `STARTED` copy of the same shard on a node that stays (not excluded): removing the node
//! then loses redundancy (the cluster goes yellow), never data. A primary counts too (its
//! started replica is promoted when the node leaves). A copy without such a started copy
//! elsewhere never counts: the drain waits, naming the copy and the cluster's reason.
//!
//! Nothing is decided while any copy in the cluster relocates or initialises. The thin layer
//! (the adapter) examines only every [`EXAMINE_INTERVAL`], and only once the node's shard count
//! stayed the same for an observation ([`Examination`]), with at most [`EXPLAIN_LIMIT`]
//! allocation explains per pass.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

use crate::replies::{Explain, ShardCopy};

/// At most this many allocation explains per pass.
pub const EXPLAIN_LIMIT: usize = 20;
/// At most one pass per this interval (between passes the last result stands).
pub const EXAMINE_INTERVAL: Duration = Duration::from_secs(5);
/// An explain's verdict is used for this long, then asked again.
pub const VERDICT_TTL: Duration = Duration::from_secs(60);
/// At most this many copies are named in a message.
const NAMED: usize = 10;
/// At most this many characters of the cluster's reason in a message.
const REASON_CHARS: usize = 400;

/// One copy of a shard (a node holds at most one copy of a shard).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CopyKey {
    /// The index.
    pub index: String,
    /// The shard number.
    pub shard: u32,
    /// The primary (else a replica).
    pub primary: bool,
}

impl CopyKey {
    /// The key of a listed copy.
    pub fn of(copy: &ShardCopy) -> Self {
        Self {
            index: copy.index.clone(),
            shard: copy.shard,
            primary: copy.primary,
        }
    }
}

impl fmt::Display for CopyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.primary { "primary" } else { "replica" };
        write!(f, "[{}][{}] {kind}", self.index, self.shard)
    }
}

/// A copy that stays on the drained node, and the nodes that stay with a started copy of its
/// shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staying {
    /// The copy.
    pub copy: CopyKey,
    /// Nodes that stay and hold a started copy of the same shard (sorted).
    pub elsewhere: Vec<String>,
}

/// A copy the cluster cannot move that has no started copy on a node that stays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocked {
    /// The copy.
    pub copy: CopyKey,
    /// Nodes that leave too and hold a started copy of the same shard (sorted; empty: the
    /// only started copy).
    pub leaving: Vec<String>,
    /// Why the cluster cannot move it (from its allocation explain).
    pub why: String,
}

/// What the copies left on a drained node mean for the drain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Remaining {
    /// Shards still move (or the copies are not examined yet): wait. A detail, if any.
    Moving(Option<String>),
    /// Every copy left stays, each with a started copy on a node that stays: drained.
    Stay(Vec<Staying>),
    /// Copies that can neither move nor be left behind: wait, naming them.
    Blocked(Vec<Blocked>),
}

/// The next step of a pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Ask the cluster about these copies (at most the limit), then decide again.
    Explain(Vec<CopyKey>),
    /// Decided.
    Done(Remaining),
}

/// The decider that refuses every allocation while `cluster.routing.allocation.enable` is
/// `primaries`, `new_primaries` or `none` (e.g. paused for a node's restart): its `NO` is for
/// now, not for good.
pub const ENABLE_DECIDER: &str = "enable";

fn paused(e: &Explain) -> Option<String> {
    let tag = format!("[{ENABLE_DECIDER}]");
    e.nodes.iter().find_map(|n| {
        n.reasons
            .iter()
            .find(|r| r.starts_with(&tag))
            .map(|r| format!("on {}: {r}", n.node))
    })
}

/// Whether an allocation explain says the copy can neither remain nor move: `started`,
/// `can_remain_on_current_node: no`, `can_move_to_other_node: no`, and no other node says
/// anything but `no` (a throttled move also reports `can_move_to_other_node: no`, with the
/// node's decision `throttled`), none of them because allocation is disabled for now
/// ([`ENABLE_DECIDER`]).
pub fn cannot_move(e: &Explain) -> bool {
    e.current_state.eq_ignore_ascii_case("started")
        && e.can_remain.eq_ignore_ascii_case("no")
        && e.can_move
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("no"))
        && e.nodes
            .iter()
            .all(|n| n.decision.eq_ignore_ascii_case("no"))
        && paused(e).is_none()
}

fn clip(text: &str) -> String {
    if text.chars().count() <= REASON_CHARS {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(REASON_CHARS).collect();
        s.push('…');
        s
    }
}

/// The cluster's reason a copy cannot move, from its allocation explain: every other node's
/// refusing deciders (or the move explanation when no other node holds data).
pub fn why(e: &Explain) -> String {
    let per_node: Vec<String> = e
        .nodes
        .iter()
        .map(|n| {
            let reasons = if n.reasons.is_empty() {
                n.decision.clone()
            } else {
                n.reasons.join(", ")
            };
            format!("on {}: {reasons}", n.node)
        })
        .collect();
    if per_node.is_empty() {
        clip(&format!("no other node may hold it: {}", e.explanation))
    } else {
        clip(&per_node.join("; "))
    }
}

/// Why a copy is not one that cannot move: it may remain, it is not started, a move waits
/// for a throttle, allocation is disabled for now, or it can move.
fn movable(key: &CopyKey, e: &Explain) -> String {
    let text = if !e.current_state.eq_ignore_ascii_case("started") {
        format!("{key} is {}", e.current_state)
    } else if !e.can_remain.eq_ignore_ascii_case("no") {
        format!("{key} may remain on its node: {}", e.explanation)
    } else if let Some(n) = e
        .nodes
        .iter()
        .find(|n| n.decision.eq_ignore_ascii_case("throttled"))
    {
        format!("{key} waits for a throttled move to {}", n.node)
    } else if let Some(reason) = paused(e) {
        format!("{key} waits for allocation to be enabled ({reason})")
    } else {
        format!("{key} can move: {}", e.explanation)
    };
    clip(&text)
}

fn moving(state: &str) -> bool {
    state.eq_ignore_ascii_case("RELOCATING") || state.eq_ignore_ascii_case("INITIALIZING")
}

/// The next step of a pass for node `node`: `copies` is every copy of the cluster
/// (`_cat/shards`), `leaving` the nodes excluded from allocation, `verdicts` the allocation
/// explains at hand (of copies on `node`), `limit` the explains allowed now.
pub fn step(
    node: &str,
    copies: &[ShardCopy],
    leaving: &BTreeSet<String>,
    verdicts: &BTreeMap<CopyKey, Explain>,
    limit: usize,
) -> Step {
    let busy = copies.iter().filter(|c| moving(&c.state)).count();
    if busy > 0 {
        return Step::Done(Remaining::Moving(Some(format!(
            "{busy} shard copies relocating or initializing in the cluster"
        ))));
    }
    let started = |c: &&ShardCopy| c.state.eq_ignore_ascii_case("STARTED");
    let mut here: Vec<CopyKey> = copies
        .iter()
        .filter(started)
        .filter(|c| c.node.as_deref() == Some(node))
        .map(CopyKey::of)
        .collect();
    here.sort();
    here.dedup();
    if here.is_empty() {
        return Step::Done(Remaining::Moving(Some(format!(
            "no started shard copy listed on {node}"
        ))));
    }
    for key in &here {
        if let Some(e) = verdicts.get(key)
            && !cannot_move(e)
        {
            return Step::Done(Remaining::Moving(Some(movable(key, e))));
        }
    }
    // For each copy: the other nodes with a started copy of its shard, staying or leaving.
    let others = |key: &CopyKey| -> (Vec<String>, Vec<String>) {
        let mut nodes: Vec<&str> = copies
            .iter()
            .filter(started)
            .filter(|c| c.index == key.index && c.shard == key.shard)
            .filter_map(|c| c.node.as_deref())
            .filter(|n| *n != node)
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        let (stay, leave): (Vec<&str>, Vec<&str>) =
            nodes.into_iter().partition(|n| !leaving.contains(*n));
        (
            stay.into_iter().map(str::to_owned).collect(),
            leave.into_iter().map(str::to_owned).collect(),
        )
    };
    let classified: Vec<(CopyKey, Vec<String>, Vec<String>)> = here
        .into_iter()
        .map(|k| {
            let (stay, leave) = others(&k);
            (k, stay, leave)
        })
        .collect();
    let blocked: Vec<Blocked> = classified
        .iter()
        .filter(|(_, stay, _)| stay.is_empty())
        .filter_map(|(k, _, leave)| {
            verdicts.get(k).map(|e| Blocked {
                copy: k.clone(),
                leaving: leave.clone(),
                why: why(e),
            })
        })
        .collect();
    if !blocked.is_empty() {
        return Step::Done(Remaining::Blocked(blocked));
    }
    // Ask first about the copies that would block (their reason is the message).
    let mut missing: Vec<&(CopyKey, Vec<String>, Vec<String>)> = classified
        .iter()
        .filter(|(k, _, _)| !verdicts.contains_key(k))
        .collect();
    missing.sort_by_key(|(_, stay, _)| !stay.is_empty());
    if !missing.is_empty() {
        if limit == 0 {
            return Step::Done(Remaining::Moving(Some(format!(
                "{} shard copies left on {node} not examined yet",
                missing.len()
            ))));
        }
        return Step::Explain(
            missing
                .into_iter()
                .take(limit)
                .map(|(k, _, _)| k.clone())
                .collect(),
        );
    }
    Step::Done(Remaining::Stay(
        classified
            .into_iter()
            .map(|(copy, elsewhere, _)| Staying { copy, elsewhere })
            .collect(),
    ))
}

fn named<T>(items: &[T], show: impl Fn(&T) -> String) -> String {
    let mut parts: Vec<String> = items.iter().take(NAMED).map(show).collect();
    if items.len() > NAMED {
        parts.push(format!("{} more", items.len() - NAMED));
    }
    parts.join(", ")
}

/// The message part saying which copies stay and where their data is:
/// "2 shard copies stay: no other node may hold them ([r][0] primary, [r][1] replica), each
/// has a started copy on es-0".
pub fn stay_message(staying: &[Staying]) -> String {
    let n = staying.len();
    let list = named(staying, |s| s.copy.to_string());
    let (head, them) = if n == 1 {
        ("1 shard copy stays".to_owned(), "it")
    } else {
        (format!("{n} shard copies stay"), "them")
    };
    let nodes: BTreeSet<&Vec<String>> = staying.iter().map(|s| &s.elsewhere).collect();
    let where_ = match nodes.into_iter().collect::<Vec<_>>().as_slice() {
        [one] if n == 1 => format!("it has a started copy on {}", one.join(", ")),
        [one] => format!("each has a started copy on {}", one.join(", ")),
        _ => format!(
            "each has a started copy on another node ({})",
            named(staying, |s| format!(
                "{}: {}",
                s.copy,
                s.elsewhere.join(", ")
            ))
        ),
    };
    format!("{head}: no other node may hold {them} ({list}), {where_}")
}

/// The message part naming the copies that block the drain and why.
pub fn blocked_message(node: &str, blocked: &[Blocked]) -> String {
    let Some(first) = blocked.first() else {
        return String::new();
    };
    let copies = if first.leaving.is_empty() {
        "it is the only started copy of its shard".to_owned()
    } else {
        format!(
            "its other started copies are on nodes that leave too ({})",
            first.leaving.join(", ")
        )
    };
    let mut m = format!(
        "{} cannot leave {node}: {copies}, and the cluster cannot move it ({})",
        first.copy, first.why
    );
    if blocked.len() > 1 {
        m.push_str(&format!(
            "; likewise {}",
            named(&blocked[1..], |b| b.copy.to_string())
        ));
    }
    m
}

/// What the adapter remembers between observations about the copies left on its node.
#[derive(Clone, Debug, Default)]
pub struct Examination {
    count: Option<i64>,
    last_pass: Option<Instant>,
    last: Option<Remaining>,
    verdicts: BTreeMap<CopyKey, (Instant, Explain)>,
}

/// Whether to run a pass now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Due {
    /// Run a pass.
    Now,
    /// Not now: this result stands.
    Later(Remaining),
}

impl Examination {
    /// Forgets everything (the request changed, or the node is not draining).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Whether a pass is due at `now` with `shards` on the node: not when the count changed
    /// since the last observation (shards are moving), nor within [`EXAMINE_INTERVAL`] of the
    /// last pass (its result stands).
    pub fn due(&mut self, shards: i64, now: Instant) -> Due {
        if self.count != Some(shards) {
            self.reset();
            self.count = Some(shards);
            return Due::Later(Remaining::Moving(None));
        }
        match (self.last_pass, &self.last) {
            (Some(t), Some(last)) if now.saturating_duration_since(t) < EXAMINE_INTERVAL => {
                Due::Later(last.clone())
            }
            _ => Due::Now,
        }
    }

    /// The verdicts at hand at `now` (older ones than [`VERDICT_TTL`] are dropped).
    pub fn verdicts(&mut self, now: Instant) -> BTreeMap<CopyKey, Explain> {
        self.verdicts
            .retain(|_, (t, _)| now.saturating_duration_since(*t) < VERDICT_TTL);
        self.verdicts
            .iter()
            .map(|(k, (_, e))| (k.clone(), e.clone()))
            .collect()
    }

    /// Remembers a verdict asked at `now`, when it says the copy cannot move (a copy that
    /// can move is asked about again at the next pass).
    pub fn verdict(&mut self, key: CopyKey, explain: Explain, now: Instant) {
        if cannot_move(&explain) {
            self.verdicts.insert(key, (now, explain));
        }
    }

    /// Forgets every verdict (shards move in the cluster: where a copy may go can change).
    pub fn forget_verdicts(&mut self) {
        self.verdicts.clear();
    }

    /// The result of the last pass.
    pub fn last(&self) -> Option<&Remaining> {
        self.last.as_ref()
    }

    /// Remembers the result of the pass at `now` and returns it.
    pub fn passed(&mut self, result: Remaining, now: Instant) -> Remaining {
        self.last_pass = Some(now);
        self.last = Some(result.clone());
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replies::NodeDecision;
    use pretty_assertions::assert_eq;

    fn copy(index: &str, shard: u32, primary: bool, state: &str, node: Option<&str>) -> ShardCopy {
        ShardCopy {
            index: index.into(),
            shard,
            primary,
            state: state.into(),
            node: node.map(str::to_owned),
        }
    }

    fn key(index: &str, shard: u32, primary: bool) -> CopyKey {
        CopyKey {
            index: index.into(),
            shard,
            primary,
        }
    }

    fn explain(remain: &str, can_move: Option<&str>, nodes: &[(&str, &str, &str)]) -> Explain {
        Explain {
            current_state: "started".into(),
            can_remain: remain.into(),
            can_move: can_move.map(str::to_owned),
            explanation: "cannot move shard to another node, even though it is not allowed to remain on its current node".into(),
            remain_reasons: vec!["[filter] node matches cluster setting [cluster.routing.allocation.exclude] filters [_name:\"es-1\"]".into()],
            nodes: nodes
                .iter()
                .map(|(n, d, r)| NodeDecision {
                    node: (*n).into(),
                    decision: (*d).into(),
                    reasons: vec![(*r).into()],
                })
                .collect(),
        }
    }

    const SAME: &str = "[same_shard] a copy of this shard is already allocated to this node";
    const REQUIRE: &str = "[filter] node does not match index setting [index.routing.allocation.require] filters [_name:\"es-1\"]";

    fn stuck_same() -> Explain {
        explain("no", Some("no"), &[("es-0", "no", SAME)])
    }

    #[test]
    fn cannot_move_only_when_the_cluster_says_so() {
        let cases = [
            (stuck_same(), true),
            (explain("no", Some("no"), &[]), true),
            (explain("no", Some("yes"), &[("es-0", "yes", "")]), false),
            // A throttled move says `can_move_to_other_node: no`, the node `throttled`.
            (
                explain(
                    "no",
                    Some("no"),
                    &[("es-0", "throttled", "[throttling] reached the limit")],
                ),
                false,
            ),
            (
                explain("no", Some("no"), &[("es-0", "worse_balance", "")]),
                false,
            ),
            (explain("yes", None, &[]), false),
            // Allocation paused (a restart elsewhere): not for good.
            (
                explain(
                    "no",
                    Some("no"),
                    &[(
                        "es-0",
                        "no",
                        "[enable] replica allocations are forbidden due to cluster setting [cluster.routing.allocation.enable=primaries]",
                    )],
                ),
                false,
            ),
            (
                Explain {
                    current_state: "relocating".into(),
                    ..stuck_same()
                },
                false,
            ),
        ];
        for (e, want) in cases {
            assert_eq!(cannot_move(&e), want, "{e:?}");
        }
    }

    #[test]
    fn step_table() {
        let leaving: BTreeSet<String> = ["es-1".to_owned()].into();
        let leaving_two: BTreeSet<String> = ["es-1".to_owned(), "es-2".to_owned()].into();
        let none: BTreeMap<CopyKey, Explain> = BTreeMap::new();
        // Two nodes, index r with 1 replica: one copy of each shard on each node.
        let pair = vec![
            copy("r", 0, true, "STARTED", Some("es-1")),
            copy("r", 0, false, "STARTED", Some("es-0")),
            copy("r", 1, true, "STARTED", Some("es-0")),
            copy("r", 1, false, "STARTED", Some("es-1")),
        ];
        let both_stuck: BTreeMap<CopyKey, Explain> = [
            (key("r", 0, true), stuck_same()),
            (key("r", 1, false), stuck_same()),
        ]
        .into();
        let mut relocating = pair.clone();
        relocating.push(copy(
            "t",
            0,
            true,
            "RELOCATING",
            Some("es-1 -> 10.0.0.1 x es-0"),
        ));
        let mut initializing = pair.clone();
        initializing.push(copy("t", 0, false, "INITIALIZING", Some("es-2")));
        // Index s: 0 replicas, its only copy on es-1.
        let mut alone = pair.clone();
        alone.push(copy("s", 0, true, "STARTED", Some("es-1")));
        let alone_stuck: BTreeMap<CopyKey, Explain> = [(
            key("s", 0, true),
            explain("no", Some("no"), &[("es-0", "no", REQUIRE)]),
        )]
        .into();
        // A replica whose other copy is unassigned: the only started copy.
        let lone_replica = vec![
            copy("u", 0, true, "UNASSIGNED", None),
            copy("u", 0, false, "STARTED", Some("es-1")),
        ];
        // The other copy on a node that leaves too.
        let with_leaving = vec![
            copy("r", 0, true, "STARTED", Some("es-1")),
            copy("r", 0, false, "STARTED", Some("es-2")),
        ];
        let r0: BTreeMap<CopyKey, Explain> = [(key("r", 0, true), stuck_same())].into();
        let lone_stuck: BTreeMap<CopyKey, Explain> = [(key("u", 0, false), stuck_same())].into();
        let movable: BTreeMap<CopyKey, Explain> = [
            (key("r", 0, true), stuck_same()),
            (
                key("r", 1, false),
                explain(
                    "no",
                    Some("no"),
                    &[("es-0", "throttled", "[throttling] limit")],
                ),
            ),
        ]
        .into();
        let many: Vec<ShardCopy> = (0..25)
            .flat_map(|i| {
                [
                    copy("m", i, true, "STARTED", Some("es-1")),
                    copy("m", i, false, "STARTED", Some("es-0")),
                ]
            })
            .collect();
        let half: BTreeMap<CopyKey, Explain> =
            (0..20).map(|i| (key("m", i, true), stuck_same())).collect();

        type Case<'a> = (
            &'a str,
            &'a [ShardCopy],
            &'a BTreeSet<String>,
            &'a BTreeMap<CopyKey, Explain>,
            Step,
        );
        let cases: Vec<Case<'_>> = vec![
            (
                "nothing explained yet: ask about both copies",
                &pair,
                &leaving,
                &none,
                Step::Explain(vec![key("r", 0, true), key("r", 1, false)]),
            ),
            (
                "both stuck, each with a started copy on es-0: they stay",
                &pair,
                &leaving,
                &both_stuck,
                Step::Done(Remaining::Stay(vec![
                    Staying {
                        copy: key("r", 0, true),
                        elsewhere: vec!["es-0".into()],
                    },
                    Staying {
                        copy: key("r", 1, false),
                        elsewhere: vec!["es-0".into()],
                    },
                ])),
            ),
            (
                "a relocating copy anywhere: wait",
                &relocating,
                &leaving,
                &both_stuck,
                Step::Done(Remaining::Moving(Some(
                    "1 shard copies relocating or initializing in the cluster".into(),
                ))),
            ),
            (
                "an initializing copy anywhere: wait",
                &initializing,
                &leaving,
                &both_stuck,
                Step::Done(Remaining::Moving(Some(
                    "1 shard copies relocating or initializing in the cluster".into(),
                ))),
            ),
            (
                "a throttled move is no stuck copy",
                &pair,
                &leaving,
                &movable,
                Step::Done(Remaining::Moving(Some(
                    "[r][1] replica waits for a throttled move to es-0".into(),
                ))),
            ),
            (
                "the only copy of s is asked about first",
                &alone,
                &leaving,
                &none,
                Step::Explain(vec![
                    key("s", 0, true),
                    key("r", 0, true),
                    key("r", 1, false),
                ]),
            ),
            (
                "the only copy of s cannot move: blocked, before asking about the rest",
                &alone,
                &leaving,
                &alone_stuck,
                Step::Done(Remaining::Blocked(vec![Blocked {
                    copy: key("s", 0, true),
                    leaving: vec![],
                    why: format!("on es-0: {REQUIRE}"),
                }])),
            ),
            (
                "a replica whose primary is unassigned is the only started copy",
                &lone_replica,
                &leaving,
                &lone_stuck,
                Step::Done(Remaining::Blocked(vec![Blocked {
                    copy: key("u", 0, false),
                    leaving: vec![],
                    why: format!("on es-0: {SAME}"),
                }])),
            ),
            (
                "the other copy is on a node that leaves too",
                &with_leaving,
                &leaving_two,
                &r0,
                Step::Done(Remaining::Blocked(vec![Blocked {
                    copy: key("r", 0, true),
                    leaving: vec!["es-2".into()],
                    why: format!("on es-0: {SAME}"),
                }])),
            ),
            (
                "the same copy with es-2 staying: it stays",
                &with_leaving,
                &leaving,
                &r0,
                Step::Done(Remaining::Stay(vec![Staying {
                    copy: key("r", 0, true),
                    elsewhere: vec!["es-2".into()],
                }])),
            ),
            (
                "no started copy listed on the node (the count was stale)",
                &pair[1..3],
                &leaving,
                &none,
                Step::Done(Remaining::Moving(Some(
                    "no started shard copy listed on es-1".into(),
                ))),
            ),
            (
                "25 copies: the first 20 asked about",
                &many,
                &leaving,
                &none,
                Step::Explain((0..20).map(|i| key("m", i, true)).collect()),
            ),
            (
                "25 copies, 20 known: the other 5",
                &many,
                &leaving,
                &half,
                Step::Explain((20..25).map(|i| key("m", i, true)).collect()),
            ),
        ];
        for (name, copies, leaving, verdicts, want) in cases {
            assert_eq!(
                step("es-1", copies, leaving, verdicts, EXPLAIN_LIMIT),
                want,
                "{name}"
            );
        }
        assert_eq!(
            step("es-1", &pair, &leaving, &none, 0),
            Step::Done(Remaining::Moving(Some(
                "2 shard copies left on es-1 not examined yet".into()
            )))
        );
    }

    #[test]
    fn messages() {
        let stay = |k: CopyKey, on: &[&str]| Staying {
            copy: k,
            elsewhere: on.iter().map(|s| (*s).to_owned()).collect(),
        };
        assert_eq!(
            stay_message(&[stay(key("r", 0, true), &["es-0"])]),
            "1 shard copy stays: no other node may hold it ([r][0] primary), it has a started copy on es-0"
        );
        assert_eq!(
            stay_message(&[
                stay(key("r", 0, true), &["es-0"]),
                stay(key("r", 1, false), &["es-0"])
            ]),
            "2 shard copies stay: no other node may hold them ([r][0] primary, [r][1] replica), each has a started copy on es-0"
        );
        assert_eq!(
            stay_message(&[
                stay(key("r", 0, true), &["es-0"]),
                stay(key("r", 1, false), &["es-0", "es-2"])
            ]),
            "2 shard copies stay: no other node may hold them ([r][0] primary, [r][1] replica), each has a started copy on another node ([r][0] primary: es-0, [r][1] replica: es-0, es-2)"
        );
        let eleven: Vec<Staying> = (0..11)
            .map(|i| stay(key("m", i, true), &["es-0"]))
            .collect();
        assert!(
            stay_message(&eleven).contains("[m][9] primary, 1 more), each has"),
            "{}",
            stay_message(&eleven)
        );
        let b = |k: CopyKey, leaving: &[&str]| Blocked {
            copy: k,
            leaving: leaving.iter().map(|s| (*s).to_owned()).collect(),
            why: format!("on es-0: {REQUIRE}"),
        };
        assert_eq!(
            blocked_message("es-1", &[b(key("s", 0, true), &[])]),
            format!(
                "[s][0] primary cannot leave es-1: it is the only started copy of its shard, and the cluster cannot move it (on es-0: {REQUIRE})"
            )
        );
        assert_eq!(
            blocked_message(
                "es-1",
                &[b(key("s", 0, true), &["es-2"]), b(key("s", 1, false), &[])]
            ),
            format!(
                "[s][0] primary cannot leave es-1: its other started copies are on nodes that leave too (es-2), and the cluster cannot move it (on es-0: {REQUIRE}); likewise [s][1] replica"
            )
        );
        assert_eq!(
            why(&explain("no", Some("no"), &[])),
            "no other node may hold it: cannot move shard to another node, even though it is not allowed to remain on its current node"
        );
        let k = key("r", 0, false);
        let cases = [
            (
                Explain {
                    current_state: "relocating".into(),
                    ..stuck_same()
                },
                "[r][0] replica is relocating",
            ),
            (
                Explain {
                    explanation: "rebalancing is not allowed".into(),
                    ..explain("yes", None, &[])
                },
                "[r][0] replica may remain on its node: rebalancing is not allowed",
            ),
            (
                explain(
                    "no",
                    Some("no"),
                    &[("es-0", "no", "[enable] replica allocations are forbidden")],
                ),
                "[r][0] replica waits for allocation to be enabled (on es-0: [enable] replica allocations are forbidden)",
            ),
            (
                Explain {
                    explanation: "shard can be moved".into(),
                    ..explain("no", Some("yes"), &[("es-0", "yes", "")])
                },
                "[r][0] replica can move: shard can be moved",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(movable(&k, &e), want);
        }
        let long = explain("no", Some("no"), &[("es-0", "no", &"x".repeat(500))]);
        assert_eq!(why(&long).chars().count(), REASON_CHARS + 1);
    }

    #[test]
    fn examination_paces_the_passes() {
        let t0 = Instant::now();
        let mut ex = Examination::default();
        // A new count: not now (shards are moving).
        assert_eq!(ex.due(4, t0), Due::Later(Remaining::Moving(None)));
        // The same count at the next observation: a pass.
        assert_eq!(ex.due(4, t0 + Duration::from_secs(1)), Due::Now);
        let t1 = t0 + Duration::from_secs(1);
        ex.verdict(key("r", 0, true), stuck_same(), t1);
        let blocked = Remaining::Blocked(vec![]);
        assert_eq!(ex.passed(blocked.clone(), t1), blocked);
        assert_eq!(ex.last(), Some(&blocked));
        // Within the interval the last result stands; after it, a pass.
        assert_eq!(
            ex.due(4, t1 + Duration::from_secs(2)),
            Due::Later(blocked.clone())
        );
        assert_eq!(ex.due(4, t1 + EXAMINE_INTERVAL), Due::Now);
        assert_eq!(ex.verdicts(t1 + Duration::from_secs(10)).len(), 1);
        // Verdicts expire.
        assert_eq!(ex.verdicts(t1 + VERDICT_TTL).len(), 0);
        // Only verdicts of copies that cannot move are kept; moving shards void them.
        ex.verdict(key("r", 0, true), stuck_same(), t1);
        ex.verdict(
            key("r", 1, false),
            explain("no", Some("yes"), &[("es-0", "yes", "")]),
            t1,
        );
        assert_eq!(
            ex.verdicts(t1).into_keys().collect::<Vec<_>>(),
            vec![key("r", 0, true)]
        );
        ex.forget_verdicts();
        assert_eq!(ex.verdicts(t1).len(), 0);
        // A changed count starts over.
        ex.verdict(key("r", 0, true), stuck_same(), t1);
        assert_eq!(
            ex.due(3, t1 + Duration::from_secs(30)),
            Due::Later(Remaining::Moving(None))
        );
        assert_eq!(ex.verdicts(t1).len(), 0);
        assert_eq!(ex.due(3, t1 + Duration::from_secs(31)), Due::Now);
    }
}
