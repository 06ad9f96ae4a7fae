//! The real-node scenario shared by tests/real_opensearch.rs and tests/real_elasticsearch.rs: two
//! real nodes as host processes on 127.0.0.1 with their own ports (no devenv), and
//! `navigator-apiserver --standalone` holding their Pilots (it serves no Leases, so the election
//! itself is devenv's to test: here the leader's `reconcile` is called directly, or run by its
//! rounds woken by its watch of the Pilots). Needs the images and plugin zips from
//! hack/build-images and `cargo build -p navigator-apiserver`; fails saying so when one is missing.
//!
//! It checks: the rendered configuration (the first node forms the cluster with the initial masters
//! setting, the second joins without it, a re-render on the data has none), a plugin zip installed
//! with the distribution's plugin tool (and skipped on the re-render), the REST client's facts
//! (version, node id, roles, documents, shards), readiness; the leader's reconcile from the Pilots'
//! requests (label-selected: another cluster's Pilot is ignored; the first two `Drained` requests
//! excluded within 3 s by rounds woken by the leader's watch of the Pilots alone, no periodic
//! round): draining a node of an index with 0 replicas (every primary moves, no document lost), two
//! nodes drained at once (both excluded), `Decommissioned` with the voting configuration exclusion,
//! the reversal to `Running` (both exclusions removed); replica allocation paused around a restart
//! (the adapter's shutdown sets `cluster.routing.allocation.enable: primaries`, the leader keeps it
//! while the node is stopping, away, and back but not yet `Ready`, and resumes it once it is;
//! someone else's value left alone; a node that never comes back: resumed after the bound), a
//! decommission with copies that cannot leave (the only copy of a 0-replica index required on the
//! node keeps it `InProgress`, naming the copy and the allocation explain's reason, over several
//! passes; once it is let go, the copies of a 1-replica index that the same-shard decider keeps on
//! the node stay and the drain is `Complete` saying so, as does the primary of an index whose
//! replica is on the other node; the explain's field names checked per flavour), and that
//! master-eligible node going away (the other keeps its master, the voting exclusion is cleaned up
//! after, the 1-replica indices yellow, the replica promoted, no document of any index lost),
//! liveness after the process is gone.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use clap::Parser;

use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use navigator_api::pilot_contract::{
    ELASTICSEARCH_CLUSTER_NAME_LABEL, ELASTICSEARCH_CLUSTER_UUID_ANNOTATION,
};
use navigator_api::v1beta1::{Pilot, PilotClusterReference};
use navigator_pilot::{
    DatabaseAdapter, Identity, NodeFacts, Observation, PilotContext, Progress, RequestedState,
};
use pilot_elasticsearch::allocation;
use pilot_elasticsearch::flavor::{Dialect, Flavor};
use pilot_elasticsearch::leader::{self, LeaderConfig, LeaderState};
use pilot_elasticsearch::replies::{self, EXCLUDE_NAME};
use pilot_elasticsearch::rest::RestClient;
use pilot_elasticsearch::stuck;
use pilot_elasticsearch::{ElasticsearchAdapter, ElasticsearchOptions};
use serde_json::json;
use test_support::devenv::cache_dir;
use test_support::paths;
use test_support::standalone::StandaloneServer;
use tokio::process::{Child, Command};

const NS: &str = "db";

async fn create_pilot(api: &Api<Pilot>, name: &str, cluster: &str) {
    let mut pilot = Pilot::default();
    pilot.metadata.name = Some(name.into());
    pilot.metadata.namespace = Some(NS.into());
    pilot.metadata.labels = Some(
        [(
            ELASTICSEARCH_CLUSTER_NAME_LABEL.to_owned(),
            cluster.to_owned(),
        )]
        .into(),
    );
    pilot.spec.cluster = Some(PilotClusterReference {
        kind: "ElasticsearchCluster".into(),
        name: cluster.into(),
    });
    pilot.spec.node_pool = Some("data".into());
    api.create(&PostParams::default(), &pilot)
        .await
        .expect("create Pilot");
}

