//! The whole runtime against a real API server (`navigator-apiserver --standalone`, the
//! workspace's binary) with kube-rs, and a real child process as the "database": the pilot
//! finds its own Pilot by field selector, writes the data marker, starts the child, reports
//! Started/Ready and the adapter's facts with observedGeneration and a heartbeat, answers its
//! probes, writes nothing at steady state, performs a requested decommission (Complete, marker
//! says decommissioned), stops gracefully on
//! SIGTERM (adapter stop first, then SIGTERM to the child, exit 0, Stopped=True) — and a second
//! start on the same data is refused with a clear status while the pilot stays up. A database
//! that exits by itself takes the pilot with it (its status, `Stopped=True`), and a failed
//! `prepare` is reported as `Started=False` (`PrepareFailed`) with exit code 1.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use navigator_api::v1beta1::{CassandraPilotStatus, Pilot, PilotClusterReference};
use navigator_pilot::supervisor::SignalEvents;
use navigator_pilot::{
    AdapterError, DatabaseAdapter, Identity, NodeFacts, Observation, PilotContext, Progress,
    RequestedState, RuntimeOptions, StartCommand, run_with,
};
use nix::sys::signal::Signal;
use serde_json::json;
use test_support::standalone::StandaloneServer;

fn free_port() -> u16 {
    test_support::ports::free_port().unwrap()
}

/// What the fake database reports, and what the pilot asked of it.
#[derive(Default)]
struct FakeState {
    ready: bool,
    shutdowns: u32,
    performed: Vec<RequestedState>,
    /// While set, a decommission is refused with this message (as an unsafe one would be).
    refuse_decommission: Option<String>,
    decommissioned: bool,
}

/// A "database" that is a shell loop; its observation comes from shared state.
#[derive(Clone, Default)]
struct FakeAdapter {
    state: Arc<Mutex<FakeState>>,
}

#[async_trait]
impl DatabaseAdapter for FakeAdapter {
    async fn prepare(&self, ctx: &PilotContext) -> Result<StartCommand, AdapterError> {
        let conf = ctx.config_dir.join("fake.conf");
        std::fs::write(&conf, format!("node: {}\n", ctx.identity.pod_name)).map_err(|source| {
            AdapterError::Io {
                context: conf.display().to_string(),
                source,
            }
        })?;
        let term = ctx.data_dir.join("got-term");
        Ok(StartCommand {
            program: "sh".into(),
            args: vec![
                "-c".into(),
                format!(
                    "trap 'echo TERM > {}; exit 0' TERM; while :; do sleep 0.05; done",
                    term.display()
                ),
            ],
            env: vec![],
            current_dir: Some(ctx.config_dir.clone()),
        })
    }

    async fn observe(&self, ctx: &PilotContext) -> Observation {
        let ready = self.state.lock().unwrap().ready;
        let decommissioned = self.state.lock().unwrap().decommissioned;
        let mode = match (decommissioned, ready) {
            (true, _) => "DECOMMISSIONED",
            (false, true) => "NORMAL",
            (false, false) => "JOINING",
        };
        Observation {
            alive: true,
            ready: ready && !decommissioned,
            facts: NodeFacts::Cassandra(CassandraPilotStatus {
                operation_mode: Some(mode.into()),
                host_id: Some(format!("host-{}", ctx.identity.pod_name)),
                ..CassandraPilotStatus::default()
            }),
            detail: if ready { "" } else { "operation mode JOINING" }.into(),
        }
    }

    async fn perform(
        &self,
        _ctx: &PilotContext,
        requested: RequestedState,
        last: &Observation,
    ) -> Progress {
        let mut state = self.state.lock().unwrap();
        state.performed.push(requested);
        match requested {
            RequestedState::Running if last.ready => Progress::Complete("serving".into()),
            RequestedState::Running => Progress::Pending("waiting for NORMAL".into()),
            RequestedState::Drained => Progress::Failed("not supported".into()),
            RequestedState::Decommissioned => match &state.refuse_decommission {
                Some(why) => Progress::Failed(why.clone()),
                None => {
                    state.decommissioned = true;
                    Progress::Complete("left the ring".into())
                }
            },
        }
    }

    async fn shutdown(&self, _ctx: &PilotContext) -> Result<(), AdapterError> {
        self.state.lock().unwrap().shutdowns += 1;
        Ok(())
    }
}

async fn http_code(addr: SocketAddr) -> u16 {
    use http_body_util::Empty;
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client;
    let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri = format!("http://{addr}/").parse().unwrap();
    match tokio::time::timeout(Duration::from_secs(2), client.get(uri)).await {
        Ok(Ok(resp)) => resp.status().as_u16(),
        _ => 0,
    }
}

