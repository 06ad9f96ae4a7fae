//! etcd faults: SIGKILL and restart of etcd during a write stream and open watches, with the
//! same `EtcdStore` throughout (no reconnect by the caller); and a watch whose history is
//! compacted while it is disconnected.
#![allow(clippy::unwrap_used)]

use apimachinery::store::{ListRequest, Storage, StoreError, Watch};
use etcd_store::testing::{EtcdServer, EtcdServerOptions, free_port};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PREFIX: &str = "/registry/navigator.jetstack.io/faulttest/";
const WRITERS: usize = 5;
const PER_WRITER: usize = 100;
const WATCHERS: usize = 4;

/// How a counting watch client ended.
#[derive(Debug)]
enum Outcome {
    /// Saw every revision up to the final one.
    Complete(Vec<(String, u64)>),
    /// Ended with `Compacted` after these events.
    Compacted(Vec<(String, u64)>),
    /// Anything else (a test failure).
    Broken(String, Vec<(String, u64)>),
}

/// Counts events until the revision in `last` (set once the writes are done) is reached.
async fn count(mut w: Watch, last: Arc<AtomicU64>) -> Outcome {
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let target = last.load(Ordering::SeqCst);
        if target > 0 && seen.last().is_some_and(|(_, r)| *r >= target) {
            return Outcome::Complete(seen);
        }
        if Instant::now() > deadline {
            return Outcome::Broken(format!("no event up to {target} in time"), seen);
        }
        match tokio::time::timeout(Duration::from_millis(500), w.next()).await {
            Err(_) => {}
            Ok(None) => return Outcome::Broken("watch ended".into(), seen),
            Ok(Some(Err(StoreError::Compacted { .. }))) => return Outcome::Compacted(seen),
            Ok(Some(Err(e))) => return Outcome::Broken(e.to_string(), seen),
            Ok(Some(Ok(ev))) => seen.push((ev.key, ev.revision)),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn etcd_killed_and_restarted_during_writes_and_watches() {
    // fsync on: acknowledged means in etcd's WAL on disk.
    let mut etcd = EtcdServer::start().await.unwrap();
    let store = etcd.store().await.unwrap();
    let start = store.current_revision().await.unwrap();

    let last = Arc::new(AtomicU64::new(0));
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let w = store.watch(PREFIX, start).await.unwrap();
        watchers.push(tokio::spawn(count(w, Arc::clone(&last))));
    }

    let acked_count = Arc::new(AtomicUsize::new(0));
    let restarted = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for t in 0..WRITERS {
        let (store, acked_count, restarted) = (
            store.clone(),
            Arc::clone(&acked_count),
            Arc::clone(&restarted),
        );
        writers.push(tokio::spawn(async move {
            let (mut acked, mut failed, mut acked_after_restart) = (Vec::new(), Vec::new(), 0);
            for i in 0..PER_WRITER {
                let key = format!("{PREFIX}w{t}-{i:03}");
                let body = format!(r#"{{"writer":{t},"i":{i}}}"#).into_bytes();
                match store.create(&key, body).await {
                    Ok(kv) => {
                        assert_eq!(kv.create_revision, kv.mod_revision);
                        acked.push((key, kv.mod_revision));
                        acked_count.fetch_add(1, Ordering::SeqCst);
                        if restarted.load(Ordering::SeqCst) > 0 {
                            acked_after_restart += 1;
                        }
                    }
                    Err(e) => {
                        // etcd down: a retriable failure (504 Timeout through the API).
                        assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
                        failed.push((key, e.to_string()));
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            (acked, failed, acked_after_restart)
        }));
    }

    while acked_count.load(Ordering::SeqCst) < 150 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed_at = Instant::now();
    etcd.kill();
    let acked_at_kill = acked_count.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    etcd.restart().await.unwrap();
    restarted.store(1, Ordering::SeqCst);
    let outage = killed_at.elapsed();
    let acked_at_restart = acked_count.load(Ordering::SeqCst);
    let first_ok = Instant::now();
    while acked_count.load(Ordering::SeqCst) == acked_at_restart {
        assert!(
            first_ok.elapsed() < Duration::from_secs(30),
            "no write succeeded after the restart"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let recovery = first_ok.elapsed();

    let (mut acked, mut failed, mut after_restart) = (Vec::new(), Vec::new(), 0);
    for w in writers {
        let (a, f, r) = w.await.unwrap();
        acked.extend(a);
        failed.extend(f);
        after_restart += r;
    }
    assert_eq!(acked.len() + failed.len(), WRITERS * PER_WRITER);
    assert!(
        after_restart > 0,
        "the same store object writes after the restart"
    );

    let page = store
        .list(ListRequest {
            prefix: PREFIX.to_owned(),
            ..ListRequest::default()
        })
        .await
        .unwrap();
    let stored: HashMap<&str, u64> = page
        .items
        .iter()
        .map(|kv| {
            assert_eq!(kv.create_revision, kv.mod_revision);
            (kv.key.as_str(), kv.mod_revision)
        })
        .collect();
    for (key, rev) in &acked {
        assert_eq!(
            stored.get(key.as_str()),
            Some(rev),
            "acknowledged {key} at {rev}"
        );
    }
    // A write that failed may still have been applied (etcd committed it and died before
    // answering): such a key may be present; no key that was never written is.
    let failed_keys: HashMap<&str, &str> = failed
        .iter()
        .map(|(k, e)| (k.as_str(), e.as_str()))
        .collect();
    let mut ambiguous = 0;
    for key in stored.keys() {
        if !acked.iter().any(|(k, _)| k == key) {
            assert!(failed_keys.contains_key(key), "{key} was never written");
            ambiguous += 1;
        }
    }
    println!(
        "writes: {} acknowledged ({acked_at_kill} before the kill, {after_restart} after the restart), \
         {} failed ({ambiguous} of them applied anyway); etcd down {outage:?} (kill → ready), \
         first write {recovery:?} after ready",
        acked.len(),
        failed.len()
    );
    if let Some((k, e)) = failed.first() {
        println!("e.g. {k}: {e}");
    }

    // Every watch saw every stored revision exactly once, in order.
    let mut expected: Vec<(String, u64)> = page
        .items
        .iter()
        .map(|kv| (kv.key.clone(), kv.mod_revision))
        .collect();
    expected.sort_by_key(|(_, r)| *r);
    last.store(expected.last().unwrap().1, Ordering::SeqCst);
    for w in watchers {
        match w.await.unwrap() {
            Outcome::Complete(seen) => {
                assert_eq!(seen.len(), expected.len(), "event count");
                assert_eq!(seen, expected, "every revision once, in order");
            }
            Outcome::Compacted(seen) => {
                assert_eq!(seen, expected[..seen.len()], "no gap before the 410");
                println!("a watch ended with Compacted after {} events", seen.len());
            }
            Outcome::Broken(why, seen) => panic!("watch broken after {} events: {why}", seen.len()),
        }
    }
    println!(
        "{WATCHERS} watches each delivered all {} events",
        expected.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_whose_history_is_compacted_while_disconnected_gets_compacted() {
    let mut etcd = EtcdServer::start_with(EtcdServerOptions {
        tls: false,
        unsafe_no_fsync: true,
    })
    .await
    .unwrap();
    let port = etcd.client_port();
    let store = etcd.store().await.unwrap();
    let start = store.current_revision().await.unwrap();
    let mut watch = store.watch(PREFIX, start).await.unwrap();
    let mut position = start;
    for i in 0..10 {
        position = store
            .create(&format!("{PREFIX}before-{i}"), b"{}".to_vec())
            .await
            .unwrap()
            .mod_revision;
    }
    for i in 0..10 {
        let ev = watch.next().await.unwrap().unwrap();
        assert_eq!(ev.revision, start + 1 + i);
    }

    // etcd comes back on another port first: `store` (and its watch) cannot reach it, while
    // another client writes and compacts past the watch's position.
    let elsewhere = free_port().unwrap();
    etcd.restart_on_port(elsewhere).await.unwrap();
    let other = etcd.store().await.unwrap();
    for i in 0..5 {
        other
            .create(&format!("{PREFIX}during-{i}"), b"{}".to_vec())
            .await
            .unwrap();
    }
    let compacted = other.current_revision().await.unwrap();
    other.compact(compacted).await.unwrap();
    assert_eq!(other.compacted_revision().await, Ok(compacted));

    // A client that never heard of the compaction learns the compacted revision from etcd.
    let fresh = etcd.store().await.unwrap();
    assert_eq!(
        fresh
            .get(&format!("{PREFIX}before-0"), Some(position))
            .await,
        Err(StoreError::Compacted {
            requested: position,
            compacted
        })
    );
    // …and a watch opened behind the compaction by a client that knows nothing of it either
    // fails at once or ends with Compacted as its first item.
    let unaware = etcd.store().await.unwrap();
    match unaware.watch(PREFIX, position).await {
        Err(e) => assert!(matches!(e, StoreError::Compacted { .. }), "{e:?}"),
        Ok(mut behind) => assert_eq!(
            tokio::time::timeout(Duration::from_secs(5), behind.next())
                .await
                .unwrap(),
            Some(Err(StoreError::Compacted {
                requested: position,
                compacted
            }))
        ),
    }

    // Back on the original port: the disconnected watch resumes at position + 1, which is
    // gone, so it ends with Compacted instead of silently skipping the `during-*` writes.
    etcd.restart_on_port(port).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(15), watch.next())
        .await
        .unwrap();
    assert_eq!(
        next,
        Some(Err(StoreError::Compacted {
            requested: position,
            compacted
        }))
    );
    assert_eq!(watch.next().await, None, "and ends");
    // The same store serves again.
    assert!(
        store
            .get(&format!("{PREFIX}during-0"), None)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_across_an_etcd_that_lost_its_data_ends_with_compacted() {
    let mut etcd = EtcdServer::start_with(EtcdServerOptions {
        tls: false,
        unsafe_no_fsync: true,
    })
    .await
    .unwrap();
    let store = etcd.store().await.unwrap();
    let start = store.current_revision().await.unwrap();
    let mut watch = store.watch(PREFIX, start).await.unwrap();
    for i in 0..5 {
        store
            .create(&format!("{PREFIX}k{i}"), b"{}".to_vec())
            .await
            .unwrap();
    }
    for _ in 0..5 {
        watch.next().await.unwrap().unwrap();
    }
    // A new, empty etcd on the same address: revision 1 again. Resuming at the old position
    // would wait for revisions the new etcd will give to other writes: the watch must end.
    etcd.restart_wiped().await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(15), watch.next())
        .await
        .unwrap();
    assert!(
        matches!(next, Some(Err(StoreError::Compacted { .. }))),
        "{next:?}"
    );
    assert_eq!(
        store.current_revision().await,
        Ok(1),
        "the same store serves the new etcd"
    );
}
