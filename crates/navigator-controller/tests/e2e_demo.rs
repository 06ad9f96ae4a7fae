//! `hack/demo` end to end, as a newcomer runs it: it starts devenv, installs Navigator from the
//! chart as pods and waits for a Ready three-node Cassandra and a Ready three-node OpenSearch,
//! both managed by the in-cluster controller. Then what the demo tells the user to try works through the kubelet API, with
//! real clients:
//!
//!  - `kubectl exec cass-demo-a-0 -- nodetool status` lists 3 nodes Up/Normal;
//!  - `kubectl logs` of a database pod shows its pilot's log;
//!  - `kubectl port-forward` to 9042 lets the Python cassandra-driver on the host write rows at
//!    ALL and read them back;
//!  - `kubectl port-forward svc/es-search 9200` reaches OpenSearch: health green, a document
//!    indexed and read back;
//!  - `helm uninstall` of Navigator leaves the running database alone: its pods keep running and
//!    its volume claims stay.
//!
//! `#[ignore]`d: needs root, the pod network, everything `hack/demo` builds, and the Python
//! cassandra-driver (`hack/install-prereqs`). Run by `hack/test-devenv`, or with
//! `flock /tmp/devenv.lock cargo test -p navigator-controller --test e2e_demo -- --ignored
//! --nocapture`.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use test_support::cassandra::cql;
use test_support::deploy::helm_run;
use test_support::devenv::{eventually, k8s_bin_dir, repo_root};
use test_support::elasticsearch::{self as es, HTTP_PORT};

/// The demo's namespace and pods.
const NS: &str = "demo";
const PODS: [&str; 3] = ["cass-demo-a-0", "cass-demo-a-1", "cass-demo-a-2"];
const SEARCH_PODS: [&str; 3] = [
    "es-search-mixed-0",
    "es-search-mixed-1",
    "es-search-mixed-2",
];
/// The datacenter of a pool that names none.
const DC: &str = "navigator-default-datacenter";

