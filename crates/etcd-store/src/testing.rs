//! A real etcd process for tests (feature `testing`): a temporary data directory, free ports,
//! optional TLS with client-certificate auth, SIGKILL and restart on the same data and ports,
//! killed on drop.
//!
//! The binary is `$DEVENV_BIN_DIR/etcd`, else `${NAVIGATOR_CACHE:-$HOME/.cache/navigator}/k8s/
//! <version>/etcd` (what `hack/build-k8s` builds, version from `tools/k8s/go.mod`); starting
//! fails (tests fail, they do not skip) when it is missing.

use crate::{EtcdConfig, EtcdStore, EtcdTls};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why an etcd for tests could not be started.
#[derive(Debug, thiserror::Error)]
pub enum TestingError {
    /// No etcd binary at the expected places.
    #[error("etcd binary not found at {0} (set DEVENV_BIN_DIR or run hack/build-k8s)")]
    NoBinary(String),
    /// Files, ports or the process.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// Certificate generation.
    #[error("certificates: {0}")]
    Certificates(#[from] test_support::pki::PkiError),
    /// etcd did not become ready.
    #[error("etcd did not become ready within {timeout:?}: {last_error}\n--- etcd log ---\n{log}")]
    NotReady {
        /// How long we waited.
        timeout: Duration,
        /// The last connection error.
        last_error: String,
        /// The end of etcd's log.
        log: String,
    },
}

/// How to start the test etcd.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EtcdServerOptions {
    /// Serve clients over TLS and require client certificates signed by the test CA.
    pub tls: bool,
    /// Pass `--unsafe-no-fsync`: faster, and still loses nothing when only the *process* is
    /// killed (its writes are in the kernel's page cache); only a machine crash would. Leave it
    /// off for tests about durability across crashes of the machine.
    pub unsafe_no_fsync: bool,
}

/// PEM files of the test PKI (with [`EtcdServerOptions::tls`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    /// etcd's serving certificate and key (SANs `127.0.0.1`, `localhost`).
    pub server_cert: PathBuf,
    /// etcd's serving key.
    pub server_key: PathBuf,
    /// A client certificate etcd accepts.
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
}

/// A running etcd. Killed (SIGKILL) on drop; its data directory is removed then.
#[derive(Debug)]
pub struct EtcdServer {
    binary: PathBuf,
    dir: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
    options: EtcdServerOptions,
    tls: Option<TlsFiles>,
    child: Option<Child>,
    /// Member name and `--initial-cluster` (a cluster's members share it).
    name: String,
    initial_cluster: Option<String>,
}

/// The etcd binary tests use: `$DEVENV_BIN_DIR/etcd`, else
/// `${NAVIGATOR_CACHE:-$HOME/.cache/navigator}/k8s/<pinned version>/etcd` (where
/// `hack/build-k8s` puts it; see [`test_support::paths::k8s_binary_path`]).
///
/// # Errors
/// [`TestingError::NoBinary`] when it is not there.
pub fn etcd_binary() -> Result<PathBuf, TestingError> {
    let path = test_support::paths::k8s_binary_path("etcd");
    if path.is_file() {
        Ok(path)
    } else {
        Err(TestingError::NoBinary(path.display().to_string()))
    }
}

/// A TCP port nothing listens on right now, below the ephemeral range (so no client socket
/// takes it before etcd binds it: see [`test_support::ports`]).
///
/// # Errors
/// [`TestingError::Io`].
pub fn free_port() -> Result<u16, TestingError> {
    test_support::ports::free_port()
        .map_err(|e| TestingError::Io("choose a free port".into(), std::io::Error::other(e)))
}

fn write(path: &Path, contents: &str) -> Result<(), TestingError> {
    std::fs::write(path, contents)
        .map_err(|e| TestingError::Io(format!("write {}", path.display()), e))
}

