use super::*;
use crate::store::{EventKind, ListRequest, Preconditions, Storage, StoreError};
use pretty_assertions::assert_eq;
use std::io::BufRead as _;
use std::time::Duration;

fn open() -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path().join("store.redb")).expect("opens");
    (dir, store)
}

fn obj(uid: &str, n: u32) -> Vec<u8> {
    format!(r#"{{"metadata":{{"uid":"{uid}"}},"n":{n}}}"#).into_bytes()
}

fn list_req(prefix: &str) -> ListRequest {
    ListRequest {
        prefix: prefix.to_owned(),
        ..ListRequest::default()
    }
}

async fn next_event(w: &mut crate::store::Watch) -> WatchEvent {
    tokio::time::timeout(Duration::from_secs(10), w.next())
        .await
        .expect("event within 10s")
        .expect("watch open")
        .expect("no error")
}

#[test]
fn log_entries_round_trip_and_reject_garbage() {
    let e = Entry {
        kind: EventKind::Delete,
        key: "/r/ns/n".into(),
        create_revision: 7,
        prev_revision: 9,
        value: b"{}".to_vec(),
    };
    assert_eq!(Entry::decode(&e.encode()), Ok(e.clone()));
    let bytes = e.encode();
    for cut in [0, 1, 16, 20, 22] {
        assert!(Entry::decode(&bytes[..cut]).is_err(), "truncated at {cut}");
    }
    assert!(Entry::decode(&[9; 30]).is_err(), "unknown kind");
}

#[tokio::test]
async fn writes_follow_etcd_revision_semantics() {
    let (_dir, s) = open();
    assert_eq!(
        s.current_revision().await,
        Ok(1),
        "an empty store is at revision 1, like etcd"
    );

    let created = s.create("/r/ns/a", obj("u1", 1)).await.expect("create");
    assert_eq!((created.create_revision, created.mod_revision), (2, 2));
    assert_eq!(
        s.create("/r/ns/a", obj("u1", 9)).await,
        Err(StoreError::AlreadyExists {
            key: "/r/ns/a".into()
        })
    );
    assert_eq!(
        s.current_revision().await,
        Ok(2),
        "a failed create takes no revision"
    );

    let stale = Preconditions {
        mod_revision: Some(1),
        uid: None,
    };
    assert_eq!(
        s.update("/r/ns/a", obj("u1", 2), &stale).await,
        Err(StoreError::RevisionConflict {
            key: "/r/ns/a".into(),
            expected: 1,
            actual: 2
        })
    );
    let wrong_uid = Preconditions {
        mod_revision: None,
        uid: Some("u2".into()),
    };
    assert_eq!(
        s.update("/r/ns/a", obj("u1", 2), &wrong_uid).await,
        Err(StoreError::UidConflict {
            key: "/r/ns/a".into(),
            expected: "u2".into(),
            actual: "u1".into()
        })
    );
    let fresh = Preconditions {
        mod_revision: Some(2),
        uid: Some("u1".into()),
    };
    let updated = s
        .update("/r/ns/a", obj("u1", 2), &fresh)
        .await
        .expect("update");
    assert_eq!((updated.create_revision, updated.mod_revision), (2, 3));

    let noop = s
        .update("/r/ns/a", obj("u1", 2), &Preconditions::default())
        .await
        .expect("no-op");
    assert_eq!(
        noop.mod_revision, 3,
        "identical bytes keep the resourceVersion"
    );
    assert_eq!(s.current_revision().await, Ok(3), "and take no revision");

    assert_eq!(s.get("/r/ns/a", None).await, Ok(Some(updated.clone())));
    assert_eq!(
        s.get("/r/ns/a", Some(2))
            .await
            .expect("historic")
            .map(|kv| kv.value),
        Some(obj("u1", 1))
    );

    let (deleted, rev) = s
        .delete("/r/ns/a", &Preconditions::default())
        .await
        .expect("delete");
    assert_eq!((deleted, rev), (updated, 4));
    assert_eq!(s.get("/r/ns/a", None).await, Ok(None));
    assert_eq!(
        s.get("/r/ns/a", Some(3))
            .await
            .expect("historic")
            .map(|kv| kv.mod_revision),
        Some(3)
    );
    assert_eq!(
        s.update("/r/ns/a", obj("u1", 5), &Preconditions::default())
            .await,
        Err(StoreError::NotFound {
            key: "/r/ns/a".into()
        })
    );
    assert_eq!(
        s.delete("/r/ns/a", &Preconditions::default()).await,
        Err(StoreError::NotFound {
            key: "/r/ns/a".into()
        })
    );
    assert_eq!(
        s.get("/r/ns/a", Some(99)).await,
        Err(StoreError::FutureRevision {
            requested: 99,
            current: 4
        })
    );
    let recreated = s.create("/r/ns/a", obj("u3", 1)).await.expect("re-create");
    assert_eq!((recreated.create_revision, recreated.mod_revision), (5, 5));
}

#[tokio::test]
async fn lists_are_prefix_scoped_ordered_and_paginate_on_a_snapshot() {
    let (_dir, s) = open();
    for k in ["/r/ns/c", "/r/ns/a", "/r/ns2/x", "/r/ns/b", "/r/nsx"] {
        s.create(k, obj(k, 0)).await.expect("create");
    }
    let all = s.list(list_req("/r/ns/")).await.expect("list");
    let keys: Vec<&str> = all.items.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["/r/ns/a", "/r/ns/b", "/r/ns/c"]);
    assert_eq!((all.revision, all.remaining), (6, 0));

    let page1 = s
        .list(ListRequest {
            limit: Some(2),
            ..list_req("/r/ns/")
        })
        .await
        .expect("page 1");
    assert_eq!(page1.items.len(), 2);
    assert_eq!(page1.remaining, 1);
    let token = page1.continue_token("/r/ns/").expect("ok").expect("more");

    // Writes after the first page must not show up in the second.
    s.create("/r/ns/d", obj("d", 0)).await.expect("create d");
    s.update("/r/ns/c", obj("c", 1), &Preconditions::default())
        .await
        .expect("update c");
    s.delete("/r/ns/a", &Preconditions::default())
        .await
        .expect("delete a");

    let cont = crate::store::decode_continue(&token, "/r/ns/").expect("token");
    let page2 = s
        .list(ListRequest {
            prefix: "/r/ns/".into(),
            revision: cont.revision,
            limit: Some(2),
            start: Some(cont.start),
        })
        .await
        .expect("page 2");
    let keys: Vec<&str> = page2.items.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["/r/ns/c"]);
    assert_eq!(
        page2.items[0].value,
        obj("/r/ns/c", 0),
        "the snapshot value, not the update"
    );
    assert_eq!((page2.revision, page2.remaining), (6, 0));

    let now = s.list(list_req("/r/ns/")).await.expect("latest");
    let keys: Vec<&str> = now.items.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["/r/ns/b", "/r/ns/c", "/r/ns/d"]);
    assert_eq!(now.revision, 9);
    let old = s
        .list(ListRequest {
            revision: Some(6),
            ..list_req("/r/ns/")
        })
        .await
        .expect("at 6");
    let keys: Vec<&str> = old.items.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["/r/ns/a", "/r/ns/b", "/r/ns/c"]);
    assert_eq!(
        s.list(ListRequest {
            revision: Some(10),
            ..list_req("/r/")
        })
        .await,
        Err(StoreError::FutureRevision {
            requested: 10,
            current: 9
        })
    );
}