async fn request(api: &Api<Pilot>, name: &str, state: &str) {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"requestedState": state}})),
    )
    .await
    .expect("patch Pilot");
}

/// The leader's exclusion in effect.
async fn exclusion(rest: &RestClient) -> Option<String> {
    let settings = rest.get(replies::SETTINGS).await.expect("settings");
    replies::setting(&settings, EXCLUDE_NAME)
        .effective()
        .map(str::to_owned)
}

/// Waits until the leader's exclusion in effect is `want`, at most `within`: how long it took.
async fn wait_exclusion(rest: &RestClient, want: Option<&str>, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let now = exclusion(rest).await;
        if now.as_deref() == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{EXCLUDE_NAME} still {now:?} after {within:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The Pilot's `Ready` condition, as its pilot's runtime writes it (`False` from SIGTERM on).
async fn set_ready(api: &Api<Pilot>, name: &str, ready: bool) {
    let status = if ready { "True" } else { "False" };
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"conditions": [
            {"type": "Started", "status": "True", "reason": "ProcessRunning"},
            {"type": "Ready", "status": status, "reason": "Test"}
        ]}})),
    )
    .await
    .expect("patch the Pilot's status");
}

/// The persistent `cluster.routing.allocation.enable`.
async fn allocation_enable(rest: &RestClient) -> Option<String> {
    let settings = rest.get(replies::SETTINGS).await.expect("settings");
    replies::setting(&settings, allocation::ENABLE).persistent
}

async fn put_allocation_enable(rest: &RestClient, value: Option<&str>) {
    rest.put(
        replies::PUT_SETTINGS,
        &json!({"persistent": {allocation::ENABLE: value}}),
    )
    .await
    .expect("set cluster.routing.allocation.enable");
}

/// Creates `index` with `settings` and indexes the documents `{"n": i}`, ids `0..docs`, one
/// request each; then refreshes it.
async fn index_one_by_one(rest: &RestClient, index: &str, settings: serde_json::Value, docs: u64) {
    rest.put(&format!("/{index}"), &json!({ "settings": settings }))
        .await
        .unwrap_or_else(|e| panic!("create index {index}: {e}"));
    for i in 0..docs {
        rest.put(&format!("/{index}/_doc/{i}"), &json!({"n": i}))
            .await
            .unwrap_or_else(|e| panic!("index document {i} into {index}: {e}"));
    }
    rest.post(&format!("/{index}/_refresh"), None)
        .await
        .unwrap_or_else(|e| panic!("refresh {index}: {e}"));
}

