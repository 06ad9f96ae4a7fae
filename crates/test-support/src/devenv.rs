//! A devenv environment for end-to-end tests: `devenv up` in a temporary state directory,
//! kubectl as the cluster admin, navigator-apiserver aggregated behind kube-apiserver, the pods'
//! logs, and the processes inside a pod.
//!
//! Everything here panics with a message saying what was expected and what was seen: it is
//! meant for `#[ignore]`d tests that run one at a time under the machine-wide devenv lock
//! (`flock /tmp/devenv.lock cargo test … -- --ignored`, as `hack/test-devenv` does). A missing
//! prerequisite fails the test with what to install; nothing is ever skipped.
//!
//! ```no_run
//! use std::time::Duration;
//! use test_support::devenv::{self, Env, EnvOptions};
//!
//! devenv::require_prerequisites();
//! let mut env = Env::up(EnvOptions::new("my-e2e").grace_cap_seconds(120));
//! env.start_navigator();
//! env.k(&["create", "namespace", "demo"]);
//! devenv::eventually("namespace demo Active", Duration::from_secs(30), || env.pod_logs("demo"), || {
//!     let ns = env.get(&["get", "namespace", "demo"])?;
//!     (ns["status"]["phase"] == "Active").then_some(()).ok_or_else(|| ns["status"].to_string())
//! });
//! ```

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The API group of Navigator's resources.
pub const GROUP: &str = "navigator.jetstack.io";

// ------------------------------------------------------------------------------------------------
// Paths and prerequisites

/// The workspace's root directory (this checkout).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// The cargo target directory as devenv's image map sees it (`${TARGET}`): `$CARGO_TARGET_DIR`,
/// else the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_root().join("target"), PathBuf::from)
}

/// Navigator's cache (`$NAVIGATOR_CACHE`, else `~/.cache/navigator`): the Go-built Kubernetes
/// binaries, the images, the Python virtualenv of `hack/install-prereqs`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("NAVIGATOR_CACHE").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/navigator"),
        PathBuf::from,
    )
}

/// A binary built next to the running test's binary (`target/<profile>/<name>`), or `$<env>`
/// when set. Panics naming `build` (the command that builds it) when it is missing.
pub fn sibling_binary(name: &str, env: &str, build: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let p = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps")
        .join(name);
    assert!(
        p.is_file(),
        "{} missing: run `{build}` first (or set {env})",
        p.display()
    );
    p
}

/// The Go-built Kubernetes binaries (kube-apiserver, kubectl, …): `$DEVENV_BIN_DIR`, else what
/// `hack/build-k8s` prints (it returns at once when they are cached).
pub fn k8s_bin_dir() -> PathBuf {
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    PathBuf::from(
        stdout
            .lines()
            .last()
            .expect("hack/build-k8s prints the binaries' directory last")
            .trim(),
    )
}

/// The Python of `hack/install-prereqs`' virtualenv (it has the cassandra-driver).
pub fn python() -> PathBuf {
    let p = cache_dir().join("venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run hack/install-prereqs (it installs cassandra-driver there)",
        p.display()
    );
    p
}

/// What every devenv pod test needs: root (the pod runner's namespaces and mounts), no other
/// pod runner on the machine (bridge `navbr0`), and the images (`hack/build-images`, which
/// returns at once when they are built). Panics saying what to do otherwise.
pub fn require_prerequisites() {
    use std::os::unix::fs::MetadataExt as _;
    assert!(
        matches!(std::fs::metadata("/proc/self").map(|m| m.uid()), Ok(0)),
        "devenv's pod tests need root (the pod runner: namespaces, mounts)"
    );
    assert!(
        !Path::new("/sys/class/net/navbr0").exists(),
        "navbr0 exists: another devenv pod runner is running (or one leaked); stop it first \
         (tests that start devenv run under `flock /tmp/devenv.lock`)"
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

/// The release `pilot-cassandra` that devenv's image map binds into the `navigator-pilot`
/// image; panics saying how to build it when it is missing.
pub fn require_release_pilot() {
    let pilot = target_dir().join("release/pilot-cassandra");
    assert!(
        pilot.is_file(),
        "{} missing: run `cargo build --release -p pilot-cassandra` (devenv's image map binds it \
         into the navigator-pilot image)",
        pilot.display()
    );
}

/// A release binary of this workspace that devenv's image map binds into an image (the pilots
/// in `navigator-pilot`): `target/release/<package>`; panics saying how to build it when it is
/// missing.
pub fn require_release_binary(package: &str) {
    let binary = target_dir().join("release").join(package);
    assert!(
        binary.is_file(),
        "{} missing: run `cargo build --release -p {package}` (devenv's image map binds it)",
        binary.display()
    );
}

// ------------------------------------------------------------------------------------------------
// Waiting

/// Polls `f` every second until it returns `Ok`, or panics after `timeout` with `what`, the
/// last error and `context()` (e.g. the pods' logs).
pub fn eventually<T>(
    what: &str,
    timeout: Duration,
    context: impl Fn() -> String,
    f: impl FnMut() -> Result<T, String>,
) -> T {
    eventually_every(what, timeout, Duration::from_secs(1), context, f)
}

/// [`eventually`], polling every `interval`.
pub fn eventually_every<T>(
    what: &str,
    timeout: Duration,
    interval: Duration,
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
            Err(_) => std::thread::sleep(interval),
        }
    }
}

