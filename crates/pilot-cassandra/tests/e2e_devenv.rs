//! End to end: `pilot-cassandra` in devenv pods, through kube-apiserver with navigator-apiserver
//! aggregated behind it — the acceptance of issue 11, before any controller exists.
//!
//! Each test brings up its own devenv (control plane + pod runner, `devenv up`), applies
//! navigator-apiserver's `deploy/` RBAC and APIServices, runs the server on the host as its
//! ServiceAccount (as `crates/navigator-apiserver/tests/aggregated.rs` does; embedded store), and
//! then writes what the controller will write later: a namespace with the pilots' ServiceAccount,
//! Role and RoleBinding, the headless nodes Service, the seeds Service (pod 0, unready addresses
//! published), a CassandraCluster, one Pilot per pod, and a StatefulSet of three Cassandra pods.
//! Each pod gets its pilot from the `navigator-pilot` image (devenv's image map binds the
//! workspace's `target/release/pilot-cassandra`): an init container copies it into an emptyDir,
//! and the Cassandra container runs it as its command, with the downward API's pod name,
//! namespace, IP and memory limit, probes on the pilot's ports and a volumeClaimTemplate.
//!
//! `cassandra_5_0_pilot_story` takes one 5.0.8 cluster through the story: the ring forms and every
//! Pilot reports it; a decommission that would leave an RF 3 keyspace short fails and names it;
//! rows written at RF 2 survive the decommission of the third node (read at ALL from the two
//! left); the decommissioned node's old volume is refused; a SIGSTOPped JVM fails liveness and the
//! container restarts; SIGTERM drains and the container exits 0. `cassandra_4_1_pilot_ring`
//! checks the ring and the statuses on the 4.1 image.
//!
//! `#[ignore]`d: they need root, the pod network (one devenv pod runner per machine), the Go-built
//! binaries (`hack/build-k8s`), the images (`hack/build-images`), the Python cassandra-driver
//! (`hack/install-prereqs`), `cargo build -p devenv -p navigator-apiserver` and
//! `cargo build --release -p pilot-cassandra`. Run with
//! `cargo test -p pilot-cassandra --test e2e_devenv -- --ignored --nocapture --test-threads=1`.
//! Every wait has a bound and its failure message says what was expected and what was seen; the
//! pods' logs are printed when a test fails.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One devenv pod runner per machine: the tests run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const GROUP: &str = "navigator.jetstack.io";
/// The CassandraCluster, its node pool and the objects named after them (the original's names).
const CLUSTER: &str = "demo";
const POOL: &str = "a";
const STS: &str = "cass-demo-a";
const NODES_SVC: &str = "cass-demo-nodes";
const SEEDS_SVC: &str = "cass-demo-seeds";
const SERVICE_ACCOUNT: &str = "cass-demo";
const PILOT_IMAGE: &str = "navigator-pilot:dev";
/// The pod's memory limit; the pilot derives the heap from it.
const MEMORY_LIMIT: &str = "1Gi";

// ------------------------------------------------------------------------------------------------
// Paths and prerequisites

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The cargo target directory as devenv's image map sees it (`${TARGET}`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_root().join("target"), PathBuf::from)
}

fn cache_dir() -> PathBuf {
    std::env::var_os("NAVIGATOR_CACHE").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/navigator"),
        PathBuf::from,
    )
}

/// A binary built next to this test's binary (`target/<profile>/<name>`), or `$<env>`.
fn sibling_binary(name: &str, env: &str, build: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join(name);
    assert!(
        p.is_file(),
        "{} missing: run `{build}` first (or set {env})",
        p.display()
    );
    p
}

