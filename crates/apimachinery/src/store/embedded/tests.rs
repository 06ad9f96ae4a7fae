use super::*;
use crate::store::{EventKind, ListRequest, Preconditions, Storage, StoreError, conformance};
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
    conformance::writes_follow_etcd_revision_semantics(&s).await;
}

#[tokio::test]
async fn lists_are_prefix_scoped_ordered_and_paginate_on_a_snapshot() {
    let (_dir, s) = open();
    conformance::lists_are_prefix_scoped_ordered_and_paginate_on_a_snapshot(&s).await;
}

#[tokio::test]
async fn compaction_drops_history_but_keeps_state() {
    let (_dir, s) = open();
    conformance::compaction_drops_history_but_keeps_state(&s).await;
}

#[tokio::test]
async fn watch_replays_history_then_follows_live_changes_in_order() {
    let (_dir, s) = open();
    conformance::watch_replays_history_then_follows_live_changes_in_order(&s).await;
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
    conformance::many_watchers_each_see_every_event(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guaranteed_update_never_loses_an_update() {
    let (_dir, s) = open();
    conformance::guaranteed_update_never_loses_an_update(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimistic_writers_land_or_conflict_and_nothing_is_lost() {
    let (_dir, s) = open();
    conformance::optimistic_writers_land_or_conflict_and_nothing_is_lost(&s).await;
}

#[tokio::test]
async fn guaranteed_update_respects_preconditions_and_no_ops() {
    let (_dir, s) = open();
    conformance::guaranteed_update_respects_preconditions_and_no_ops(&s).await;
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
