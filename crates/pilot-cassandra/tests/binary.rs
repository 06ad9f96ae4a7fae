//! The `pilot-cassandra` binary as a whole: against a real API server
//! (`navigator-apiserver --standalone`) and real Cassandra from hack/build-images, run as a
//! host process on a loopback address. The pilot finds its Pilot, renders the configuration,
//! starts Cassandra, reports Ready and the node's facts, refuses a decommission that would
//! lose the only replicas (naming the keyspace), and on SIGTERM drains and exits 0.
//!
//! `#[ignore]`d (about 1 GiB and a minute): needs `cargo build -p navigator-apiserver` and the
//! image. Run with
//! `cargo test -p pilot-cassandra --test binary -- --ignored --nocapture`
//! (`PILOT_CASSANDRA_BINARY=target/release/pilot-cassandra` runs the release build instead;
//! `PILOT_CASSANDRA_VERSION=4.1.10` the 4.1 image).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use navigator_api::v1beta1::{Pilot, PilotClusterReference};
use serde_json::json;
use test_support::pilots::TermOnDrop;
use test_support::standalone::StandaloneServer;

fn free_port() -> u16 {
    test_support::ports::free_port().expect("a free port")
}

fn image() -> PathBuf {
    let version = std::env::var("PILOT_CASSANDRA_VERSION").unwrap_or_else(|_| "5.0.8".into());
    test_support::paths::image_root("cassandra", &version, "opt/cassandra/bin/cassandra")
}

/// A child process stopped when dropped: SIGTERM first (a pilot then stops its Cassandra; a
/// SIGKILLed pilot would leave it running), SIGKILL after 60 s.
fn killed(child: Child) -> TermOnDrop {
    TermOnDrop::new(child, Duration::from_secs(60))
}

