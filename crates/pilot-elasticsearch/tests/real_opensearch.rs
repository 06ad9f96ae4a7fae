//! The adapter against real OpenSearch 2.19.6 (the image hack/build-images assembles under
//! `${NAVIGATOR_CACHE:-~/.cache/navigator}/images/opensearch/2.19.6`), run as two host
//! processes on 127.0.0.1 with their own ports — no devenv, no API server (the leader's
//! election finds no API and never leads; the test writes the exclusions the way the leader
//! does, with the same pure functions). It fails, saying what to run, when the image is
//! missing. About a minute and 1.5 GiB.
//!
//! It checks: the rendered configuration (the first node forms the cluster with
//! `cluster.initial_cluster_manager_nodes`, the second joins without it, a re-render on the
//! data has none), the REST client's facts (version, node id, roles, documents, shards),
//! readiness, draining a node of an index with 0 replicas (every primary moves, no document
//! lost), the voting configuration exclusion as `Decommissioned` sees it, the reversal to
//! `Running`, and liveness after the process is gone.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use clap::Parser;
use navigator_pilot::{
    DatabaseAdapter, Identity, NodeFacts, Observation, PilotContext, Progress, RequestedState,
};
use pilot_elasticsearch::replies::{self, EXCLUDE_NAME};
use pilot_elasticsearch::rest::RestClient;
use pilot_elasticsearch::{ElasticsearchAdapter, ElasticsearchOptions, exclusions};
use serde_json::json;
use tokio::process::{Child, Command};

fn image_home() -> PathBuf {
    let cache = std::env::var_os("NAVIGATOR_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/navigator")
        });
    let home = cache.join("images/opensearch/2.19.6/usr/share/opensearch");
    assert!(
        home.join("bin/opensearch").exists(),
        "{} is missing: run hack/build-images (or hack/install-prereqs)",
        home.display()
    );
    home
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("address")
        .port()
}

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    options: ElasticsearchOptions,
}

struct Node {
    name: String,
    adapter: ElasticsearchAdapter,
    ctx: PilotContext,
    child: Option<Child>,
    log: PathBuf,
    _dirs: tempfile::TempDir,
}

