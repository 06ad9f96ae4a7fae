//! Shared harness of the acceptance suites: runs the real `navigator-apiserver --standalone`
//! binary on a free port with a temporary data directory, waits for `/readyz`, and hands out the
//! things real clients need (kubeconfig, CA, base URL, a `kubectl` runner, a kube-rs client, a raw
//! HTTP client). The server is killed when the handle is dropped, so no test leaves a process
//! behind; `kill9`/`restart` drive the crash tests.
//!
//! Every scenario runs against both stores ([`Backend`]): the embedded one in the data directory,
//! and a real etcd ([`Etcd`], the Go-built binary, started per test on free ports in its own
//! temporary directory). [`on_both_backends!`] turns each scenario `fn(Backend)` into the tests
//! `embedded::<name>` and `etcd::<name>`, so plain `cargo test` covers both.
#![allow(dead_code, unused_macros, unused_imports)]

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use http::{HeaderMap, Method, Request, StatusCode};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;
use test_support::process::{Readiness, await_ready};

/// How long the server may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Default bound of one kubectl invocation.
pub const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);

/// The server binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_navigator-apiserver")
}

/// Where the server under test keeps its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store in the data directory.
    Embedded,
    /// A real etcd started for the test.
    Etcd,
}

/// Runs each scenario `fn(Backend)` (or `async fn(Backend)` after `async`) as two tests,
/// `embedded::<name>` and `etcd::<name>`.
macro_rules! on_both_backends {
    (async $($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Embedded).await
                }
            )*
        }
        mod etcd {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Etcd).await
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::support::Backend::Embedded)
                }
            )*
        }
        mod etcd {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::support::Backend::Etcd)
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

/// A real etcd (the Go-built binary from `$DEVENV_BIN_DIR`, else `$NAVIGATOR_CACHE/k8s/<pinned
/// version>/`), started per test on free ports; killed when dropped.
pub use test_support::etcd::Etcd;

/// A running standalone server (or one that was killed and can be restarted).
pub struct Server {
    data_dir: tempfile::TempDir,
    /// HTTPS port.
    pub port: u16,
    extra_args: Vec<String>,
    child: Option<Child>,
    starts: u32,
    /// The etcd the server stores in (dropped after the server).
    etcd: Option<Etcd>,
}

impl Server {
    /// Starts a server with default options.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with extra command-line arguments (e.g. `--compaction-history 5`).
    pub fn start_with(extra: &[&str]) -> Self {
        Self::start_on_with(Backend::Embedded, extra)
    }

    /// Starts a server on `backend` with default options.
    pub fn start_on(backend: Backend) -> Self {
        Self::start_on_with(backend, &[])
    }

    /// Starts a server on `backend` (a fresh etcd for [`Backend::Etcd`]) with extra arguments.
    pub fn start_on_with(backend: Backend, extra: &[&str]) -> Self {
        let etcd = match backend {
            Backend::Embedded => None,
            Backend::Etcd => Some(Etcd::start()),
        };
        Self::start_with_store(etcd, extra)
    }

    /// Starts a server storing in `etcd` (already running, maybe with objects in it).
    pub fn start_on_etcd(etcd: Etcd, extra: &[&str]) -> Self {
        Self::start_with_store(Some(etcd), extra)
    }

    fn start_with_store(etcd: Option<Etcd>, extra: &[&str]) -> Self {
        let data_dir = tempfile::Builder::new()
            .prefix("navigator-apiserver-test-")
            .tempdir()
            .unwrap_or_else(|e| panic!("temp dir: {e}"));
        let mut server = Server {
            data_dir,
            port: 0,
            extra_args: etcd
                .iter()
                .flat_map(|e| ["--etcd-servers".to_owned(), e.url()])
                .chain(extra.iter().map(|s| (*s).to_owned()))
                .collect(),
            child: None,
            starts: 0,
            etcd,
        };
        // A free port can be taken between our probe and the server's bind: try a few.
        let mut last = String::new();
        for _ in 0..3 {
            server.port = test_support::ports::free_port().unwrap_or_else(|e| panic!("{e}"));
            match server.spawn_and_wait() {
                Ok(()) => return server,
                Err(e) => last = e,
            }
        }
        panic!("navigator-apiserver did not start: {last}");
    }

    /// The etcd this server stores in, if any.
    pub fn etcd(&self) -> Option<&Etcd> {
        self.etcd.as_ref()
    }

    /// The etcd this server stores in, to kill or restart it.
    pub fn etcd_mut(&mut self) -> Option<&mut Etcd> {
        self.etcd.as_mut()
    }

