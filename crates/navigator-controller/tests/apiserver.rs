//! The controller's writes against a real API server (`navigator-apiserver --standalone`,
//! which serves CassandraClusters and Pilots): a Pilot created by server-side apply with the
//! controller's field manager, the requested-state merge patches, deletes that treat "already
//! gone" as done, and status merge patches that also remove what is no longer there.
//!
//! Needs the server built: `cargo build -p navigator-apiserver` (or `$NAVIGATOR_APISERVER`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kube::Api;
use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use navigator_api::v1beta1::{
    CassandraCluster, CassandraClusterNodePool, CassandraClusterStatus, ImageSpec, NodePoolStatus,
    Pilot,
};
use navigator_controller::execute::execute;
use navigator_controller::expectations::{Kind, Written};
use navigator_controller::status_writer;
use navigator_core::cassandra::children;
use navigator_core::cassandra::plan::Action;

const NS: &str = "db";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start(dir: &Path) -> (Server, kube::Client) {
    let binary = test_support::devenv::sibling_binary(
        "navigator-apiserver",
        "NAVIGATOR_APISERVER",
        "cargo build -p navigator-apiserver",
    );
    let port = test_support::ports::free_port().expect("a free port");
    let log_path = dir.join("server.log");
    let log = std::fs::File::create(&log_path).expect("the server's log");
    let server = Server(
        Command::new(binary)
            .args(["--standalone", "--bind-address", "127.0.0.1", "--data-dir"])
            .arg(dir.join("data"))
            .args(["--secure-port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log's handle"))
            .stderr(log)
            .spawn()
            .expect("start navigator-apiserver"),
    );
    navigator_controller::client::install_crypto_provider();
    let kubeconfig = dir.join("data/kubeconfig");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(file) = Kubeconfig::read_from(&kubeconfig)
            && let Ok(config) =
                kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default()).await
            && let Ok(client) = kube::Client::try_from(config)
            && client.apiserver_version().await.is_ok()
        {
            return (server, client);
        }
        assert!(
            Instant::now() < deadline,
            "navigator-apiserver not ready in 60 s:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn pilots_and_status_are_written_as_the_planner_asks() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (_server, client) = start(dir.path()).await;
    let clusters: Api<CassandraCluster> = Api::namespaced(client.clone(), NS);
    let pilots: Api<Pilot> = Api::namespaced(client.clone(), NS);

    let mut cluster = CassandraCluster::default();
    cluster.metadata.name = Some("demo".into());
    cluster.metadata.namespace = Some(NS.into());
    cluster.spec.version = Some("5.0.2".parse().expect("a version"));
    cluster.spec.pilot_image = ImageSpec {
        repository: "navigator-pilot".into(),
        tag: "dev".into(),
        ..ImageSpec::default()
    };
    cluster.spec.node_pools = vec![CassandraClusterNodePool {
        name: "a".into(),
        replicas: Some(1),
        ..CassandraClusterNodePool::default()
    }];
    let cluster = clusters
        .create(&PostParams::default(), &cluster)
        .await
        .expect("create the cluster");

    // CreatePilot: server-side apply, owned by the cluster, field manager navigator-controller.
    let pilot = children::pilot(&cluster, "a", 0).expect("the Pilot of pod 0");
    let written = execute(&client, NS, &Action::CreatePilot(pilot.clone()))
        .await
        .expect("create the Pilot");
    let created = pilots.get("cass-demo-a-0").await.expect("the Pilot exists");
    assert_eq!(
        written,
        Some(Written::Updated {
            kind: Kind::Pilot,
            name: "cass-demo-a-0".into(),
            resource_version: created
                .metadata
                .resource_version
                .clone()
                .unwrap_or_default(),
        })
    );
    assert_eq!(created.spec.node_pool.as_deref(), Some("a"));
    let owner = &created
        .metadata
        .owner_references
        .clone()
        .unwrap_or_default()[0];
    assert_eq!(owner.kind, "CassandraCluster");
    assert_eq!(Some(&owner.uid), cluster.metadata.uid.as_ref());
    let managers: Vec<String> = created
        .metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| f.manager)
        .collect();
    assert!(
        managers.iter().any(|m| m == "navigator-controller"),
        "{managers:?}"
    );
    // Applying the same object again changes nothing.
    let again = execute(&client, NS, &Action::CreatePilot(pilot))
        .await
        .expect("apply the Pilot again");
    assert_eq!(again, written, "a repeated apply is a no-op");

    // The requested state, asked and taken back.
    for (action, want) in [
        (
            Action::RequestDecommission {
                pilot: "cass-demo-a-0".into(),
            },
            "Decommissioned",
        ),
        (
            Action::CancelDecommission {
                pilot: "cass-demo-a-0".into(),
            },
            "Running",
        ),
    ] {
        execute(&client, NS, &action)
            .await
            .expect("patch the Pilot");
        let p = pilots.get("cass-demo-a-0").await.expect("the Pilot");
        assert_eq!(p.spec.requested_state.as_deref(), Some(want), "{action:?}");
        assert_eq!(p.spec.node_pool.as_deref(), Some("a"), "the rest is kept");
    }

    // Deleting twice: the second finds nothing and is done too.
    let delete = Action::DeletePilot {
        pilot: "cass-demo-a-0".into(),
    };
    for _ in 0..2 {
        let written = execute(&client, NS, &delete)
            .await
            .expect("delete the Pilot");
        assert_eq!(
            written,
            Some(Written::Deleted {
                kind: Kind::Pilot,
                name: "cass-demo-a-0".into()
            })
        );
    }
    assert!(
        pilots
            .get_opt("cass-demo-a-0")
            .await
            .expect("get")
            .is_none()
    );

    // Status: written when it differs, with keys that went away removed; not when equal.
    let pools = |names: &[&str]| {
        names
            .iter()
            .map(|n| {
                (
                    (*n).to_owned(),
                    NodePoolStatus {
                        ready_replicas: 1,
                        replicas: Some(1),
                        updated_replicas: Some(1),
                    },
                )
            })
            .collect::<BTreeMap<_, _>>()
    };
    let two = CassandraClusterStatus {
        observed_generation: cluster.metadata.generation,
        node_pools: pools(&["a", "b"]),
        ..CassandraClusterStatus::default()
    };
    assert!(
        status_writer::write(&clusters, &cluster, &two)
            .await
            .expect("write the status")
    );
    let read = clusters.get("demo").await.expect("the cluster");
    assert_eq!(read.status, two);
    let one = CassandraClusterStatus {
        node_pools: pools(&["a"]),
        ..two.clone()
    };
    assert!(
        status_writer::write(&clusters, &read, &one)
            .await
            .expect("write the status")
    );
    let read = clusters.get("demo").await.expect("the cluster");
    assert_eq!(read.status, one, "pool b left the status");
    let before = read.metadata.resource_version.clone();
    assert!(
        !status_writer::write(&clusters, &read, &one)
            .await
            .expect("no write"),
        "an unchanged status is not written"
    );
    let read = clusters.get("demo").await.expect("the cluster");
    assert_eq!(read.metadata.resource_version, before);
}
