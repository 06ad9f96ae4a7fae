//! A real single-member etcd process for synchronous tests: the Go-built binary
//! ([`crate::paths::k8s_binary`], so `$DEVENV_BIN_DIR` else `$NAVIGATOR_CACHE/k8s/<pinned
//! version>/etcd`), plain HTTP on free loopback ports ([`crate::ports`]), a temporary data
//! directory, ready when `GET /health` says so; SIGKILL and restart on the same data and ports;
//! killed on drop.
//!
//! (`etcd_store::testing` starts etcd for async tests that talk to it through an `EtcdStore`,
//! with TLS and clusters.)

use std::fs::{self, OpenOptions};
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::process::{Readiness, await_ready};

/// How long etcd may take to answer `/health`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Start attempts (each on new free ports) before [`Etcd::start`] gives up.
const START_ATTEMPTS: usize = 3;

/// A running etcd (or one killed by [`Etcd::kill9`], restartable). Killed (SIGKILL) on drop;
/// its data directory is removed then.
#[derive(Debug)]
pub struct Etcd {
    dir: tempfile::TempDir,
    /// Client port (`http://127.0.0.1:<port>`).
    pub client_port: u16,
    peer_port: u16,
    child: Option<Child>,
}

impl Etcd {
    /// Starts etcd and waits until `/health` says so; panics saying why when it cannot (the
    /// binary is missing: what to run; etcd exited: its log).
    pub fn start() -> Self {
        let binary = crate::paths::k8s_binary("etcd");
        let dir = tempfile::Builder::new()
            .prefix("navigator-etcd-test-")
            .tempdir()
            .unwrap_or_else(|e| panic!("temp dir: {e}"));
        let mut etcd = Etcd {
            dir,
            client_port: 0,
            peer_port: 0,
            child: None,
        };
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            let ports = crate::ports::free_ports(2).unwrap_or_else(|e| panic!("{e}"));
            etcd.client_port = ports[0];
            etcd.peer_port = ports[1];
            match etcd.spawn_and_wait(&binary) {
                Ok(()) => return etcd,
                Err(e) => last = e,
            }
        }
        panic!("etcd did not start: {last}");
    }

    /// `http://127.0.0.1:<client port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("etcd.log")
    }

    fn spawn_and_wait(&mut self, binary: &Path) -> Result<(), String> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| e.to_string())?;
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let mut child = Command::new(binary)
            .arg("--name=test")
            .arg(format!(
                "--data-dir={}",
                self.dir.path().join("data").display()
            ))
            .arg(format!("--listen-client-urls={}", self.url()))
            .arg(format!("--advertise-client-urls={}", self.url()))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=test={peer}"))
            .arg("--log-level=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", binary.display()))?;
        let readiness = await_ready(
            &mut child,
            READY_TIMEOUT,
            Duration::from_millis(100),
            || healthy(self.client_port),
        );
        match readiness {
            Readiness::Ready => {
                self.child = Some(child);
                Ok(())
            }
            Readiness::Exited(status) => {
                let log = fs::read_to_string(self.log_path()).unwrap_or_default();
                Err(format!("etcd exited with {status}:\n{log}"))
            }
            Readiness::TimedOut => {
                self.child = Some(child);
                self.kill9();
                Err(format!("etcd not healthy within {READY_TIMEOUT:?}"))
            }
        }
    }

    /// SIGKILL (no shutdown), then reap.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` is SIGKILL on Unix.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts etcd again on the same data directory and ports; panics when it does not come
    /// back.
    pub fn restart(&mut self) {
        self.kill9();
        let binary = crate::paths::k8s_binary("etcd");
        if let Err(e) = self.spawn_and_wait(&binary) {
            panic!("etcd restart failed: {e}");
        }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// `GET http://127.0.0.1:<port>/health` answers `"health":"true"`.
fn healthy(port: u16) -> bool {
    let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    if conn
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    answer.contains("\"health\":\"true\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_and_comes_back_after_sigkill_on_the_same_port() {
        let mut etcd = Etcd::start();
        assert!(
            healthy(etcd.client_port),
            "etcd at {} is not healthy",
            etcd.url()
        );
        let port = etcd.client_port;
        etcd.kill9();
        assert!(
            !healthy(etcd.client_port),
            "etcd still answers after SIGKILL"
        );
        etcd.restart();
        assert_eq!(etcd.client_port, port);
        assert!(
            healthy(etcd.client_port),
            "etcd at {} is not healthy again",
            etcd.url()
        );
    }
}