    /// The data directory (store, certificates, kubeconfig, server log).
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// The kubeconfig the server wrote.
    pub fn kubeconfig(&self) -> PathBuf {
        self.data_dir().join("kubeconfig")
    }

    /// The generated CA certificate (PEM).
    pub fn ca_path(&self) -> PathBuf {
        self.data_dir().join("certs").join("ca.crt")
    }

    /// `https://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The server's log (stdout and stderr of every start, appended).
    pub fn log_path(&self) -> PathBuf {
        self.data_dir().join("server.log")
    }

    /// The last lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .map(Child::id)
            .unwrap_or_else(|| panic!("server not running"))
    }

    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| e.to_string())?;
        let mut header = log.try_clone().map_err(|e| e.to_string())?;
        self.starts += 1;
        let _ = writeln!(
            header,
            "===== start {} on port {} =====",
            self.starts, self.port
        );
        let mut cmd = Command::new(binary());
        cmd.arg("--standalone")
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--secure-port")
            .arg(self.port.to_string())
            .arg("--bind-address")
            .arg("127.0.0.1")
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", binary()))?;
        let readiness = await_ready(
            &mut child,
            READY_TIMEOUT,
            Duration::from_millis(100),
            || self.kubeconfig().exists() && self.ca_path().exists() && self.probe_ready(),
        );
        match readiness {
            Readiness::Ready => {
                self.child = Some(child);
                Ok(())
            }
            Readiness::Exited(status) => Err(format!(
                "exited with {status} before ready:\n{}",
                self.log_tail()
            )),
            Readiness::TimedOut => {
                self.child = Some(child);
                self.kill9();
                Err(format!(
                    "not ready within {READY_TIMEOUT:?}:\n{}",
                    self.log_tail()
                ))
            }
        }
    }

    /// One `GET /readyz` through a client built from the kubeconfig; true on 200.
    fn probe_ready(&self) -> bool {
        let kubeconfig = self.kubeconfig();
        // Runs on its own thread and runtime, so it works from sync and async tests alike.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                let http = Http::from_kubeconfig(&kubeconfig).await.ok()?;
                let resp = tokio::time::timeout(
                    Duration::from_secs(2),
                    http.request(Method::GET, "/readyz", None, Vec::new()),
                )
                .await
                .ok()?
                .ok()?;
                Some(resp.status == StatusCode::OK)
            })
        })
        .join()
        .ok()
        .flatten()
        .unwrap_or(false)
    }

    /// SIGKILL (`kill -9`) by pid, then reap the process.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait (bounded) for a graceful exit; returns its status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("server ignored SIGTERM for {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts the server again on the same data directory and port (after `kill9`/`terminate`).
    pub fn restart(&mut self) {
        self.kill9();
        if let Err(e) = self.spawn_and_wait() {
            panic!("restart failed: {e}");
        }
    }

    /// A kube-rs client configured from the generated kubeconfig (CA-verified TLS).
    pub async fn kube_client(&self) -> kube::Client {
        let config = kube_config(&self.kubeconfig()).await;
        kube::Client::try_from(config).unwrap_or_else(|e| panic!("kube client: {e}"))
    }

    /// A raw HTTP client (hyper under kube-rs, CA from the kubeconfig, no retries).
    pub async fn http(&self) -> Http {
        Http::from_kubeconfig(&self.kubeconfig())
            .await
            .unwrap_or_else(|e| panic!("http client: {e}"))
    }

    /// Writes `content` to `<data-dir>/<name>` and returns the path (manifests, scripts).
    pub fn write_file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.data_dir().join(name);
        fs::write(&path, content).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// Runs kubectl against this server (bounded by [`KUBECTL_TIMEOUT`]).
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_with(args, &[], KUBECTL_TIMEOUT)
    }

    /// Runs kubectl with extra environment variables and a timeout.
    pub fn kubectl_with(&self, args: &[&str], env: &[(&str, &str)], timeout: Duration) -> Output {
        let mut cmd = self.kubectl_command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_bounded(cmd, timeout, &format!("kubectl {}", args.join(" ")))
    }

    /// A kubectl command with this server's kubeconfig and a private discovery cache.
    pub fn kubectl_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(kubectl_path());
        cmd.arg("--kubeconfig")
            .arg(self.kubeconfig())
            .arg("--cache-dir")
            .arg(self.data_dir().join("kube-cache"))
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs kubectl and panics (with its output and the server log) unless it succeeds.
    pub fn kubectl_ok(&self, args: &[&str]) -> Output {
        let out = self.kubectl(args);
        if !out.success() {
            panic!(
                "kubectl {} failed ({}):\nstdout:\n{}\nstderr:\n{}\nserver log:\n{}",
                args.join(" "),
                out.status,
                out.stdout,
                out.stderr,
                self.log_tail()
            );
        }
        out
    }

    /// `kubectl … -o json`, parsed.
    pub fn kubectl_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let out = self.kubectl_ok(&all);
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("kubectl output is not JSON ({e}):\n{}", out.stdout))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!(
                "--- server log ({}) ---\n{}",
                self.log_path().display(),
                self.log_tail()
            );
        }
    }
}