async fn wait_nodes(rest: &RestClient, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let nodes = replies::nodes(&rest.get(replies::NODES).await.expect("nodes"));
        if nodes.len() == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not {n} nodes in the cluster: {nodes:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn voting(rest: &RestClient) -> Vec<String> {
    replies::voting_exclusions(&rest.get(replies::VOTING_EXCLUSIONS).await.expect("state"))
        .into_iter()
        .map(|e| e.node_name)
        .collect()
}

/// One flavour and version under test.
#[derive(Clone, Debug)]
pub struct Spec {
    /// `opensearch` or `elasticsearch`.
    pub flavor: &'static str,
    /// The image's version.
    pub version: &'static str,
    /// The master role as the node reports it.
    pub master_role: &'static str,
    /// The initial-masters setting.
    pub initial_key: &'static str,
    /// Whether hack/build-images has a test plugin zip for this version.
    pub plugin: bool,
    /// `JAVA_HOME` for the node, when the machine's default Java cannot run it.
    pub java_home: Option<&'static str>,
}

impl Spec {
    /// The image's installation; fails saying what to run when it is missing.
    pub fn image_home(&self) -> PathBuf {
        let share = format!("usr/share/{}", self.flavor);
        paths::image_root(
            self.flavor,
            self.version,
            &format!("{share}/bin/{}", self.flavor),
        )
        .join(share)
    }

    /// The test plugin zip hack/build-images fetches; fails saying what to run when missing.
    pub fn plugin_zip(&self) -> PathBuf {
        paths::require_path(
            cache_dir().join(format!(
                "plugins/{f}/{v}/matrix-stats-{v}.zip",
                f = self.flavor,
                v = self.version
            )),
            "run hack/build-images",
        )
    }

    fn yml(&self) -> String {
        format!("config/{}.yml", self.flavor)
    }
}

fn free_port() -> u16 {
    test_support::ports::free_port().expect("a free port")
}

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    options: ElasticsearchOptions,
}

struct Node {
    name: String,
    java_home: Option<&'static str>,
    adapter: ElasticsearchAdapter,
    ctx: PilotContext,
    child: Option<Child>,
    log: PathBuf,
    yml_path: PathBuf,
    _dirs: tempfile::TempDir,
}

impl Node {
    fn new(
        spec: &Spec,
        name: &str,
        seed_transport: u16,
        transport: u16,
        plugin: Option<PathBuf>,
        kubeconfig: PathBuf,
    ) -> Self {
        let dirs = tempfile::tempdir().expect("tempdir");
        let http = free_port();
        let mut argv = vec![
            "test".to_owned(),
            format!("--flavor={}", spec.flavor),
            format!("--version={}", spec.version),
            format!("--home={}", spec.image_home().display()),
            "--cluster-name=real".into(),
            "--node-pool=data".into(),
            format!("--discovery-service=127.0.0.1:{seed_transport}"),
            format!("--http-port={http}"),
            format!("--transport-port={transport}"),
            "--heap-mib=384".into(),
            "--setting=cluster.routing.allocation.disk.threshold_enabled=false".into(),
        ];
        if let Some(zip) = plugin {
            argv.push(format!("--plugin={}", zip.display()));
        }
        let args = Args::parse_from(argv);
        let adapter = ElasticsearchAdapter::new(args.options, Some(kubeconfig));
        let ctx = PilotContext {
            identity: Identity {
                pod_name: name.into(),
                namespace: NS.into(),
                pod_ip: "127.0.0.1".parse().expect("ip"),
                memory_limit_bytes: None,
            },
            pilot: None,
            config_dir: dirs.path().join("home"),
            data_dir: dirs.path().join("data"),
        };
        std::fs::create_dir_all(&ctx.data_dir).expect("data dir");
        Self {
            name: name.into(),
            java_home: spec.java_home,
            adapter,
            log: dirs.path().join("node.log"),
            yml_path: dirs.path().join("home").join(spec.yml()),
            ctx,
            child: None,
            _dirs: dirs,
        }
    }

    fn yml(&self) -> String {
        std::fs::read_to_string(&self.yml_path).expect("the rendered configuration")
    }

    async fn start(&mut self) {
        let cmd = self.adapter.prepare(&self.ctx).await.expect("prepare");
        let log = std::fs::File::create(&self.log).expect("log");
        let mut command = Command::new(&cmd.program);
        if let Some(jh) = self.java_home {
            command.env("JAVA_HOME", jh);
        }
        let child = command
            .args(&cmd.args)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .current_dir(cmd.current_dir.clone().expect("a working directory"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start OpenSearch");
        self.child = Some(child);
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    async fn wait_ready(&mut self) -> Observation {
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("{} exited ({status}):\n{}", self.name, self.log_tail());
            }
            let obs = self.adapter.observe(&self.ctx).await;
            if obs.ready {
                return obs;
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready: {}\n{}",
                self.name,
                obs.detail,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Observes and performs `requested` once: it must be `InProgress` with a message
    /// containing `needle`.
    async fn in_progress(&self, requested: RequestedState, needle: &str) {
        let obs = self.adapter.observe(&self.ctx).await;
        match self.adapter.perform(&self.ctx, requested, &obs).await {
            Progress::InProgress(m) => assert!(m.contains(needle), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    /// Observes and performs until `requested` is `Complete`.
    async fn reach(&self, requested: RequestedState) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let obs = self.adapter.observe(&self.ctx).await;
            let last_message = match self.adapter.perform(&self.ctx, requested, &obs).await {
                Progress::Complete(m) => return m,
                Progress::Failed(m) => panic!("{requested} failed: {m}"),
                Progress::Pending(m) | Progress::InProgress(m) => m,
            };
            assert!(
                Instant::now() < deadline,
                "{requested} not complete: {last_message}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

fn facts(obs: &Observation) -> navigator_api::v1beta1::ElasticsearchPilotStatus {
    match &obs.facts {
        NodeFacts::Elasticsearch(f) => f.clone(),
        other => panic!("not Elasticsearch facts: {other:?}"),
    }
}

/// Two real nodes form a cluster, report, install a plugin, drain and reverse.
pub async fn two_real_nodes_form_report_drain_and_reverse(spec: Spec) {
    spec.image_home();
    let zip = spec.plugin.then(|| spec.plugin_zip());
    let (t0, t1) = (free_port(), free_port());
    // The Pilots live in a real API server from the start: before the first start the pilot
    // lists them (a list it cannot read means "join"), and once its node joined it records
    // the cluster's UUID on its own Pilot. (The Lease needs a kube-apiserver: devenv's test.)
    let server = StandaloneServer::start();
    let pilots: Api<Pilot> = Api::namespaced(server.client().await, NS);
    for name in ["real-0", "real-1"] {
        create_pilot(&pilots, name, "real").await;
    }
    let mut n0 = Node::new(&spec, "real-0", t0, t0, zip, server.kubeconfig());
    let mut n1 = Node::new(&spec, "real-1", t0, t1, None, server.kubeconfig());
    n0.start().await;
    n1.start().await;
    assert!(
        n0.yml()
            .contains(&format!("{}:\n- real-0\n", spec.initial_key)),
        "{}",
        n0.yml()
    );
    assert!(!n1.yml().contains(spec.initial_key), "{}", n1.yml());
    let roles_yml = format!("node.roles:\n- {}\n- data\n- ingest\n", spec.master_role);
    assert!(n1.yml().contains(&roles_yml), "{}", n1.yml());
    assert!(n1.yml().contains("node.attr.pool: data\n"));
    assert!(
        n1.yml()
            .contains("cluster.routing.allocation.disk.threshold_enabled: false\n")
    );

    let o0 = n0.wait_ready().await;
    let o1 = n1.wait_ready().await;
    let (f0, f1) = (facts(&o0), facts(&o1));
    assert_eq!(
        f0.version.as_ref().map(|v| v.to_string()).as_deref(),
        Some(spec.version)
    );
    assert!(f0.node_id.is_some() && f1.node_id.is_some() && f0.node_id != f1.node_id);
    let mut roles = f1.roles.clone();
    roles.sort();
    let mut want = vec![spec.master_role, "data", "ingest"];
    want.sort();
    assert_eq!(roles, want);
    assert_eq!(f0.cluster_health, None, "only the leader reports health");

    // One cluster: the same UUID on both nodes.
    let root0 = n0.adapter.rest().get("/").await.expect("root");
    let root1 = n1.adapter.rest().get("/").await.expect("root");
    assert_eq!(root0["cluster_uuid"], root1["cluster_uuid"]);
    // Each pilot recorded it on its Pilot at its first observation with an elected master.
    for name in ["real-0", "real-1"] {
        let p = pilots.get(name).await.expect("Pilot");
        let recorded = p
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ELASTICSEARCH_CLUSTER_UUID_ANNOTATION))
            .map(String::as_str);
        assert_eq!(recorded, root0["cluster_uuid"].as_str(), "{name}");
    }

    // A re-render on the node's data never forms a cluster again.
    n0.adapter.prepare(&n0.ctx).await.expect("prepare again");
    assert!(!n0.yml().contains(spec.initial_key), "{}", n0.yml());

    if spec.plugin {
        // The plugin was installed into the writable home with the plugin tool, once.
        let plugins = n0
            .adapter
            .rest()
            .get("/_cat/plugins?format=json")
            .await
            .expect("plugins");
        let names: Vec<(String, String)> = plugins
            .as_array()
            .expect("a list")
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or_default().to_owned(),
                    p["component"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            names,
            vec![("real-0".to_owned(), "matrix-stats".to_owned())]
        );
        assert!(n0.ctx.config_dir.join("plugins/matrix-stats").is_dir());
    }

    // 100 documents in an index with 0 replicas, over both nodes.
    let rest = n0.adapter.rest().with_timeout(Duration::from_secs(60));
    index_one_by_one(
        &rest,
        "t",
        json!({"number_of_shards": 4, "number_of_replicas": 0}),
        100,
    )
    .await;
    rest.get("/_cluster/health?wait_for_status=green&timeout=60s")
        .await
        .expect("green");
    let f1 = facts(&n1.adapter.observe(&n1.ctx).await);
    assert!(f1.shards.unwrap_or(0) > 0, "real-1 holds shards: {f1:?}");
    assert!(
        f1.documents.unwrap_or(0) > 0,
        "real-1 holds documents: {f1:?}"
    );

    // The leader's reconcile against the Pilots (the Lease itself needs a kube-apiserver:
    // devenv's test). Another cluster's Pilot asking for Drained is ignored.
    create_pilot(&pilots, "other-0", "other").await;
    request(&pilots, "other-0", "Drained").await;
    let flavor = if spec.flavor == "opensearch" {
        Flavor::Opensearch
    } else {
        Flavor::Elasticsearch
    };
    let config = LeaderConfig {
        lease_name: "es-real-pilot-leader".into(),
        identity: "real-0".into(),
        namespace: NS.into(),
        cluster: "real".into(),
        lease_duration: Duration::from_secs(15),
        interval: Duration::from_secs(2),
        kubeconfig: None,
        dialect: Dialect::new(flavor, spec.version).expect("dialect"),
        allocation_pause_timeout: Duration::from_secs(300),
    };
    let state = tokio::sync::Mutex::new(LeaderState::default());
    let reconcile = || async {
        leader::reconcile(&config, &pilots, &rest, &mut *state.lock().await)
            .await
            .expect("the leader's reconcile");
    };
    reconcile().await;
    assert_eq!(exclusion(&rest).await, None);

    // Running is complete while nothing is excluded.
    let m = n1.reach(RequestedState::Running).await;
    assert!(m.contains("not excluded"), "{m}");

    // Drained: pending the leader's exclusion, then every shard moves. The exclusion comes
    // from the leader's rounds woken by its watch of the cluster's Pilots alone: no periodic
    // round runs here (the election, which gives one every interval, needs Leases), so each
    // exclusion below appears only because the watch saw the Pilot's change, and within 3 s
    // (debounce 50 ms plus one round: typically well under 0.5 s).
    n1.in_progress(
        RequestedState::Drained,
        "waiting for the leader to exclude real-1",
    )
    .await;
    let woken_leader = {
        let (config, pilots, rest) = (config.clone(), pilots.clone(), rest.clone());
        tokio::spawn(async move {
            let (leading, stopping) = (AtomicBool::new(true), AtomicBool::new(false));
            let (wake, woken) = tokio::sync::watch::channel(());
            tokio::join!(
                leader::watch_pilots(&pilots, &config.cluster, &wake),
                leader::rounds(&config, &pilots, &rest, &leading, &stopping, woken),
            );
        })
    };
    request(&pilots, "real-1", "Drained").await;
    let took = wait_exclusion(&rest, Some("real-1"), Duration::from_secs(3)).await;
    eprintln!("real-1 Drained → excluded through the watch in {took:?}");
    let m = n1.reach(RequestedState::Drained).await;
    assert_eq!(m, "real-1 holds no shards and is excluded from allocation");
    let f1 = facts(&n1.adapter.observe(&n1.ctx).await);
    assert_eq!(f1.shards, Some(0));
    let f0 = facts(&n0.adapter.observe(&n0.ctx).await);
    assert_eq!(f0.shards, Some(4));
    rest.post("/t/_refresh", None).await.expect("refresh");
    let count = rest.get("/t/_count").await.expect("count");
    assert_eq!(count["count"], 100, "no document lost");

    // Two nodes drained at once: both excluded, neither lost; then one back. Idempotent. The
    // second request is also seen by the watch (long after its first list); then the explicit
    // rounds take over again.
    request(&pilots, "real-0", "Drained").await;
    let took = wait_exclusion(&rest, Some("real-0,real-1"), Duration::from_secs(3)).await;
    eprintln!("real-0 Drained → excluded through the watch in {took:?}");
    woken_leader.abort();
    assert!(
        woken_leader.await.expect_err("aborted").is_cancelled(),
        "the woken leader ran until aborted"
    );
    reconcile().await;
    assert_eq!(exclusion(&rest).await.as_deref(), Some("real-0,real-1"));
    reconcile().await;
    assert_eq!(exclusion(&rest).await.as_deref(), Some("real-0,real-1"));
    request(&pilots, "real-0", "Running").await;
    reconcile().await;
    assert_eq!(exclusion(&rest).await.as_deref(), Some("real-1"));

    // Decommissioned on a master-eligible node also needs the voting exclusion.
    n1.in_progress(RequestedState::Decommissioned, "voting configuration")
        .await;
    request(&pilots, "real-1", "Decommissioned").await;
    reconcile().await;
    assert_eq!(exclusion(&rest).await.as_deref(), Some("real-1"));
    let m = n1.reach(RequestedState::Decommissioned).await;
    assert_eq!(
        m,
        "real-1 holds no shards and is excluded from allocation and from the voting configuration"
    );
    assert_eq!(voting(&rest).await, vec!["real-1".to_owned()]);

    // Reversal: Running waits for both exclusions to go, then says so.
    n1.in_progress(RequestedState::Running, "allocation exclusions")
        .await;
    request(&pilots, "real-1", "Running").await;
    reconcile().await;
    assert_eq!(exclusion(&rest).await, None);
    assert_eq!(voting(&rest).await, Vec::<String>::new());
    let m = n1.reach(RequestedState::Running).await;
    assert_eq!(
        m,
        "real-1 is not excluded from allocation: shards may be allocated to it"
    );

    // Replica allocation paused around real-1's restart. Both Pilots Ready (their runtimes'
    // status); an index with 1 replica, a copy on each node.
    set_ready(&pilots, "real-0", true).await;
    set_ready(&pilots, "real-1", true).await;
    reconcile().await;
    assert_eq!(allocation_enable(&rest).await, None, "nothing paused");
    index_one_by_one(
        &rest,
        "r",
        json!({"number_of_shards": 2, "number_of_replicas": 1}),
        20,
    )
    .await;
    rest.get("/_cluster/health/r?wait_for_status=green&timeout=60s")
        .await
        .expect("r green");
    // SIGTERM: the runtime writes Ready=False, then the adapter's shutdown pauses and flushes
    // (the Pilot requests nothing: a restart, not a departure).
    set_ready(&pilots, "real-1", false).await;
    let mut stopping = n1.ctx.clone();
    stopping.pilot = Some(pilots.get("real-1").await.expect("Pilot real-1"));
    let t = Instant::now();
    n1.adapter.shutdown(&stopping).await.expect("shutdown");
    println!(
        "TIMING shutdown (pause + flush) {:.2}s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(
        allocation_enable(&rest).await.as_deref(),
        Some(allocation::PAUSED)
    );
    // The leader waits: real-1 is still in the cluster but stopping, then away.
    reconcile().await;
    assert_eq!(
        allocation_enable(&rest).await.as_deref(),
        Some(allocation::PAUSED)
    );
    n1.stop().await;
    wait_nodes(&rest, 1).await;
    reconcile().await;
    assert_eq!(
        allocation_enable(&rest).await.as_deref(),
        Some(allocation::PAUSED)
    );
    // Back on its data: in the cluster, but until its Pilot says Ready the pause stays.
    let t = Instant::now();
    n1.start().await;
    n1.wait_ready().await;
    println!(
        "TIMING real-1 restarted on its data → ready {:.2}s",
        t.elapsed().as_secs_f64()
    );
    wait_nodes(&rest, 2).await;
    reconcile().await;
    assert_eq!(
        allocation_enable(&rest).await.as_deref(),
        Some(allocation::PAUSED)
    );
    set_ready(&pilots, "real-1", true).await;
    reconcile().await;
    assert_eq!(allocation_enable(&rest).await, None, "resumed");
    rest.get("/_cluster/health?wait_for_status=green&timeout=60s")
        .await
        .expect("green after the restart");
    rest.post("/r/_refresh", None).await.expect("refresh");
    assert_eq!(rest.get("/r/_count").await.expect("count")["count"], 20);
    // Index r stays: its copies on real-1 cannot leave a node of two (the decommission below).
    assert_eq!(rest.get("/t/_count").await.expect("count")["count"], 100);

    // Someone else's value is left alone, by the leader and by a stopping pilot.
    put_allocation_enable(&rest, Some("new_primaries")).await;
    reconcile().await;
    assert_eq!(
        allocation_enable(&rest).await.as_deref(),
        Some("new_primaries")
    );
    n0.adapter.pause_for_restart().await;
    assert_eq!(
        allocation_enable(&rest).await.as_deref(),
        Some("new_primaries")
    );
    put_allocation_enable(&rest, None).await;

    // A node that never comes back (a Pilot without a node): the pause is resumed after the
    // bound, not before.
    create_pilot(&pilots, "gone-0", "real").await;
    put_allocation_enable(&rest, Some(allocation::PAUSED)).await;
    reconcile().await;
    assert_eq!(
        allocation_enable(&rest).await.as_deref(),
        Some(allocation::PAUSED)
    );
    let short = LeaderConfig {
        allocation_pause_timeout: Duration::from_secs(1),
        ..config.clone()
    };
    tokio::time::sleep(Duration::from_millis(1100)).await;
    leader::reconcile(&short, &pilots, &rest, &mut *state.lock().await)
        .await
        .expect("the leader's reconcile");
    assert_eq!(
        allocation_enable(&rest).await,
        None,
        "resumed after the bound"
    );
    pilots
        .delete("gone-0", &DeleteParams::default())
        .await
        .expect("delete Pilot gone-0");

    // Decommissioned again, with copies that cannot leave: index s (0 replicas) is required on
    // real-1, so its only copy can neither stay nor move — the drain waits, naming it and the
    // cluster's reason; index r (1 replica) has a copy of each shard on each node, and the
    // same-shard decider keeps real-1's copies there: once s is let go, the drain is complete
    // with r's copies staying (each has a started copy on real-0).
    let on_real_1 = json!({"number_of_shards": 1, "number_of_replicas": 0,
        "index.routing.allocation.require._name": "real-1"});
    index_one_by_one(&rest, "s", on_real_1.clone(), 10).await;
    // Index p: its primary on real-1 (created there), its replica on real-0.
    index_one_by_one(&rest, "p", on_real_1, 10).await;
    rest.put(
        "/p/_settings",
        &json!({"index.routing.allocation.require._name": null, "index.number_of_replicas": 1}),
    )
    .await
    .expect("a replica of p");
    rest.get("/_cluster/health?wait_for_status=green&timeout=60s")
        .await
        .expect("green with s and p");
    let copies = replies::shard_copies(&rest.get(replies::SHARDS).await.expect("shards"));
    assert!(
        copies
            .iter()
            .any(|c| c.index == "p" && c.primary && c.node.as_deref() == Some("real-1")),
        "p's primary on real-1: {copies:?}"
    );
    request(&pilots, "real-1", "Decommissioned").await;
    reconcile().await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let blocked = loop {
        let obs = n1.adapter.observe(&n1.ctx).await;
        match n1
            .adapter
            .perform(&n1.ctx, RequestedState::Decommissioned, &obs)
            .await
        {
            Progress::InProgress(m) if m.contains("[s][0] primary cannot leave real-1") => break m,
            Progress::Pending(m) | Progress::InProgress(m) => assert!(
                Instant::now() < deadline,
                "no copy of s named as blocking: {m}"
            ),
            other => panic!("the drain cannot finish while s is on real-1: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    println!("BLOCKED {blocked}");
    assert!(
        blocked.contains("it is the only started copy of its shard, and the cluster cannot move it (on real-0: [filter] node does not match index setting [index.routing.allocation.require] filters [_name:\"real-1\"]"),
        "{blocked}"
    );
    // The field names of the allocation explain, as this flavour spells them.
    for (index, shard) in [("s", 0), ("r", 0)] {
        let copies = replies::shard_copies(&rest.get(replies::SHARDS).await.expect("shards"));
        let primary = copies
            .iter()
            .find(|c| c.index == index && c.shard == shard && c.node.as_deref() == Some("real-1"))
            .unwrap_or_else(|| panic!("a copy of [{index}][{shard}] on real-1: {copies:?}"))
            .primary;
        let raw = rest
            .post(
                replies::ALLOCATION_EXPLAIN,
                Some(&replies::explain_body(index, shard, primary, "real-1")),
            )
            .await
            .expect("allocation explain");
        println!("EXPLAIN [{index}][{shard}] {raw}");
        assert_eq!(raw["current_state"], "started", "{raw}");
        assert_eq!(raw["can_remain_on_current_node"], "no", "{raw}");
        assert_eq!(raw["can_move_to_other_node"], "no", "{raw}");
        assert_eq!(
            raw["node_allocation_decisions"][0]["node_name"], "real-0",
            "{raw}"
        );
        assert_eq!(
            raw["node_allocation_decisions"][0]["node_decision"], "no",
            "{raw}"
        );
    }
    // Still waiting over more than one pass.
    let until = Instant::now() + stuck::EXAMINE_INTERVAL + Duration::from_secs(2);
    while Instant::now() < until {
        let obs = n1.adapter.observe(&n1.ctx).await;
        let p = n1
            .adapter
            .perform(&n1.ctx, RequestedState::Decommissioned, &obs)
            .await;
        assert!(
            matches!(&p, Progress::InProgress(m) if m.contains("[s][0] primary cannot leave")),
            "{p:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    rest.put(
        "/s/_settings",
        &json!({"index.routing.allocation.require._name": null}),
    )
    .await
    .expect("let s go");
    let m = n1.reach(RequestedState::Decommissioned).await;
    println!("STAY {m}");
    let head = "real-1 is drained and excluded from allocation and from the voting configuration; 3 shard copies stay: no other node may hold them ([p][0] primary, [r][0] ";
    assert!(m.starts_with(head), "{m}");
    assert!(m.contains(", [r][1] "), "r's copies named: {m}");
    assert!(m.ends_with("), each has a started copy on real-0"), "{m}");
    let f1 = facts(&n1.adapter.observe(&n1.ctx).await);
    assert_eq!(f1.shards, Some(3), "only p's and r's copies left on real-1");
    assert_eq!(voting(&rest).await, vec!["real-1".to_owned()]);
    n1.stop().await;
    let obs = n1.adapter.observe(&n1.ctx).await;
    assert!(!obs.alive && !obs.ready, "{obs:?}");
    assert!(!obs.detail.is_empty());
    wait_nodes(&rest, 1).await;
    assert!(
        n0.adapter.observe(&n0.ctx).await.ready,
        "real-0 keeps a master"
    );
    reconcile().await;
    assert_eq!(voting(&rest).await, Vec::<String>::new());
    assert!(
        n0.adapter.observe(&n0.ctx).await.ready,
        "real-0 keeps a master"
    );
    // Redundancy lost, no document: r is yellow (its replicas unassigned), every document of
    // r, s and t is on real-0.
    let health = rest
        .get("/_cluster/health/r?wait_for_status=yellow&timeout=60s")
        .await
        .expect("r yellow");
    assert_eq!(health["status"], "yellow", "{health}");
    assert_eq!(health["active_primary_shards"], 2, "{health}");
    rest.get("/_cluster/health/p?wait_for_status=yellow&timeout=60s")
        .await
        .expect("p's replica promoted");
    for (index, docs) in [("p", 10), ("r", 20), ("s", 10), ("t", 100)] {
        rest.post(&format!("/{index}/_refresh"), None)
            .await
            .expect("refresh");
        let count = rest.get(&format!("/{index}/_count")).await.expect("count");
        assert_eq!(count["count"], docs, "{index}: no document lost");
    }
    n0.stop().await;
}
