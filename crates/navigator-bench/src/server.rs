//! The server under test: `navigator-apiserver --standalone` as a child process on a temporary
//! data directory and a free port, ready once `/readyz` answers, stopped with SIGTERM.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use http::{Method, StatusCode};
use navigator_bench::kubeconfig::{self, CaSource};

use crate::cli::Args;
use crate::client::{Client, Endpoint};

pub(crate) struct ServerProc {
    pub(crate) child: tokio::process::Child,
    pub(crate) pid: Option<u32>,
    pub(crate) dir: tempfile::TempDir,
}

impl ServerProc {
    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Starts `bin --standalone` on a temporary data dir and a free port; returns once its
    /// kubeconfig is written and `/readyz` answers 200.
    pub(crate) async fn start(
        bin: &Path,
        args: &Args,
        extra: &[String],
    ) -> anyhow::Result<(Self, Endpoint)> {
        if !bin.exists() {
            bail!(
                "server binary {} not found: build it with `cargo build --release -p navigator-apiserver` or pass --server-bin",
                bin.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("navigator-bench-")
            .tempdir()
            .context("temporary data dir")?;
        let data = dir.path().join("data");
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let child = tokio::process::Command::new(bin)
            .arg("--standalone")
            .arg("--data-dir")
            .arg(&data)
            .args(["--bind-address", "127.0.0.1", "--secure-port", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut server = Self {
            pid: child.id(),
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let kubeconfig_path = data.join("kubeconfig");
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "the server exited with {status} before it was ready:\n{}",
                    server.log_tail()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "the server was not ready within 60 s:\n{}",
                    server.log_tail()
                );
            }
            if let Some(ep) = Self::probe(&kubeconfig_path, args).await {
                return Ok((server, ep));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn probe(kubeconfig_path: &Path, args: &Args) -> Option<Endpoint> {
        let text = std::fs::read_to_string(kubeconfig_path).ok()?;
        let target = kubeconfig::parse(&text).ok()?;
        let CaSource::Pem(ca) = target.ca else {
            return None;
        };
        let ep = Endpoint::new(
            &target.server,
            &ca,
            args.protocol,
            target.token,
            Duration::from_secs(2),
        )
        .ok()?;
        let mut client = Client::connect(&ep).await.ok()?;
        let resp = client.call(Method::GET, "/readyz", None).await.ok()?;
        (resp.status == StatusCode::OK).then_some(Endpoint {
            timeout: Duration::from_secs(args.request_timeout),
            ..ep
        })
    }

    /// SIGTERM, then SIGKILL after 10 s.
    pub(crate) async fn stop(mut self, keep: bool) -> anyhow::Result<()> {
        if let Some(pid) = self.pid.and_then(|p| i32::try_from(p).ok()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            eprintln!(
                "navigator-bench: the server did not stop within 10 s of SIGTERM; killing it"
            );
            self.child.kill().await?;
        }
        if keep {
            let path = self.dir.keep();
            eprintln!(
                "navigator-bench: server data and log kept in {}",
                path.display()
            );
        }
        Ok(())
    }
}