/// The Go-built Kubernetes binaries: `$DEVENV_BIN_DIR`, else what `hack/build-k8s` prints (it
/// returns at once when they are cached).
fn k8s_bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DEVENV_BIN_DIR") {
        return PathBuf::from(d);
    }
    let out = Command::new(repo_root().join("hack/build-k8s"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run hack/build-k8s");
    assert!(
        out.status.success(),
        "hack/build-k8s failed: the Go-built Kubernetes binaries are needed (hack/install-prereqs)"
    );
    PathBuf::from(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap()
            .trim(),
    )
}

fn python() -> PathBuf {
    let p = cache_dir().join("venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run hack/install-prereqs (it installs cassandra-driver there)",
        p.display()
    );
    p
}

fn require_prerequisites() {
    use std::os::unix::fs::MetadataExt as _;
    assert!(
        matches!(std::fs::metadata("/proc/self").map(|m| m.uid()), Ok(0)),
        "the pilot end-to-end tests need root (devenv's pod runner: namespaces, mounts)"
    );
    assert!(
        !Path::new("/sys/class/net/navbr0").exists(),
        "navbr0 exists: another devenv pod runner is running (or one leaked); stop it first"
    );
    let pilot = target_dir().join("release/pilot-cassandra");
    assert!(
        pilot.is_file(),
        "{} missing: run `cargo build --release -p pilot-cassandra` (devenv's image map binds it \
         into the navigator-pilot image)",
        pilot.display()
    );
    let out = Command::new(repo_root().join("hack/build-images"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("run hack/build-images");
    assert!(
        out.success(),
        "hack/build-images failed (needs mvn, javac, unzip and pip: run hack/install-prereqs)"
    );
}

// ------------------------------------------------------------------------------------------------
// devenv, kubectl and navigator-apiserver

/// A devenv environment in a temporary state directory with navigator-apiserver aggregated;
/// the server is killed and `devenv down` runs on drop.
struct Env {
    state: tempfile::TempDir,
    work: tempfile::TempDir,
    bin_dir: PathBuf,
    navigator: Option<Child>,
}

impl Env {
    fn up() -> Self {
        let env = Env {
            state: tempfile::Builder::new()
                .prefix("pilot-e2e-")
                .tempdir()
                .unwrap(),
            work: tempfile::Builder::new()
                .prefix("pilot-e2e-work-")
                .tempdir()
                .unwrap(),
            bin_dir: k8s_bin_dir(),
            navigator: None,
        };
        let t = Instant::now();
        // Cassandra drains on SIGTERM: allow it more than the runner's default 30 s.
        let out = env.devenv(&["up", "--grace-cap", "120"]);
        assert!(
            out.status.success(),
            "devenv up: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        println!("TIMING devenv up {:.1}s", t.elapsed().as_secs_f64());
        env
    }

    fn devenv(&self, args: &[&str]) -> Output {
        Command::new(sibling_binary("devenv", "DEVENV", "cargo build -p devenv"))
            .arg("--state-dir")
            .arg(self.state.path())
            .args(args)
            .env("DEVENV_BIN_DIR", &self.bin_dir)
            // This checkout's image map and target directory, whichever checkout built devenv
            // (its defaults are compiled in).
            .env(
                "DEVENV_IMAGES",
                repo_root().join("crates/devenv/images.yaml"),
            )
            .env("CARGO_TARGET_DIR", target_dir())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn admin(&self) -> PathBuf {
        self.state.path().join("admin.kubeconfig")
    }

    fn kubectl(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(self.bin_dir.join("kubectl"))
            .arg("--kubeconfig")
            .arg(self.admin())
            .arg("--request-timeout=60s")
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

    /// kubectl as the cluster admin; panics unless it succeeds.
    fn k(&self, args: &[&str]) -> String {
        self.kubectl(args).unwrap_or_else(|e| panic!("{e}"))
    }

    fn get(&self, args: &[&str]) -> Result<Value, String> {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let out = self.kubectl(&all)?;
        serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))
    }

    fn json(&self, args: &[&str]) -> Value {
        self.get(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `kubectl apply` of a manifest (an object or a List), through a file.
    fn apply(&self, name: &str, manifest: &Value) {
        let path = self.work.path().join(format!("{name}.json"));
        std::fs::write(&path, manifest.to_string()).unwrap();
        self.kubectl(&["apply", "-f", path.to_str().unwrap()])
            .unwrap_or_else(|e| panic!("{e}\n{manifest:#}"));
    }

    /// A container's log as the pod runner keeps it (appended across restarts).
    fn container_log(&self, ns: &str, pod: &str, container: &str) -> String {
        std::fs::read_to_string(
            self.state
                .path()
                .join(format!("logs/pods/{ns}_{pod}/{container}.log")),
        )
        .unwrap_or_default()
    }

    /// The last lines of every container log of `ns`, for failure messages.
    fn pod_logs(&self, ns: &str) -> String {
        let dir = self.state.path().join("logs/pods");
        let mut out = String::new();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return out;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{ns}_"))
            })
            .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten())
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!(
                "--- {} ---\n{}\n",
                f.display(),
                lines[lines.len().saturating_sub(40)..].join("\n")
            ));
        }
        out
    }

    /// navigator-apiserver aggregated behind kube-apiserver: `deploy/`'s ServiceAccount, RBAC and
    /// APIServices, `hack/deploy-certs`, the server on the host as its ServiceAccount (embedded
    /// store), and a selector-less Service with a manual EndpointSlice pointing the aggregator at
    /// it. Returns once both APIServices are Available.
    fn start_navigator(&mut self) {
        let t = Instant::now();
        let deploy = repo_root().join("deploy");
        for file in [
            "namespace.yaml",
            "serviceaccount.yaml",
            "rbac-delegation.yaml",
            "rbac-server.yaml",
            "rbac-user-roles.yaml",
            "apiservice.yaml",
        ] {
            self.k(&["apply", "-f", deploy.join(file).to_str().unwrap()]);
        }
        // The address kube-apiserver advertises (endpoint addresses may not be loopback).
        let eps = self.json(&[
            "get",
            "endpointslices",
            "-n",
            "default",
            "-l",
            "kubernetes.io/service-name=kubernetes",
        ]);
        let host_ip: IpAddr = eps["items"][0]["endpoints"][0]["addresses"][0]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let certs = self.work.path().join("certs");
        let out = Command::new(repo_root().join("hack/deploy-certs"))
            .arg("--kubeconfig")
            .arg(self.admin())
            .arg("--kubectl")
            .arg(self.bin_dir.join("kubectl"))
            .arg("--out-dir")
            .arg(&certs)
            .arg("--san")
            .arg(host_ip.to_string())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "hack/deploy-certs: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // A kubeconfig for the ServiceAccount navigator/navigator-apiserver (JSON is YAML).
        let admin = self.json(&["config", "view", "--raw", "--minify"]);
        let token = self.k(&[
            "create",
            "token",
            "navigator-apiserver",
            "-n",
            "navigator",
            "--duration=2h",
        ]);
        let cluster = &admin["clusters"][0]["cluster"];
        let kubeconfig = self.work.path().join("navigator-apiserver.kubeconfig");
        std::fs::write(
            &kubeconfig,
            json!({
                "apiVersion": "v1", "kind": "Config",
                "clusters": [{"name": "devenv", "cluster": {
                    "server": cluster["server"],
                    "certificate-authority-data": cluster["certificate-authority-data"]}}],
                "users": [{"name": "sa", "user": {"token": token.trim()}}],
                "contexts": [{"name": "sa", "context": {"cluster": "devenv", "user": "sa"}}],
                "current-context": "sa"
            })
            .to_string(),
        )
        .unwrap();
        let port = std::net::TcpListener::bind((host_ip, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(self.work.path().join("navigator-apiserver.log")).unwrap();
        let server = sibling_binary(
            "navigator-apiserver",
            "NAVIGATOR_APISERVER",
            "cargo build -p navigator-apiserver",
        );
        self.navigator = Some(
            Command::new(server)
                .arg("--data-dir")
                .arg(self.work.path().join("navigator-data"))
                .args(["--bind-address", &host_ip.to_string()])
                .args(["--secure-port", &port.to_string()])
                .arg("--tls-cert-file")
                .arg(certs.join("tls.crt"))
                .arg("--tls-private-key-file")
                .arg(certs.join("tls.key"))
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args([
                    "--authorization-webhook-cache-authorized-ttl=1s",
                    "--authorization-webhook-cache-unauthorized-ttl=1s",
                ])
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        self.apply(
            "navigator-service",
            &json!({"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": "navigator-apiserver", "namespace": "navigator"},
                 "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port, "protocol": "TCP"}]}},
                {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                 "metadata": {"name": "navigator-apiserver-host", "namespace": "navigator", "labels": {
                     "kubernetes.io/service-name": "navigator-apiserver",
                     "endpointslice.kubernetes.io/managed-by": "navigator-test"}},
                 "addressType": if host_ip.is_ipv4() { "IPv4" } else { "IPv6" },
                 "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
                 "endpoints": [{"addresses": [host_ip.to_string()], "conditions": {"ready": true}}]}
            ]}),
        );
        for version in ["v1beta1", "v1alpha1"] {
            let name = format!("apiservice/{version}.{GROUP}");
            let waited =
                self.kubectl(&["wait", "--for=condition=Available", &name, "--timeout=120s"]);
            if let Some(Ok(Some(status))) = self.navigator.as_mut().map(Child::try_wait) {
                panic!(
                    "navigator-apiserver exited with {status}:\n{}",
                    self.navigator_log()
                );
            }
            assert!(
                waited.is_ok(),
                "{name} not Available: {waited:?}\n{}",
                self.navigator_log()
            );
        }
        println!(
            "TIMING navigator-apiserver aggregated (APIServices Available) {:.1}s",
            t.elapsed().as_secs_f64()
        );
    }

    fn navigator_log(&self) -> String {
        let text = std::fs::read_to_string(self.work.path().join("navigator-apiserver.log"))
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- navigator-apiserver log ---\n{}", self.navigator_log());
        }
        if let Some(mut child) = self.navigator.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let out = self.devenv(&["down"]);
        if !out.status.success() {
            eprintln!(
                "devenv down failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Polls `f` every second until it returns `Ok`, or panics after `timeout` with `what`, the
/// last error and `context()`.
fn eventually<T>(
    what: &str,
    timeout: Duration,
    context: impl Fn() -> String,
    mut f: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => {
                panic!(
                    "{what}: not within {timeout:?}; last seen: {e}\n{}",
                    context()
                )
            }
            Err(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The cluster: what the controller will create, written by hand

/// The pods' names, by ordinal.
fn pod_name(ordinal: usize) -> String {
    format!("{STS}-{ordinal}")
}

/// The labels of every object of the cluster (the original's), plus the pool's on pods.
fn cluster_labels() -> Value {
    json!({
        "app": "cassandracluster",
        "navigator.jetstack.io/cassandra-cluster-name": CLUSTER,
    })
}

/// The pilot's command line after `/shared/pilot` (its identity comes from the downward API's
/// environment). `$(VAR)` is expanded by the pod runner from the container's environment, as
/// the kubelet does.
fn pilot_args() -> Vec<String> {
    vec![
        format!("--cluster-name={CLUSTER}"),
        format!("--rack={POOL}"),
        format!("--seeds-service={SEEDS_SVC}.$(POD_NAMESPACE).svc.cluster.local"),
        // Test rings: gossip settles in seconds on one bridge.
        "--ring-delay-ms=5000".to_owned(),
        // A small node drains in seconds; a stopped JVM never does (the SIGSTOP step).
        "--shutdown-timeout=30s".to_owned(),
    ]
}

/// ServiceAccount, Role and RoleBinding of the pilots; the nodes and seeds Services; the
/// CassandraCluster; one Pilot per pod; the StatefulSet of `replicas` pods of `image`.
fn create_cluster(env: &Env, ns: &str, version: &str, image: &str, replicas: usize) {
    env.k(&["create", "namespace", ns]);
    let labels = cluster_labels();
    env.apply(
        "pilot-rbac",
        &json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": SERVICE_ACCOUNT, "namespace": ns, "labels": labels}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": {"name": format!("{SERVICE_ACCOUNT}-pilot"), "namespace": ns, "labels": labels},
             "rules": [
                {"apiGroups": [GROUP], "resources": ["pilots"],
                 "verbs": ["get", "list", "watch", "patch", "update"]},
                {"apiGroups": [GROUP], "resources": ["pilots/status"],
                 "verbs": ["get", "patch", "update"]},
                {"apiGroups": [GROUP], "resources": ["cassandraclusters"],
                 "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                 "verbs": ["get", "list", "watch", "create", "update", "patch"]},
                {"apiGroups": [""], "resources": ["pods", "endpoints", "services"],
                 "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "update", "patch"]},
             ]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": format!("{SERVICE_ACCOUNT}-pilot"), "namespace": ns, "labels": labels},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                         "name": format!("{SERVICE_ACCOUNT}-pilot")},
             "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": ns}]},
        ]}),
    );
    // Headless: the nodes' DNS names; the seeds Service selects pod 0 and publishes it before it
    // is ready (the first node seeds itself).
    env.apply(
        "services",
        &json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": NODES_SVC, "namespace": ns, "labels": labels},
             "spec": {"clusterIP": "None", "publishNotReadyAddresses": true, "selector": labels,
                      "ports": [{"name": "intra-node", "port": 7000}, {"name": "cql", "port": 9042}]}},
            {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": SEEDS_SVC, "namespace": ns, "labels": labels},
             "spec": {"clusterIP": "None", "publishNotReadyAddresses": true,
                      "selector": {"app": "cassandracluster",
                                   "navigator.jetstack.io/cassandra-cluster-name": CLUSTER,
                                   "statefulset.kubernetes.io/pod-name": pod_name(0)},
                      "ports": [{"name": "intra-node", "port": 7000}]}},
        ]}),
    );
    env.apply(
        "cassandracluster",
        &json!({
            "apiVersion": format!("{GROUP}/v1beta1"), "kind": "CassandraCluster",
            "metadata": {"name": CLUSTER, "namespace": ns, "labels": labels},
            "spec": {
                "version": version,
                "pilotImage": {"repository": "navigator-pilot", "tag": "dev"},
                "nodePools": [{"name": POOL, "replicas": replicas, "persistence": {"size": "1Gi"}}]
            }
        }),
    );
    for i in 0..replicas {
        create_pilot(env, ns, &pod_name(i));
    }
    let pod_labels = {
        let mut l = labels.clone();
        l["navigator.jetstack.io/cassandra-node-pool-name"] = json!(POOL);
        l["navigator.jetstack.io/has-pilot"] = json!("");
        l
    };
    let field = |name: &str, path: &str| json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}});
    let args = pilot_args();
    env.apply(
        "statefulset",
        &json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": STS, "namespace": ns, "labels": labels},
            "spec": {
                "serviceName": NODES_SVC, "replicas": replicas, "podManagementPolicy": "OrderedReady",
                "selector": {"matchLabels": pod_labels},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "serviceAccountName": SERVICE_ACCOUNT,
                        // A small node drains in ~10 s. After a failed liveness probe the pilot gives
                        // a SIGSTOPped JVM SIGTERM, then SIGKILL after its --stop-timeout (30 s).
                        "terminationGracePeriodSeconds": 60,
                        "volumes": [{"name": "shared", "emptyDir": {}}],
                        "initContainers": [{
                            "name": "install-pilot", "image": PILOT_IMAGE,
                            "command": ["cp", "/usr/local/bin/pilot-cassandra", "/shared/pilot"],
                            "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
                        }],
                        "containers": [{
                            "name": "cassandra", "image": image,
                            "command": ["/shared/pilot"],
                            "args": args,
                            "env": [
                                field("POD_NAME", "metadata.name"),
                                field("POD_NAMESPACE", "metadata.namespace"),
                                field("POD_IP", "status.podIP"),
                                // Bytes. The divisor is explicit: a pod runner older than
                                // the fix for the API server's default "0" gave i64::MAX
                                // (and an 8 GiB heap per node).
                                {"name": "MEMORY_LIMIT", "valueFrom": {"resourceFieldRef": {
                                    "containerName": "cassandra", "resource": "limits.memory",
                                    "divisor": "1"}}},
                            ],
                            "resources": {"requests": {"cpu": "100m", "memory": MEMORY_LIMIT},
                                          "limits": {"memory": MEMORY_LIMIT}},
                            "ports": [{"name": "intra-node", "containerPort": 7000},
                                      {"name": "cql", "containerPort": 9042},
                                      {"name": "pilot-live", "containerPort": 12000},
                                      {"name": "pilot-ready", "containerPort": 12001}],
                            // The pilot answers from its last observation of the database.
                            "startupProbe": {"httpGet": {"path": "/", "port": 12000},
                                             "periodSeconds": 2, "failureThreshold": 90},
                            "livenessProbe": {"httpGet": {"path": "/", "port": 12000},
                                              "periodSeconds": 5, "timeoutSeconds": 3,
                                              "failureThreshold": 3},
                            "readinessProbe": {"httpGet": {"path": "/", "port": 12001},
                                               "periodSeconds": 2, "timeoutSeconds": 2,
                                               "failureThreshold": 2},
                            // A stopped JVM does not drain: the hook gives up within 30 s.
                            "lifecycle": {"preStop": {"exec": {"command": [
                                "/shared/pilot", "pre-stop", "--drain-timeout-seconds=30"]}}},
                            "volumeMounts": [{"name": "shared", "mountPath": "/shared", "readOnly": true},
                                             {"name": "data", "mountPath": "/var/lib/cassandra"}],
                        }],
                    }
                },
                "volumeClaimTemplates": [{
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"],
                             "resources": {"requests": {"storage": "1Gi"}}}
                }]
            }
        }),
    );
}