impl Node {
    fn new(name: &str, seed_transport: u16, transport: u16) -> Self {
        let dirs = tempfile::tempdir().expect("tempdir");
        let http = free_port();
        let args = Args::parse_from([
            "test".to_owned(),
            "--flavor=opensearch".into(),
            "--version=2.19.6".into(),
            format!("--home={}", image_home().display()),
            "--cluster-name=real".into(),
            "--node-pool=data".into(),
            format!("--discovery-service=127.0.0.1:{seed_transport}"),
            format!("--http-port={http}"),
            format!("--transport-port={transport}"),
            "--heap-mib=384".into(),
            "--setting=cluster.routing.allocation.disk.threshold_enabled=false".into(),
        ]);
        let adapter =
            ElasticsearchAdapter::new(args.options, Some(dirs.path().join("no-such-kubeconfig")));
        let ctx = PilotContext {
            identity: Identity {
                pod_name: name.into(),
                namespace: "ns".into(),
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
            adapter,
            log: dirs.path().join("node.log"),
            ctx,
            child: None,
            _dirs: dirs,
        }
    }

    fn yml(&self) -> String {
        std::fs::read_to_string(self.ctx.config_dir.join("config/opensearch.yml"))
            .expect("rendered opensearch.yml")
    }

    async fn start(&mut self) {
        let cmd = self.adapter.prepare(&self.ctx).await.expect("prepare");
        let log = std::fs::File::create(&self.log).expect("log");
        let child = Command::new(&cmd.program)
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

    async fn wait_ready(&self) -> Observation {
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
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

async fn set_exclusion(rest: &RestClient, names: &[&str]) {
    let settings = rest.get(replies::SETTINGS).await.expect("settings");
    let current = replies::setting(&settings, EXCLUDE_NAME);
    let desired = names.iter().map(|n| (*n).to_owned()).collect();
    if let Some(body) = exclusions::change(&current, &desired) {
        rest.put(replies::PUT_SETTINGS, &body)
            .await
            .expect("put settings");
    }
    let after = rest.get(replies::SETTINGS).await.expect("settings");
    assert_eq!(
        exclusions::change(&replies::setting(&after, EXCLUDE_NAME), &desired),
        None,
        "the exclusion is in effect after one write"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_real_nodes_form_report_drain_and_reverse() {
    image_home();
    let (t0, t1) = (free_port(), free_port());
    let mut n0 = Node::new("real-0", t0, t0);
    let mut n1 = Node::new("real-1", t0, t1);
    n0.start().await;
    n1.start().await;
    assert!(
        n0.yml()
            .contains("cluster.initial_cluster_manager_nodes:\n- real-0\n"),
        "{}",
        n0.yml()
    );
    assert!(
        !n1.yml().contains("initial_cluster_manager_nodes"),
        "{}",
        n1.yml()
    );
    assert!(
        n1.yml()
            .contains("node.roles:\n- cluster_manager\n- data\n- ingest\n")
    );
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
        Some("2.19.6")
    );
    assert!(f0.node_id.is_some() && f1.node_id.is_some() && f0.node_id != f1.node_id);
    assert_eq!(f1.roles, vec!["cluster_manager", "data", "ingest"]);
    assert_eq!(f0.cluster_health, None, "only the leader reports health");

    // One cluster: the same UUID on both nodes.
    let root0 = n0.adapter.rest().get("/").await.expect("root");
    let root1 = n1.adapter.rest().get("/").await.expect("root");
    assert_eq!(root0["cluster_uuid"], root1["cluster_uuid"]);

    // A re-render on the node's data never forms a cluster again.
    n0.adapter.prepare(&n0.ctx).await.expect("prepare again");
    assert!(
        !n0.yml().contains("initial_cluster_manager_nodes"),
        "{}",
        n0.yml()
    );

    // 100 documents in an index with 0 replicas, over both nodes.
    let rest = n0.adapter.rest().with_timeout(Duration::from_secs(60));
    rest.put(
        "/t",
        &json!({"settings": {"number_of_shards": 4, "number_of_replicas": 0}}),
    )
    .await
    .expect("create index");
    for i in 0..100 {
        rest.put(&format!("/t/_doc/{i}"), &json!({"n": i}))
            .await
            .expect("index a document");
    }
    rest.post("/t/_refresh", None).await.expect("refresh");
    rest.get("/_cluster/health?wait_for_status=green&timeout=60s")
        .await
        .expect("green");
    let f1 = facts(&n1.adapter.observe(&n1.ctx).await);
    assert!(f1.shards.unwrap_or(0) > 0, "real-1 holds shards: {f1:?}");
    assert!(
        f1.documents.unwrap_or(0) > 0,
        "real-1 holds documents: {f1:?}"
    );

    // Running is complete while nothing is excluded.
    let m = n1.reach(RequestedState::Running).await;
    assert!(m.contains("not excluded"), "{m}");

    // Drained: pending the leader's exclusion, then every shard moves.
    let obs = n1.adapter.observe(&n1.ctx).await;
    match n1
        .adapter
        .perform(&n1.ctx, RequestedState::Drained, &obs)
        .await
    {
        Progress::InProgress(m) => assert!(
            m.contains("waiting for the leader to exclude real-1"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    set_exclusion(&rest, &["real-1"]).await;
    let m = n1.reach(RequestedState::Drained).await;
    assert_eq!(m, "real-1 holds no shards and is excluded from allocation");
    let f1 = facts(&n1.adapter.observe(&n1.ctx).await);
    assert_eq!(f1.shards, Some(0));
    let f0 = facts(&n0.adapter.observe(&n0.ctx).await);
    assert_eq!(f0.shards, Some(4));
    rest.post("/t/_refresh", None).await.expect("refresh");
    let count = rest.get("/t/_count").await.expect("count");
    assert_eq!(count["count"], 100, "no document lost");

    // Decommissioned on a master-eligible node also needs the voting exclusion.
    let obs = n1.adapter.observe(&n1.ctx).await;
    match n1
        .adapter
        .perform(&n1.ctx, RequestedState::Decommissioned, &obs)
        .await
    {
        Progress::InProgress(m) => assert!(m.contains("voting configuration"), "{m}"),
        other => panic!("{other:?}"),
    }
    rest.with_timeout(Duration::from_secs(40))
        .post(
            &replies::add_voting_exclusions_path(&["real-1".into()], false),
            None,
        )
        .await
        .expect("add a voting exclusion");
    let m = n1.reach(RequestedState::Decommissioned).await;
    assert_eq!(
        m,
        "real-1 holds no shards and is excluded from allocation and from the voting configuration"
    );
    let exclusions_now =
        replies::voting_exclusions(&rest.get(replies::VOTING_EXCLUSIONS).await.expect("state"));
    assert_eq!(exclusions_now.len(), 1);
    assert_eq!(exclusions_now[0].node_name, "real-1");

    // Reversal: Running waits for both exclusions to go, then says so.
    let obs = n1.adapter.observe(&n1.ctx).await;
    match n1
        .adapter
        .perform(&n1.ctx, RequestedState::Running, &obs)
        .await
    {
        Progress::InProgress(m) => assert!(m.contains("allocation exclusions"), "{m}"),
        other => panic!("{other:?}"),
    }
    set_exclusion(&rest, &[]).await;
    rest.delete(replies::CLEAR_VOTING_EXCLUSIONS)
        .await
        .expect("clear voting exclusions");
    let m = n1.reach(RequestedState::Running).await;
    assert_eq!(
        m,
        "real-1 is not excluded from allocation: shards may be allocated to it"
    );

    // Liveness: a node that is gone is not alive.
    n1.stop().await;
    let obs = n1.adapter.observe(&n1.ctx).await;
    assert!(!obs.alive && !obs.ready, "{obs:?}");
    assert!(!obs.detail.is_empty());
    n0.stop().await;
}