/// Runs `command` with `stdin` written to its standard input (none: an empty one) and returns
/// its whole output; panics when it cannot be started.
pub fn output_with_stdin(mut command: Command, stdin: Option<&str>) -> Output {
    use std::io::Write as _;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    let mut input = child.stdin.take().expect("a piped stdin");
    if let Some(text) = stdin {
        input
            .write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("write the stdin of {command:?}: {e}"));
    }
    drop(input);
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait for {command:?}: {e}"))
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ------------------------------------------------------------------------------------------------
// The environment

/// How [`Env::up`] starts devenv.
#[derive(Clone, Debug)]
pub struct EnvOptions {
    prefix: String,
    grace_cap_seconds: Option<u32>,
    up_args: Vec<String>,
}

impl EnvOptions {
    /// Options for a test; `prefix` starts the temporary directories' names.
    pub fn new(prefix: &str) -> Self {
        EnvOptions {
            prefix: prefix.to_owned(),
            grace_cap_seconds: None,
            up_args: Vec::new(),
        }
    }

    /// More arguments for `devenv up` (such as `--images=<map>` or `--nodes=0`).
    pub fn up_args(mut self, args: &[&str]) -> Self {
        self.up_args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// The pod runner's cap on termination grace periods (`devenv up --grace-cap`; its default
    /// is 30 s). Databases that drain on SIGTERM need more.
    pub fn grace_cap_seconds(mut self, seconds: u32) -> Self {
        self.grace_cap_seconds = Some(seconds);
        self
    }
}

/// A devenv environment (control plane and pod runner) in a temporary state directory, with
/// an optional navigator-apiserver aggregated behind it ([`Env::start_navigator`]). On drop the
/// server is killed and `devenv down` runs; when the test is panicking, the server's log is
/// printed first.
pub struct Env {
    state: tempfile::TempDir,
    work: tempfile::TempDir,
    bin_dir: PathBuf,
    navigator: Option<Child>,
}

impl Env {
    /// An environment whose state directory is still empty: `devenv up` is the caller's (through
    /// [`Env::devenv`]), for tests of `devenv up` itself; `devenv down` still runs on drop.
    /// Needs `cargo build -p devenv` (or `$DEVENV`) and the Go-built binaries ([`k8s_bin_dir`]).
    pub fn new(prefix: &str) -> Self {
        Env {
            state: tempfile::Builder::new()
                .prefix(&format!("{prefix}-"))
                .tempdir()
                .expect("a temporary state directory"),
            work: tempfile::Builder::new()
                .prefix(&format!("{prefix}-work-"))
                .tempdir()
                .expect("a temporary work directory"),
            bin_dir: k8s_bin_dir(),
            navigator: None,
        }
    }

    /// `devenv up` with `options`; panics with devenv's output when it fails. Needs
    /// `cargo build -p devenv` (or `$DEVENV`) and the Go-built binaries ([`k8s_bin_dir`]).
    pub fn up(options: EnvOptions) -> Self {
        let env = Env::new(&options.prefix);
        let t = Instant::now();
        let mut args = vec!["up".to_owned()];
        if let Some(cap) = options.grace_cap_seconds {
            args.extend(["--grace-cap".to_owned(), cap.to_string()]);
        }
        args.extend(options.up_args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = env.devenv(&args);
        assert!(
            out.status.success(),
            "devenv up: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        println!("TIMING devenv up {:.1}s", t.elapsed().as_secs_f64());
        env
    }

    /// Runs `devenv --state-dir <state> <args>` with this checkout's image map and target
    /// directory (whichever checkout built devenv: its defaults are compiled in).
    pub fn devenv(&self, args: &[&str]) -> Output {
        Command::new(sibling_binary("devenv", "DEVENV", "cargo build -p devenv"))
            .arg("--state-dir")
            .arg(self.state.path())
            .args(args)
            .env("DEVENV_BIN_DIR", &self.bin_dir)
            .env(
                "DEVENV_IMAGES",
                repo_root().join("crates/devenv/images.yaml"),
            )
            .env("CARGO_TARGET_DIR", target_dir())
            .stdin(Stdio::null())
            .output()
            .expect("run devenv")
    }

    /// devenv's state directory (kubeconfigs, logs, volumes).
    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// A scratch directory for the test's files (manifests, certificates, logs); removed on drop.
    pub fn work_dir(&self) -> &Path {
        self.work.path()
    }

    /// The directory of the Go-built Kubernetes binaries.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The cluster admin's kubeconfig.
    pub fn admin(&self) -> PathBuf {
        self.state.path().join("admin.kubeconfig")
    }

    /// A kubectl command as the cluster admin (no request timeout: for `-f`, `exec`,
    /// `port-forward`), to be given stdin, environment and output handling by the caller.
    pub fn kubectl_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.bin_dir.join("kubectl"));
        command.arg("--kubeconfig").arg(self.admin()).args(args);
        command
    }

