//! Read-your-writes for the caches. After the controller writes a StatefulSet, Pilot, Pod or
//! claim, the next reconcile of that cluster waits (briefly) until the cache shows the write.
//! The caches are separate watches, so without this one cache could be ahead of another — e.g.
//! a fresh claim created by a scale-out seen while the StatefulSet cache still shows the
//! replicas from before it — and the planner would decide on a state that never existed.

use std::time::Duration;

/// How long a reconcile waits for a cache to show a write before planning anyway (a write
/// that was overwritten by someone else, or an opaque resourceVersion, must not stall a
/// cluster).
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// The kinds whose writes are awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A StatefulSet.
    StatefulSet,
    /// A Pilot.
    Pilot,
    /// A Pod.
    Pod,
    /// A PersistentVolumeClaim.
    Claim,
}

/// A write the cache must show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written {
    /// The object was created or updated; the API answered with this resourceVersion.
    Updated {
        /// The kind.
        kind: Kind,
        /// The name.
        name: String,
        /// The resourceVersion of the write's answer.
        resource_version: String,
    },
    /// The object was deleted (or already gone).
    Deleted {
        /// The kind.
        kind: Kind,
        /// The name.
        name: String,
    },
}

impl Written {
    /// The written object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Written::Updated { kind, .. } | Written::Deleted { kind, .. } => *kind,
        }
    }

    /// The written object's name.
    pub fn name(&self) -> &str {
        match self {
            Written::Updated { name, .. } | Written::Deleted { name, .. } => name,
        }
    }
}

/// The object as the cache holds it: its resourceVersion and whether it is being deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen<'a> {
    /// `metadata.resourceVersion`.
    pub resource_version: &'a str,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
}

/// Whether the cache's view (`None`: the object is not in the cache) includes `written`.
/// resourceVersions are compared as numbers when both are (etcd revisions); otherwise only
/// equality counts, and [`MAX_WAIT`] ends the wait.
pub fn caught_up(written: &Written, seen: Option<&Seen<'_>>) -> bool {
    match (written, seen) {
        (Written::Deleted { .. }, None) => true,
        (Written::Deleted { .. }, Some(s)) => s.deleting,
        (Written::Updated { .. }, None) => false,
        (
            Written::Updated {
                resource_version, ..
            },
            Some(s),
        ) => {
            if s.resource_version == resource_version {
                return true;
            }
            match (
                s.resource_version.parse::<u64>(),
                resource_version.parse::<u64>(),
            ) {
                (Ok(seen), Ok(written)) => seen >= written,
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn updated(rv: &str) -> Written {
        Written::Updated {
            kind: Kind::StatefulSet,
            name: "cass-demo-a".into(),
            resource_version: rv.into(),
        }
    }

    fn deleted() -> Written {
        Written::Deleted {
            kind: Kind::Claim,
            name: "data-cass-demo-a-2".into(),
        }
    }

    fn seen(rv: &str, deleting: bool) -> Seen<'_> {
        Seen {
            resource_version: rv,
            deleting,
        }
    }

    #[test]
    fn caches_catch_up_with_writes() {
        let cases: Vec<(&str, Written, Option<Seen<'_>>, bool)> = vec![
            ("update not in the cache yet", updated("10"), None, false),
            (
                "older version cached",
                updated("10"),
                Some(seen("9", false)),
                false,
            ),
            (
                "the written version",
                updated("10"),
                Some(seen("10", false)),
                true,
            ),
            (
                "a later version",
                updated("10"),
                Some(seen("12", false)),
                true,
            ),
            (
                "numbers, not strings",
                updated("9"),
                Some(seen("10", false)),
                true,
            ),
            (
                "opaque, equal",
                updated("abc"),
                Some(seen("abc", false)),
                true,
            ),
            (
                "opaque, different",
                updated("abc"),
                Some(seen("abd", false)),
                false,
            ),
            ("deleted and gone", deleted(), None, true),
            (
                "deleted, finalizers pending",
                deleted(),
                Some(seen("5", true)),
                true,
            ),
            (
                "deleted, still cached as live",
                deleted(),
                Some(seen("5", false)),
                false,
            ),
        ];
        for (name, written, seen, want) in cases {
            assert_eq!(caught_up(&written, seen.as_ref()), want, "{name}");
        }
    }
}