#[tokio::test]
async fn compaction_drops_history_but_keeps_state() {
    let (_dir, s) = open();
    s.create("/r/a", obj("a", 1)).await.expect("2");
    s.create("/r/b", obj("b", 1)).await.expect("3");
    s.update("/r/a", obj("a", 2), &Preconditions::default())
        .await
        .expect("4");
    s.delete("/r/b", &Preconditions::default())
        .await
        .expect("5");
    s.create("/r/c", obj("c", 1)).await.expect("6");
    s.update("/r/c", obj("c", 2), &Preconditions::default())
        .await
        .expect("7");

    assert_eq!(
        s.compact(99).await,
        Err(StoreError::FutureRevision {
            requested: 99,
            current: 7
        })
    );
    s.compact(6).await.expect("compact");
    assert_eq!(s.compacted_revision().await, Ok(6));

    assert_eq!(
        s.get("/r/a", Some(5)).await,
        Err(StoreError::Compacted {
            requested: 5,
            compacted: 6
        })
    );
    assert!(matches!(
        s.list(ListRequest {
            revision: Some(4),
            ..list_req("/r/")
        })
        .await,
        Err(StoreError::Compacted { .. })
    ));
    assert!(matches!(
        s.watch("/r/", 5).await,
        Err(StoreError::Compacted {
            requested: 5,
            compacted: 6
        })
    ));

    let at6 = s
        .list(ListRequest {
            revision: Some(6),
            ..list_req("/r/")
        })
        .await
        .expect("at 6");
    let got: Vec<(&str, u64)> = at6
        .items
        .iter()
        .map(|kv| (kv.key.as_str(), kv.mod_revision))
        .collect();
    assert_eq!(got, [("/r/a", 4), ("/r/c", 6)]);
    let latest = s.list(list_req("/r/")).await.expect("latest");
    let got: Vec<(&str, u64)> = latest
        .items
        .iter()
        .map(|kv| (kv.key.as_str(), kv.mod_revision))
        .collect();
    assert_eq!(got, [("/r/a", 4), ("/r/c", 7)]);

    // A watch from the compacted revision still sees everything after it, prev values included.
    let mut w = s.watch("/r/", 6).await.expect("watch");
    let ev = next_event(&mut w).await;
    assert_eq!((ev.revision, ev.watch_type()), (7, "MODIFIED"));
    assert_eq!(ev.prev_value, Some(obj("c", 1)));

    s.compact(6).await.expect("compacting again is a no-op");
    s.compact(3).await.expect("compacting below is a no-op");
    assert_eq!(s.compacted_revision().await, Ok(6));
}

