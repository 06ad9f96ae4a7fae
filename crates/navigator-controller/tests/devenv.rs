//! The controller as a process against devenv (kube-apiserver with navigator-apiserver
//! aggregated): a CassandraCluster gets its shared children, its StatefulSet and its first
//! Pilot, each owned by the cluster, a status with `observedGeneration`, events, metrics and a
//! leader Lease; a second controller waits until the first stops, then takes over.
//!
//! No Cassandra runs: the pool's nodeSelector matches no node, so its pods stay Pending (the
//! end-to-end Cassandra story is another test). Needs root, the Go-built Kubernetes binaries
//! (`hack/install-prereqs`), `cargo build -p devenv -p navigator-apiserver`, and the machine's
//! devenv lock:
//!
//! ```text
//! cargo build -p devenv -p navigator-apiserver
//! flock /tmp/devenv.lock cargo test -p navigator-controller --test devenv -- --ignored --nocapture
//! ```

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use test_support::devenv::{self, Env, EnvOptions, GROUP};

const NS: &str = "ctl";
const CLUSTER: &str = "demo";

/// A controller process, killed (SIGKILL) on drop unless it was stopped.
struct Controller {
    child: Child,
    log: PathBuf,
    metrics_port: u16,
}

impl Controller {
    fn start(env: &Env, name: &str, extra: &[&str]) -> Controller {
        let metrics_port = test_support::ports::free_port().expect("a free port");
        let log = env.work_dir().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("create the controller's log");
        let child = Command::new(env!("CARGO_BIN_EXE_navigator-controller"))
            .arg("--kubeconfig")
            .arg(env.admin())
            .args([
                "--metrics-bind-address",
                &format!("127.0.0.1:{metrics_port}"),
            ])
            .args(["--leader-election-namespace", "default"])
            .args(["--leader-election-identity", name])
            .args(["--pilot-arg=--observe-interval=1s"])
            .args(extra)
            .env("RUST_LOG", "info,navigator_controller=debug")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("clone the log's handle"))
            .stderr(file)
            .spawn()
            .expect("start navigator-controller");
        Controller {
            child,
            log,
            metrics_port,
        }
    }

    fn log(&self) -> String {
        devenv::tail(&std::fs::read_to_string(&self.log).unwrap_or_default(), 60)
    }

    fn get(&self, path: &str) -> Result<String, String> {
        http_get(self.metrics_port, path)
    }

    /// SIGTERM, then wait for the exit.
    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the controller did not stop within 20 s of SIGTERM:\n{}",
            self.log()
        );
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- {} ---\n{}", self.log.display(), self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(port: u16, path: &str) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn owned_by(object: &Value, kind: &str, uid: &str) -> Result<(), String> {
    let refs = &object["metadata"]["ownerReferences"];
    let ok = refs.as_array().is_some_and(|refs| {
        refs.iter()
            .any(|r| r["kind"] == kind && r["uid"] == uid && r["controller"] == true)
    });
    ok.then_some(()).ok_or_else(|| {
        format!(
            "{} {} not owned by {kind} {uid}: ownerReferences {refs}",
            object["kind"], object["metadata"]["name"]
        )
    })
}