/// A CA, a server certificate for `127.0.0.1`/`localhost` and a client certificate, as files
/// in `dir`.
fn write_pki(dir: &Path) -> Result<TlsFiles, TestingError> {
    use test_support::pki::{Ca, Leaf};
    let ca = Ca::new("etcd-store test CA")?;
    let server = ca.issue(&Leaf::server("etcd", &["127.0.0.1", "localhost"]).and_client())?;
    let client = ca.issue(&Leaf::client("navigator-apiserver", &[]))?;
    let files = TlsFiles {
        ca: dir.join("ca.crt"),
        server_cert: dir.join("server.crt"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.crt"),
        client_key: dir.join("client.key"),
    };
    write(&files.ca, &ca.pem().cert)?;
    write(&files.server_cert, &server.cert)?;
    write(&files.server_key, &server.key)?;
    write(&files.client_cert, &client.cert)?;
    write(&files.client_key, &client.key)?;
    Ok(files)
}

impl EtcdServer {
    /// Starts a fresh etcd (plain HTTP, fsync on) and waits until it answers.
    ///
    /// # Errors
    /// [`TestingError`].
    pub async fn start() -> Result<Self, TestingError> {
        Self::start_with(EtcdServerOptions::default()).await
    }

    /// Starts a fresh etcd with `options` and waits until it answers.
    ///
    /// # Errors
    /// [`TestingError`].
    pub async fn start_with(options: EtcdServerOptions) -> Result<Self, TestingError> {
        let mut server = Self::prepare(options, "test".to_owned(), free_port()?, None)?;
        server.spawn()?;
        server.wait_ready().await?;
        Ok(server)
    }

    /// A member not yet started.
    fn prepare(
        options: EtcdServerOptions,
        name: String,
        peer_port: u16,
        initial_cluster: Option<String>,
    ) -> Result<Self, TestingError> {
        let binary = etcd_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("etcd-store-test-")
            .tempdir()
            .map_err(|e| TestingError::Io("temporary directory".into(), e))?;
        let tls = if options.tls {
            Some(write_pki(dir.path())?)
        } else {
            None
        };
        Ok(Self {
            binary,
            dir,
            client_port: free_port()?,
            peer_port,
            options,
            tls,
            child: None,
            name,
            initial_cluster,
        })
    }

    /// The client URL.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    /// The test PKI, when started with TLS.
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// A store configuration for this etcd (with the client certificate when TLS is on) and
    /// short timeouts suited to tests.
    pub fn config(&self) -> EtcdConfig {
        let mut cfg = EtcdConfig::new([self.endpoint()]);
        cfg.dial_timeout = Duration::from_secs(5);
        cfg.request_timeout = Duration::from_secs(5);
        if let Some(t) = &self.tls {
            cfg.tls = Some(EtcdTls {
                ca_file: Some(t.ca.clone()),
                cert_file: Some(t.client_cert.clone()),
                key_file: Some(t.client_key.clone()),
            });
        }
        cfg
    }

    /// Connects an [`EtcdStore`] with [`Self::config`].
    ///
    /// # Errors
    /// The connection's.
    pub async fn store(&self) -> Result<EtcdStore, crate::EtcdStoreError> {
        EtcdStore::connect(self.config()).await
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("etcd.log")
    }

    fn spawn(&mut self) -> Result<(), TestingError> {
        let client_url = self.endpoint();
        let peer_url = format!("http://127.0.0.1:{}", self.peer_port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| TestingError::Io("etcd log".into(), e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| TestingError::Io("etcd log".into(), e))?;
        let mut cmd = Command::new(&self.binary);
        let initial_cluster = self
            .initial_cluster
            .clone()
            .unwrap_or_else(|| format!("{}={peer_url}", self.name));
        cmd.arg(format!("--name={}", self.name))
            .arg(format!(
                "--data-dir={}",
                self.dir.path().join("data").display()
            ))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster={initial_cluster}"))
            .arg("--log-level=warn")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        if self.options.unsafe_no_fsync {
            cmd.arg("--unsafe-no-fsync");
        }
        if let Some(t) = &self.tls {
            cmd.arg(format!("--cert-file={}", t.server_cert.display()))
                .arg(format!("--key-file={}", t.server_key.display()))
                .arg("--client-cert-auth")
                .arg(format!("--trusted-ca-file={}", t.ca.display()));
        }
        let child = cmd
            .spawn()
            .map_err(|e| TestingError::Io(format!("spawn {}", self.binary.display()), e))?;
        self.child = Some(child);
        Ok(())
    }

    async fn wait_ready(&self) -> Result<(), TestingError> {
        let timeout = Duration::from_secs(30);
        let deadline = Instant::now() + timeout;
        let mut cfg = self.config();
        cfg.dial_timeout = Duration::from_secs(1);
        cfg.request_timeout = Duration::from_secs(1);
        loop {
            let err = match EtcdStore::connect(cfg.clone()).await {
                Ok(_) => return Ok(()),
                Err(e) => e.to_string(),
            };
            if Instant::now() > deadline {
                return Err(TestingError::NotReady {
                    timeout,
                    last_error: err,
                    log: self.log_tail(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last few kilobytes of etcd's log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let start = log.len().saturating_sub(4000);
        log.get(start..).unwrap_or(&log).to_owned()
    }

    /// Kills etcd with SIGKILL (no shutdown) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts etcd again on the same data directory and peer port but the client port `port`
    /// (clients of the old port keep failing meanwhile), and waits until it answers.
    ///
    /// # Errors
    /// [`TestingError`].
    pub async fn restart_on_port(&mut self, port: u16) -> Result<(), TestingError> {
        self.kill();
        self.client_port = port;
        self.spawn()?;
        self.wait_ready().await
    }

    /// Kills etcd, deletes its data and starts it again on the same ports: a new, empty etcd
    /// (what restoring nothing, or an old backup, looks like to clients).
    ///
    /// # Errors
    /// [`TestingError`].
    pub async fn restart_wiped(&mut self) -> Result<(), TestingError> {
        self.kill();
        let data = self.dir.path().join("data");
        std::fs::remove_dir_all(&data)
            .map_err(|e| TestingError::Io(format!("remove {}", data.display()), e))?;
        self.spawn()?;
        self.wait_ready().await
    }

    /// The client port.
    pub fn client_port(&self) -> u16 {
        self.client_port
    }

    /// Starts etcd again on the same data directory and ports, and waits until it answers.
    ///
    /// # Errors
    /// [`TestingError`].
    pub async fn restart(&mut self) -> Result<(), TestingError> {
        self.kill();
        self.spawn()?;
        self.wait_ready().await
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Several etcd members forming one cluster (plain HTTP, `--unsafe-no-fsync`), each killable
/// and restartable on its own.
#[derive(Debug)]
pub struct EtcdCluster {
    /// The members, in `--initial-cluster` order.
    pub members: Vec<EtcdServer>,
}

impl EtcdCluster {
    /// Starts `n` members and waits until each answers (which needs a quorum).
    ///
    /// # Errors
    /// [`TestingError`].
    pub async fn start(n: usize) -> Result<Self, TestingError> {
        let options = EtcdServerOptions {
            tls: false,
            unsafe_no_fsync: true,
        };
        let peers = (0..n)
            .map(|i| free_port().map(|p| (format!("m{i}"), p)))
            .collect::<Result<Vec<_>, _>>()?;
        let initial = peers
            .iter()
            .map(|(name, port)| format!("{name}=http://127.0.0.1:{port}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut members = Vec::with_capacity(n);
        for (name, port) in peers {
            let mut m = EtcdServer::prepare(options, name, port, Some(initial.clone()))?;
            m.spawn()?;
            members.push(m);
        }
        for m in &members {
            m.wait_ready().await?;
        }
        Ok(Self { members })
    }

    /// A store configuration listing every member.
    pub fn config(&self) -> EtcdConfig {
        let mut cfg = self
            .members
            .first()
            .map_or_else(|| EtcdConfig::new(Vec::<String>::new()), EtcdServer::config);
        cfg.endpoints = self.members.iter().map(EtcdServer::endpoint).collect();
        cfg
    }
}