#[tokio::test]
async fn watch_replays_history_then_follows_live_changes_in_order() {
    let (_dir, s) = open();
    s.create("/r/ns/a", obj("a", 1)).await.expect("2");
    s.create("/other/x", obj("x", 1)).await.expect("3");
    s.update("/r/ns/a", obj("a", 2), &Preconditions::default())
        .await
        .expect("4");

    let mut from_start = s.watch("/r/", 1).await.expect("watch");
    let mut from_mid = s.watch("/r/", 2).await.expect("watch");

    s.delete("/r/ns/a", &Preconditions::default())
        .await
        .expect("5");
    s.create("/r/ns/b", obj("b", 1)).await.expect("6");

    let mut seen = Vec::new();
    for _ in 0..4 {
        let ev = next_event(&mut from_start).await;
        seen.push((
            ev.revision,
            ev.watch_type(),
            ev.key.clone(),
            ev.value.clone(),
            ev.prev_value.clone(),
        ));
    }
    assert_eq!(
        seen,
        [
            (2, "ADDED", "/r/ns/a".to_owned(), Some(obj("a", 1)), None),
            (
                4,
                "MODIFIED",
                "/r/ns/a".to_owned(),
                Some(obj("a", 2)),
                Some(obj("a", 1))
            ),
            (5, "DELETED", "/r/ns/a".to_owned(), None, Some(obj("a", 2))),
            (6, "ADDED", "/r/ns/b".to_owned(), Some(obj("b", 1)), None),
        ]
    );
    let revs: Vec<u64> = [
        next_event(&mut from_mid).await,
        next_event(&mut from_mid).await,
        next_event(&mut from_mid).await,
    ]
    .iter()
    .map(|e| e.revision)
    .collect();
    assert_eq!(revs, [4, 5, 6]);
    assert_eq!(
        tokio::time::timeout(Duration::from_millis(200), from_mid.next())
            .await
            .ok(),
        None,
        "nothing more, and nothing from other prefixes"
    );
}

