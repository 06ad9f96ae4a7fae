//! `hack/demo` end to end, as a newcomer runs it: it starts devenv, installs Navigator from the
//! chart as pods and waits for a Ready three-node Cassandra managed by the in-cluster
//! controller. Then what the demo tells the user to try works through the kubelet API, with
//! real clients:
//!
//!  - `kubectl exec cass-demo-a-0 -- nodetool status` lists 3 nodes Up/Normal;
//!  - `kubectl logs` of a database pod shows its pilot's log;
//!  - `kubectl port-forward` to 9042 lets the Python cassandra-driver on the host write rows at
//!    ALL and read them back;
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
use test_support::deploy::helm;
use test_support::devenv::{eventually, k8s_bin_dir, repo_root};

/// The demo's namespace and pods.
const NS: &str = "demo";
const PODS: [&str; 3] = ["cass-demo-a-0", "cass-demo-a-1", "cass-demo-a-2"];
/// The datacenter of a pool that names none.
const DC: &str = "navigator-default-datacenter";

/// The demo's devenv state; `hack/demo --down` when dropped.
struct Demo {
    state: tempfile::TempDir,
    port_forward: Option<Child>,
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
            let log = self.state.path().join("port-forward.err");
            eprintln!(
                "--- kubectl port-forward's stderr ---\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if let Some(mut child) = self.port_forward.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new(repo_root().join("hack/demo"))
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
        port_forward: None,
    };
    let t = Instant::now();
    let out = Command::new(repo_root().join("hack/demo"))
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
        stderr.contains("is Ready: 3 nodes") && stderr.contains("nodetool status"),
        "{stderr}"
    );
    println!(
        "TIMING hack/demo (warm caches) → 3 Cassandra nodes Ready {:.1}s",
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
    let forward_log = demo.state.path().join("port-forward.log");
    demo.port_forward = Some(
        Command::new(k8s_bin_dir().join("kubectl"))
            .arg("--kubeconfig")
            .arg(demo.kubeconfig())
            .args([
                "-n",
                NS,
                "port-forward",
                &format!("pod/{}", PODS[0]),
                &format!("{local_port}:9042"),
            ])
            .stdout(std::fs::File::create(&forward_log).unwrap())
            .stderr(std::fs::File::create(forward_log.with_extension("err")).unwrap())
            .spawn()
            .unwrap(),
    );
    eventually(
        "kubectl port-forward listening",
        Duration::from_secs(30),
        || demo.context(),
        || {
            let out = std::fs::read_to_string(&forward_log).unwrap_or_default();
            out.contains("Forwarding from 127.0.0.1:9042")
                .then_some(())
                .ok_or(out)
        },
    );
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
        "{wrote}\n{read}\n{}",
        std::fs::read_to_string(forward_log.with_extension("err")).unwrap_or_default()
    );

    // Uninstalling Navigator leaves the database running, with its volumes.
    let out = Command::new(helm())
        .args([
            "uninstall",
            "navigator",
            "--namespace",
            "navigator",
            "--wait",
        ])
        .arg("--kubeconfig")
        .arg(demo.kubeconfig())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_secs(20));
    for pod in PODS {
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
    assert_eq!(claims.lines().count(), 3, "{claims}");
}