/// Waits until `check` holds for the Pilot, returning it.
async fn wait_pilot(api: &Api<Pilot>, what: &str, check: impl Fn(&Pilot) -> bool) -> Pilot {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pilot = api.get("demo-0").await.unwrap();
        if check(&pilot) {
            return pilot;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not reached in 20s; status: {}",
            serde_json::to_string_pretty(&pilot.status).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn condition(p: &Pilot, type_: &str) -> (String, String, String) {
    p.status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
        .unwrap_or_default()
}

fn options(data: &Path, config: &Path) -> (RuntimeOptions, SocketAddr, SocketAddr) {
    let mut opts = RuntimeOptions::new(data, config);
    opts.probe_address = "127.0.0.1".parse().unwrap();
    opts.liveness_port = free_port();
    opts.readiness_port = free_port();
    opts.observe_interval = Duration::from_millis(100);
    opts.observation_max_age = Duration::from_secs(3);
    opts.heartbeat_interval = Duration::from_secs(30);
    opts.operation_retry_interval = Duration::from_millis(300);
    let live = SocketAddr::new(opts.probe_address, opts.liveness_port);
    let ready = SocketAddr::new(opts.probe_address, opts.readiness_port);
    (opts, live, ready)
}

async fn metric(addr: SocketAddr, name: &str) -> f64 {
    use http_body_util::{BodyExt as _, Empty};
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client;
    let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let resp = client
        .get(format!("http://{addr}/metrics").parse().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pilot_lifecycle_against_a_real_api_server() {
    navigator_pilot::supervisor::become_subreaper().unwrap();
    let server = StandaloneServer::start();
    let client = server.client().await;
    let ns = "db";
    let api: Api<Pilot> = Api::namespaced(client.clone(), ns);
    let mut pilot = Pilot::default();
    pilot.metadata.name = Some("demo-0".into());
    pilot.metadata.namespace = Some(ns.into());
    pilot.spec.cluster = Some(PilotClusterReference {
        kind: "CassandraCluster".into(),
        name: "demo".into(),
    });
    // Another Pilot in the namespace, which the pilot must not mistake for its own.
    let mut other = pilot.clone();
    other.metadata.name = Some("demo-1".into());
    api.create(&PostParams::default(), &other).await.unwrap();

    let dirs = tempfile::tempdir().unwrap();
    let data = dirs.path().join("data");
    let config = dirs.path().join("config");
    let identity = Identity {
        pod_name: "demo-0".into(),
        namespace: ns.into(),
        pod_ip: "10.4.0.7".parse().unwrap(),
        memory_limit_bytes: Some(1 << 30),
    };
    let adapter = FakeAdapter::default();
    let (opts, live, ready) = options(&data, &config);
    let (signals_tx, signals_rx) = tokio::sync::mpsc::unbounded_channel();
    let run = tokio::spawn(run_with(
        adapter.clone(),
        opts,
        identity.clone(),
        client.clone(),
        SignalEvents::from_channel(signals_rx),
    ));

    // Before its Pilot exists the pilot waits: alive, not ready, no child started.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(http_code(live).await, 200);
    assert_eq!(http_code(ready).await, 503);
    assert!(!config.join("fake.conf").exists());
    assert!(
        api.get("demo-1")
            .await
            .unwrap()
            .status
            .conditions
            .is_empty()
    );

    api.create(&PostParams::default(), &pilot).await.unwrap();
    let p = wait_pilot(&api, "started, not ready", |p| {
        condition(p, "Started").0 == "True"
            && condition(p, "Ready").1 == "DatabaseNotReady"
            && p.status
                .cassandra
                .as_ref()
                .and_then(|c| c.operation_mode.as_deref())
                == Some("JOINING")
    })
    .await;
    assert_eq!(p.status.observed_generation, Some(1));
    assert!(p.status.last_heartbeat_time.is_some());
    assert_eq!(condition(&p, "Ready").2, "operation mode JOINING");
    assert_eq!(condition(&p, "Stopped").0, "False");
    let op = p.status.operation.clone().unwrap();
    assert_eq!(
        (op.state.as_str(), op.phase.as_str()),
        ("Running", "Pending")
    );
    assert_eq!(
        std::fs::read_to_string(config.join("fake.conf")).unwrap(),
        "node: demo-0\n"
    );
    let marker: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join(".navigator-pilot.json")).unwrap())
            .unwrap();
    assert_eq!(
        marker,
        json!({"namespace": "db", "cluster": "CassandraCluster/demo", "node": "demo-0", "decommissioned": false})
    );
    assert_eq!(http_code(ready).await, 503);
    assert_eq!(http_code(live).await, 200);

    // The database becomes ready: Ready=True, NORMAL, Running Complete, readiness passes.
    adapter.state.lock().unwrap().ready = true;
    let p = wait_pilot(&api, "ready", |p| {
        condition(p, "Ready").0 == "True"
            && p.status.operation.as_ref().map(|o| o.phase.as_str()) == Some("Complete")
    })
    .await;
    assert_eq!(
        p.status.cassandra.as_ref().unwrap().host_id.as_deref(),
        Some("host-demo-0")
    );
    assert_eq!(http_code(ready).await, 200);
    // The other Pilot was never written.
    assert!(
        api.get("demo-1")
            .await
            .unwrap()
            .status
            .conditions
            .is_empty()
    );

    // Steady state: no writes (the heartbeat is 30 s away).
    let changed = "navigator_pilot_status_writes_total{reason=\"changed\"}";
    let before = metric(live, changed).await;
    let rv = api.get("demo-0").await.unwrap().metadata.resource_version;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(metric(live, changed).await, before);
    assert_eq!(
        api.get("demo-0").await.unwrap().metadata.resource_version,
        rv
    );
    assert!(metric(live, "navigator_pilot_observations_total").await > 5.0);

    // An unknown requested state is refused by the API server's validation (the pilot's own
    // handling of one is table-tested in operation.rs).
    let err = api
        .patch(
            "demo-0",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"requestedState": "Sideways"}})),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Unsupported value"), "{err}");

    // A refused decommission is Failed and retried every interval without a status write;
    // once the adapter stops refusing, the retry proceeds: Complete, then the marker says so.
    let refusal = r#"cannot decommission demo-0: keyspace "ks" needs 3 replicas in dc1 but only 2 nodes would remain"#;
    adapter.state.lock().unwrap().refuse_decommission = Some(refusal.into());
    api.patch(
        "demo-0",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"requestedState": "Decommissioned"}})),
    )
    .await
    .unwrap();
    let p = wait_pilot(&api, "decommission refused", |p| {
        p.status
            .operation
            .as_ref()
            .map(|o| (o.state.as_str(), o.phase.as_str(), o.message.as_str()))
            == Some(("Decommissioned", "Failed", refusal))
            && p.status.observed_generation == Some(2)
    })
    .await;
    let refused = p.status.operation.clone().unwrap();
    assert!(refused.completion_time.is_some());
    let attempts = |a: &FakeAdapter| {
        a.state
            .lock()
            .unwrap()
            .performed
            .iter()
            .filter(|s| **s == RequestedState::Decommissioned)
            .count()
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rv = api.get("demo-0").await.unwrap().metadata.resource_version;
    let before = attempts(&adapter);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let retried = attempts(&adapter) - before;
    // About one retry per 300 ms, never one per observation (100 ms).
    assert!(
        (2..=8).contains(&retried),
        "{retried} retries in 2 s with a 300 ms retry interval"
    );
    let p = api.get("demo-0").await.unwrap();
    assert_eq!(
        p.metadata.resource_version, rv,
        "a same-failure retry wrote the status"
    );
    assert_eq!(p.status.operation.as_ref(), Some(&refused));
    adapter.state.lock().unwrap().refuse_decommission = None;
    let p = wait_pilot(&api, "decommissioned", |p| {
        p.status
            .operation
            .as_ref()
            .map(|o| (o.state.as_str(), o.phase.as_str()))
            == Some(("Decommissioned", "Complete"))
            && p.status
                .cassandra
                .as_ref()
                .and_then(|c| c.operation_mode.as_deref())
                == Some("DECOMMISSIONED")
    })
    .await;
    assert_eq!(p.status.observed_generation, Some(2));
    let op = p.status.operation.unwrap();
    assert_eq!(op.message, "left the ring");
    assert!(op.start_time.is_some() && op.completion_time.is_some());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(data.join(".navigator-pilot.json"))
        .unwrap()
        .contains("\"decommissioned\": true")
    {
        assert!(
            Instant::now() < deadline,
            "marker never said decommissioned"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // SIGTERM: the adapter's graceful stop, then SIGTERM to the child, which exits 0.
    signals_tx.send(Signal::SIGTERM).unwrap();
    let code = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(adapter.state.lock().unwrap().shutdowns, 1);
    assert_eq!(
        std::fs::read_to_string(data.join("got-term")).unwrap(),
        "TERM\n"
    );
    let p = api.get("demo-0").await.unwrap();
    assert_eq!(condition(&p, "Stopped").0, "True");
    assert_eq!(condition(&p, "Started").0, "False");
    assert_eq!(condition(&p, "Ready").0, "False");
    assert!(
        !adapter
            .state
            .lock()
            .unwrap()
            .performed
            .contains(&RequestedState::Drained)
    );

    // A second start on the decommissioned data is refused; the pilot stays up and says why.
    let again = FakeAdapter::default();
    let (opts, live, ready) = options(&data, &config);
    let (signals_tx, signals_rx) = tokio::sync::mpsc::unbounded_channel();
    std::fs::remove_file(config.join("fake.conf")).unwrap();
    let run = tokio::spawn(run_with(
        again.clone(),
        opts,
        identity,
        client.clone(),
        SignalEvents::from_channel(signals_rx),
    ));
    let p = wait_pilot(&api, "refused", |p| {
        condition(p, "Started").1 == "StartRefused"
    })
    .await;
    let (status, _, message) = condition(&p, "Started");
    assert_eq!(status, "False");
    assert!(message.contains("decommissioned"), "{message}");
    assert!(
        !config.join("fake.conf").exists(),
        "prepare ran on refused data"
    );
    assert_eq!(http_code(live).await, 200);
    assert_eq!(http_code(ready).await, 503);
    signals_tx.send(Signal::SIGTERM).unwrap();
    let code = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(again.state.lock().unwrap().shutdowns, 0);
}

/// A database that exits by itself after a moment, or an adapter whose `prepare` fails.
struct ScriptAdapter {
    script: &'static str,
    fail_prepare: bool,
}

#[async_trait]
impl DatabaseAdapter for ScriptAdapter {
    async fn prepare(&self, _ctx: &PilotContext) -> Result<StartCommand, AdapterError> {
        if self.fail_prepare {
            return Err(AdapterError::Config("no seeds resolvable".into()));
        }
        Ok(StartCommand {
            program: "sh".into(),
            args: vec!["-c".into(), self.script.into()],
            ..StartCommand::default()
        })
    }

    async fn observe(&self, _ctx: &PilotContext) -> Observation {
        Observation {
            alive: true,
            ready: true,
            facts: NodeFacts::Unknown,
            detail: String::new(),
        }
    }

    async fn perform(&self, _: &PilotContext, _: RequestedState, _: &Observation) -> Progress {
        Progress::Complete(String::new())
    }

    async fn shutdown(&self, _ctx: &PilotContext) -> Result<(), AdapterError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_exit_and_prepare_failure_are_reported() {
    let server = StandaloneServer::start();
    let client = server.client().await;
    let api: Api<Pilot> = Api::namespaced(client.clone(), "db");
    let mut pilot = Pilot::default();
    pilot.metadata.name = Some("demo-0".into());
    api.create(&PostParams::default(), &pilot).await.unwrap();
    let identity = Identity {
        pod_name: "demo-0".into(),
        namespace: "db".into(),
        pod_ip: "10.4.0.7".parse().unwrap(),
        memory_limit_bytes: None,
    };
    // (case, database script, prepare fails, SIGTERM to the pilot after 1 s, exit code,
    // condition, reason, message)
    let cases = [
        (
            "exits by itself",
            "sleep 0.5; exit 3",
            false,
            false,
            3,
            "Stopped",
            "ProcessExited",
            "status 3",
        ),
        (
            "prepare fails",
            "",
            true,
            false,
            1,
            "Started",
            "PrepareFailed",
            "no seeds resolvable",
        ),
        (
            "ignores SIGTERM: SIGKILL after the stop timeout",
            "trap '' TERM; while :; do sleep 0.05; done",
            false,
            true,
            137,
            "Stopped",
            "ProcessExited",
            "status 137",
        ),
    ];
    for (name, script, fail_prepare, terminate, want_code, type_, reason, message) in cases {
        let dirs = tempfile::tempdir().unwrap();
        let (mut opts, _, _) = options(&dirs.path().join("data"), &dirs.path().join("config"));
        opts.stop_timeout = Duration::from_secs(1);
        let (signals_tx, signals_rx) = tokio::sync::mpsc::unbounded_channel();
        if terminate {
            let signals_tx = signals_tx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                signals_tx.send(nix::sys::signal::Signal::SIGTERM).unwrap();
            });
        }
        let adapter = ScriptAdapter {
            script,
            fail_prepare,
        };
        let code = tokio::time::timeout(
            Duration::from_secs(20),
            run_with(
                adapter,
                opts,
                identity.clone(),
                client.clone(),
                SignalEvents::from_channel(signals_rx),
            ),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(code, want_code, "{name}");
        let p = api.get("demo-0").await.unwrap();
        let (_, got_reason, got_message) = condition(&p, type_);
        assert_eq!(got_reason, reason, "{name}");
        assert!(got_message.contains(message), "{name}: {got_message:?}");
    }
}
