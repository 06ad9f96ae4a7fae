//! Which changes of the cluster's Pilots wake the leader before its next periodic round,
//! pure. The leader's round reads two things of each Pilot: `spec.requestedState` (the
//! exclusions) and its `Ready` condition (replica allocation resumed after a restart). A watch
//! event wakes the leader when it changes either for some Pilot, or adds or removes a Pilot;
//! the pilots' frequent status writes (documents, shards, health) do not.

use std::collections::BTreeMap;

/// What the leader's round reads of one Pilot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Read {
    /// `spec.requestedState`, as written.
    pub requested_state: Option<String>,
    /// Whether its `Ready` condition is `True`.
    pub ready: bool,
}

/// One event of the label-selected watch of the cluster's Pilots, reduced to what matters
/// (the thin layer maps `kube::runtime::watcher::Event` onto it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A Pilot was added or modified.
    Applied(String, Read),
    /// A Pilot was deleted (or no longer carries the cluster's label).
    Deleted(String),
    /// The watch (re)starts with a full list: `Listed` follows for each Pilot, then
    /// `ListDone`.
    ListStarted,
    /// A Pilot of that list.
    Listed(String, Read),
    /// The list is complete: it replaces what was seen before.
    ListDone,
}

/// What the watch has seen of the cluster's Pilots.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    pilots: BTreeMap<String, Read>,
    listing: Option<BTreeMap<String, Read>>,
}

impl Seen {
    /// Takes in one change; true when the leader should run a round now.
    pub fn observe(&mut self, change: Change) -> bool {
        match change {
            Change::Applied(name, read) => {
                self.pilots.insert(name, read.clone()).as_ref() != Some(&read)
            }
            Change::Deleted(name) => self.pilots.remove(&name).is_some(),
            Change::ListStarted => {
                self.listing = Some(BTreeMap::new());
                false
            }
            Change::Listed(name, read) => {
                self.listing
                    .get_or_insert_with(BTreeMap::new)
                    .insert(name, read);
                false
            }
            Change::ListDone => {
                let listed = self.listing.take().unwrap_or_default();
                let changed = listed != self.pilots;
                self.pilots = listed;
                changed
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn read(requested: Option<&str>, ready: bool) -> Read {
        Read {
            requested_state: requested.map(str::to_owned),
            ready,
        }
    }

    fn applied(name: &str, requested: Option<&str>, ready: bool) -> Change {
        Change::Applied(name.into(), read(requested, ready))
    }

    fn listed(name: &str, requested: Option<&str>, ready: bool) -> Change {
        Change::Listed(name.into(), read(requested, ready))
    }

    /// Each step: the change, and whether it wakes the leader.
    #[test]
    fn wakes_on_what_the_round_reads() {
        let steps = [
            // The first list: the Pilots are new.
            (Change::ListStarted, false),
            (listed("es-0", None, true), false),
            (listed("es-1", None, false), false),
            (Change::ListDone, true),
            // A status write that changes neither field (documents, shards): no round.
            (applied("es-0", None, true), false),
            // requestedState set, changed, withdrawn: a round each.
            (applied("es-1", Some("Drained"), false), true),
            (applied("es-1", Some("Drained"), false), false),
            (applied("es-1", Some("Decommissioned"), false), true),
            (applied("es-1", Some("Running"), false), true),
            (applied("es-1", None, false), true),
            // Ready flips (a restarted node back): a round.
            (applied("es-1", None, true), true),
            // A new Pilot, a deleted one; a delete of one not seen changes nothing.
            (applied("es-2", None, false), true),
            (Change::Deleted("es-2".into()), true),
            (Change::Deleted("es-2".into()), false),
            // A relist after a watch error: only a difference wakes.
            (Change::ListStarted, false),
            (listed("es-0", None, true), false),
            (listed("es-1", None, true), false),
            (Change::ListDone, false),
            // A relist that missed a change (es-1 asked to drain) and a deletion (es-0).
            (Change::ListStarted, false),
            (listed("es-1", Some("Drained"), true), false),
            (Change::ListDone, true),
            (applied("es-0", None, true), true),
            // An empty relist: every Pilot gone.
            (Change::ListStarted, false),
            (Change::ListDone, true),
            (Change::ListStarted, false),
            (Change::ListDone, false),
        ];
        let mut seen = Seen::default();
        for (i, (change, wakes)) in steps.into_iter().enumerate() {
            let text = format!("{change:?}");
            assert_eq!(seen.observe(change), wakes, "step {i}: {text}");
        }
    }

    #[test]
    fn list_done_without_start_replaces_with_nothing_listed() {
        let mut seen = Seen::default();
        assert!(seen.observe(applied("a", None, false)));
        // A Listed without ListStarted still buffers; ListDone replaces.
        assert!(!seen.observe(listed("b", None, false)));
        assert!(seen.observe(Change::ListDone));
        assert!(!seen.observe(applied("b", None, false)));
    }
}