#[tokio::test]
async fn a_watcher_left_behind_by_compaction_gets_compacted_and_ends() {
    let (_dir, s) = open();
    let mut w = s.watch("/r/", 1).await.expect("watch");
    // More than the watcher's buffer plus one read batch, so its reader stalls mid-history.
    for i in 0..(WATCH_BUFFER + WATCH_BATCH + 50) {
        s.create(&format!("/r/k{i:05}"), obj("u", 0))
            .await
            .expect("create");
    }
    let current = s.current_revision().await.expect("rev");
    s.compact(current).await.expect("compact");
    let mut delivered = 0u64;
    let err = loop {
        match tokio::time::timeout(Duration::from_secs(10), w.next())
            .await
            .expect("in time")
        {
            Some(Ok(ev)) => {
                delivered += 1;
                assert_eq!(ev.revision, delivered + 1, "in order, no gaps");
            }
            Some(Err(e)) => break e,
            None => panic!("watch ended without an error"),
        }
    };
    assert!(
        matches!(err, StoreError::Compacted { compacted, .. } if compacted == current),
        "{err:?}"
    );
    assert!(delivered < current - 1, "it really fell behind");
    assert!(w.next().await.is_none(), "and then ends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_watchers_each_see_every_event() {
    let (_dir, s) = open();
    let mut watchers = Vec::new();
    for _ in 0..20 {
        watchers.push(s.watch("/r/", 1).await.expect("watch"));
    }
    for i in 0..50u32 {
        s.create(&format!("/r/k{i:03}"), obj("u", i))
            .await
            .expect("create");
    }
    for w in &mut watchers {
        for i in 0..50u64 {
            assert_eq!(next_event(w).await.revision, i + 2);
        }
    }
}

fn counter(kv: &KeyValue) -> u64 {
    serde_json::from_slice::<serde_json::Value>(&kv.value)
        .ok()
        .and_then(|v| v.get("n").and_then(serde_json::Value::as_u64))
        .unwrap_or(0)
}

fn with_counter(n: u64) -> Vec<u8> {
    format!(r#"{{"metadata":{{"uid":"u"}},"n":{n}}}"#).into_bytes()
}

/// Concurrent `guaranteed_update`s never lose an increment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guaranteed_update_never_loses_an_update() {
    let (_dir, s) = open();
    s.create("/r/counter", with_counter(0))
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..15 {
                crate::store::guaranteed_update::<_, StoreError, _>(
                    &s,
                    "/r/counter",
                    &Preconditions::default(),
                    |kv| Ok(with_counter(counter(kv) + 1)),
                )
                .await
                .expect("update");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let kv = s
        .get("/r/counter", None)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(counter(&kv), 120);
    assert_eq!(
        kv.mod_revision,
        2 + 120,
        "one revision per increment, no wasted writes"
    );
}

/// The issue's concurrency acceptance at the store level: clients doing read-modify-write
/// with the resourceVersion they read either land or get a conflict; the final state reflects
/// exactly the landed ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimistic_writers_land_or_conflict_and_nothing_is_lost() {
    let (_dir, s) = open();
    s.create("/r/counter", with_counter(0))
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let (mut landed, mut conflicts) = (0u64, 0u64);
            for _ in 0..10 {
                let kv = s
                    .get("/r/counter", None)
                    .await
                    .expect("get")
                    .expect("exists");
                let pre = Preconditions {
                    mod_revision: Some(kv.mod_revision),
                    uid: None,
                };
                match s
                    .update("/r/counter", with_counter(counter(&kv) + 1), &pre)
                    .await
                {
                    Ok(_) => landed += 1,
                    Err(StoreError::RevisionConflict { .. }) => conflicts += 1,
                    Err(e) => panic!("unexpected {e}"),
                }
            }
            (landed, conflicts)
        }));
    }
    let (mut landed, mut conflicts) = (0, 0);
    for t in tasks {
        let (l, c) = t.await.expect("task");
        landed += l;
        conflicts += c;
    }
    assert_eq!(landed + conflicts, 160);
    let kv = s
        .get("/r/counter", None)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        counter(&kv),
        landed,
        "every landed update is in the final state, and only those"
    );
}

#[tokio::test]
async fn guaranteed_update_respects_preconditions_and_no_ops() {
    let (_dir, s) = open();
    let created = s.create("/r/c", with_counter(1)).await.expect("create");
    let same = crate::store::guaranteed_update::<_, StoreError, _>(
        &s,
        "/r/c",
        &Preconditions::default(),
        |kv| Ok(kv.value.clone()),
    )
    .await
    .expect("no-op");
    assert_eq!(same, created, "unchanged bytes are not written");
    let wrong_uid = Preconditions {
        uid: Some("other".into()),
        ..Preconditions::default()
    };
    let err = crate::store::guaranteed_update::<_, StoreError, _>(&s, "/r/c", &wrong_uid, |_| {
        panic!("update must not run when a precondition fails")
    })
    .await
    .expect_err("uid");
    assert!(matches!(err, StoreError::UidConflict { .. }));
    let stale = Preconditions {
        mod_revision: Some(1),
        uid: None,
    };
    let err = crate::store::guaranteed_update::<_, StoreError, _>(&s, "/r/c", &stale, |kv| {
        Ok(with_counter(counter(kv) + 1))
    })
    .await
    .expect_err("stale");
    assert!(
        matches!(err, StoreError::RevisionConflict { .. }),
        "a caller's revision is not retried"
    );
    let err = crate::store::guaranteed_update::<_, StoreError, _>(
        &s,
        "/r/missing",
        &Preconditions::default(),
        |kv| Ok(kv.value.clone()),
    )
    .await
    .expect_err("missing");
    assert!(matches!(err, StoreError::NotFound { .. }));
    assert_eq!(s.current_revision().await, Ok(2), "nothing was written");
}

