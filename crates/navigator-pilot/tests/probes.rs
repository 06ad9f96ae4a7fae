//! The probe servers over real HTTP: liveness and readiness answer from the shared state (200
//! or 503 with the reason as the body), and `/metrics` serves Prometheus text on both ports.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use navigator_api::v1beta1::{CassandraPeers, CassandraPilotStatus};
use navigator_pilot::metrics::Metrics;
use navigator_pilot::probes::{Probe, ProbeLimits, SharedProbes, spawn_server};
use navigator_pilot::status::Lifecycle;
use navigator_pilot::{NodeFacts, Observation};

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri = format!("http://{addr}{path}").parse().unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(5), client.get(uri))
        .await
        .unwrap()
        .unwrap();
    let code = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (code, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn probes_and_metrics_over_http() {
    let metrics = Arc::new(Metrics::new());
    let shared = SharedProbes::new(
        ProbeLimits {
            max_age: Duration::from_millis(800),
            startup_grace: Duration::from_secs(60),
        },
        metrics.clone(),
    );
    let any = "127.0.0.1:0".parse().unwrap();
    let live = spawn_server(Probe::Liveness, any, shared.clone())
        .await
        .unwrap();
    let ready = spawn_server(Probe::Readiness, any, shared.clone())
        .await
        .unwrap();

    // Before the Pilot is seen: the pilot is alive, the database is not ready.
    assert_eq!(get(live, "/").await.0, 200);
    let (code, body) = get(ready, "/").await;
    assert_eq!((code, body.trim()), (503, "waiting for the Pilot object"));

    // Running, then a ready observation.
    shared.set_lifecycle(Lifecycle::Running);
    assert_eq!(get(ready, "/").await, (503, "no observation yet\n".into()));
    let obs = Observation {
        alive: true,
        ready: true,
        facts: NodeFacts::Cassandra(CassandraPilotStatus {
            load_bytes: Some(4096),
            tokens: Some(16),
            peers: Some(CassandraPeers {
                live: vec!["10.0.0.1".into(), "10.0.0.2".into()],
                ..CassandraPeers::default()
            }),
            ..CassandraPilotStatus::default()
        }),
        detail: String::new(),
    };
    metrics.observed(&obs, Duration::from_millis(3), false);
    shared.observed(obs);
    assert_eq!(get(live, "/").await, (200, "alive\n".into()));
    assert_eq!(get(ready, "/").await, (200, "ready\n".into()));

    for addr in [live, ready] {
        let (code, text) = get(addr, "/metrics").await;
        assert_eq!(code, 200);
        for line in [
            "navigator_pilot_observations_total 1",
            "navigator_database_up 1",
            "navigator_database_ready 1",
            "navigator_database_load_bytes 4096.0",
            "navigator_database_tokens 16",
            "navigator_database_peers{state=\"live\"} 2",
            "navigator_pilot_database_restarts_total 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} missing:\n{text}");
        }
    }

    // The observation grows old: both probes fail and say why.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (code, body) = get(live, "/").await;
    assert_eq!(code, 503);
    assert!(body.contains("old"), "{body}");
    assert_eq!(get(ready, "/").await.0, 503);

    // A refused start: the pilot stays alive, the database is not ready, the body says why.
    shared.set_lifecycle(Lifecycle::Refused("node was decommissioned".into()));
    assert_eq!(get(live, "/").await.0, 200);
    let (code, body) = get(ready, "/").await;
    assert_eq!(code, 503);
    assert!(body.contains("node was decommissioned"), "{body}");
}
