//! `navigator-apiserver --standalone` for tests and benchmarks that need a real API server
//! without Kubernetes: started in a data directory (its `kubeconfig` and `server.log` land
//! there), on a free port of 127.0.0.1, and a kube client for it once it answers.
//!
//! ```no_run
//! # async fn demo() {
//! use test_support::standalone::StandaloneServer;
//!
//! let server = StandaloneServer::start();
//! let client = server.client().await; // waits up to 60 s, panics with the server's log
//! # let _ = client;
//! # }
//! ```

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::devenv::target_dir;
use crate::paths::require_path;
use crate::ports;

/// How long [`StandaloneServer::client`] waits for the server to answer.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the server could not be started or reached.
#[derive(Debug, thiserror::Error)]
pub enum StandaloneError {
    /// The data directory or the log file could not be created.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// No port was free for the server.
    #[error(transparent)]
    Port(#[from] ports::PortError),
    /// The server did not answer with its kubeconfig in time.
    #[error("API server not ready in {seconds}s:\n{log}")]
    NotReady {
        /// The time waited.
        seconds: u64,
        /// The server's log (`server.log` in its data directory).
        log: String,
    },
}

/// The navigator-apiserver binary: `$NAVIGATOR_APISERVER`, else the workspace's debug build
/// (`$CARGO_TARGET_DIR`, else `target/`). Panics saying how to build it when it is missing.
pub fn apiserver_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NAVIGATOR_APISERVER") {
        return path.into();
    }
    require_path(
        target_dir().join("debug/navigator-apiserver"),
        "run `cargo build -p navigator-apiserver` first (or set NAVIGATOR_APISERVER)",
    )
}

/// Starts `bin --standalone` on 127.0.0.1 and a free port with its data (and `kubeconfig`) in
/// `dir`, created when missing, stdout and stderr appended to `dir/server.log`.
///
/// # Errors
/// [`StandaloneError::Io`] when the directory, the log or the process cannot be created,
/// [`StandaloneError::Port`] when no port is free.
pub fn spawn(bin: &Path, dir: &Path) -> Result<Child, StandaloneError> {
    let io = |context: String| move |source| StandaloneError::Io { context, source };
    std::fs::create_dir_all(dir).map_err(io(format!("create {}", dir.display())))?;
    let log_path = dir.join("server.log");
    let log =
        std::fs::File::create(&log_path).map_err(io(format!("create {}", log_path.display())))?;
    let log2 = log
        .try_clone()
        .map_err(io(format!("clone {}", log_path.display())))?;
    Command::new(bin)
        .args(["--standalone", "--bind-address", "127.0.0.1", "--data-dir"])
        .arg(dir)
        .args(["--secure-port", &ports::free_port()?.to_string()])
        .stdin(Stdio::null())
        .stdout(log2)
        .stderr(log)
        .spawn()
        .map_err(io(format!("start {}", bin.display())))
}

/// A client of the server whose data directory is `dir`, once its kubeconfig exists and the
/// server answers a version request; tries every 100 ms for up to `limit`.
///
/// # Errors
/// [`StandaloneError::NotReady`] with the server's log when `limit` passes first.
pub async fn connect(dir: &Path, limit: Duration) -> Result<kube::Client, StandaloneError> {
    navigator_client::install_crypto_provider();
    let deadline = Instant::now() + limit;
    let kubeconfig = dir.join("kubeconfig");
    loop {
        if kubeconfig.exists()
            && let Ok(client) = navigator_client::client(Some(&kubeconfig)).await
            && client.apiserver_version().await.is_ok()
        {
            return Ok(client);
        }
        if Instant::now() >= deadline {
            return Err(StandaloneError::NotReady {
                seconds: limit.as_secs(),
                log: std::fs::read_to_string(dir.join("server.log")).unwrap_or_default(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A running `navigator-apiserver --standalone` (the workspace's binary, see
/// [`apiserver_binary`]), killed when dropped. Panics on every failure: for tests.
pub struct StandaloneServer {
    dir: PathBuf,
    child: Child,
    _temp: Option<tempfile::TempDir>,
}

impl StandaloneServer {
    /// Starts the server in a new temporary directory (removed when dropped).
    pub fn start() -> Self {
        let temp = tempfile::tempdir().expect("a temporary directory");
        let mut server = Self::start_in(temp.path());
        server._temp = Some(temp);
        server
    }

    /// Starts the server with its data in `dir` (created when missing; kept when dropped).
    pub fn start_in(dir: &Path) -> Self {
        let child = spawn(&apiserver_binary(), dir).expect("start navigator-apiserver");
        Self {
            dir: dir.to_owned(),
            child,
            _temp: None,
        }
    }

    /// The server's data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The admin kubeconfig the server writes into its data directory.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// A client once the server answers; panics with the server's log after [`READY_TIMEOUT`].
    pub async fn client(&self) -> kube::Client {
        match connect(&self.dir, READY_TIMEOUT).await {
            Ok(client) => client,
            Err(e) => panic!("{e}"),
        }
    }
}

impl Drop for StandaloneServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
