//! etcd faults under a running navigator-apiserver: etcd is killed (`kill -9`) and restarted
//! twice while a writer streams creates over HTTPS and a client watches. The server is never
//! restarted: it serves again once etcd is back (readyz, writes). Every acknowledged create is
//! stored; the watching client — which counts events and, when its watch ends or gets 410 Gone,
//! relists and watches again from the list's resourceVersion, as client-go's reflector does —
//! ends up having seen every acknowledged object; within one watch, revisions only increase.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use http::StatusCode;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use navigator_api::v1beta1::CassandraCluster;
use support::{Backend, Http, Server, collection};

const NS: &str = "etcd-faults";

/// What the watching client saw.
#[derive(Debug, Default)]
struct Seen {
    /// Names seen in lists or ADDED events.
    names: BTreeSet<String>,
    /// ADDED/MODIFIED/DELETED events received.
    events: usize,
    /// Watches that ended (closed or failed) and were followed by a relist.
    relists: usize,
    /// Of those, how many ended with 410 Gone.
    gone: usize,
}

fn rv_of(o: &CassandraCluster) -> u64 {
    o.metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

/// List, then watch from the list's resourceVersion; on any end, relist. Runs until `stop`.
async fn watching_client(
    api: Api<CassandraCluster>,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::SeqCst) {
        let list = match api.list(&ListParams::default()).await {
            Ok(l) => l,
            Err(_) => {
                // etcd (and so the list) is unavailable: try again shortly.
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let rv = list.metadata.resource_version.clone().unwrap();
        {
            let mut s = seen.lock().unwrap();
            for o in &list.items {
                s.names.insert(o.metadata.name.clone().unwrap());
            }
        }
        let Ok(stream) = api.watch(&WatchParams::default().timeout(60), &rv).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let mut stream = std::pin::pin!(stream);
        let mut last_rv: u64 = rv.parse().unwrap();
        let mut gone = false;
        while let Some(item) = stream.next().await {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            match item {
                Ok(WatchEvent::Added(o)) => {
                    let rv = rv_of(&o);
                    assert!(rv > last_rv, "watch went back: {rv} after {last_rv}");
                    last_rv = rv;
                    let mut s = seen.lock().unwrap();
                    s.names.insert(o.metadata.name.clone().unwrap());
                    s.events += 1;
                }
                Ok(WatchEvent::Modified(o) | WatchEvent::Deleted(o)) => {
                    let rv = rv_of(&o);
                    assert!(rv > last_rv, "watch went back: {rv} after {last_rv}");
                    last_rv = rv;
                    seen.lock().unwrap().events += 1;
                }
                Ok(WatchEvent::Bookmark(_)) => {}
                Ok(WatchEvent::Error(e)) => {
                    gone = e.code == 410;
                    break;
                }
                Err(_) => break,
            }
        }
        let mut s = seen.lock().unwrap();
        s.relists += 1;
        s.gone += usize::from(gone);
    }
}

/// Creates `obj-<i>` one after the other until `stop`; returns the acknowledged names and how
/// many attempts failed (while etcd was down).
async fn writer(
    http: Http,
    acked: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> (Vec<String>, usize) {
    let base = collection(NS, "cassandraclusters");
    let mut names = Vec::new();
    let mut failed = 0;
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        let name = format!("obj-{i:04}");
        let body = support::cassandra(NS, &name).to_string().into_bytes();
        match http
            .request(http::Method::POST, &base, Some("application/json"), body)
            .await
        {
            Ok(r) if r.status == StatusCode::CREATED => {
                names.push(name);
                acked.fetch_add(1, Ordering::SeqCst);
                i += 1;
            }
            // An in-flight create may have landed before the error: that name is used up.
            Ok(r) if r.status == StatusCode::CONFLICT => i += 1,
            Ok(_) | Err(_) => {
                failed += 1;
                i += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    (names, failed)
}

async fn wait_acked(acked: &AtomicUsize, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.load(Ordering::SeqCst) < n {
        assert!(
            Instant::now() < deadline,
            "only {} writes acknowledged",
            acked.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_restarts_under_writes_and_watches() {
    let mut server = Server::start_on(Backend::Etcd);
    let pid = server.pid();
    let http = server.http().await;
    let api: Api<CassandraCluster> = Api::namespaced(server.kube_client().await, NS);

    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let watch_task = tokio::spawn(watching_client(api.clone(), seen.clone(), stop.clone()));
    let acked = Arc::new(AtomicUsize::new(0));
    let write_stop = Arc::new(AtomicBool::new(false));
    let write_task = tokio::spawn(writer(http.clone(), acked.clone(), write_stop.clone()));

    for round in 1..=2 {
        wait_acked(&acked, round * 60).await;
        tokio::task::block_in_place(|| server.etcd_mut().unwrap().restart());
        let before = acked.load(Ordering::SeqCst);
        // The server recovers by itself: writes land again.
        wait_acked(&acked, before + 20).await;
    }
    write_stop.store(true, Ordering::SeqCst);
    let (names, failed) = write_task.await.unwrap();

    // Same server process throughout, ready.
    assert_eq!(server.pid(), pid);
    let ready = http.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());

    // Every acknowledged create is stored.
    let stored: BTreeSet<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|o| o.metadata.name.unwrap())
        .collect();
    let missing: Vec<&String> = names.iter().filter(|n| !stored.contains(*n)).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");

    // The watching client saw every acknowledged object (by events, or by relisting).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let unseen: Vec<String> = {
            let s = seen.lock().unwrap();
            names
                .iter()
                .filter(|n| !s.names.contains(*n))
                .cloned()
                .collect()
        };
        if unseen.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watching client never saw {unseen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::SeqCst);
    if watch_task.is_finished() {
        // It only ends early by panicking (a revision going back).
        watch_task.await.unwrap();
    } else {
        watch_task.abort();
    }
    let s = seen.lock().unwrap();
    eprintln!(
        "MEASURE etcd restarts: 2; acknowledged creates {}, failed attempts {failed}, watch events {}, watch ends followed by relist {} (410 Gone: {})",
        names.len(),
        s.events,
        s.relists,
        s.gone
    );
}

/// Started before its etcd answers (as the chart's pods start beside etcd's), the server waits
/// for etcd, saying why in its log, and serves once etcd is up — no exit, no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_started_before_etcd_serves_once_etcd_answers() {
    let mut etcd = support::Etcd::start();
    let url = etcd.url();
    etcd.kill9();
    let started = Instant::now();
    let restarter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        etcd.restart();
        etcd
    });
    // Blocks until the server is ready (or fails if it exits first).
    let server = tokio::task::spawn_blocking(move || Server::start_with(&["--etcd-servers", &url]))
        .await
        .unwrap();
    let etcd = restarter.join().unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "ready before etcd was"
    );
    assert!(
        server.log_tail().contains("etcd does not answer yet"),
        "{}",
        server.log_tail()
    );
    let http = server.http().await;
    let created = http
        .post_json(
            &collection(NS, "cassandraclusters"),
            &support::cassandra(NS, "late"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let read = http
        .get(&format!("{}/late", collection(NS, "cassandraclusters")))
        .await;
    assert_eq!(read.status, StatusCode::OK);
    drop(server);
    drop(etcd);
}
