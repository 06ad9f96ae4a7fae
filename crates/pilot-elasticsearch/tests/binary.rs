//! The `pilot-elasticsearch` binary: `--help` documents the flags the pod template uses, bad
//! flags and values fail with clap's usage error (exit 2) naming the problem, a pilot without
//! its downward-API identity exits 1 saying which variable is missing, and the whole binary
//! runs one real OpenSearch node against `navigator-apiserver --standalone` (needs the image
//! from hack/build-images and `cargo build -p navigator-apiserver`; fails saying so).

use std::process::{Command, Output};

use test_support::pilots::TermOnDrop;

fn pilot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pilot-elasticsearch"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run pilot-elasticsearch")
}

fn text(out: &Output) -> String {
    test_support::pilots::output_text(out)
}

const REQUIRED: [&str; 3] = [
    "--cluster-name=demo",
    "--discovery-service=demo-discovery.ns.svc.cluster.local",
    "--data-dir=/tmp/pilot-elasticsearch-binary-test-data",
];

#[test]
fn help_documents_the_flags() {
    let out = pilot(&["--help"]);
    assert!(out.status.success(), "{}", text(&out));
    let help = text(&out);
    for flag in [
        "--flavor",
        "--version <X.Y.Z>",
        "--home",
        "--cluster-name",
        "--node-pool",
        "--roles",
        "--discovery-service",
        "--initial-master-nodes",
        "--minimum-master-nodes",
        "--plugin",
        "--node-attribute",
        "--awareness-attributes",
        "--setting",
        "--http-port",
        "--transport-port",
        "--heap-mib",
        "--config-dir",
        "--data-dir",
        "--kubeconfig",
        "ELASTICSEARCH_CLUSTER_NAME",
        "PILOT_DATA_DIR",
        "es-<cluster-name>-pilot-leader",
        "--allocation-pause-timeout-seconds",
        "ELASTICSEARCH_ALLOCATION_PAUSE_TIMEOUT_SECONDS",
        "cluster.routing.allocation.enable: primaries",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

#[test]
fn bad_flags_are_usage_errors() {
    let cases: [(&[&str], &str); 5] = [
        (&["--bogus"], "unexpected argument '--bogus'"),
        (
            &["--flavor=solr"],
            "invalid value 'solr' for '--flavor <FLAVOR>'",
        ),
        (&["--roles=master,chef"], "unknown role \"chef\""),
        (&["--setting=novalue"], "\"novalue\" is not key=value"),
        (
            &["--http-port=http"],
            "invalid value 'http' for '--http-port",
        ),
    ];
    for (args, want) in cases {
        let mut all: Vec<&str> = REQUIRED.to_vec();
        all.extend_from_slice(args);
        let out = pilot(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(want), "{args:?}: {}", text(&out));
    }
    let out = pilot(&["--discovery-service=x", "--data-dir=/tmp/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--cluster-name <CLUSTER_NAME>"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_pilot_without_its_identity_says_what_is_missing() {
    let out = pilot(&REQUIRED);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("POD_NAME is not set"), "{}", text(&out));
}

fn opensearch_home() -> std::path::PathBuf {
    test_support::paths::image_root(
        "opensearch",
        "2.19.6",
        "usr/share/opensearch/bin/opensearch",
    )
    .join("usr/share/opensearch")
}

fn free_port() -> u16 {
    test_support::ports::free_port().expect("a free port")
}

/// A child process killed when dropped (SIGTERM first, so a pilot stops its node).
fn killed(child: std::process::Child) -> TermOnDrop {
    TermOnDrop::new(child, std::time::Duration::from_secs(30))
}

/// The whole binary on the runtime: against `navigator-apiserver --standalone` (Pilots, no
/// Leases) and one real OpenSearch 2.19.6 node as a host process. The Pilot reports Ready and
/// the node's facts, `Running` is `Complete`; `Drained` waits for a leader (there is none: the
/// standalone API server has no Leases, so no pilot leads and none writes exclusions);
/// SIGTERM stops the node and the pilot exits 0. About 20 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reports_on_its_pilot_and_stops_cleanly() {
    use kube::Api;
    use kube::api::{Patch, PatchParams, PostParams};
    use navigator_api::pilot_contract::ELASTICSEARCH_CLUSTER_UUID_ANNOTATION;
    use navigator_api::v1beta1::{Pilot, PilotClusterReference};
    use std::time::{Duration, Instant};
    use test_support::standalone::StandaloneServer;

    let home = opensearch_home();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = StandaloneServer::start_in(&dir.path().join("api"));
    let kubeconfig = server.kubeconfig();
    let client = server.client().await;
    let pilots: Api<Pilot> = Api::namespaced(client, "db");
    let mut pilot = Pilot::default();
    pilot.metadata.name = Some("bin-0".into());
    pilot.metadata.labels = Some(
        [(
            navigator_api::pilot_contract::ELASTICSEARCH_CLUSTER_NAME_LABEL.to_owned(),
            "bin".to_owned(),
        )]
        .into(),
    );
    pilot.spec.cluster = Some(PilotClusterReference {
        kind: "ElasticsearchCluster".into(),
        name: "bin".into(),
    });
    pilots
        .create(&PostParams::default(), &pilot)
        .await
        .expect("create Pilot");

    let transport = free_port();
    let log_path = dir.path().join("pilot.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let start = |home_dir: &str, data_dir: &str, log: std::fs::File| {
        killed(
            Command::new(env!("CARGO_BIN_EXE_pilot-elasticsearch"))
                .args([
                    "--flavor=opensearch".to_owned(),
                    "--version=2.19.6".into(),
                    format!("--home={}", home.display()),
                    "--cluster-name=bin".into(),
                    format!("--discovery-service=127.0.0.1:{transport}"),
                    format!("--http-port={}", free_port()),
                    format!("--transport-port={transport}"),
                    format!("--config-dir={}", dir.path().join(home_dir).display()),
                    format!("--data-dir={}", dir.path().join(data_dir).display()),
                    format!("--kubeconfig={}", kubeconfig.display()),
                    "--probe-address=127.0.0.1".into(),
                    format!("--liveness-port={}", free_port()),
                    format!("--readiness-port={}", free_port()),
                ])
                .env("POD_NAME", "bin-0")
                .env("POD_NAMESPACE", "db")
                .env("POD_IP", "127.0.0.1")
                .env("MEMORY_LIMIT", (768u64 << 20).to_string())
                .stdin(std::process::Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("start pilot-elasticsearch"),
        )
    };
    let mut child = start("home", "data", log);
    let log_tail = || {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    };
    let wait = |what: &'static str, check: Box<dyn Fn(&Pilot) -> bool>| {
        let pilots = pilots.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(180);
            loop {
                let p = pilots.get("bin-0").await.expect("get Pilot");
                if check(&p) {
                    return p;
                }
                assert!(
                    Instant::now() < deadline,
                    "{what} not reached: {}\n{}",
                    serde_json::to_string_pretty(&p.status).expect("JSON"),
                    log_tail()
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    };
    let p = wait(
        "Ready with facts and Running Complete",
        Box::new(|p| {
            let ready = p
                .status
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            let complete = p
                .status
                .operation
                .as_ref()
                .is_some_and(|o| o.phase == "Complete");
            ready
                && complete
                && p.status
                    .elasticsearch
                    .as_ref()
                    .is_some_and(|e| e.shards.is_some())
        }),
    )
    .await;
    let es = p.status.elasticsearch.expect("facts");
    assert_eq!(es.version.map(|v| v.to_string()).as_deref(), Some("2.19.6"));
    assert!(es.node_id.is_some());
    assert_eq!(es.roles, vec!["cluster_manager", "data", "ingest"]);
    assert_eq!((es.documents, es.shards), (Some(0), Some(0)));
    assert_eq!(es.cluster_health, None, "no leader without Leases");
    let op = p.status.operation.expect("operation");
    assert_eq!(
        op.message,
        "bin-0 is not excluded from allocation: shards may be allocated to it"
    );
    let rendered = std::fs::read_to_string(dir.path().join("home/config/opensearch.yml"))
        .expect("rendered configuration");
    assert!(rendered.contains("cluster.initial_cluster_manager_nodes:\n- bin-0\n"));
    let jvm = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        jvm.contains("-Xms384m, -Xmx384m"),
        "heap from MEMORY_LIMIT:\n{}",
        log_tail()
    );

    // The node joined a formed cluster: its pilot records the cluster's UUID on the Pilot,
    // a marker that outlives the status.
    let uuid_of = |p: &Pilot| {
        p.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ELASTICSEARCH_CLUSTER_UUID_ANNOTATION))
            .cloned()
    };
    let p = wait(
        "the cluster UUID recorded on the Pilot",
        Box::new(move |p| uuid_of(p).is_some()),
    )
    .await;
    let uuid = uuid_of(&p).expect("annotation");
    assert!(!uuid.is_empty() && uuid != "_na_", "{uuid:?}");
    let log = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        log.lines().any(
            |l| l.contains("recorded on the Pilot that the node joined the cluster")
                && l.contains(&uuid)
        ),
        "{}",
        log_tail()
    );

    pilots
        .patch(
            "bin-0",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"requestedState": "Drained"}})),
        )
        .await
        .expect("request Drained");
    let p = wait(
        "Drained waiting for the leader",
        Box::new(|p| {
            p.status.operation.as_ref().is_some_and(|o| {
                o.state == "Drained"
                    && o.phase == "InProgress"
                    && o.message
                        .contains("waiting for the leader to exclude bin-0")
            })
        }),
    )
    .await;
    eprintln!("{:?}", p.status.operation);

    let code = child.stop(Duration::from_secs(60)).await;
    assert_eq!(code, Some(0), "{}", log_tail());
    assert!(
        std::fs::read_to_string(&log_path)
            .expect("log")
            .contains("[bin-0] closed")
    );

    // The node's last report before it stopped may have seen no elected master (then the
    // status has no `shards`): the status is cleared here, so only the annotation is left.
    pilots
        .patch_status(
            "bin-0",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"status": {"elasticsearch": null}})),
        )
        .await
        .expect("clear status.elasticsearch");
    let p = pilots.get("bin-0").await.expect("get Pilot");
    assert_eq!(p.status.elasticsearch, None);
    assert_eq!(
        p.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ELASTICSEARCH_CLUSTER_UUID_ANNOTATION)),
        Some(&uuid)
    );

    // The pod comes back without its volume: its Pilot records that its node joined, so the
    // cluster exists and the node must only join (never form a second cluster), whatever DNS
    // shows.
    let log2_path = dir.path().join("pilot-2.log");
    let _again = start(
        "home-2",
        "data-2",
        std::fs::File::create(&log2_path).expect("log"),
    );
    let yml = dir.path().join("home-2/config/opensearch.yml");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !yml.exists() {
        assert!(
            Instant::now() < deadline,
            "no configuration rendered in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rendered = std::fs::read_to_string(&yml).expect("rendered configuration");
    assert!(
        !rendered.contains("initial_cluster_manager_nodes"),
        "{rendered}"
    );
    let log2 = std::fs::read_to_string(&log2_path).expect("log");
    assert!(
        log2.contains("Pilot bin-0 reports a node that joined the cluster"),
        "{log2}"
    );
}
