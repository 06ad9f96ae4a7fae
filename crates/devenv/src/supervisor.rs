//! The supervisor (`devenv supervise`, or `devenv up --foreground`): starts the components in
//! order, waiting for each to be ready before the next; restarts any that exits, with backoff;
//! on SIGTERM/SIGINT stops them in reverse order and removes their PID files.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::binaries::Binaries;
use crate::components::{self, ClusterSettings, Component};
use crate::layout::Layout;
use crate::probe::{self, TlsClient};
use crate::process;

/// How long a component gets to stop after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(15);

/// An error running the supervisor.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// Installing the signal handlers failed.
    #[error("cannot install signal handlers")]
    Signals(#[source] std::io::Error),
    /// Reading the admin credentials for the probes failed.
    #[error("cannot read the admin credentials in {0}")]
    Credentials(String),
    /// Building the probe's TLS client failed.
    #[error(transparent)]
    Probe(#[from] probe::ProbeError),
    /// Writing the supervisor's PID file failed.
    #[error(transparent)]
    PidFile(#[from] process::ProcessError),
    /// A component did not become ready in time.
    #[error("{component} was not ready within {timeout:?}; see {log}")]
    NotReady {
        /// The component's name.
        component: &'static str,
        /// The timeout.
        timeout: Duration,
        /// Its log file.
        log: String,
    },
    /// Asked to stop while still starting.
    #[error("stopped by a signal while starting")]
    Interrupted,
}

/// Restart delays after a component exits: 1 s, doubling to 30 s; reset when the component had
/// run for a minute. Pure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    consecutive_failures: u32,
}

impl Backoff {
    /// After a run of `ran_for`, how long to wait before starting again.
    pub fn after_exit(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= Duration::from_secs(60) {
            self.consecutive_failures = 0;
        }
        let delay = Duration::from_secs(1u64 << self.consecutive_failures.min(5)).min(MAX_BACKOFF);
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        delay
    }
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Runs the control plane until SIGTERM or SIGINT. Each component is started after the previous
/// one is ready (within `ready_timeout` each).
///
/// # Errors
/// [`SupervisorError`] if set-up fails or a component is not ready in time; everything started
/// is stopped before returning.
pub async fn run(
    layout: &Layout,
    settings: &ClusterSettings,
    bins: &Binaries,
    ready_timeout: Duration,
    pods: Option<crate::pods::RunnerOptions>,
) -> Result<(), SupervisorError> {
    let mut term = signal(SignalKind::terminate()).map_err(SupervisorError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(SupervisorError::Signals)?;
    let (stop_all_tx, mut stop_all) = watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let _ = stop_all_tx.send(true);
    });

    process::write_pid(&layout.supervisor_pid_file(), std::process::id())?;
    let tls = admin_tls(layout)?;
    log(&format!(
        "supervisor {} starting the control plane in {}",
        std::process::id(),
        layout.root().display()
    ));

    let mut running: Vec<(Component, watch::Sender<bool>, JoinHandle<()>)> = Vec::new();
    let mut result = Ok(());
    for c in Component::ALL {
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(keep_running(
            c,
            layout.clone(),
            settings.clone(),
            bins.clone(),
            rx,
        ));
        running.push((c, tx, task));
        let started = Instant::now();
        let ready = tokio::select! {
            r = wait_ready(c, settings, &tls, ready_timeout) => r,
            () = stopped(&mut stop_all) => Err(SupervisorError::Interrupted),
        };
        match ready {
            Ok(()) => log(&format!("{} ready after {:?}", c.name(), started.elapsed())),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let mut runner = None;
    if result.is_ok() {
        log("control plane ready");
        if let Some(opts) = pods {
            runner = Some(start_pod_runner(layout, opts).await);
        }
        stopped(&mut stop_all).await;
        log("stopping (signal received)");
    } else {
        log("stopping (start-up failed)");
    }
    if let Some((tx, task)) = runner {
        // Pods first (their processes, namespaces, the bridge), while the API is still up.
        let _ = tx.send(true);
        if tokio::time::timeout(Duration::from_secs(90), task)
            .await
            .is_err()
        {
            log("the pod runner did not stop within 90 s");
        }
        log("pod runner stopped");
    }
    for (c, tx, task) in running.into_iter().rev() {
        let _ = tx.send(true);
        let _ = task.await;
        log(&format!("{} stopped", c.name()));
    }
    process::remove_pid(&layout.supervisor_pid_file());
    result
}

/// Starts the pod runner (nodes, bridge, pods) in the background; returns its stop switch.
async fn start_pod_runner(
    layout: &Layout,
    opts: crate::pods::RunnerOptions,
) -> (watch::Sender<bool>, JoinHandle<()>) {
    let (tx, rx) = watch::channel(false);
    let layout = layout.clone();
    let task = tokio::spawn(async move {
        let client = match crate::pods::admin_client(&layout).await {
            Ok(c) => c,
            Err(e) => {
                log(&format!("pod runner: {e}"));
                return;
            }
        };
        if let Err(e) = crate::pods::run(layout, opts, client, rx).await {
            log(&format!("pod runner failed: {e}"));
        }
    });
    (tx, task)
}

/// The TLS client the probes use: the cluster CA and the admin client certificate.
///
/// # Errors
/// [`SupervisorError`] if the files cannot be read or parsed.
pub fn admin_tls(layout: &Layout) -> Result<TlsClient, SupervisorError> {
    let read = |f: &str| {
        std::fs::read(layout.pki(f)).map_err(|e| {
            SupervisorError::Credentials(format!("{}: {e}", layout.pki_dir().display()))
        })
    };
    Ok(TlsClient::new(
        &read("ca.crt")?,
        &read("admin.crt")?,
        &read("admin.key")?,
    )?)
}

/// Polls `c`'s readiness every 250 ms until it answers 200 or `timeout` passes.
///
/// # Errors
/// [`SupervisorError::NotReady`] on timeout.
pub async fn wait_ready(
    c: Component,
    settings: &ClusterSettings,
    tls: &TlsClient,
    timeout: Duration,
) -> Result<(), SupervisorError> {
    let deadline = Instant::now() + timeout;
    let check = components::readiness(c, &settings.ports);
    loop {
        let answer = probe::probe(&check, tls, Duration::from_secs(5)).await;
        if answer.is_ok_and(|r| r.is_ready()) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(SupervisorError::NotReady {
                component: c.name(),
                timeout,
                log: format!("logs/{}.log", c.name()),
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Starts `c`, restarts it whenever it exits, and stops it when `stop` turns true.
async fn keep_running(
    c: Component,
    layout: Layout,
    settings: ClusterSettings,
    bins: Binaries,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::default();
    let pid_file = layout.pid_file(c);
    loop {
        let started = Instant::now();
        let mut child = match spawn(c, &layout, &settings, &bins) {
            Ok(child) => child,
            Err(e) => {
                log(&format!("cannot start {}: {e}", c.name()));
                let delay = backoff.after_exit(Duration::ZERO);
                tokio::select! {
                    () = tokio::time::sleep(delay) => continue,
                    () = stopped(&mut stop) => return,
                }
            }
        };
        if let Some(pid) = child.id() {
            if let Err(e) = process::write_pid(&pid_file, pid) {
                log(&e.to_string());
            }
            log(&format!("{} started, pid {pid}", c.name()));
        }
        let status = tokio::select! {
            status = child.wait() => status,
            () = stopped(&mut stop) => {
                terminate(c, &mut child).await;
                process::remove_pid(&pid_file);
                return;
            }
        };
        process::remove_pid(&pid_file);
        let delay = backoff.after_exit(started.elapsed());
        log(&format!(
            "{} exited ({}) after {:?}; restarting in {delay:?}",
            c.name(),
            status.map_or_else(|e| e.to_string(), |s| s.to_string()),
            started.elapsed()
        ));
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = stopped(&mut stop) => return,
        }
    }
}

/// Resolves once the flag behind `rx` is true (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

fn spawn(
    c: Component,
    layout: &Layout,
    settings: &ClusterSettings,
    bins: &Binaries,
) -> std::io::Result<Child> {
    let program = bins.component(c);
    let args = components::args(c, layout, settings);
    let mut logf = OpenOptions::new()
        .create(true)
        .append(true)
        .open(layout.log_file(c))?;
    writeln!(
        logf,
        "=== devenv: starting {} {}",
        program.display(),
        args.join(" ")
    )?;
    Command::new(&program)
        .args(&args)
        .current_dir(layout.root())
        .stdin(Stdio::null())
        .stdout(logf.try_clone()?)
        .stderr(logf)
        // Own process group: a terminal's Ctrl-C reaches only the supervisor, which stops the
        // components in order.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
}

async fn terminate(c: Component, child: &mut Child) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    match tokio::time::timeout(STOP_GRACE, child.wait()).await {
        Ok(_) => {}
        Err(_) => {
            log(&format!(
                "{} did not stop within {STOP_GRACE:?}; killing it",
                c.name()
            ));
            let _ = child.kill().await;
        }
    }
}

fn log(msg: &str) {
    let now = time::OffsetDateTime::now_utc();
    eprintln!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z devenv: {msg}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_and_resets_after_a_long_run() {
        let mut b = Backoff::default();
        let quick = Duration::from_millis(100);
        let delays: Vec<u64> = (0..8).map(|_| b.after_exit(quick).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(
            b.after_exit(Duration::from_secs(61)),
            Duration::from_secs(1)
        );
        assert_eq!(b.after_exit(quick), Duration::from_secs(2));
    }
}
