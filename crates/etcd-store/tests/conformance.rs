//! The apimachinery storage conformance suite against a real etcd.
//!
//! The suite's checks assert absolute revisions ("an empty store is at revision 1, like
//! etcd"), so every case gets its own fresh etcd (started in about a second) rather than a
//! fresh key prefix in a shared one. `--unsafe-no-fsync` keeps these fast; durability is the
//! fault test's subject, which runs with fsync.
#![allow(clippy::unwrap_used)]

use apimachinery::store::conformance;
use etcd_store::testing::{EtcdServer, EtcdServerOptions};

async fn fresh() -> (EtcdServer, etcd_store::EtcdStore) {
    let server = EtcdServer::start_with(EtcdServerOptions {
        tls: false,
        unsafe_no_fsync: true,
    })
    .await
    .unwrap();
    let store = server.store().await.unwrap();
    (server, store)
}

macro_rules! case {
    ($name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (_etcd, store) = fresh().await;
            conformance::$name(&store).await;
        }
    };
}

case!(writes_follow_etcd_revision_semantics);
case!(lists_are_prefix_scoped_ordered_and_paginate_on_a_snapshot);
case!(compaction_drops_history_but_keeps_state);
case!(watch_replays_history_then_follows_live_changes_in_order);
case!(many_watchers_each_see_every_event);
case!(guaranteed_update_never_loses_an_update);
case!(optimistic_writers_land_or_conflict_and_nothing_is_lost);
case!(guaranteed_update_respects_preconditions_and_no_ops);

/// A list larger than gRPC's default 4 MiB response limit (Go's client lifts it; so must we).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_larger_than_four_mebibytes() {
    use apimachinery::store::{ListRequest, Storage};
    let (_etcd, store) = fresh().await;
    let big = vec![b'x'; 1024 * 1024];
    for i in 0..6 {
        store
            .create(&format!("/r/big/{i}"), big.clone())
            .await
            .unwrap();
    }
    let page = store
        .list(ListRequest {
            prefix: "/r/big/".to_owned(),
            ..ListRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 6);
    // The same range through a client with gRPC's default limit fails: the test is real.
    let err = store
        .client()
        .clone()
        .get(
            "/r/big/",
            Some(etcd_client::GetOptions::new().with_prefix()),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("message length too large"),
        "{err}"
    );
    let mut w = store.watch("/r/big/", 1).await.unwrap();
    for _ in 0..6 {
        assert_eq!(
            w.next().await.unwrap().unwrap().value.unwrap().len(),
            big.len()
        );
    }
}

/// Updates and deletes guarded only by a revision go through one transaction (no read
/// first); they keep the contract: identical bytes write nothing, a stale revision conflicts
/// with the actual one, a missing key is NotFound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revision_only_preconditions_keep_the_contract() {
    use apimachinery::store::{Preconditions, Storage, StoreError};
    let (_etcd, store) = fresh().await;
    let at = |r: u64| Preconditions {
        mod_revision: Some(r),
        uid: None,
    };
    let created = store.create("/r/a", b"1".to_vec()).await.unwrap();
    assert_eq!(created.mod_revision, 2);
    let same = store.update("/r/a", b"1".to_vec(), &at(2)).await.unwrap();
    assert_eq!(same, created, "identical bytes: no write");
    assert_eq!(store.current_revision().await, Ok(2));
    let updated = store.update("/r/a", b"2".to_vec(), &at(2)).await.unwrap();
    assert_eq!((updated.create_revision, updated.mod_revision), (2, 3));
    assert_eq!(
        store.update("/r/a", b"3".to_vec(), &at(2)).await,
        Err(StoreError::RevisionConflict {
            key: "/r/a".into(),
            expected: 2,
            actual: 3
        })
    );
    assert_eq!(
        store.update("/r/missing", b"3".to_vec(), &at(2)).await,
        Err(StoreError::NotFound {
            key: "/r/missing".into()
        })
    );
    assert_eq!(
        store.delete("/r/a", &at(2)).await,
        Err(StoreError::RevisionConflict {
            key: "/r/a".into(),
            expected: 2,
            actual: 3
        })
    );
    assert_eq!(store.delete("/r/a", &at(3)).await, Ok((updated, 4)));
    assert_eq!(
        store.delete("/r/a", &at(3)).await,
        Err(StoreError::NotFound { key: "/r/a".into() })
    );
    assert_eq!(
        store.current_revision().await,
        Ok(4),
        "failed writes take no revision"
    );
}
