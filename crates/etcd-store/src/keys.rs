//! Pure conversions between the storage contract and etcd's wire types.

use apimachinery::store::{EventKind, KeyValue, StoreError, WatchEvent};

/// A revision for etcd's signed fields; one beyond `i64::MAX` cannot exist, and etcd answers
/// the clamped value as a future revision.
pub(crate) fn rev_to_i64(rev: u64) -> i64 {
    i64::try_from(rev).unwrap_or(i64::MAX)
}

/// An etcd revision (never negative) as the contract's unsigned one.
pub(crate) fn rev_to_u64(rev: i64) -> u64 {
    u64::try_from(rev).unwrap_or(0)
}

/// The end of the key range holding every key that starts with `prefix` (etcd's
/// `GetPrefixRangeEnd`): the prefix with its last byte below 0xff incremented and what follows
/// dropped; `\0` (to the end of the keyspace) when there is none.
pub(crate) fn prefix_range_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// How many keys follow a page: etcd's `count` is every key in the range from the page's start
/// key (ignoring the limit), as Go's etcd3 store computes `remainingItemCount`.
pub(crate) fn remaining(count: i64, returned: usize) -> u64 {
    rev_to_u64(count).saturating_sub(u64::try_from(returned).unwrap_or(u64::MAX))
}

fn utf8_key(key: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(key.to_vec())
        .map_err(|_| StoreError::Backend(format!("etcd key is not UTF-8: {key:?}")))
}

/// An etcd key-value as the contract's.
pub(crate) fn key_value(kv: &etcd_client::KeyValue) -> Result<KeyValue, StoreError> {
    Ok(KeyValue {
        key: utf8_key(kv.key())?,
        value: kv.value().to_vec(),
        create_revision: rev_to_u64(kv.create_revision()),
        mod_revision: rev_to_u64(kv.mod_revision()),
    })
}

/// The parts of an etcd watch event the contract needs (so the mapping is testable without
/// etcd's protobuf types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawEvent<'a> {
    pub(crate) kind: EventKind,
    pub(crate) key: &'a [u8],
    /// The event's revision (the kv's `mod_revision`; for a delete, the delete's).
    pub(crate) revision: i64,
    /// The kv's `create_revision` (0 in etcd's delete events).
    pub(crate) create_revision: i64,
    /// The new value (empty for a delete).
    pub(crate) value: &'a [u8],
    /// The previous kv's `(create_revision, value)`, when etcd sent it (`prev_kv`).
    pub(crate) prev: Option<(i64, &'a [u8])>,
}

/// An etcd watch event as the contract's: a delete carries the deleted object as
/// `prev_value` and its `create_revision` (taken from `prev_kv`, since etcd's delete event
/// has none).
pub(crate) fn watch_event(raw: &RawEvent<'_>) -> Result<WatchEvent, StoreError> {
    let key = utf8_key(raw.key)?;
    let revision = rev_to_u64(raw.revision);
    let prev_value = raw.prev.map(|(_, v)| v.to_vec());
    Ok(match raw.kind {
        EventKind::Put => WatchEvent {
            kind: EventKind::Put,
            key,
            revision,
            create_revision: rev_to_u64(raw.create_revision),
            value: Some(raw.value.to_vec()),
            prev_value,
        },
        EventKind::Delete => WatchEvent {
            kind: EventKind::Delete,
            key,
            revision,
            create_revision: raw.prev.map_or(0, |(c, _)| rev_to_u64(c)),
            value: None,
            prev_value,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_range_ends() {
        let cases: [(&[u8], &[u8]); 5] = [
            (b"/registry/pods/", b"/registry/pods0"),
            (b"a", b"b"),
            (b"a\xff", b"b"),
            (b"\xff\xff", b"\0"),
            (b"", b"\0"),
        ];
        for (prefix, end) in cases {
            assert_eq!(prefix_range_end(prefix), end, "{prefix:?}");
        }
    }

    #[test]
    fn remaining_counts() {
        assert_eq!(remaining(5, 2), 3);
        assert_eq!(remaining(2, 2), 0);
        assert_eq!(remaining(0, 0), 0);
        assert_eq!(remaining(1, 3), 0, "never negative");
    }

    #[test]
    fn revisions_convert_without_wrapping() {
        assert_eq!(rev_to_i64(7), 7);
        assert_eq!(rev_to_i64(u64::MAX), i64::MAX);
        assert_eq!(rev_to_u64(-1), 0);
        assert_eq!(rev_to_u64(9), 9);
    }

    #[test]
    fn watch_events_map_puts_and_deletes() {
        let created = RawEvent {
            kind: EventKind::Put,
            key: b"/r/a",
            revision: 2,
            create_revision: 2,
            value: b"v1",
            prev: None,
        };
        let got = watch_event(&created).unwrap();
        assert_eq!(
            (got.watch_type(), got.value, got.prev_value),
            ("ADDED", Some(b"v1".to_vec()), None)
        );
        let modified = RawEvent {
            revision: 3,
            value: b"v2",
            prev: Some((2, b"v1")),
            ..created.clone()
        };
        let got = watch_event(&modified).unwrap();
        assert_eq!(
            (got.watch_type(), got.create_revision, got.prev_value),
            ("MODIFIED", 2, Some(b"v1".to_vec()))
        );
        let deleted = RawEvent {
            kind: EventKind::Delete,
            key: b"/r/a",
            revision: 4,
            create_revision: 0,
            value: b"",
            prev: Some((2, b"v2")),
        };
        let got = watch_event(&deleted).unwrap();
        assert_eq!(
            (
                got.watch_type(),
                got.revision,
                got.create_revision,
                got.value,
                got.prev_value
            ),
            ("DELETED", 4, 2, None, Some(b"v2".to_vec()))
        );
        assert!(
            watch_event(&RawEvent {
                key: b"\xff",
                ..created
            })
            .is_err()
        );
    }
}
