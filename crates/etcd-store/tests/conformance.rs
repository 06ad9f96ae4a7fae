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
