//! Watches under a burst of concurrent writes, through kube-rs (a real client nobody here
//! wrote): a list, then watches started from the list's resourceVersion while 500
//! CassandraClusters are created 16 at a time (concurrent writes land in the same commit
//! batches) and each gets two status patches. Every watch must deliver every change after the
//! list's revision exactly once, in revision order:
//!
//! - a raw watch read as the events come,
//! - a raw watch not read at all until the burst is over (its events back up through the
//!   server's buffers, the shared watch ring and the connection),
//! - a `kube::runtime::watcher` feeding a reflector store, as the controller's cluster cache.
//!
//! (The controller's 5-minute stall of 81 clusters in docs/benchmarks.md was not a watch loss:
//! see navigator-controller's `admission`.)
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{Stream, StreamExt as _, TryStreamExt as _};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::{WatchStreamExt as _, reflector, watcher};
use navigator_api::v1beta1::CassandraCluster;
use serde_json::json;
use support::{Backend, Server};

const CLUSTERS: usize = 500;
const IN_FLIGHT: usize = 16;
/// Status patches per cluster after its create.
const PATCHES: usize = 2;

/// What a watch delivered: per object, the change types in order; and every revision in order.
#[derive(Debug, Default)]
struct Seen {
    changes: BTreeMap<String, Vec<&'static str>>,
    revisions: Vec<u64>,
}

impl Seen {
    fn count(&self) -> usize {
        self.revisions.len()
    }
}

/// Reads `events` until `want` changes arrived (bookmarks skipped) or 120 s passed.
async fn collect(
    events: impl Stream<Item = kube::Result<WatchEvent<CassandraCluster>>>,
    want: usize,
) -> Seen {
    let mut events = std::pin::pin!(events);
    let mut seen = Seen::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while seen.count() < want {
        let next = tokio::time::timeout_at(deadline, events.next()).await;
        let event = match next {
            Ok(Some(Ok(event))) => event,
            Ok(Some(Err(e))) => panic!("watch error after {} changes: {e}", seen.count()),
            Ok(None) => panic!("the watch ended after {} of {want} changes", seen.count()),
            Err(_) => panic!("only {} of {want} changes in 120 s", seen.count()),
        };
        let (kind, obj) = match event {
            WatchEvent::Added(o) => ("ADDED", o),
            WatchEvent::Modified(o) => ("MODIFIED", o),
            WatchEvent::Deleted(o) => ("DELETED", o),
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Error(e) => panic!("ERROR event after {} changes: {e:?}", seen.count()),
        };
        let rv: u64 = obj.metadata.resource_version.unwrap().parse().unwrap();
        seen.revisions.push(rv);
        seen.changes
            .entry(obj.metadata.name.unwrap())
            .or_default()
            .push(kind);
    }
    seen
}

fn check(what: &str, seen: &Seen) {
    assert!(
        seen.revisions.windows(2).all(|w| w[0] < w[1]),
        "{what}: revisions out of order or repeated"
    );
    assert_eq!(seen.changes.len(), CLUSTERS, "{what}: objects seen");
    let mut want = vec!["ADDED"];
    want.extend(std::iter::repeat_n("MODIFIED", PATCHES));
    for (name, changes) in &seen.changes {
        assert_eq!(changes, &want, "{what}: changes of {name}");
    }
}

async fn watches_from_a_list_see_every_change_of_a_burst(backend: Backend) {
    let server = Server::start_on(backend);
    let client = server.kube_client().await;
    let ns = "burst";
    let api: Api<CassandraCluster> = Api::namespaced(client.clone(), ns);
    // Some history before the list, so its revision is not the store's first.
    let earlier: Api<CassandraCluster> = Api::namespaced(client.clone(), "earlier");
    for i in 0..5 {
        let c: CassandraCluster =
            serde_json::from_value(support::cassandra("earlier", &format!("e-{i}"))).unwrap();
        earlier.create(&PostParams::default(), &c).await.unwrap();
    }
    let list = api.list(&ListParams::default()).await.unwrap();
    assert!(list.items.is_empty());
    let rv = list.metadata.resource_version.unwrap();
    let params = WatchParams::default().timeout(290);
    let live = api.watch(&params, &rv).await.unwrap();
    let stalled = api.watch(&params, &rv).await.unwrap();
    let want = CLUSTERS * (1 + PATCHES);
    let live = tokio::spawn(async move { collect(live, want).await });

    let (reader, writer) = reflector::store::<CassandraCluster>();
    let cache = tokio::spawn(
        watcher(api.clone(), watcher::Config::default())
            .default_backoff()
            .reflect(writer)
            .applied_objects()
            .try_for_each(|_| async { Ok(()) }),
    );
    tokio::time::timeout(Duration::from_secs(30), reader.wait_until_ready())
        .await
        .expect("the cache's first list")
        .unwrap();

    let started = std::time::Instant::now();
    futures::stream::iter(0..CLUSTERS)
        .map(|i| {
            let api = api.clone();
            async move {
                let name = format!("c-{i:04}");
                let c: CassandraCluster =
                    serde_json::from_value(support::cassandra(ns, &name)).unwrap();
                api.create(&PostParams::default(), &c).await.unwrap();
                for p in 0..PATCHES {
                    api.patch_status(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(json!({"status": {"observedGeneration": p + 1}})),
                    )
                    .await
                    .unwrap();
                }
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<()>()
        .await;
    println!(
        "{backend:?}: {want} writes in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    check("live watch", &live.await.unwrap());
    check("stalled watch", &collect(stalled, want).await);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let state = reader.state();
        let done = state.len() == CLUSTERS
            && state
                .iter()
                .all(|c| c.status.observed_generation == Some(i64::try_from(PATCHES).unwrap()));
        if done {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reflector holds {} of {CLUSTERS} clusters",
            state.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!cache.is_finished(), "the watcher ended: {cache:?}");
    cache.abort();
}

support::on_both_backends!(async watches_from_a_list_see_every_change_of_a_burst);