/// `hack/demo` with the environment a user's shell would give it: without the variables cargo
/// sets for a test (ring's build script reruns when `CARGO_MANIFEST_DIR` changes, so the demo's
/// `cargo build --release` would rebuild what `hack/test-devenv` has just built).
fn demo_command() -> Command {
    let mut command = Command::new(repo_root().join("hack/demo"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        let cargo_set =
            name.starts_with("CARGO") && name != "CARGO_HOME" && name != "CARGO_TARGET_DIR";
        if cargo_set || name == "OUT_DIR" || name == "LD_LIBRARY_PATH" {
            command.env_remove(name);
        }
    }
    command
}

/// The demo's devenv state; `hack/demo --down` when dropped.
struct Demo {
    state: tempfile::TempDir,
    port_forwards: Vec<Child>,
}

impl Demo {
    fn kubeconfig(&self) -> PathBuf {
        self.state.path().join("admin.kubeconfig")
    }

    fn kubectl(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(k8s_bin_dir().join("kubectl"))
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "kubectl {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// `kubectl port-forward <target> <local>:<remote>`, kept running until the demo is dropped;
    /// returns once it listens. Its output goes to `port-forward-<local>.{log,err}`.
    fn forward(&mut self, target: &str, local: u16, remote: u16) {
        let log = self.state.path().join(format!("port-forward-{local}.log"));
        let child = Command::new(k8s_bin_dir().join("kubectl"))
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args([
                "-n",
                NS,
                "port-forward",
                target,
                &format!("{local}:{remote}"),
            ])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
            .spawn()
            .unwrap();
        self.port_forwards.push(child);
        eventually(
            &format!("kubectl port-forward {target} listening"),
            Duration::from_secs(30),
            || self.context(),
            || {
                let out = std::fs::read_to_string(&log).unwrap_or_default();
                out.contains(&format!("Forwarding from 127.0.0.1:{local}"))
                    .then_some(())
                    .ok_or(out)
            },
        );
    }

    fn context(&self) -> String {
        format!(
            "{}\n{}",
            self.kubectl(&["get", "pods", "-A", "-o", "wide"])
                .unwrap_or_else(|e| e),
            self.kubectl(&["-n", NS, "describe", "cassandracluster", "demo"])
                .unwrap_or_else(|e| e)
        )
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for port in [9042, HTTP_PORT] {
                let log = self.state.path().join(format!("port-forward-{port}.err"));
                eprintln!(
                    "--- kubectl port-forward {port}'s stderr ---\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        }
        for mut child in self.port_forwards.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = demo_command()
            .arg("--down")
            .env("DEVENV_STATE_DIR", self.state.path())
            .status();
    }
}

#[test]
#[ignore = "devenv group: needs root, the pod network and what hack/demo builds; run hack/test-devenv"]
fn the_demo_runs_a_cassandra_cluster_users_can_reach() {
    let mut demo = Demo {
        state: tempfile::Builder::new()
            .prefix("nav-demo-")
            .tempdir()
            .unwrap(),
        port_forwards: Vec::new(),
    };
    let t = Instant::now();
    let out = demo_command()
        .env("DEVENV_STATE_DIR", demo.state.path())
        .env("DEMO_TIMEOUT", "900")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stderr}");
    assert!(
        out.status.success(),
        "hack/demo failed:\n{stderr}\n{}",
        demo.context()
    );
    assert!(
        stderr.contains("demo/demo is Ready: 3 nodes")
            && stderr.contains("demo/search is Ready: 3 nodes")
            && stderr.contains("nodetool status"),
        "{stderr}"
    );
    println!(
        "TIMING hack/demo (warm caches) → 3 Cassandra and 3 OpenSearch nodes Ready {:.1}s",
        t.elapsed().as_secs_f64()
    );
    // The cluster is managed by the in-cluster controller (the Lease holder is one of its pods).
    let holder = demo
        .kubectl(&[
            "-n",
            "navigator",
            "get",
            "lease",
            "navigator-controller",
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ])
        .unwrap();
    assert!(holder.starts_with("navigator-controller-"), "{holder}");

    // nodetool through kubectl exec: three nodes Up/Normal.
    let status = eventually(
        "nodetool status: 3 UN",
        Duration::from_secs(120),
        || demo.context(),
        || {
            let s = demo.kubectl(&[
                "-n",
                NS,
                "exec",
                PODS[0],
                "-c",
                "cassandra",
                "--",
                "nodetool",
                "status",
            ])?;
            let up = s.lines().filter(|l| l.starts_with("UN ")).count();
            (up == 3).then_some(s.clone()).ok_or(s)
        },
    );
    println!("{status}");

    // The pilot's log through kubectl logs.
    let logs = demo
        .kubectl(&["-n", NS, "logs", PODS[1], "-c", "cassandra"])
        .unwrap();
    assert!(
        logs.contains("navigator_pilot") && logs.contains("Starting listening for CQL clients"),
        "{}",
        test_support::devenv::tail(&logs, 40)
    );

    // kubectl port-forward to 9042, and the Python driver from the host.
    // The driver's contact points take the default CQL port, so the host's 9042 (free: the
    // databases listen in their pods' network namespaces).
    let local_port = 9042;
    demo.forward(&format!("pod/{}", PODS[0]), local_port, 9042);
    let contact = "127.0.0.1".to_owned();
    let wrote = cql(
        "write",
        DC,
        "demo_ks",
        3,
        20,
        std::slice::from_ref(&contact),
    );
    let read = cql("read", DC, "demo_ks", 3, 20, std::slice::from_ref(&contact));
    assert!(
        wrote.contains("WROTE 20 rows at ALL") && read.contains("READ 20 rows at ALL"),
        "{wrote}\n{read}"
    );

    // OpenSearch through the client Service, forwarded to the host's 9200.
    demo.forward("svc/es-search", HTTP_PORT, HTTP_PORT);
    let health = eventually(
        "OpenSearch green through the port-forward",
        Duration::from_secs(60),
        || demo.context(),
        || {
            let h = es::health("127.0.0.1")?;
            (h["status"] == "green" && h["number_of_nodes"] == 3)
                .then_some(h.clone())
                .ok_or_else(|| h.to_string())
        },
    );
    println!("{health}");
    es::rest(
        "PUT",
        "127.0.0.1",
        "/demo/_doc/1?refresh=true",
        Some(r#"{"hello":"navigator"}"#),
    )
    .unwrap();
    let doc = es::rest("GET", "127.0.0.1", "/demo/_doc/1", None).unwrap();
    assert_eq!(doc["_source"]["hello"], "navigator", "{doc}");

    // Uninstalling Navigator leaves the database running, with its volumes.
    helm_run(
        &demo.kubeconfig(),
        &[
            "uninstall",
            "navigator",
            "--namespace",
            "navigator",
            "--wait",
        ],
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", demo.context()));
    std::thread::sleep(Duration::from_secs(20));
    for pod in PODS.iter().chain(&SEARCH_PODS) {
        let phase = demo
            .kubectl(&[
                "-n",
                NS,
                "get",
                "pod",
                pod,
                "-o",
                "jsonpath={.status.phase}",
            ])
            .unwrap();
        assert_eq!(phase, "Running", "{pod} after helm uninstall");
    }
    let claims = demo
        .kubectl(&["-n", NS, "get", "pvc", "-o", "name"])
        .unwrap();
    assert_eq!(claims.lines().count(), 6, "{claims}");
}