async fn wait_pilot(
    api: &Api<Pilot>,
    name: &str,
    what: &str,
    limit: Duration,
    log: &Path,
    check: impl Fn(&Pilot) -> bool,
) -> Pilot {
    let start = Instant::now();
    loop {
        let pilot = api.get(name).await.expect("get Pilot");
        if check(&pilot) {
            eprintln!("{name}: {what} after {:.1}s", start.elapsed().as_secs_f64());
            return pilot;
        }
        if start.elapsed() > limit {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            panic!(
                "{what}: not reached in {limit:?}; status: {}\npilot log tail:\n{}",
                serde_json::to_string_pretty(&pilot.status).expect("JSON"),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn condition(p: &Pilot, type_: &str) -> Option<(String, String)> {
    p.status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.message.clone()))
}

/// navigator-apiserver in `dir/apiserver`, and a Pilot client for namespace `db`.
async fn api_server(dir: &Path) -> (StandaloneServer, PathBuf, Api<Pilot>) {
    let server = StandaloneServer::start_in(&dir.join("apiserver"));
    let client = server.client().await;
    let kubeconfig = server.kubeconfig();
    (server, kubeconfig, Api::namespaced(client, NS))
}

const NS: &str = "db";

async fn create_pilot(api: &Api<Pilot>, name: &str) {
    let mut pilot = Pilot::default();
    pilot.metadata.name = Some(name.into());
    pilot.metadata.namespace = Some(NS.into());
    pilot.spec.cluster = Some(PilotClusterReference {
        kind: "CassandraCluster".into(),
        name: "demo".into(),
    });
    pilot.spec.node_pool = Some("rack1".into());
    api.create(&PostParams::default(), &pilot)
        .await
        .expect("create Pilot");
}

/// Starts the pilot binary for pod `name` on `ip`, its data and configuration under
/// `dir/name`; returns the process and its log.
fn start_pilot(
    dir: &Path,
    kubeconfig: &Path,
    name: &str,
    ip: &str,
    seeds: &str,
) -> (TermOnDrop, PathBuf) {
    let home = dir.join(name);
    std::fs::create_dir_all(&home).expect("mkdir");
    let log = home.join(format!("pilot-{}.log", free_port()));
    let out = std::fs::File::create(&log).expect("log");
    let child = Command::new(
        std::env::var_os("PILOT_CASSANDRA_BINARY")
            .map(PathBuf::from)
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_pilot-cassandra").into()),
    )
    .args(["--probe-address", "127.0.0.1"])
    .args(["--liveness-port", &free_port().to_string()])
    .args(["--readiness-port", &free_port().to_string()])
    .arg("--kubeconfig")
    .arg(kubeconfig)
    .env("POD_NAME", name)
    .env("POD_NAMESPACE", NS)
    .env("POD_IP", ip)
    .env("MEMORY_LIMIT", (1u64 << 30).to_string())
    .env("PILOT_DATA_DIR", home.join("data"))
    .env("PILOT_CONFIG_DIR", home.join("conf"))
    .env("CASSANDRA_HOME", image().join("opt/cassandra"))
    .env("CASSANDRA_CLUSTER_NAME", "demo")
    .env("CASSANDRA_DC", "dc1")
    .env("CASSANDRA_RACK", "rack1")
    .env("CASSANDRA_SEEDS_SERVICE", seeds)
    .env("CASSANDRA_JOLOKIA_PORT", free_port().to_string())
    .env("CASSANDRA_RING_DELAY_MS", "5000")
    // nodetool's JMX port, private to this test's Cassandra.
    .env("JMX_PORT", free_port().to_string())
    .stdin(Stdio::null())
    .stdout(out.try_clone().expect("log"))
    .stderr(out)
    .spawn()
    .expect("start pilot-cassandra");
    (killed(child), log)
}

/// Sends SIGTERM to the pilot and waits for its exit code.
async fn stop(child: &mut TermOnDrop) -> Option<i32> {
    child.stop(Duration::from_secs(90)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts navigator-apiserver and real Cassandra (about 1 GiB and a minute)"]
async fn pilot_binary_runs_cassandra_reports_refuses_and_drains() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, kubeconfig, api) = api_server(dir.path()).await;
    create_pilot(&api, "cass-0").await;
    let start = Instant::now();
    let (mut child, pilot_log) = start_pilot(
        dir.path(),
        &kubeconfig,
        "cass-0",
        "127.0.0.41",
        "demo-seeds.invalid",
    );

    let p = wait_pilot(
        &api,
        "cass-0",
        "Ready",
        Duration::from_secs(240),
        &pilot_log,
        |p| condition(p, "Ready").is_some_and(|(s, _)| s == "True"),
    )
    .await;
    eprintln!(
        "TIMING pilot start → Pilot Ready {:.1}s",
        start.elapsed().as_secs_f64()
    );
    let rss = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            l.starts_with("VmRSS:")
                || l.starts_with("RssAnon:")
                || l.starts_with("RssFile:")
                || l.starts_with("Threads:")
        })
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ");
    eprintln!("TIMING pilot-cassandra RSS with Cassandra ready: {rss}");
    let c = p.status.cassandra.clone().expect("cassandra facts");
    eprintln!(
        "status.cassandra: {}",
        serde_json::to_string(&c).expect("JSON")
    );
    assert_eq!(
        c.version.map(|v| v.to_string()),
        Some(image().file_name().unwrap().to_string_lossy().into_owned())
    );
    assert_eq!(c.operation_mode.as_deref(), Some("NORMAL"));
    assert_eq!(c.datacenter.as_deref(), Some("dc1"));
    assert_eq!(c.tokens, Some(16));
    assert!(c.host_id.is_some());
    assert_eq!(c.peers.expect("peers").live, ["127.0.0.41"]);
    let yaml =
        std::fs::read_to_string(dir.path().join("cass-0/conf/cassandra.yaml")).expect("yaml");
    assert!(yaml.contains("listen_address: 127.0.0.41"), "{yaml}");

    // Opt-in measurement (a benchmark, not a check): status writes at steady state.
    if std::env::var_os("PILOT_MEASURE_WRITES").is_some() {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let version = |p: &Pilot| p.metadata.resource_version.clone().unwrap_or_default();
        let mut last = version(&api.get("cass-0").await.expect("get"));
        let mut writes = 0;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(120) {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let p = api.get("cass-0").await.expect("get");
            if version(&p) != last {
                writes += 1;
                last = version(&p);
                eprintln!(
                    "{:>6.1}s write: heartbeat {:?} load {:?}",
                    start.elapsed().as_secs_f64(),
                    p.status.last_heartbeat_time,
                    p.status.cassandra.as_ref().and_then(|c| c.load_bytes)
                );
            }
        }
        eprintln!("TIMING Pilot status writes at steady state: {writes} in 120 s");
    }

    // The only node cannot leave: its Pilot says which keyspace it would strand.
    api.patch(
        "cass-0",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"requestedState": "Decommissioned"}})),
    )
    .await
    .expect("request Decommissioned");
    let p = wait_pilot(
        &api,
        "cass-0",
        "decommission Failed",
        Duration::from_secs(30),
        &pilot_log,
        |p| {
            p.status
                .operation
                .as_ref()
                .is_some_and(|o| o.state == "Decommissioned" && o.phase == "Failed")
        },
    )
    .await;
    let op = p.status.operation.clone().expect("operation");
    assert_eq!(
        op.message,
        r#"cannot decommission cass-0: keyspace "system_auth" needs 1 replicas in dc1 but only 0 nodes would remain"#
    );
    assert_eq!(condition(&p, "Ready").map(|c| c.0).as_deref(), Some("True"));

    // SIGTERM: drain, stop, exit 0.
    let code = stop(&mut child).await;
    let text = std::fs::read_to_string(&pilot_log).expect("log");
    assert_eq!(code, Some(0), "pilot exit\n{text}");
    assert!(text.contains("DRAINED"), "no DRAINED in the log:\n{text}");
    let p = api.get("cass-0").await.expect("get Pilot");
    eprintln!("conditions after stop: {:?}", p.status.conditions);
    assert_eq!(
        condition(&p, "Stopped").map(|c| c.0).as_deref(),
        Some("True")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts navigator-apiserver and two real Cassandra nodes (about 2 GiB and 2 minutes)"]
async fn pilot_binary_decommissions_through_the_pilot_spec_and_refuses_the_old_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, kubeconfig, api) = api_server(dir.path()).await;
    let (a, b) = ("127.0.0.42", "127.0.0.43");
    create_pilot(&api, "cass-0").await;
    create_pilot(&api, "cass-1").await;
    let (_first, first_log) =
        start_pilot(dir.path(), &kubeconfig, "cass-0", a, "demo-seeds.invalid");
    wait_pilot(
        &api,
        "cass-0",
        "Ready",
        Duration::from_secs(240),
        &first_log,
        |p| condition(p, "Ready").is_some_and(|(s, _)| s == "True"),
    )
    .await;
    // The second pod's "seeds Service" resolves to the first node.
    let (mut second, second_log) = start_pilot(dir.path(), &kubeconfig, "cass-1", b, a);
    let both = |p: &Pilot| {
        condition(p, "Ready").is_some_and(|(s, _)| s == "True")
            && p.status
                .cassandra
                .as_ref()
                .and_then(|c| c.peers.as_ref())
                .is_some_and(|peers| peers.live.len() == 2 && peers.joining.is_empty())
    };
    wait_pilot(
        &api,
        "cass-1",
        "Ready, 2 live",
        Duration::from_secs(300),
        &second_log,
        both,
    )
    .await;
    wait_pilot(
        &api,
        "cass-0",
        "2 live",
        Duration::from_secs(60),
        &first_log,
        both,
    )
    .await;

    // Only system keyspaces: the second node may leave.
    api.patch(
        "cass-1",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"requestedState": "Decommissioned"}})),
    )
    .await
    .expect("request Decommissioned");
    let p = wait_pilot(
        &api,
        "cass-1",
        "decommission Complete",
        Duration::from_secs(300),
        &second_log,
        |p| {
            p.status.operation.as_ref().is_some_and(|o| {
                o.state == "Decommissioned" && matches!(o.phase.as_str(), "Complete" | "Failed")
            })
        },
    )
    .await;
    let op = p.status.operation.clone().expect("operation");
    assert_eq!(op.phase, "Complete", "{op:?}");
    assert_eq!(
        p.status.cassandra.and_then(|c| c.operation_mode).as_deref(),
        Some("DECOMMISSIONED")
    );
    wait_pilot(
        &api,
        "cass-0",
        "sees only itself",
        Duration::from_secs(60),
        &first_log,
        |p| {
            p.status
                .cassandra
                .as_ref()
                .and_then(|c| c.peers.as_ref())
                .is_some_and(|peers| peers.live == [a])
        },
    )
    .await;
    let marker = std::fs::read_to_string(dir.path().join("cass-1/data/.navigator-pilot.json"))
        .expect("data marker");
    eprintln!("marker: {marker}");
    let marker: serde_json::Value = serde_json::from_str(&marker).expect("marker JSON");
    assert_eq!(marker["decommissioned"], json!(true), "{marker}");

    // SIGTERM on a decommissioned node: nothing to drain, exit 0.
    assert_eq!(stop(&mut second).await, Some(0));

    // The same pod again on its old volume: refused, Cassandra not started.
    let (_again, again_log) = start_pilot(dir.path(), &kubeconfig, "cass-1", b, a);
    let p = wait_pilot(
        &api,
        "cass-1",
        "refusal",
        Duration::from_secs(60),
        &again_log,
        |p| {
            condition(p, "Started").is_some_and(|(s, m)| s == "False" && m.contains("decommission"))
        },
    )
    .await;
    eprintln!("refused: {:?}", condition(&p, "Started"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = std::fs::read_to_string(&again_log).expect("log");
    assert!(
        !log.contains("CassandraDaemon"),
        "Cassandra started on decommissioned data:\n{log}"
    );
}