fn create_pilot(env: &Env, ns: &str, name: &str) {
    env.apply(
        &format!("pilot-{name}"),
        &json!({
            "apiVersion": format!("{GROUP}/v1beta1"), "kind": "Pilot",
            "metadata": {"name": name, "namespace": ns, "labels": {
                "app": "cassandracluster",
                "navigator.jetstack.io/cassandra-cluster-name": CLUSTER,
                "navigator.jetstack.io/cassandra-node-pool-name": POOL}},
            "spec": {"cluster": {"kind": "CassandraCluster", "name": CLUSTER}, "nodePool": POOL}
        }),
    );
}

// ------------------------------------------------------------------------------------------------
// Observations

fn pilot(env: &Env, ns: &str, name: &str) -> Result<Value, String> {
    env.get(&["get", &format!("pilots.{GROUP}"), name, "-n", ns])
}

fn pod(env: &Env, ns: &str, name: &str) -> Result<Value, String> {
    env.get(&["get", "pod", name, "-n", ns])
}

fn pod_ip(env: &Env, ns: &str, name: &str) -> Result<String, String> {
    let p = pod(env, ns, name)?;
    p["status"]["podIP"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| format!("{name} has no IP yet"))
}

/// The value of a pod's `Ready` condition.
fn pod_ready(p: &Value) -> bool {
    condition(&p["status"]["conditions"], "Ready").is_some_and(|c| c["status"] == "True")
}

