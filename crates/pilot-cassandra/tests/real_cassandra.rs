//! The adapter against real Cassandra, run as host processes on loopback addresses
//! (127.0.0.x) from the image hack/build-images assembles. Slow (about a minute per node) and
//! memory-hungry (about 900 MiB per node), hence `#[ignore]`: run with
//!
//! ```text
//! cargo test -p pilot-cassandra --test real_cassandra -- --ignored --test-threads 1
//! ```
//!
//! `PILOT_CASSANDRA_VERSION` picks the image (default 5.0.8; the upgrade test uses 4.1.10
//! then 5.0.8); `RECORD_FIXTURES=1` rewrites
//! the Jolokia replies in `tests/fixtures/<version>/`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use navigator_pilot::{
    DatabaseAdapter, Identity, NodeFacts, Observation, PilotContext, Progress, RequestedState,
};
use pilot_cassandra::jolokia::{self, Request, STORAGE_SERVICE};
use pilot_cassandra::streams::STREAM_MANAGER;
use pilot_cassandra::{CassandraAdapter, CassandraOptions, data_version, facts, sstables};
use serde_json::json;
use tokio::process::{Child, Command};

fn version() -> String {
    std::env::var("PILOT_CASSANDRA_VERSION").unwrap_or_else(|_| "5.0.8".into())
}

fn image_of(version: &str) -> PathBuf {
    test_support::paths::image_root("cassandra", version, "opt/cassandra/bin/cassandra")
}

fn free_port() -> u16 {
    test_support::ports::free_port().expect("a free port")
}

/// One Cassandra node run by the adapter, as the runtime would.
struct Node {
    adapter: CassandraAdapter,
    options: CassandraOptions,
    ctx: PilotContext,
    child: Child,
    log: PathBuf,
}

impl Node {
    async fn start(dir: &Path, name: &str, ip: Ipv4Addr, seeds_service: &str) -> Node {
        Self::start_version(dir, name, ip, seeds_service, &version()).await
    }

    async fn start_version(
        dir: &Path,
        name: &str,
        ip: Ipv4Addr,
        seeds_service: &str,
        version: &str,
    ) -> Node {
        Self::start_edited(dir, name, ip, seeds_service, version, |_| {}).await
    }

