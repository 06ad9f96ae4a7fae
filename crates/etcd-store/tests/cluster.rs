//! A three-member etcd cluster loses the member the store talks to (in practice also the
//! leader: the first member usually wins the first election), during writes and open watches:
//! the same store moves to the other members; only the writes in flight on the killed member
//! fail, with a retriable error that says they may have been applied (none is lost to the
//! election: requests are held, unsent, until the member they go to follows a live leader, and
//! refused "no leader" requests are retried); acknowledged writes are all there; watches resume
//! on another member without a gap.
#![allow(clippy::unwrap_used)]

use apimachinery::store::{ListRequest, Storage, StoreError};
use etcd_store::EtcdStore;
use etcd_store::testing::EtcdCluster;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const PREFIX: &str = "/registry/navigator.jetstack.io/clustertest/";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn losing_a_member_moves_requests_and_watches_to_the_others() {
    let mut cluster = EtcdCluster::start(3).await.unwrap();
    let store = EtcdStore::connect(cluster.config()).await.unwrap();
    let start = store.current_revision().await.unwrap();
    let mut watches = Vec::new();
    for _ in 0..3 {
        watches.push(store.watch(PREFIX, start).await.unwrap());
    }

    let acked_count = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for t in 0..3 {
        let (store, acked_count) = (store.clone(), Arc::clone(&acked_count));
        writers.push(tokio::spawn(async move {
            let (mut acked, mut failed) = (Vec::new(), 0);
            for i in 0..100 {
                match store
                    .create(&format!("{PREFIX}w{t}-{i:03}"), b"{}".to_vec())
                    .await
                {
                    Ok(kv) => {
                        acked.push(kv.mod_revision);
                        acked_count.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => {
                        println!("w{t}-{i:03}: {e}");
                        assert!(
                            matches!(&e, StoreError::Unavailable(m) if m.contains("it may have been applied")),
                            "only a write in flight on the killed member fails, as retriable: {e:?}"
                        );
                        failed += 1;
                    }
                }
            }
            (acked, failed)
        }));
    }
    while acked_count.load(Ordering::SeqCst) < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Member 0 is the one the store started with.
    let killed = std::time::Instant::now();
    cluster.members[0].kill();

    let (mut acked, mut failed) = (Vec::new(), 0);
    for w in writers {
        let (a, f) = w.await.unwrap();
        acked.extend(a);
        failed += f;
    }
    println!(
        "{} acknowledged, {failed} failed (in flight on the killed member); writers done {:?} after the kill",
        acked.len(),
        killed.elapsed()
    );
    assert!(
        failed <= 3,
        "only writes in flight on the killed member fail"
    );

    let page = store
        .list(ListRequest {
            prefix: PREFIX.to_owned(),
            ..ListRequest::default()
        })
        .await
        .unwrap();
    let stored: Vec<u64> = page.items.iter().map(|kv| kv.mod_revision).collect();
    for rev in &acked {
        assert!(
            stored.contains(rev),
            "acknowledged revision {rev} is stored"
        );
    }
    let mut expected = stored.clone();
    expected.sort_unstable();
    for w in &mut watches {
        for want in &expected {
            let ev = tokio::time::timeout(Duration::from_secs(15), w.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert_eq!(ev.revision, *want);
        }
    }
}