#[test]
#[ignore = "starts devenv: run with `flock /tmp/devenv.lock cargo test -p navigator-controller --test devenv -- --ignored`"]
fn controller_creates_the_children_of_a_cluster_and_hands_over_leadership() {
    let mut env = Env::up(EnvOptions::new("controller-e2e"));
    env.start_navigator();
    let started = Instant::now();
    let mut first = Controller::start(&env, "controller-a", &[]);
    let context = || {
        format!(
            "{}\n{}",
            first_log(&env, "controller-a"),
            env.navigator_log()
        )
    };

    // The first controller leads.
    devenv::eventually(
        "controller-a leads",
        Duration::from_secs(60),
        context,
        || {
            let lease = env.get(&["get", "lease", "navigator-controller", "-n", "default"])?;
            (lease["spec"]["holderIdentity"] == "controller-a")
                .then_some(())
                .ok_or_else(|| lease["spec"].to_string())
        },
    );

    env.k(&["create", "namespace", NS]);
    env.apply(
        "cassandracluster",
        &json!({
            "apiVersion": format!("{GROUP}/v1beta1"), "kind": "CassandraCluster",
            "metadata": {"name": CLUSTER, "namespace": NS},
            "spec": {
                "version": "5.0.2",
                "pilotImage": {"repository": "navigator-pilot", "tag": "dev"},
                "nodePools": [{
                    "name": "a", "replicas": 1,
                    // No node has this label: the pods stay Pending, no Cassandra runs.
                    "nodeSelector": {"navigator.jetstack.io/test": "no-such-node"}
                }]
            }
        }),
    );
    let applied = Instant::now();
    let cluster = env.json(&["get", "cassandracluster", CLUSTER, "-n", NS]);
    let uid = cluster["metadata"]["uid"]
        .as_str()
        .expect("the cluster has a uid")
        .to_owned();

    let children: [(&str, &str); 8] = [
        ("serviceaccount", "cass-demo"),
        ("role.rbac.authorization.k8s.io", "cass-demo-pilot"),
        ("rolebinding.rbac.authorization.k8s.io", "cass-demo-pilot"),
        ("service", "cass-demo-nodes"),
        ("service", "cass-demo-seeds"),
        ("service", "cass-demo"),
        ("poddisruptionbudget.policy", "cass-demo"),
        ("statefulset.apps", "cass-demo-a"),
    ];
    for (kind, name) in children {
        devenv::eventually(
            &format!("{kind}/{name} owned by the cluster"),
            Duration::from_secs(60),
            context,
            || {
                let o = env.get(&["get", kind, name, "-n", NS])?;
                owned_by(&o, "CassandraCluster", &uid)?;
                let labels = &o["metadata"]["labels"];
                (labels["app"] == "cassandracluster"
                    && labels["navigator.jetstack.io/cassandra-cluster-name"] == CLUSTER)
                    .then_some(())
                    .ok_or_else(|| format!("labels {labels}"))
            },
        );
    }
    println!(
        "TIMING apply -> shared children + StatefulSet {:.1}s",
        applied.elapsed().as_secs_f64()
    );
    let sts = env.json(&[
        "get",
        "statefulset",
        "cass-demo-a",
        "-n",
        NS,
        "--show-managed-fields",
    ]);
    assert_eq!(
        sts["spec"]["replicas"], 1,
        "a new pool starts with one node: {sts}"
    );
    let managers: Vec<&str> = sts["metadata"]["managedFields"]
        .as_array()
        .map(|m| m.iter().filter_map(|f| f["manager"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        managers.contains(&"navigator-controller"),
        "the StatefulSet is applied by field manager navigator-controller: {managers:?}"
    );

    devenv::eventually(
        "Pilot cass-demo-a-0 owned by the cluster",
        Duration::from_secs(60),
        context,
        || {
            let p = env.get(&[
                "get",
                "pilots.navigator.jetstack.io",
                "cass-demo-a-0",
                "-n",
                NS,
            ])?;
            owned_by(&p, "CassandraCluster", &uid)?;
            (p["spec"]["nodePool"] == "a")
                .then_some(())
                .ok_or_else(|| format!("spec {}", p["spec"]))
        },
    );

    let generation = cluster["metadata"]["generation"].clone();
    devenv::eventually(
        "status.observedGeneration",
        Duration::from_secs(60),
        context,
        || {
            let c = env.get(&["get", "cassandracluster", CLUSTER, "-n", NS])?;
            (c["status"]["observedGeneration"] == generation)
                .then_some(())
                .ok_or_else(|| format!("status {}", c["status"]))
        },
    );

    // Events name what was done.
    devenv::eventually(
        "a CreateNodePool event",
        Duration::from_secs(30),
        context,
        || {
            let events = env.get(&[
                "get",
                "events.events.k8s.io",
                "-n",
                NS,
                "--field-selector",
                &format!("regarding.name={CLUSTER}"),
            ])?;
            let reasons: Vec<String> = events["items"]
                .as_array()
                .map(|i| {
                    i.iter()
                        .filter_map(|e| e["reason"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            reasons
                .iter()
                .any(|r| r == "CreateNodePool")
                .then_some(())
                .ok_or_else(|| format!("reasons {reasons:?}"))
        },
    );

    // Metrics and health.
    let metrics = first.get("/metrics").expect("GET /metrics");
    for want in [
        "navigator_controller_leader 1",
        "navigator_controller_actions_total{action=\"CreateNodePool\"} 1",
        "navigator_controller_reconciles_total",
    ] {
        assert!(
            metrics.contains(want),
            "{want} missing from /metrics:\n{metrics}"
        );
    }
    let healthz = first.get("/healthz").expect("GET /healthz");
    assert!(
        healthz.starts_with("HTTP/1.0 200") || healthz.starts_with("HTTP/1.1 200"),
        "{healthz}"
    );
    let readyz = first.get("/readyz").expect("GET /readyz");
    assert!(readyz.contains(" 200 "), "{readyz}");

    // With nothing changing (the pod stays Pending), the controller writes nothing: the
    // cluster's resourceVersion holds.
    std::thread::sleep(Duration::from_secs(3));
    let before = env.json(&["get", "cassandracluster", CLUSTER, "-n", NS]);
    std::thread::sleep(Duration::from_secs(12));
    let after = env.json(&["get", "cassandracluster", CLUSTER, "-n", NS]);
    assert_eq!(
        before["metadata"]["resourceVersion"], after["metadata"]["resourceVersion"],
        "the cluster was written while nothing changed:\nbefore {before}\nafter {after}"
    );

    // A second controller (watching only the cluster's namespace, logging JSON) follows while
    // the first leads, and takes over when it stops.
    let second = Controller::start(
        &env,
        "controller-b",
        &["--namespace", NS, "--log-format=json"],
    );
    devenv::eventually(
        "controller-b follows",
        Duration::from_secs(30),
        || second.log(),
        || {
            let m = second.get("/metrics")?;
            (m.contains("navigator_controller_leader 0")
                && second.log().contains("another controller leads"))
            .then_some(())
            .ok_or_else(|| devenv::tail(&m, 5))
        },
    );
    first.stop();
    let stopped = Instant::now();
    let first_full = std::fs::read_to_string(&first.log).unwrap_or_default();
    let problems: Vec<&str> = first_full
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    assert!(
        problems.is_empty(),
        "controller-a logged warnings or errors:\n{}",
        problems.join("\n")
    );
    assert!(
        first_full.contains("released the Lease"),
        "controller-a released the Lease on SIGTERM:\n{}",
        first.log()
    );
    devenv::eventually(
        "controller-b leads after controller-a stopped",
        Duration::from_secs(30),
        || second.log(),
        || {
            let lease = env.get(&["get", "lease", "navigator-controller", "-n", "default"])?;
            (lease["spec"]["holderIdentity"] == "controller-b")
                .then_some(())
                .ok_or_else(|| lease["spec"].to_string())
        },
    );
    println!(
        "TIMING leadership handed over {:.1}s after SIGTERM",
        stopped.elapsed().as_secs_f64()
    );
    devenv::eventually(
        "controller-b's caches filled",
        Duration::from_secs(30),
        || second.log(),
        || {
            let m = second.get("/metrics")?;
            (m.contains("navigator_controller_leader 1")
                && second.get("/readyz")?.contains(" 200 "))
            .then_some(())
            .ok_or_else(|| devenv::tail(&m, 5))
        },
    );

    // Deleting a child: the new leader puts it back.
    env.k(&["delete", "service", "cass-demo-seeds", "-n", NS]);
    devenv::eventually(
        "service cass-demo-seeds re-created",
        Duration::from_secs(30),
        || second.log(),
        || {
            env.get(&["get", "service", "cass-demo-seeds", "-n", NS])
                .map(|_| ())
        },
    );

    // Someone else takes the Lease (as after a network partition): the leader stops acting
    // and exits, saying so.
    let now = serde_json::to_value(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
        k8s_openapi::jiff::Timestamp::now(),
    ))
    .expect("a MicroTime is JSON");
    let patch = json!({"spec": {"holderIdentity": "intruder", "renewTime": now,
                                "leaseDurationSeconds": 60}});
    env.k(&[
        "patch",
        "lease",
        "navigator-controller",
        "-n",
        "default",
        "--type=merge",
        "-p",
        &patch.to_string(),
    ]);
    let mut second = second;
    let status = devenv::eventually(
        "controller-b exits after losing the Lease",
        Duration::from_secs(30),
        || first_log(&env, "controller-b"),
        || {
            second
                .child
                .try_wait()
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "still running".to_owned())
        },
    );
    assert!(!status.success(), "exit status {status}");
    let full = std::fs::read_to_string(&second.log).unwrap_or_default();
    assert!(
        full.contains("lost leadership; exiting") && full.contains("held by intruder"),
        "the log says why:\n{full}"
    );
    println!("TIMING whole test {:.1}s", started.elapsed().as_secs_f64());
}

fn first_log(env: &Env, name: &str) -> String {
    let path: &Path = &env.work_dir().join(format!("{name}.log"));
    devenv::tail(&std::fs::read_to_string(path).unwrap_or_default(), 60)
}