    /// [`Node::start_version`] with `edit` applied to the rendered configuration directory
    /// before Cassandra starts.
    async fn start_edited(
        dir: &Path,
        name: &str,
        ip: Ipv4Addr,
        seeds_service: &str,
        version: &str,
        edit: impl FnOnce(&Path),
    ) -> Node {
        let home = image_of(version).join("opt/cassandra");
        let options = CassandraOptions {
            cluster_name: "pilot-test".into(),
            datacenter: "dc1".into(),
            rack: "rack1".into(),
            seeds_service: seeds_service.into(),
            seed_wait_seconds: 5,
            cassandra_version: None,
            num_tokens: 16,
            cassandra_home: home,
            storage_port: 7000,
            cql_port: 9042,
            jolokia_port: free_port(),
            jolokia_timeout_ms: 2000,
            max_heap_mib: None,
            ring_delay_ms: Some(5000),
            drain_timeout_seconds: 60,
            storage_compatibility_mode: Default::default(),
        };
        let adapter = CassandraAdapter::new(options.clone());
        let ctx = PilotContext {
            identity: Identity {
                pod_name: name.into(),
                namespace: "test".into(),
                pod_ip: IpAddr::V4(ip),
                memory_limit_bytes: Some(1 << 30),
            },
            pilot: None,
            config_dir: dir.join(name).join("conf"),
            data_dir: dir.join(name).join("data"),
        };
        let start = adapter.prepare(&ctx).await.expect("prepare");
        edit(&ctx.config_dir);
        let log = dir.join(name).join("cassandra.log");
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(&start.program)
            .args(&start.args)
            .envs(start.env.iter().map(|(k, v)| (k, v)))
            // JMX (nodetool's port) must not collide with another Cassandra on this host.
            .env("JMX_PORT", free_port().to_string())
            .stdout(Stdio::from(out.try_clone().expect("log file")))
            .stderr(Stdio::from(out))
            .kill_on_drop(true)
            .spawn()
            .expect("start Cassandra");
        Node {
            adapter,
            options,
            ctx,
            child,
            log,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    async fn observe(&self) -> Observation {
        self.adapter.observe(&self.ctx).await
    }

    async fn wait_until(
        &self,
        what: &str,
        limit: Duration,
        f: impl Fn(&Observation) -> bool,
    ) -> Observation {
        let start = Instant::now();
        loop {
            let o = self.observe().await;
            if f(&o) {
                eprintln!(
                    "{}: {what} after {:.1}s",
                    self.ctx.identity.pod_name,
                    start.elapsed().as_secs_f64()
                );
                return o;
            }
            assert!(
                start.elapsed() < limit,
                "{}: not {what} after {limit:?}: {o:?}\nlog tail:\n{}",
                self.ctx.identity.pod_name,
                tail(&self.log)
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn tail(path: &Path) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn status(o: &Observation) -> navigator_api::v1beta1::CassandraPilotStatus {
    match &o.facts {
        NodeFacts::Cassandra(s) => s.clone(),
        other => panic!("no Cassandra facts: {other:?}"),
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

async fn record(client: &jolokia::Client, name: &str, requests: &[Request]) {
    record_for(&version(), client, name, requests).await;
}

/// [`record`] into the fixtures of `version`.
async fn record_for(version: &str, client: &jolokia::Client, name: &str, requests: &[Request]) {
    if std::env::var_os("RECORD_FIXTURES").is_none() {
        return;
    }
    let body = jolokia::protocol::bulk_body(requests).to_string();
    let reply = client.post(body).await.expect("raw reply");
    let value: serde_json::Value = serde_json::from_slice(&reply).expect("JSON");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(version);
    std::fs::create_dir_all(&dir).expect("fixtures dir");
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_string_pretty(&value).expect("JSON") + "\n",
    )
    .expect("write fixture");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts real Cassandra from hack/build-images (about 1 GiB and 90 s)"]
async fn single_node_facts_probes_refusal_and_drain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ip = Ipv4Addr::new(127, 0, 0, 21);
    let mut node = Node::start(dir.path(), "cass-0", ip, "no-seeds.invalid").await;

    // Before the JVM listens: not alive, not ready.
    let o = node.observe().await;
    assert!(!o.alive && !o.ready, "{o:?}");

    let o = node
        .wait_until("ready", Duration::from_secs(240), |o| o.ready)
        .await;
    let client = node.adapter.jolokia().clone();
    record(&client, "observe", &facts::requests()).await;
    let keyspaces = [
        "system_auth",
        "system_distributed",
        "system_traces",
        "system_schema",
    ];
    record(
        &client,
        "replication",
        &std::iter::once(Request::read(STORAGE_SERVICE, "NonLocalStrategyKeyspaces"))
            .chain(keyspaces.iter().map(|k| {
                Request::exec(
                    STORAGE_SERVICE,
                    "getKeyspaceReplicationInfo",
                    vec![json!(k)],
                )
            }))
            .collect::<Vec<_>>(),
    )
    .await;

    let s = status(&o);
    eprintln!("status: {}", serde_json::to_string(&s).expect("JSON"));
    assert_eq!(s.version.expect("version").to_string(), version());
    assert!(s.host_id.is_some_and(|h| h.len() == 36));
    assert_eq!(s.operation_mode.as_deref(), Some("NORMAL"));
    assert_eq!(s.datacenter.as_deref(), Some("dc1"));
    assert_eq!(s.rack.as_deref(), Some("rack1"));
    assert_eq!(s.tokens, Some(16));
    assert!(s.load_bytes.is_some());
    assert_eq!(s.peers.expect("peers").live, [ip.to_string()]);
    assert!(o.alive && o.detail.is_empty(), "{o:?}");

    // Jolokia listens on 127.0.0.1 only, not on the node's address.
    let port = node.adapter.jolokia().addr().port();
    assert!(
        std::net::TcpStream::connect((ip, port)).is_err(),
        "Jolokia answers on {ip}:{port}"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());

    // The only node of its datacenter cannot leave: system_auth has one replica here.
    let p = node
        .adapter
        .perform(&node.ctx, RequestedState::Decommissioned, &o)
        .await;
    assert_eq!(
        p,
        Progress::Failed(
            r#"cannot decommission cass-0: keyspace "system_auth" needs 1 replicas in dc1 but only 0 nodes would remain"#
                .into()
        )
    );
    assert_eq!(
        node.adapter
            .perform(&node.ctx, RequestedState::Running, &o)
            .await,
        Progress::Complete("the node is NORMAL".into())
    );

    // A frozen JVM is not alive; a thawed one is again.
    signal(node.pid(), "STOP");
    let t = Instant::now();
    let frozen = node.observe().await;
    eprintln!(
        "SIGSTOP: observe returned after {:?}: {}",
        t.elapsed(),
        frozen.detail
    );
    assert!(!frozen.alive && !frozen.ready, "{frozen:?}");
    // Stopping a frozen JVM is not held up by a drain that cannot happen.
    let t = Instant::now();
    let drained = node.adapter.shutdown(&node.ctx).await;
    eprintln!(
        "SIGSTOP: shutdown returned after {:?}: {drained:?}",
        t.elapsed()
    );
    assert!(drained.is_err() && t.elapsed() < Duration::from_secs(5));
    signal(node.pid(), "CONT");
    node.wait_until("alive again", Duration::from_secs(30), |o| {
        o.alive && o.ready
    })
    .await;

    // Shutdown: drain, then the runtime's SIGTERM.
    node.adapter.shutdown(&node.ctx).await.expect("drain");
    let o = node.observe().await;
    assert_eq!(status(&o).operation_mode.as_deref(), Some("DRAINED"));
    assert!(!o.ready, "a drained node is not ready: {o:?}");
    signal(node.pid(), "TERM");
    let exit = tokio::time::timeout(Duration::from_secs(60), node.child.wait())
        .await
        .expect("exit within 60 s after drain")
        .expect("wait");
    eprintln!("Cassandra exit after drain + SIGTERM: {exit:?}");
    let log = std::fs::read_to_string(&node.log).expect("log");
    assert!(log.contains("DRAINED"), "log:\n{}", tail(&node.log));
    for line in log
        .lines()
        .filter(|l| l.starts_with("WARN") || l.starts_with("ERROR"))
    {
        eprintln!("cassandra: {line}");
    }

    // The drain flushed everything: a restart on the same data replays no commit log.
    let again = Node::start(dir.path(), "cass-0", ip, "no-seeds.invalid").await;
    again
        .wait_until("ready again", Duration::from_secs(240), |o| o.ready)
        .await;
    let log = std::fs::read_to_string(&again.log).expect("log");
    let replay: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("replayed mutations") || l.contains("Replaying"))
        .collect();
    eprintln!("restart: {replay:?}");
    assert!(
        replay
            .iter()
            .any(|l| l.contains("Log replay complete, 0 replayed mutations")),
        "the commit log was not empty after drain: {replay:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts two real Cassandra nodes from hack/build-images (about 2 GiB and 3 min)"]
async fn second_node_decommissions_from_a_two_node_ring() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Ipv4Addr::new(127, 0, 0, 22);
    let b = Ipv4Addr::new(127, 0, 0, 23);
    // The seeds "Service": a hosts-style name is not available, so the first node seeds
    // itself (nothing resolves) and the second is given the first's address.
    let first = Node::start(dir.path(), "cass-0", a, "no-seeds.invalid").await;
    first
        .wait_until("ready", Duration::from_secs(240), |o| o.ready)
        .await;
    let second = Node::start(dir.path(), "cass-1", b, &a.to_string()).await;
    second
        .wait_until("ready with 2 live nodes", Duration::from_secs(300), |o| {
            o.ready && status(o).peers.is_some_and(|p| p.live.len() == 2)
        })
        .await;

    // Both nodes see each other NORMAL (none joining) before writing at ALL.
    first
        .wait_until("seeing 2 NORMAL nodes", Duration::from_secs(60), |o| {
            status(o)
                .peers
                .is_some_and(|p| p.live.len() == 2 && p.joining.is_empty())
        })
        .await;
    // A keyspace at RF 2 in dc1 blocks the decommission: one node would remain.
    cql(a, CREATE_AND_WRITE);
    let o = second.observe().await;
    let p = second
        .adapter
        .perform(&second.ctx, RequestedState::Decommissioned, &o)
        .await;
    assert_eq!(
        p,
        Progress::Failed(
            r#"cannot decommission cass-1: keyspace "navtest" needs 2 replicas in dc1 but only 1 node would remain"#
                .into()
        )
    );
    record(
        second.adapter.jolokia(),
        "replication-nts",
        &[Request::exec(
            STORAGE_SERVICE,
            "getKeyspaceReplicationInfo",
            vec![json!("navtest")],
        )],
    )
    .await;
    // At RF 1 it may leave; its rows stream to the first node.
    cql(
        a,
        "s.execute(\"ALTER KEYSPACE navtest WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 1}\")",
    );
    // Some megabytes, streamed slowly, so that the decommission shows its streams.
    cql(a, WRITE_BLOBS);
    let throttle = second
        .adapter
        .jolokia()
        .bulk(
            &[
                Request::Write {
                    mbean: STORAGE_SERVICE.into(),
                    attribute: "StreamThroughputMbitPerSec".into(),
                    value: json!(16),
                },
                Request::Write {
                    mbean: STORAGE_SERVICE.into(),
                    attribute: "EntireSSTableStreamThroughputMebibytesPerSec".into(),
                    value: json!(2),
                },
            ],
            Some(Duration::from_secs(5)),
        )
        .await
        .expect("throttle streaming");
    eprintln!("throttle: {throttle:?}");
    let o = second.observe().await;
    let p = second
        .adapter
        .perform(&second.ctx, RequestedState::Decommissioned, &o)
        .await;
    assert!(matches!(p, Progress::InProgress(_)), "{p:?}");
    eprintln!("decommission: {p:?}");
    let start = Instant::now();
    loop {
        let o = second.observe().await;
        let p = second
            .adapter
            .perform(&second.ctx, RequestedState::Decommissioned, &o)
            .await;
        eprintln!(
            "{:>5.1}s mode {:?} -> {p:?}",
            start.elapsed().as_secs_f64(),
            status(&o).operation_mode
        );
        if status(&o).operation_mode.as_deref() == Some("LEAVING") {
            let streams = Request::read(STREAM_MANAGER, "CurrentStreams");
            if let Ok(jolokia::Reply::Value(v)) = second
                .adapter
                .jolokia()
                .one(streams.clone(), Some(Duration::from_secs(5)))
                .await
                && v.as_array().is_some_and(|a| !a.is_empty())
            {
                eprintln!("streams: {v}");
                record(second.adapter.jolokia(), "streams-leaving", &[streams]).await;
            }
        }
        match p {
            Progress::Complete(_) => break,
            Progress::InProgress(_) | Progress::Pending(_) => {}
            Progress::Failed(m) => panic!("decommission failed: {m}\n{}", tail(&second.log)),
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "decommission too slow"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let o = first
        .wait_until("without the second node", Duration::from_secs(60), |o| {
            status(o).peers.is_some_and(|p| p.live == [a.to_string()])
        })
        .await;
    assert!(o.ready);
    cql(a, READ_BACK);
}

/// The data's release line as the pilot recorded it (None before the first record).
fn recorded_line(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join(data_version::DATA_VERSION_FILE)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON record");
    Some(v["releaseLine"].as_str().expect("releaseLine").to_owned())
}

/// The format prefixes (`nb`, `oa`, …) of every `*-Data.db` SSTable under `data_dir`, by
/// keyspace directory.
fn sstable_formats(data_dir: &Path) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let root = data_dir.join("data");
    for ks in std::fs::read_dir(&root).expect("data/data") {
        let ks = ks.expect("entry").path();
        for table in std::fs::read_dir(&ks).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(table.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = f.file_name().to_string_lossy().into_owned();
                if let Some(stem) = name.strip_suffix("-Data.db") {
                    let prefix = stem.split('-').next().unwrap_or_default().to_owned();
                    let table = table.file_name().to_string_lossy().into_owned();
                    out.insert(format!("{}/{table}/{name}", ks.display()), prefix);
                }
            }
        }
    }
    out
}

async fn wait_for_record(node: &Node, adapter: &CassandraAdapter, want: &str, limit: Duration) {
    let start = Instant::now();
    loop {
        // Observations are what start the pilot's SSTable step.
        adapter.observe(&node.ctx).await;
        let got = recorded_line(&node.ctx.data_dir);
        if got.as_deref() == Some(want) {
            eprintln!("record {want} after {:.1}s", start.elapsed().as_secs_f64());
            return;
        }
        assert!(
            start.elapsed() < limit,
            "the data's record is {got:?}, not {want}, after {limit:?}\nlog tail:\n{}",
            tail(&node.log)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts real Cassandra 4.1.10 then 5.0.8 on the same data (about 1 GiB and 3 min)"]
async fn upgrade_from_4_1_to_5_0_on_the_same_data() {
    navigator_pilot::init_logging();
    let dir = tempfile::tempdir().expect("tempdir");
    let ip = Ipv4Addr::new(127, 0, 0, 24);

    // 4.1.10: the pilot records the data's line; rows written and flushed by the drain.
    let mut old = Node::start_version(dir.path(), "cass-0", ip, "no-seeds.invalid", "4.1.10").await;
    old.wait_until("4.1.10 ready", Duration::from_secs(240), |o| o.ready)
        .await;
    wait_for_record(&old, &old.adapter, "4.1", Duration::from_secs(30)).await;
    let versions = [Request::read(sstables::GOSSIPER, "ReleaseVersionsWithPort")];
    record_for(
        "4.1.10",
        old.adapter.jolokia(),
        "release-versions",
        &versions,
    )
    .await;
    cql(ip, CREATE_AND_WRITE_ONE);
    old.adapter.shutdown(&old.ctx).await.expect("drain");
    signal(old.pid(), "TERM");
    tokio::time::timeout(Duration::from_secs(60), old.child.wait())
        .await
        .expect("4.1.10 exits within 60 s after drain")
        .expect("wait");
    let before = sstable_formats(&old.ctx.data_dir);
    eprintln!("SSTables written by 4.1.10: {before:#?}");
    assert!(
        before.keys().any(|k| k.contains("/navtest/")),
        "no navtest SSTable after the drain: {before:#?}"
    );
    assert!(before.values().all(|p| p == "nb"), "{before:#?}");

    // 5.0.8 on the same data, as the pilot renders it (storage_compatibility_mode
    // CASSANDRA_4): it writes nb still, so the record stays 4.1 and nothing is rewritten.
    let new = Node::start_version(dir.path(), "cass-0", ip, "no-seeds.invalid", "5.0.8").await;
    let o = new
        .wait_until("5.0.8 ready", Duration::from_secs(240), |o| o.ready)
        .await;
    assert_eq!(status(&o).version.expect("version").to_string(), "5.0.8");
    for _ in 0..10 {
        new.observe().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(recorded_line(&new.ctx.data_dir).as_deref(), Some("4.1"));
    record_for(
        "5.0.8",
        new.adapter.jolokia(),
        "release-versions",
        &versions,
    )
    .await;
    cql(ip, READ_BACK_ONE);

    // The run itself, against the real 5.0.8: a record of an older major (as a 3.11 node's
    // data would have) on a NORMAL single-node ring of 5.0 makes a fresh pilot adapter read
    // the ring's versions from gossip and call upgradeSSTables on every keyspace, then record
    // the line 5.0 writes under CASSANDRA_4 (4.0).
    data_version::write(
        &new.ctx.data_dir,
        sstables::ReleaseLine {
            major: 3,
            minor: 11,
        },
    )
    .expect("write the record");
    let fresh = CassandraAdapter::new(new.options.clone());
    wait_for_record(&new, &fresh, "4.0", Duration::from_secs(180)).await;
    let after = sstable_formats(&new.ctx.data_dir);
    eprintln!("SSTables after upgradesstables on 5.0.8 (CASSANDRA_4): {after:#?}");
    assert!(after.values().all(|p| p == "nb"), "{after:#?}");
    cql(ip, READ_BACK_ONE);

    // What the pilot's call does once 5.0 writes its own format (the next step of a 5.0
    // upgrade, storage_compatibility_mode UPGRADING, which the pilot does not render yet):
    // the same operation with the same arguments rewrites every nb SSTable as oa.
    let mut new = new;
    new.adapter.shutdown(&new.ctx).await.expect("drain");
    signal(new.pid(), "TERM");
    tokio::time::timeout(Duration::from_secs(60), new.child.wait())
        .await
        .expect("5.0.8 exits within 60 s after drain")
        .expect("wait");
    let upgrading = Node::start_edited(
        dir.path(),
        "cass-0",
        ip,
        "no-seeds.invalid",
        "5.0.8",
        |conf| {
            let yaml = conf.join("cassandra.yaml");
            let text = std::fs::read_to_string(&yaml).expect("cassandra.yaml");
            assert!(text.contains("storage_compatibility_mode: CASSANDRA_4"));
            let text = text.replace(
                "storage_compatibility_mode: CASSANDRA_4",
                "storage_compatibility_mode: UPGRADING",
            );
            std::fs::write(&yaml, text).expect("cassandra.yaml");
        },
    )
    .await;
    upgrading
        .wait_until("5.0.8 (UPGRADING) ready", Duration::from_secs(240), |o| {
            o.ready
        })
        .await;
    let client = upgrading.adapter.jolokia();
    let keyspaces = client
        .one(Request::read(STORAGE_SERVICE, "Keyspaces"), None)
        .await
        .expect("Keyspaces");
    let keyspaces: Vec<String> =
        serde_json::from_value(keyspaces.value().expect("Keyspaces").clone()).expect("a list");
    for keyspace in &keyspaces {
        let reply = client
            .one(
                Request::exec(
                    STORAGE_SERVICE,
                    sstables::UPGRADE_SSTABLES_OPERATION,
                    vec![json!(keyspace), json!(true), json!(1), json!([])],
                ),
                None,
            )
            .await
            .expect("upgradeSSTables");
        assert_eq!(reply.value(), Some(&json!(0)), "{keyspace}: {reply:?}");
    }
    let rewritten = sstable_formats(&upgrading.ctx.data_dir);
    eprintln!("SSTables after upgradesstables on 5.0.8 (UPGRADING): {rewritten:#?}");
    assert!(
        rewritten.keys().any(|k| k.contains("/navtest/")),
        "{rewritten:#?}"
    );
    assert!(rewritten.values().all(|p| p == "oa"), "{rewritten:#?}");
    cql(ip, READ_BACK_ONE);
}

/// Creates `navtest` at RF 1 and writes 100 rows (one node).
const CREATE_AND_WRITE_ONE: &str = r#"
s.execute("CREATE KEYSPACE navtest WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 1}")
s.execute("CREATE TABLE navtest.kv (k int PRIMARY KEY, v text)")
for i in range(100):
    s.execute(SimpleStatement("INSERT INTO navtest.kv (k, v) VALUES (%s, %s)",
                              consistency_level=ConsistencyLevel.ONE), (i, "v%d" % i))
"#;

/// Reads the 100 rows back at ONE.
const READ_BACK_ONE: &str = r#"
rows = s.execute(SimpleStatement("SELECT k, v FROM navtest.kv", consistency_level=ConsistencyLevel.ONE))
got = sorted((r.k, r.v) for r in rows)
assert got == [(i, "v%d" % i) for i in range(100)], got[:5]
print("read back", len(got), "rows")
"#;

/// Creates `navtest` at RF 2 in dc1 and writes 100 rows at ALL.
const CREATE_AND_WRITE: &str = r#"
s.execute("CREATE KEYSPACE navtest WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 2}")
s.execute("CREATE TABLE navtest.kv (k int PRIMARY KEY, v text)")
assert cluster.control_connection.wait_for_schema_agreement(wait_time=60)
for i in range(100):
    s.execute(SimpleStatement("INSERT INTO navtest.kv (k, v) VALUES (%s, %s)",
                              consistency_level=ConsistencyLevel.ALL), (i, "v%d" % i))
"#;

/// Writes 32 blobs of 256 KiB (8 MiB) and flushes them to SSTables through nodetool's
/// equivalent on the coordinator.
const WRITE_BLOBS: &str = r#"
import os
s.execute("CREATE TABLE navtest.big (k int PRIMARY KEY, b blob)")
assert cluster.control_connection.wait_for_schema_agreement(wait_time=60)
for i in range(32):
    s.execute(SimpleStatement("INSERT INTO navtest.big (k, b) VALUES (%s, %s)",
                              consistency_level=ConsistencyLevel.ALL), (i, os.urandom(256 * 1024)))
"#;

/// Reads the 100 rows back at ALL.
const READ_BACK: &str = r#"
rows = s.execute(SimpleStatement("SELECT k, v FROM navtest.kv", consistency_level=ConsistencyLevel.ALL))
got = sorted((r.k, r.v) for r in rows)
assert got == [(i, "v%d" % i) for i in range(100)], got[:5]
print("read back", len(got), "rows")
"#;

/// Runs `body` with `cluster`, `s` (a session on `ip`), `ConsistencyLevel` and
/// `SimpleStatement` defined, with the Python driver hack/install-prereqs installs.
fn cql(ip: Ipv4Addr, body: &str) {
    let python = test_support::devenv::python();
    let script = format!(
        r#"
from cassandra import ConsistencyLevel
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement
profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy(["{ip}"]), request_timeout=60)
cluster = Cluster(["{ip}"], execution_profiles={{EXEC_PROFILE_DEFAULT: profile}}, connect_timeout=30)
s = cluster.connect()
{body}
cluster.shutdown()
"#
    );
    let out = std::process::Command::new(python)
        .args(["-c", &script])
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "CQL on {ip} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!("{}", String::from_utf8_lossy(&out.stdout));
}