/// A finished command.
#[derive(Debug)]
pub struct Output {
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// Runs `cmd` with stdout/stderr captured to files, killing it after `timeout`.
pub fn run_bounded(mut cmd: Command, timeout: Duration, what: &str) -> Output {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let out = File::create(&out_path).unwrap_or_else(|e| panic!("{e}"));
    let err = File::create(&err_path).unwrap_or_else(|e| panic!("{e}"));
    let mut child = cmd
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {what}: {e}"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what} did not finish within {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                fs::read_to_string(&out_path).unwrap_or_default(),
                fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

/// The kubectl to use: `$NAVIGATOR_KUBECTL`, else the Go-built one (`$DEVENV_BIN_DIR`, else
/// `$NAVIGATOR_CACHE/k8s/<pinned version>/`); see [`test_support::paths::kubectl`].
pub fn kubectl_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(test_support::paths::kubectl)
}

/// kube-rs configuration from a kubeconfig file.
pub async fn kube_config(path: &Path) -> kube::Config {
    // kube-rs installs a rustls provider itself when none is; make the choice explicit.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let kubeconfig =
        Kubeconfig::read_from(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("kubeconfig {}: {e}", path.display()))
}

/// A raw HTTP client: hyper + rustls (kube-rs' stack) trusting the generated CA, retries off, so
/// every response is exactly what the server sent.
#[derive(Clone)]
pub struct Http {
    client: kube::Client,
}

/// One response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} response is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Every `Warning` header value.
    pub fn warnings(&self) -> Vec<String> {
        self.headers
            .get_all("warning")
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }
}

impl Http {
    /// From a kubeconfig file.
    pub async fn from_kubeconfig(path: &Path) -> Result<Self, String> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let kubeconfig = Kubeconfig::read_from(path).map_err(|e| e.to_string())?;
        let mut config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|e| e.to_string())?;
        config.default_retry = false;
        let client = kube::Client::try_from(config).map_err(|e| e.to_string())?;
        Ok(Http { client })
    }

    /// Sends one request; `path` includes the query string.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Response, kube::Error> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("accept", "application/json");
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        let request = builder
            .body(kube::client::Body::from(body))
            .unwrap_or_else(|e| panic!("request {path}: {e}"));
        let response = self.client.send(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect_bytes().await?;
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body: body.to_vec(),
        })
    }

    /// Like [`Http::request`] but panics on transport errors.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<Vec<u8>>,
    ) -> Response {
        self.request(method.clone(), path, content_type, body.into())
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// GET returning the response.
    pub async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, None, Vec::new()).await
    }

    /// POST of a JSON value.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.send(
            Method::POST,
            path,
            Some("application/json"),
            body.to_string(),
        )
        .await
    }

    /// PUT of a JSON value.
    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        self.send(
            Method::PUT,
            path,
            Some("application/json"),
            body.to_string(),
        )
        .await
    }
}

/// The collection path of `resource` in `namespace`, version v1beta1.
pub fn collection(namespace: &str, resource: &str) -> String {
    format!("/apis/navigator.jetstack.io/v1beta1/namespaces/{namespace}/{resource}")
}

/// A valid v1beta1 CassandraCluster (test-support's, shared with the aggregated scenario).
pub fn cassandra(namespace: &str, name: &str) -> Value {
    test_support::kubectl_scenario::cassandra(namespace, name)
}

/// A valid v1beta1 Pilot of cluster `demo`, pool `pool`.
pub fn pilot(namespace: &str, name: &str, pool: &str) -> Value {
    test_support::kubectl_scenario::pilot(namespace, name, pool)
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after `timeout` with `what`
/// ([`test_support::devenv::eventually_every`]).
pub fn wait_until<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    test_support::devenv::eventually_every(
        what,
        timeout,
        Duration::from_millis(50),
        String::new,
        || check().ok_or_else(|| "not yet".to_owned()),
    )
}