fn condition<'a>(conditions: &'a Value, kind: &str) -> Option<&'a Value> {
    conditions
        .as_array()?
        .iter()
        .find(|c| c["type"].as_str() == Some(kind))
}

/// The Cassandra container's status of a pod.
fn container_status(p: &Value) -> Value {
    p["status"]["containerStatuses"]
        .as_array()
        .and_then(|s| s.iter().find(|c| c["name"] == "cassandra"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Every fact a healthy member of a ring of `others.len() + 1` reports: `version`, a host id,
/// `NORMAL`, the other nodes' addresses among its live peers. Pure.
fn ring_member_problems(status: &Value, version: &str, others: &[String]) -> Vec<String> {
    let c = &status["cassandra"];
    let mut problems = Vec::new();
    if c["version"].as_str() != Some(version) {
        problems.push(format!("version {} (want {version})", c["version"]));
    }
    if c["hostId"].as_str().is_none_or(str::is_empty) {
        problems.push("no hostId".to_owned());
    }
    if c["operationMode"].as_str() != Some("NORMAL") {
        problems.push(format!("operationMode {}", c["operationMode"]));
    }
    let live = strings(&c["peers"]["live"]);
    for o in others {
        if !live.iter().any(|l| same_host(l, o)) {
            problems.push(format!("{o} not among live peers {live:?}"));
        }
    }
    problems
}

/// A JSON array of strings. Pure.
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a peer as Cassandra lists it (`10.244.0.12`, `/10.244.0.12:7000`) is `ip`. Pure.
fn same_host(peer: &str, ip: &str) -> bool {
    let p = peer.trim_start_matches('/');
    let host = p
        .rsplit_once(':')
        .filter(|(h, port)| !h.is_empty() && port.chars().all(|c| c.is_ascii_digit()))
        .map_or(p, |(h, _)| h);
    host == ip
}

/// Waits until pods `0..n` are Ready and every Pilot reports a healthy ring member of `version`
/// that sees the others live; returns the pods' IPs by ordinal.
fn wait_for_ring(env: &Env, ns: &str, n: usize, version: &str, timeout: Duration) -> Vec<String> {
    let t = Instant::now();
    let logs = || env.pod_logs(ns);
    eventually(
        &format!("StatefulSet {STS}: {n} pods Ready"),
        timeout,
        logs,
        || {
            let s = env.get(&["get", "statefulset", STS, "-n", ns])?;
            (s["status"]["readyReplicas"].as_u64() == Some(n as u64))
                .then_some(())
                .ok_or_else(|| format!("{}", s["status"]))
        },
    );
    println!(
        "TIMING {n} pods Ready (OrderedReady) {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let ips: Vec<String> = (0..n)
        .map(|i| pod_ip(env, ns, &pod_name(i)).unwrap())
        .collect();
    for i in 0..n {
        let others: Vec<String> = (0..n).filter(|j| *j != i).map(|j| ips[j].clone()).collect();
        let name = pod_name(i);
        let p = eventually(
            &format!("Pilot {name} reports a ring member of {version} seeing {others:?} live"),
            Duration::from_secs(120),
            logs,
            || {
                let p = pilot(env, ns, &name)?;
                let problems = ring_member_problems(&p["status"], version, &others);
                if problems.is_empty() {
                    Ok(p)
                } else {
                    Err(format!("{problems:?} in {}", p["status"]))
                }
            },
        );
        println!("Pilot {name} status: {}", p["status"]);
    }
    println!(
        "TIMING ring of {n} reported by every Pilot {:.1}s after the StatefulSet",
        t.elapsed().as_secs_f64()
    );
    ips
}

/// Pod readiness follows the database: every Ready pod's Pilot says `Ready=True` (the status
/// writer may trail the probe by a moment).
fn readiness_matches_pilots(env: &Env, ns: &str, n: usize) {
    for i in 0..n {
        let name = pod_name(i);
        eventually(
            &format!("pod {name} Ready and its Pilot's Ready condition True"),
            Duration::from_secs(30),
            || env.pod_logs(ns),
            || {
                let p = pod(env, ns, &name)?;
                let pi = pilot(env, ns, &name)?;
                let ready = condition(&pi["status"]["conditions"], "Ready")
                    .is_some_and(|c| c["status"] == "True");
                (pod_ready(&p) && ready).then_some(()).ok_or_else(|| {
                    format!(
                        "pod conditions {}; Pilot status {}",
                        p["status"]["conditions"], pi["status"]
                    )
                })
            },
        );
    }
}

/// The host PIDs of the processes named `comm` in a pod's network namespace (devenv's runner
/// names it `nav-` + the first 12 hex digits of the pod's UID).
fn pids_in_pod(p: &Value, comm: &str) -> Vec<i32> {
    let hex: String = p["metadata"]["uid"]
        .as_str()
        .unwrap()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    let out = Command::new("ip")
        .args(["netns", "pids", &format!("nav-{hex}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .filter_map(|pid| pid.parse().ok())
        .collect()
}

fn signal(pid: i32, sig: &str) {
    let out = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kill -{sig} {pid}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ------------------------------------------------------------------------------------------------
// CQL with the Python driver (a real client nobody here wrote)

const CQL_SCRIPT: &str = r#"
import sys
from cassandra import ConsistencyLevel
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement

mode, dc, ks, rf, rows, ips = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:]

def connect(ip):
    profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([ip]), request_timeout=60)
    cluster = Cluster([ip], execution_profiles={EXEC_PROFILE_DEFAULT: profile}, connect_timeout=30)
    return cluster, cluster.connect()

if mode == "keyspace" or mode == "write":
    cluster, s = connect(ips[0])
    s.execute("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
              "{'class': 'NetworkTopologyStrategy', '%s': %d}" % (ks, dc, rf))
    s.execute("CREATE TABLE IF NOT EXISTS %s.kv (k int PRIMARY KEY, v text)" % ks)
    assert cluster.control_connection.wait_for_schema_agreement(wait_time=60), "no schema agreement"
    print("KEYSPACE", ks, "RF", rf, "in", dc, flush=True)
    if mode == "write":
        insert = s.prepare("INSERT INTO %s.kv (k, v) VALUES (?, ?)" % ks)
        insert.consistency_level = ConsistencyLevel.ALL
        for k in range(rows):
            s.execute(insert, (k, "value-%d" % k))
        print("WROTE", rows, "rows at ALL through", ips[0], flush=True)
    cluster.shutdown()
elif mode == "system-rf":
    # What an operator does before shrinking a ring: the replicated system keyspaces follow the
    # datacenter's RF (system_auth is NetworkTopologyStrategy-capable; the others too).
    cluster, s = connect(ips[0])
    for name in ("system_auth", "system_distributed", "system_traces"):
        s.execute("ALTER KEYSPACE %s WITH replication = "
                  "{'class': 'NetworkTopologyStrategy', '%s': %d}" % (name, dc, rf))
    assert cluster.control_connection.wait_for_schema_agreement(wait_time=60), "no schema agreement"
    print("SYSTEM KEYSPACES RF", rf, flush=True)
    cluster.shutdown()
elif mode == "drop":
    cluster, s = connect(ips[0])
    s.execute("DROP KEYSPACE IF EXISTS %s" % ks)
    assert cluster.control_connection.wait_for_schema_agreement(wait_time=60), "no schema agreement"
    print("DROPPED", ks, flush=True)
    cluster.shutdown()
elif mode == "read":
    for ip in ips:
        cluster, s = connect(ip)
        select = s.prepare("SELECT v FROM %s.kv WHERE k = ?" % ks)
        select.consistency_level = ConsistencyLevel.ALL
        found = 0
        for k in range(rows):
            row = s.execute(select, (k,)).one()
            assert row is not None and row.v == "value-%d" % k, (ip, k, row)
            found += 1
        print("READ", found, "rows at ALL through", ip, flush=True)
        cluster.shutdown()
elif mode == "ping":
    for ip in ips:
        cluster, s = connect(ip)
        print("PING", ip, s.execute("SELECT release_version FROM system.local").one().release_version, flush=True)
        cluster.shutdown()
print("CQL OK", flush=True)
"#;

/// Runs the CQL script; panics with its output unless it prints `CQL OK`. Returns stdout.
fn cql(mode: &str, dc: &str, ks: &str, rf: u32, rows: u32, ips: &[String]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(CQL_SCRIPT)
        .args([mode, dc, ks, &rf.to_string(), &rows.to_string()])
        .args(ips)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains("CQL OK"),
        "CQL {mode} {ks} through {ips:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{stdout}");
    stdout
}

// ------------------------------------------------------------------------------------------------
// Requested states

fn request_state(env: &Env, ns: &str, name: &str, state: Option<&str>) {
    let patch = json!({"spec": {"requestedState": state}}).to_string();
    env.k(&[
        "patch",
        &format!("pilots.{GROUP}"),
        name,
        "-n",
        ns,
        "--type=merge",
        "-p",
        &patch,
    ]);
}

/// Waits for the Pilot's operation towards `state` to reach `phase`; returns the operation.
fn wait_for_operation(
    env: &Env,
    ns: &str,
    name: &str,
    state: &str,
    phase: &str,
    timeout: Duration,
) -> Value {
    eventually(
        &format!("Pilot {name}: operation {state} {phase}"),
        timeout,
        || env.pod_logs(ns),
        || {
            let p = pilot(env, ns, name)?;
            let op = &p["status"]["operation"];
            if op["state"] == state && op["phase"] == phase {
                Ok(op.clone())
            } else if op["state"] == state
                && ["Complete", "Failed"].contains(&op["phase"].as_str().unwrap_or(""))
            {
                panic!(
                    "Pilot {name}: operation {state} ended {} instead of {phase}: {op}",
                    op["phase"]
                )
            } else {
                Err(format!("{}", p["status"]))
            }
        },
    )
}

// ------------------------------------------------------------------------------------------------
// The tests

/// One Cassandra 5.0.8 cluster through the whole story (see the module documentation).
#[test]
#[ignore = "needs root, devenv's pod runner, the Go-built binaries, the images and release pilot-cassandra; run by hack/test-devenv"]
fn cassandra_5_0_pilot_story() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    require_prerequisites();
    let started = Instant::now();
    let mut env = Env::up();
    env.start_navigator();
    let ns = "pilot-e2e";
    let logs = || env.pod_logs(ns);

    // --- the ring forms; every Pilot reports it; readiness follows the database ---
    create_cluster(&env, ns, "5.0.8", "cassandra:5.0.8", 3);
    let ips = wait_for_ring(&env, ns, 3, "5.0.8", Duration::from_secs(900));
    readiness_matches_pilots(&env, ns, 3);
    let dc = pilot(&env, ns, &pod_name(0)).unwrap()["status"]["cassandra"]["datacenter"]
        .as_str()
        .expect("Pilot reports the datacenter")
        .to_owned();

    // --- a decommission that would leave an RF 3 keyspace short fails and names it ---
    cql("keyspace", &dc, "rf3", 3, 0, &ips[..1]);
    let t = Instant::now();
    request_state(&env, ns, &pod_name(1), Some("Decommissioned"));
    let op = wait_for_operation(
        &env,
        ns,
        &pod_name(1),
        "Decommissioned",
        "Failed",
        Duration::from_secs(120),
    );
    println!(
        "TIMING refused decommission reported {:.1}s: {op}",
        t.elapsed().as_secs_f64()
    );
    assert!(
        op["message"].as_str().unwrap_or("").contains("rf3"),
        "the failure does not name keyspace rf3: {op}"
    );
    // The node keeps serving.
    request_state(&env, ns, &pod_name(1), None);
    let p1 = pilot(&env, ns, &pod_name(1)).unwrap();
    assert_eq!(p1["status"]["cassandra"]["operationMode"], "NORMAL", "{p1}");
    assert!(pod_ready(&pod(&env, ns, &pod_name(1)).unwrap()));
    cql("ping", &dc, "rf3", 3, 0, &ips[1..2]);
    cql("drop", &dc, "rf3", 3, 0, &ips[..1]);

    // --- rows at RF 2 survive the decommission of the third node ---
    let rows = 200;
    cql("system-rf", &dc, "-", 2, 0, &ips[..1]);
    cql("write", &dc, "navtest", 2, rows, &ips[..1]);
    let t = Instant::now();
    request_state(&env, ns, &pod_name(2), Some("Decommissioned"));
    let op = wait_for_operation(
        &env,
        ns,
        &pod_name(2),
        "Decommissioned",
        "Complete",
        Duration::from_secs(600),
    );
    println!(
        "TIMING decommission of {} Complete {:.1}s: {op}",
        pod_name(2),
        t.elapsed().as_secs_f64()
    );
    // The node is gone from the others' peers, and its pod is no longer Ready.
    for i in 0..2 {
        let name = pod_name(i);
        eventually(
            &format!("{} gone from Pilot {name}'s peers", ips[2]),
            Duration::from_secs(120),
            logs,
            || {
                let p = pilot(&env, ns, &name)?;
                let peers = &p["status"]["cassandra"]["peers"];
                let listed: Vec<String> = ["live", "unreachable", "joining", "leaving", "moving"]
                    .iter()
                    .flat_map(|k| strings(&peers[*k]))
                    .filter(|peer| same_host(peer, &ips[2]))
                    .collect();
                listed
                    .is_empty()
                    .then_some(())
                    .ok_or_else(|| format!("{peers}"))
            },
        );
    }
    eventually(
        &format!("{} not Ready after its decommission", pod_name(2)),
        Duration::from_secs(60),
        logs,
        || {
            let p = pod(&env, ns, &pod_name(2))?;
            (!pod_ready(&p))
                .then_some(())
                .ok_or_else(|| format!("{}", p["status"]["conditions"]))
        },
    );
    let old_uid = pod(&env, ns, &pod_name(2)).unwrap()["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    env.k(&["scale", "statefulset", STS, "-n", ns, "--replicas=2"]);
    eventually(
        &format!("{} deleted after the scale-down", pod_name(2)),
        Duration::from_secs(180),
        logs,
        || match pod(&env, ns, &pod_name(2)) {
            Err(e) if e.contains("NotFound") => Ok(()),
            Err(e) => Err(e),
            Ok(p) => Err(format!("still there: {}", p["status"]["phase"])),
        },
    );
    let read = cql("read", &dc, "navtest", 2, rows, &ips[..2]);
    for ip in &ips[..2] {
        assert!(
            read.contains(&format!("READ {rows} rows at ALL through {ip}")),
            "{read}"
        );
    }

    // --- the decommissioned node's volume is refused ---
    // The new pod 2 mounts the old claim (data-cass-demo-a-2, kept by the StatefulSet); its
    // pilot must not start Cassandra there and says why in its Started condition.
    env.k(&["scale", "statefulset", STS, "-n", ns, "--replicas=3"]);
    let new_uid = eventually(
        &format!("a new {} on the old claim", pod_name(2)),
        Duration::from_secs(120),
        logs,
        || {
            let p = pod(&env, ns, &pod_name(2))?;
            let uid = p["metadata"]["uid"].as_str().unwrap_or_default().to_owned();
            (uid != old_uid && container_status(&p)["restartCount"].is_u64())
                .then_some(uid)
                .ok_or_else(|| format!("{}", p["status"]))
        },
    );
    // The new pod's pilot says so in its log …
    let said = eventually(
        &format!("the new {}'s pilot logs its refusal", pod_name(2)),
        Duration::from_secs(120),
        logs,
        || {
            let log = env.container_log(ns, &pod_name(2), "cassandra");
            let marker = format!("(pod uid {new_uid})");
            let own = log.rfind(&marker).map_or("", |i| &log[i..]);
            own.lines()
                .find(|l| l.contains("not starting the database") && l.contains("decommissioned"))
                .map(str::to_owned)
                .ok_or_else(|| own.chars().take(2000).collect())
        },
    );
    println!("refusal logged: {said}");
    // … and in its Pilot's status.
    let refused = eventually(
        &format!(
            "Pilot {} refuses the decommissioned data (Started=False saying so)",
            pod_name(2)
        ),
        Duration::from_secs(240),
        logs,
        || {
            let p = pilot(&env, ns, &pod_name(2))?;
            condition(&p["status"]["conditions"], "Started")
                .filter(|c| {
                    c["status"] == "False"
                        && c["message"]
                            .as_str()
                            .is_some_and(|m| m.to_lowercase().contains("decommission"))
                })
                .cloned()
                .ok_or_else(|| format!("{}", p["status"]))
        },
    );
    println!("refusal: {refused}");
    let p2 = pod(&env, ns, &pod_name(2)).unwrap();
    assert!(
        !pod_ready(&p2),
        "{} Ready on decommissioned data",
        pod_name(2)
    );
    assert!(
        pids_in_pod(&p2, "java").is_empty(),
        "Cassandra runs on decommissioned data in {}",
        pod_name(2)
    );
    env.k(&["scale", "statefulset", STS, "-n", ns, "--replicas=2"]);

    // --- a SIGSTOPped JVM fails liveness and the container restarts ---
    let name = pod_name(1);
    let p = pod(&env, ns, &name).unwrap();
    let restarts = container_status(&p)["restartCount"].as_u64().unwrap_or(0);
    let java = pids_in_pod(&p, "java");
    assert_eq!(java.len(), 1, "one Cassandra JVM in {name}: {java:?}");
    let t = Instant::now();
    signal(java[0], "STOP");
    let mut seen_unready = false;
    eventually(
        &format!("{name} restarted after SIGSTOP of its JVM"),
        Duration::from_secs(240),
        logs,
        || {
            let p = pod(&env, ns, &name)?;
            seen_unready |= !pod_ready(&p);
            let n = container_status(&p)["restartCount"].as_u64().unwrap_or(0);
            (n > restarts)
                .then_some(())
                .ok_or_else(|| format!("restartCount {n}"))
        },
    );
    println!(
        "TIMING SIGSTOP → container restart {:.1}s",
        t.elapsed().as_secs_f64()
    );
    assert!(seen_unready, "{name} stayed Ready with a stopped JVM");
    eventually(
        &format!("{name} Ready again after the restart"),
        Duration::from_secs(300),
        logs,
        || {
            let p = pod(&env, ns, &name)?;
            pod_ready(&p)
                .then_some(())
                .ok_or_else(|| format!("{}", container_status(&p)))
        },
    );

    // --- SIGTERM drains, the container exits 0 ---
    let name = pod_name(0);
    let p = pod(&env, ns, &name).unwrap();
    let restarts = container_status(&p)["restartCount"].as_u64().unwrap_or(0);
    let log_before = env.container_log(ns, &name, "cassandra").len();
    let pilots = pids_in_pod(&p, "pilot");
    assert_eq!(pilots.len(), 1, "one pilot process in {name}: {pilots:?}");
    let t = Instant::now();
    signal(pilots[0], "TERM");
    let terminated = eventually(
        &format!("{name}'s container exits after SIGTERM"),
        Duration::from_secs(180),
        logs,
        || {
            let p = pod(&env, ns, &name)?;
            let c = container_status(&p);
            let n = c["restartCount"].as_u64().unwrap_or(0);
            (n > restarts)
                .then(|| c["lastState"]["terminated"].clone())
                .ok_or_else(|| format!("{c}"))
        },
    );
    println!(
        "TIMING SIGTERM → exit {:.1}s: {terminated}",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(terminated["exitCode"], 0, "{terminated}");
    let log = env.container_log(ns, &name, "cassandra");
    assert!(
        log[log_before.min(log.len())..].contains("DRAINED"),
        "Cassandra did not log DRAINED before exiting:\n{}",
        &log[log_before.min(log.len())..]
    );

    env.k(&["delete", "statefulset", STS, "-n", ns, "--wait=true"]);
    println!(
        "TIMING cassandra_5_0_pilot_story {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

/// The 4.1 image under the pilot: the ring forms and every Pilot reports it.
#[test]
#[ignore = "needs root, devenv's pod runner, the Go-built binaries, the images and release pilot-cassandra; run by hack/test-devenv"]
fn cassandra_4_1_pilot_ring() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    require_prerequisites();
    let started = Instant::now();
    let mut env = Env::up();
    env.start_navigator();
    let ns = "pilot-e2e-41";
    create_cluster(&env, ns, "4.1.10", "cassandra:4.1.10", 3);
    let ips = wait_for_ring(&env, ns, 3, "4.1.10", Duration::from_secs(900));
    readiness_matches_pilots(&env, ns, 3);
    let dc = pilot(&env, ns, &pod_name(0)).unwrap()["status"]["cassandra"]["datacenter"]
        .as_str()
        .expect("Pilot reports the datacenter")
        .to_owned();
    let ping = cql("ping", &dc, "-", 1, 0, &ips);
    assert_eq!(ping.matches(" 4.1.10").count(), 3, "{ping}");
    env.k(&["delete", "statefulset", STS, "-n", ns, "--wait=true"]);
    println!(
        "TIMING cassandra_4_1_pilot_ring {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

// ------------------------------------------------------------------------------------------------
// Pure helpers

#[test]
fn peers_are_matched_by_address() {
    assert!(same_host("10.244.0.12", "10.244.0.12"));
    assert!(same_host("/10.244.0.12:7000", "10.244.0.12"));
    assert!(same_host("10.244.0.12:7000", "10.244.0.12"));
    assert!(!same_host("10.244.0.121", "10.244.0.12"));
    assert!(!same_host("/10.244.0.13:7000", "10.244.0.12"));
}

#[test]
fn ring_member_facts_are_checked() {
    let others = vec!["10.244.0.11".to_owned(), "10.244.0.12".to_owned()];
    let good = json!({"cassandra": {
        "version": "5.0.8", "hostId": "7e1dbd27-2b8e-4b07-a656-6926346c4acf",
        "operationMode": "NORMAL",
        "peers": {"live": ["10.244.0.10", "/10.244.0.11:7000", "10.244.0.12"]}}});
    assert_eq!(
        ring_member_problems(&good, "5.0.8", &others),
        Vec::<String>::new()
    );
    let mut joining = good.clone();
    joining["cassandra"]["operationMode"] = json!("JOINING");
    joining["cassandra"]["peers"]["live"] = json!(["10.244.0.10", "10.244.0.11"]);
    let problems = ring_member_problems(&joining, "5.0.8", &others);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(
        ring_member_problems(&json!({}), "4.1.10", &[]).len(),
        3,
        "an empty status lacks version, host id and mode"
    );
}
