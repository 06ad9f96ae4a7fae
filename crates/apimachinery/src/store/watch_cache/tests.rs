use super::*;
use crate::store::EventKind;
use crate::store::conformance;
use crate::store::embedded::EmbeddedStore;
use std::time::Duration;

fn ev(revision: u64) -> WatchEvent {
    WatchEvent {
        kind: EventKind::Put,
        key: format!("/r/k{revision}"),
        revision,
        create_revision: revision,
        value: Some(b"{}".to_vec()),
        prev_value: None,
    }
}

fn revs(s: &Since) -> Option<Vec<u64>> {
    match s {
        Since::Events(e) => Some(e.iter().map(|e| e.revision).collect()),
        Since::Behind => None,
    }
}

#[test]
fn ring_serves_positions_it_holds_and_sends_older_ones_to_the_store() {
    let mut ring = Ring::new(10);
    for r in [11, 12, 14, 15] {
        ring.push(ev(r), 3);
    }
    ring.push(ev(13), 3); // out of order: ignored
    // 11 was dropped: the ring holds everything after 11.
    assert_eq!(ring.start, 11);
    let table: [(u64, usize, Option<Vec<u64>>); 7] = [
        (9, 10, None),
        (10, 10, None),
        (11, 10, Some(vec![12, 14, 15])),
        (12, 10, Some(vec![14, 15])),
        (13, 10, Some(vec![14, 15])),
        (12, 1, Some(vec![14])),
        (15, 10, Some(vec![])),
    ];
    for (pos, max, want) in table {
        assert_eq!(revs(&ring.since(pos, max)), want, "since {pos} max {max}");
    }
    // A future position waits.
    assert_eq!(revs(&ring.since(99, 10)), Some(vec![]));
    ring.ended = true;
    assert_eq!(revs(&ring.since(14, 10)), Some(vec![15]), "drains first");
    assert_eq!(revs(&ring.since(15, 10)), None, "then the store");
}

fn open(capacity: usize) -> (tempfile::TempDir, WatchCache<EmbeddedStore>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path().join("store.redb")).expect("opens");
    (dir, WatchCache::new(Arc::new(store), "/", capacity))
}

/// Runs one conformance check over the wrapper with a large ring (everything from memory) and
/// with a tiny one (watchers fall behind it and go to the store).
macro_rules! conformance_over_cache {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            for capacity in [DEFAULT_CAPACITY, 2] {
                let (_dir, s) = open(capacity);
                s.start().await.expect("feed starts");
                conformance::$name(&s).await;
            }
            // Not started before: the first watch starts the feed.
            let (_dir, s) = open(DEFAULT_CAPACITY);
            conformance::$name(&s).await;
        }
    )*};
}

conformance_over_cache!(
    writes_follow_etcd_revision_semantics,
    lists_are_prefix_scoped_ordered_and_paginate_on_a_snapshot,
    compaction_drops_history_but_keeps_state,
    watch_replays_history_then_follows_live_changes_in_order,
    many_watchers_each_see_every_event,
    guaranteed_update_never_loses_an_update,
    optimistic_writers_land_or_conflict_and_nothing_is_lost,
    guaranteed_update_respects_preconditions_and_no_ops,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_watchers_each_see_every_event_in_order() {
    let (_dir, s) = open(DEFAULT_CAPACITY);
    s.start().await.expect("feed starts");
    let mut watchers = Vec::new();
    for i in 0..1000 {
        // Half the watchers on one namespace, half on everything.
        let prefix = if i % 2 == 0 { "/r/" } else { "/r/a/" };
        watchers.push((prefix, s.watch(prefix, 1).await.expect("watch")));
    }
    for i in 0..60u32 {
        let ns = if i % 3 == 0 { "b" } else { "a" };
        s.create(
            &format!("/r/{ns}/k{i:03}"),
            format!("{{\"n\":{i}}}").into_bytes(),
        )
        .await
        .expect("create");
    }
    let readers = watchers.into_iter().map(|(prefix, mut w)| {
        tokio::spawn(async move {
            let want: Vec<u64> = (0..60u64)
                .filter(|i| prefix == "/r/" || i % 3 != 0)
                .map(|i| i + 2)
                .collect();
            let mut got = Vec::new();
            while got.len() < want.len() {
                let ev = tokio::time::timeout(Duration::from_secs(30), w.next())
                    .await
                    .expect("event in time")
                    .expect("open")
                    .expect("no error");
                got.push(ev.revision);
            }
            assert_eq!(got, want, "{prefix}");
            assert!(
                tokio::time::timeout(Duration::from_millis(50), w.next())
                    .await
                    .is_err(),
                "nothing more"
            );
        })
    });
    for r in readers.collect::<Vec<_>>() {
        r.await.expect("watcher saw every event in order");
    }
    // Only the feed watches the store.
    assert_eq!(s.0.feed.lock().await.iter().count(), 1);
}

#[tokio::test]
async fn a_watch_outside_the_root_goes_to_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path().join("store.redb")).expect("opens");
    let s = WatchCache::new(Arc::new(store), "/r/", 16);
    let mut w = s.watch("/other/", 1).await.expect("watch");
    s.create("/other/x", b"{}".to_vec()).await.expect("create");
    let got = tokio::time::timeout(Duration::from_secs(5), w.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("ok");
    assert_eq!(got.key, "/other/x");
    assert!(s.0.feed.lock().await.is_none(), "no feed was started");
}
