//! The shared compactor: two servers on one etcd compact once per tick between them, through
//! `compact_rev_key`, as kube-apiservers do.
#![allow(clippy::unwrap_used)]

use apimachinery::store::{Storage, StoreError};
use etcd_store::testing::{EtcdServer, EtcdServerOptions};
use etcd_store::{COMPACT_REV_KEY, CompactorState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_compaction_schedule() {
    let etcd = EtcdServer::start_with(EtcdServerOptions {
        tls: false,
        unsafe_no_fsync: true,
    })
    .await
    .unwrap();
    let (a, b) = (etcd.store().await.unwrap(), etcd.store().await.unwrap());
    for i in 0..5 {
        a.create(&format!("/r/k{i}"), b"{}".to_vec()).await.unwrap();
    }

    // Tick 1: A wins and records the revision (no compaction at bootstrap); B loses.
    let (sa, compacted) = a.compact_tick(CompactorState::default()).await.unwrap();
    assert_eq!((sa.time, compacted), (1, None));
    let r1 = sa.revision;
    let (sb, compacted) = b.compact_tick(CompactorState::default()).await.unwrap();
    assert_eq!((sb.time, compacted), (1, None), "B adopts A's time");

    for i in 5..10 {
        b.create(&format!("/r/k{i}"), b"{}".to_vec()).await.unwrap();
    }
    // Tick 2: B is first this time; it compacts to the revision it saw at tick 1, A then
    // loses and compacts nothing.
    let (sb, compacted) = b.compact_tick(sb).await.unwrap();
    assert_eq!(sb.time, 2);
    let target = compacted.unwrap();
    assert!(target >= r1);
    let (sa, compacted) = a.compact_tick(sa).await.unwrap();
    assert_eq!((sa.time, compacted), (2, None));

    // Both know the compacted revision (A from compact_rev_key); reads below it are gone.
    assert_eq!(b.compacted_revision().await, Ok(target));
    assert_eq!(a.compacted_revision().await, Ok(target));
    assert!(matches!(
        a.get("/r/k0", Some(target - 1)).await,
        Err(StoreError::Compacted { .. })
    ));
    let raw = a.client().clone().get(COMPACT_REV_KEY, None).await.unwrap();
    assert_eq!(raw.kvs()[0].version(), 2, "one write per tick");
}