    /// kubectl with `kubeconfig` (no request timeout), `stdin` written to it: its whole output.
    pub fn kubectl_as(&self, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = Command::new(self.bin_dir.join("kubectl"));
        command.arg("--kubeconfig").arg(kubeconfig).args(args);
        output_with_stdin(command, stdin)
    }

    /// kubectl as the cluster admin: its stdout, or an error with its output.
    pub fn kubectl(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(self.bin_dir.join("kubectl"))
            .arg("--kubeconfig")
            .arg(self.admin())
            .arg("--request-timeout=60s")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run kubectl");
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
    pub fn k(&self, args: &[&str]) -> String {
        self.kubectl(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `kubectl <args> -o json`, parsed.
    pub fn get(&self, args: &[&str]) -> Result<Value, String> {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let out = self.kubectl(&all)?;
        serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))
    }

    /// `kubectl <args> -o json`, parsed; panics unless it succeeds.
    pub fn json(&self, args: &[&str]) -> Value {
        self.get(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `kubectl apply` of a manifest (an object or a List), through a file named after `name`
    /// in the work directory; panics with the manifest unless it succeeds.
    pub fn apply(&self, name: &str, manifest: &Value) {
        let path = self.work.path().join(format!("{name}.json"));
        std::fs::write(&path, manifest.to_string()).expect("write the manifest");
        self.kubectl(&["apply", "-f", &path.to_string_lossy()])
            .unwrap_or_else(|e| panic!("{e}\n{manifest:#}"));
    }

    /// A container's log as the pod runner keeps it (appended across restarts).
    pub fn container_log(&self, ns: &str, pod: &str, container: &str) -> String {
        std::fs::read_to_string(
            self.state
                .path()
                .join(format!("logs/pods/{ns}_{pod}/{container}.log")),
        )
        .unwrap_or_default()
    }

    /// The last 40 lines of every container log of namespace `ns`, for failure messages.
    pub fn pod_logs(&self, ns: &str) -> String {
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
            out.push_str(&format!("--- {} ---\n{}\n", f.display(), tail(&text, 40)));
        }
        out
    }

    /// The address kube-apiserver advertises (the host's; endpoint addresses may not be
    /// loopback). Processes on the host that pods or the aggregator reach listen there.
    pub fn host_ip(&self) -> IpAddr {
        let eps = self.json(&[
            "get",
            "endpointslices",
            "-n",
            "default",
            "-l",
            "kubernetes.io/service-name=kubernetes",
        ]);
        eps["items"][0]["endpoints"][0]["addresses"][0]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no address in the kubernetes EndpointSlice: {eps}"))
    }

    /// A kubeconfig (written to the work directory as `<file>`) for ServiceAccount `ns/name`,
    /// with a token valid for two hours.
    pub fn service_account_kubeconfig(&self, ns: &str, name: &str, file: &str) -> PathBuf {
        // JSON is YAML.
        let admin = self.json(&["config", "view", "--raw", "--minify"]);
        let token = self.k(&["create", "token", name, "-n", ns, "--duration=2h"]);
        let cluster = &admin["clusters"][0]["cluster"];
        let kubeconfig = self.work.path().join(file);
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
        .expect("write the kubeconfig");
        kubeconfig
    }

    /// navigator-apiserver aggregated behind kube-apiserver: `deploy/` without its workloads
    /// (ServiceAccounts, RBAC, APIServices), `hack/deploy-certs`, the server on the host as its ServiceAccount
    /// (embedded store), and a selector-less Service with a manual EndpointSlice pointing the
    /// aggregator at it. Returns once both APIServices are Available. Needs
    /// `cargo build -p navigator-apiserver` (or `$NAVIGATOR_APISERVER`).
    pub fn start_navigator(&mut self) {
        let t = Instant::now();
        self.apply(
            "deploy",
            &crate::deploy::deploy_objects(&crate::deploy::WORKLOAD_KINDS),
        );
        let host_ip = self.host_ip();
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
            .expect("run hack/deploy-certs");
        assert!(
            out.status.success(),
            "hack/deploy-certs: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let kubeconfig = self.service_account_kubeconfig(
            "navigator",
            "navigator-apiserver",
            "navigator-apiserver.kubeconfig",
        );
        let port = std::net::TcpListener::bind((host_ip, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port on the host address")
            .port();
        let log = std::fs::File::create(self.work.path().join("navigator-apiserver.log"))
            .expect("create the server's log");
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
                .stdout(log.try_clone().expect("clone the log's handle"))
                .stderr(log)
                .spawn()
                .expect("start navigator-apiserver"),
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

    /// The last 40 lines of navigator-apiserver's log.
    pub fn navigator_log(&self) -> String {
        let text = std::fs::read_to_string(self.work.path().join("navigator-apiserver.log"))
            .unwrap_or_default();
        tail(&text, 40)
    }

    /// The pod runner's last 60 lines about pods in devenv's own log (starts, exits, probe
    /// failures that killed a container, deletions): what the pods' logs cannot say.
    pub fn pod_runner_log(&self) -> String {
        let text = std::fs::read_to_string(self.state.path().join("logs").join("devenv.log"))
            .unwrap_or_default();
        let pods: Vec<&str> = text.lines().filter(|l| l.contains("pod ")).collect();
        tail(&pods.join("\n"), 60)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if self.navigator.is_some() {
                eprintln!("--- navigator-apiserver log ---\n{}", self.navigator_log());
            }
            eprintln!("--- devenv pod runner log ---\n{}", self.pod_runner_log());
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

// ------------------------------------------------------------------------------------------------
// Objects as JSON

/// The condition of type `kind` in a `conditions` array, if any. Pure.
pub fn condition<'a>(conditions: &'a Value, kind: &str) -> Option<&'a Value> {
    conditions
        .as_array()?
        .iter()
        .find(|c| c["type"].as_str() == Some(kind))
}

/// Whether a pod's `Ready` condition is True. Pure.
pub fn pod_ready(pod: &Value) -> bool {
    condition(&pod["status"]["conditions"], "Ready").is_some_and(|c| c["status"] == "True")
}

/// The status of a pod's container `name` (`Null` when it has none yet). Pure.
pub fn container_status(pod: &Value, name: &str) -> Value {
    pod["status"]["containerStatuses"]
        .as_array()
        .and_then(|s| s.iter().find(|c| c["name"] == name))
        .cloned()
        .unwrap_or(Value::Null)
}

/// A JSON array of strings (empty when it is not one). Pure.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

// ------------------------------------------------------------------------------------------------
// Processes in pods

/// The name of the network namespace devenv's runner gives a pod: `nav-` and the first 12 hex
/// digits of its UID. Pure.
pub fn pod_netns(uid: &str) -> String {
    let hex: String = uid
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    format!("nav-{hex}")
}

/// The host PIDs of the processes named `comm` in a pod's network namespace.
pub fn pids_in_pod(pod: &Value, comm: &str) -> Vec<i32> {
    let uid = pod["metadata"]["uid"]
        .as_str()
        .unwrap_or_else(|| panic!("a pod without a uid: {pod}"));
    let out = Command::new("ip")
        .args(["netns", "pids", &pod_netns(uid)])
        .output()
        .expect("run ip netns pids");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .filter_map(|pid| pid.parse().ok())
        .collect()
}

/// Sends `sig` (a name such as `STOP`, `TERM`, `KILL`) to `pid`; panics unless `kill` succeeds.
pub fn signal(pid: i32, sig: &str) {
    let out = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .output()
        .expect("run kill");
    assert!(
        out.status.success(),
        "kill -{sig} {pid}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netns_names_follow_the_runner() {
        assert_eq!(
            pod_netns("7e1dbd27-2b8e-4b07-a656-6926346c4acf"),
            "nav-7e1dbd272b8e"
        );
    }

    #[test]
    fn conditions_and_readiness() {
        let pod = json!({"status": {"conditions": [
            {"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "cassandra", "restartCount": 2}]}});
        assert!(!pod_ready(&pod));
        assert_eq!(
            condition(&pod["status"]["conditions"], "PodScheduled").map(|c| c["status"].clone()),
            Some(json!("True"))
        );
        assert_eq!(container_status(&pod, "cassandra")["restartCount"], 2);
        assert_eq!(container_status(&pod, "other"), Value::Null);
        assert_eq!(strings(&json!(["a", 1, "b"])), vec!["a", "b"]);
        assert_eq!(tail("1\n2\n3", 2), "2\n3");
    }
}