#[tokio::test]
async fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.redb");
    {
        let s = EmbeddedStore::open(&path).expect("open");
        s.create("/r/a", obj("a", 1)).await.expect("create");
        s.update("/r/a", obj("a", 2), &Preconditions::default())
            .await
            .expect("update");
        s.compact(2).await.expect("compact");
    }
    let s = EmbeddedStore::open(&path).expect("reopen");
    assert_eq!(s.current_revision().await, Ok(3));
    assert_eq!(s.compacted_revision().await, Ok(2));
    assert_eq!(
        s.get("/r/a", None).await.expect("get").map(|kv| kv.value),
        Some(obj("a", 2))
    );
    assert_eq!(
        s.create("/r/b", obj("b", 1))
            .await
            .expect("create")
            .mod_revision,
        4
    );
}

const CRASH_DB_ENV: &str = "APIMACHINERY_CRASH_TEST_DB";

/// Not a test on its own: the writer process for
/// `sigkill_mid_stream_keeps_every_acknowledged_write`. Prints `ACK:<i>` after each create
/// returns, and writes until it is killed.
#[test]
#[ignore = "child process of sigkill_mid_stream_keeps_every_acknowledged_write"]
fn crash_child_writer() {
    let Ok(path) = std::env::var(CRASH_DB_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = EmbeddedStore::open(path).expect("open");
        for i in 0u32.. {
            store
                .create(&format!("/k/{i:08}"), obj("crash", i))
                .await
                .expect("create");
            println!("ACK:{i}");
        }
    });
}

#[test]
fn sigkill_mid_stream_keeps_every_acknowledged_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.redb");
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "store::embedded::tests::crash_child_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DB_ENV, &path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn writer");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut acked: Vec<u32> = Vec::new();
    while acked.len() < 150 {
        let line = lines.next().expect("writer alive").expect("utf-8");
        // libtest prints its "test … ... " header without a newline, so look anywhere.
        if let Some((_, n)) = line.split_once("ACK:") {
            acked.push(n.trim().parse().expect("number"));
        }
    }
    // SIGKILL: no destructors, no flush, mid-transaction most likely.
    child.kill().expect("kill");
    child.wait().expect("reap");
    // Acks already in the pipe were acknowledged before the kill.
    for line in lines {
        if let Some((_, n)) = line.expect("utf-8").split_once("ACK:") {
            // The kill can cut the last line short; a partial line was not a full ack.
            if let Ok(n) = n.trim().parse() {
                acked.push(n);
            }
        }
    }
    let expected: Vec<u32> = (0..u32::try_from(acked.len()).expect("small")).collect();
    assert_eq!(acked, expected, "acks are sequential");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = EmbeddedStore::open(&path).expect("reopen after SIGKILL");
        let page = store.list(list_req("/k/")).await.expect("list");
        let present: Vec<u32> = page
            .items
            .iter()
            .map(|kv| kv.key.trim_start_matches("/k/").parse().expect("number"))
            .collect();
        let n = acked.len();
        // Every acknowledged write, in order, plus at most the one in flight at the kill.
        assert!(
            present.len() == n || present.len() == n + 1,
            "{} present, {n} acked",
            present.len()
        );
        assert_eq!(&present[..n], &acked[..]);
        if let Some(extra) = present.get(n) {
            assert_eq!(
                *extra,
                acked.last().map_or(0, |l| l + 1),
                "only the in-flight write"
            );
        }
        for kv in &page.items {
            let i: u32 = kv.key.trim_start_matches("/k/").parse().expect("number");
            assert_eq!(kv.value, obj("crash", i), "value intact");
            assert_eq!(
                kv.mod_revision,
                u64::from(i) + 2,
                "revisions dense and in order"
            );
        }
        let current = store.current_revision().await.expect("rev");
        assert_eq!(
            current,
            1 + present.len() as u64,
            "revision counter matches the log"
        );
        // And the store still takes writes.
        store
            .create("/k/after", obj("crash", 0))
            .await
            .expect("write after recovery");
    });
}
