//! The pilot's main loop: identity → API client → its own Pilot → data marker check →
//! `adapter.prepare` → start the database → observe about every second → probes, metrics and
//! the status writer → `adapter.perform` when the Pilot asks for a state → on SIGTERM the
//! adapter's graceful stop, then SIGTERM to the database → exit with the database's status.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Api;
use navigator_api::pilot_contract::{LIVENESS_PORT, READINESS_PORT};
use navigator_api::v1beta1::Pilot;
use nix::sys::signal::Signal;
use tokio::sync::{mpsc, watch};

use crate::RequestedState;
use crate::adapter::{DatabaseAdapter, Identity, Observation, PilotContext, Progress};
use crate::client::{self, ClientError};
use crate::identity::{self, IdentityError};
use crate::marker::{self, DataMarker, MarkerCheck};
use crate::metrics::Metrics;
use crate::operation::{self, NextStep, Operation, Phase};
use crate::probes::{self, Probe, ProbeError, ProbeLimits, SharedProbes};
use crate::status::{Lifecycle, StatusFacts, StatusWriter};
use crate::supervisor::{self, SignalEvents, Supervisor, SupervisorError};

/// The runtime's settings; pilot binaries flatten them into their own clap parsers
/// (`#[command(flatten)] runtime: RuntimeOptions`).
#[derive(Clone, Debug, clap::Args)]
pub struct RuntimeOptions {
    /// Writable directory for the database's rendered configuration.
    #[arg(long, env = "PILOT_CONFIG_DIR", default_value = "/shared/config")]
    pub config_dir: PathBuf,
    /// The database's data directory (the pod's volume); the data marker lives here.
    #[arg(long, env = "PILOT_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Address the probe servers listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub probe_address: IpAddr,
    /// Liveness port (also serves /metrics).
    #[arg(long, default_value_t = LIVENESS_PORT)]
    pub liveness_port: u16,
    /// Readiness port (also serves /metrics).
    #[arg(long, default_value_t = READINESS_PORT)]
    pub readiness_port: u16,
    /// Status heartbeat interval (e.g. `30s`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub heartbeat_interval: Duration,
    /// How often the database is observed: a state change reaches the Pilot's status within
    /// about one interval plus the write (docs/benchmarks.md, "Pilot").
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    pub observe_interval: Duration,
    /// How long one observation may take before it counts as "not alive".
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub observe_timeout: Duration,
    /// Observations older than this count as none (probes fail, Ready is Unknown).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub observation_max_age: Duration,
    /// How long after start a database that has never answered still passes liveness.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub startup_grace: Duration,
    /// Bound on the adapter's graceful stop (e.g. Cassandra drain) before SIGTERM.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
    /// How long the database may take to exit after SIGTERM before it gets SIGKILL (a frozen
    /// process — SIGSTOPped, or hung — never acts on SIGTERM; without this, a liveness restart
    /// would wait for the pod's whole termination grace period).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub stop_timeout: Duration,
    /// How often a `Failed` operation is attempted again while the request stays (a refused
    /// decommission proceeds by itself once the keyspaces allow it). A re-attempt that fails
    /// the same way changes nothing in the Pilot's status.
    #[arg(
        long,
        env = "PILOT_OPERATION_RETRY_INTERVAL",
        default_value = "15s",
        value_parser = parse_duration
    )]
    pub operation_retry_interval: Duration,
    /// A kubeconfig to use instead of `$KUBECONFIG` / the in-cluster ServiceAccount.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
}

impl RuntimeOptions {
    /// Options with the defaults above and `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>, config_dir: impl Into<PathBuf>) -> Self {
        Self {
            config_dir: config_dir.into(),
            data_dir: data_dir.into(),
            probe_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            liveness_port: LIVENESS_PORT,
            readiness_port: READINESS_PORT,
            heartbeat_interval: Duration::from_secs(30),
            observe_interval: Duration::from_millis(500),
            observe_timeout: Duration::from_secs(5),
            observation_max_age: Duration::from_secs(10),
            startup_grace: Duration::from_secs(300),
            shutdown_timeout: Duration::from_secs(60),
            stop_timeout: Duration::from_secs(30),
            operation_retry_interval: Duration::from_secs(15),
            kubeconfig: None,
        }
    }
}

/// A duration such as `30s`, `500ms`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 30s, 500ms, 2m)"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

/// The pilot's exit code: the database's, except that a database stopped by the pilot's own
/// SIGTERM after a graceful stop exits 0 (the stop was asked for and done).
pub fn final_exit_code(code: i32, graceful_stop: bool) -> i32 {
    if graceful_stop && code == 128 + Signal::SIGTERM as i32 {
        0
    } else {
        code
    }
}

/// The runtime could not run.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The downward API did not say who the pilot is.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The API could not be reached.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A probe port could not be bound.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// Signals could not be handled.
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
}

/// Runs the pilot as PID 1 of the database container: identity from the environment, the API
/// client from `opts.kubeconfig` or the cluster, signals from the process. Returns the exit
/// code for `std::process::exit`.
pub async fn run<A: DatabaseAdapter>(
    adapter: A,
    opts: RuntimeOptions,
) -> Result<i32, RuntimeError> {
    let identity = identity::identity_from_env()?;
    if std::process::id() != 1 {
        supervisor::become_subreaper()?;
    }
    let client = client::client(opts.kubeconfig.as_deref()).await?;
    let signals = SignalEvents::listen()?;
    run_with(adapter, opts, identity, client, signals).await
}

/// Runs the pilot with a given identity, client and signal source (tests, embedding).
pub async fn run_with<A: DatabaseAdapter>(
    adapter: A,
    opts: RuntimeOptions,
    identity: Identity,
    client: kube::Client,
    signals: SignalEvents,
) -> Result<i32, RuntimeError> {
    let metrics = Arc::new(Metrics::new());
    let probes = SharedProbes::new(
        ProbeLimits {
            max_age: opts.observation_max_age,
            startup_grace: opts.startup_grace,
        },
        metrics.clone(),
    );
    for (probe, port) in [
        (Probe::Liveness, opts.liveness_port),
        (Probe::Readiness, opts.readiness_port),
    ] {
        let addr = probes::spawn_server(
            probe,
            SocketAddr::new(opts.probe_address, port),
            probes.clone(),
        )
        .await?;
        tracing::info!(?probe, %addr, "probe server listening");
    }
    let api: Api<Pilot> = Api::namespaced(client, &identity.namespace);
    let pilots = client::watch_own_pilot(api.clone(), &identity.pod_name);
    let mut rt = Runtime {
        adapter: Arc::new(adapter),
        opts,
        identity,
        api,
        pilots,
        signals,
        probes,
        metrics,
        pilot: Pilot::default(),
    };
    Ok(rt.run().await)
}

/// What the status writer is told.
#[derive(Clone, Debug)]
struct WriterInputs {
    seq: u64,
    lifecycle: Lifecycle,
    operation: Option<Operation>,
    generation: Option<i64>,
}

struct Runtime<A> {
    adapter: Arc<A>,
    opts: RuntimeOptions,
    identity: Identity,
    api: Api<Pilot>,
    pilots: watch::Receiver<Option<Pilot>>,
    signals: SignalEvents,
    probes: SharedProbes,
    metrics: Arc<Metrics>,
    /// The Pilot as last seen.
    pilot: Pilot,
}

/// The status writer's task and how to tell it things.
struct Writer {
    inputs: watch::Sender<WriterInputs>,
    done: watch::Receiver<u64>,
}

impl Writer {
    fn update(&self, f: impl FnOnce(&mut WriterInputs)) -> u64 {
        let mut seq = 0;
        self.inputs.send_modify(|i| {
            f(i);
            i.seq += 1;
            seq = i.seq;
        });
        seq
    }

    /// Waits (bounded) until the writer has handled the inputs up to `seq`.
    async fn flush(&self, seq: u64) {
        let mut done = self.done.clone();
        let wait = done.wait_for(|d| *d >= seq);
        if tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .is_err()
        {
            tracing::warn!("the last status write did not finish in time");
        }
    }
}

impl<A: DatabaseAdapter> Runtime<A> {
    fn context(&self) -> PilotContext {
        context(&self.identity, &self.opts, &self.pilots)
    }

    async fn run(&mut self) -> i32 {
        // 1. Wait for the Pilot (or a stop).
        tracing::info!(pilot = %self.identity.pod_name, namespace = %self.identity.namespace, "waiting for own Pilot");
        loop {
            tokio::select! {
                changed = self.pilots.wait_for(Option::is_some) => match changed {
                    Ok(p) => {
                        self.pilot = p.clone().unwrap_or_default();
                        break;
                    }
                    Err(_) => return 1,
                },
                Some(sig) = self.signals.recv() => if is_stop(sig) {
                    tracing::info!("stopped before the Pilot was seen");
                    return 0;
                },
            }
        }
        tracing::info!(generation = ?self.pilot.metadata.generation, "own Pilot seen");
        let now = now_time();
        let resumed = self
            .pilot
            .status
            .operation
            .as_ref()
            .and_then(|s| operation::from_status(s, &now));
        let mut op = operation::on_request(
            resumed.as_ref(),
            operation::requested_text(self.pilot.spec.requested_state.as_deref()),
            &now,
        );
        // Observations wake the status writer, so a change reaches the Pilot at once.
        let (obs_tx, obs_rx) = watch::channel::<Option<Observation>>(None);
        let writer = self.spawn_writer(&op, obs_rx.clone());

        // 2. The data marker.
        let expected = DataMarker::expected(
            &self.identity.namespace,
            &self.identity.pod_name,
            Some(&self.pilot),
        );
        let mut marker = match marker::read(&self.opts.data_dir) {
            Ok(found) => marker::check(found.as_ref(), &expected),
            Err(e) => MarkerCheck::Refused(e.to_string()),
        };
        if let MarkerCheck::Allowed(m) = &marker
            && let Err(e) = marker::write(&self.opts.data_dir, m)
        {
            marker = MarkerCheck::Refused(format!("writing the data marker: {e}"));
        }
        let marker = match marker {
            MarkerCheck::Allowed(m) => m,
            MarkerCheck::Refused(why) => {
                tracing::error!(reason = %why, "not starting the database");
                return self.idle(&writer, Lifecycle::Refused(why), 0).await;
            }
        };

        // 3. Prepare and start.
        let ctx = self.context();
        let start = match std::fs::create_dir_all(&self.opts.config_dir) {
            Ok(()) => self.adapter.prepare(&ctx).await.map_err(|e| e.to_string()),
            Err(e) => Err(format!("creating {}: {e}", self.opts.config_dir.display())),
        };
        let child = start.and_then(|cmd| Supervisor::spawn(&cmd).map_err(|e| e.to_string()));
        let child = match child {
            Ok(child) => child,
            Err(why) => {
                tracing::error!(reason = %why, "the database could not be started");
                let lifecycle = Lifecycle::PrepareFailed(why);
                self.probes.set_lifecycle(lifecycle.clone());
                let seq = writer.update(|i| i.lifecycle = lifecycle);
                writer.flush(seq).await;
                return 1;
            }
        };
        // Should this future be dropped (embedding, tests), the database goes with it.
        let _kill_on_drop = KillOnDrop(child.clone());
        self.metrics.process_up(true);
        self.probes.set_lifecycle(Lifecycle::Running);
        writer.update(|i| i.lifecycle = Lifecycle::Running);

        // 4. Observe, perform, supervise.
        let observer = tokio::spawn(observe_loop(
            self.adapter.clone(),
            self.identity.clone(),
            self.opts.clone(),
            self.pilots.clone(),
            self.probes.clone(),
            self.metrics.clone(),
            obs_tx,
        ));
        let (op_tx, op_rx) = watch::channel(op.clone());
        let (progress_tx, mut progress_rx) = mpsc::unbounded_channel();
        let operator = tokio::spawn(perform_loop(
            self.adapter.clone(),
            self.identity.clone(),
            self.opts.clone(),
            self.pilots.clone(),
            op_rx,
            obs_rx,
            progress_tx,
        ));
        let mut graceful_stop = false;
        let mut marked_decommissioned = false;
        let code = loop {
            tokio::select! {
                code = child.wait() => break code,
                Some(sig) = self.signals.recv() => match sig {
                    Signal::SIGTERM if !graceful_stop => {
                        graceful_stop = true;
                        tracing::info!("SIGTERM: graceful stop, then SIGTERM to the database");
                        operator.abort();
                        self.probes.set_lifecycle(Lifecycle::Stopping);
                        writer.update(|i| i.lifecycle = Lifecycle::Stopping);
                        let adapter = self.adapter.clone();
                        let ctx = self.context();
                        let child = child.clone();
                        let bound = self.opts.shutdown_timeout;
                        let stop_timeout = self.opts.stop_timeout;
                        tokio::spawn(async move {
                            match tokio::time::timeout(bound, adapter.shutdown(&ctx)).await {
                                Ok(Ok(())) => tracing::info!("graceful stop done"),
                                Ok(Err(e)) => tracing::warn!(error = %e, "graceful stop failed"),
                                Err(_) => tracing::warn!(?bound, "graceful stop timed out"),
                            }
                            if let Err(e) = child.signal(Signal::SIGTERM) {
                                tracing::warn!(error = %e, "forwarding SIGTERM");
                            }
                            if tokio::time::timeout(stop_timeout, child.wait()).await.is_err() {
                                tracing::warn!(?stop_timeout, "the database did not exit after SIGTERM: SIGKILL");
                                if let Err(e) = child.signal(Signal::SIGKILL) {
                                    tracing::warn!(error = %e, "sending SIGKILL");
                                }
                            }
                        });
                    }
                    sig => {
                        tracing::info!(signal = %sig, "forwarding");
                        if let Err(e) = child.signal(sig) {
                            tracing::warn!(error = %e, "forwarding a signal");
                        }
                    }
                },
                Ok(()) = self.pilots.changed() => {
                    let Some(pilot) = self.pilots.borrow_and_update().clone() else { continue };
                    let next = operation::on_request(
                        Some(&op),
                        operation::requested_text(pilot.spec.requested_state.as_deref()),
                        &now_time(),
                    );
                    if next != op {
                        tracing::info!(requested = %next.requested, phase = next.phase.as_str(), "requested state changed");
                        op = next;
                        op_tx.send_replace(op.clone());
                    }
                    let generation = pilot.metadata.generation;
                    self.pilot = pilot;
                    let op = op.clone();
                    writer.update(|i| {
                        i.operation = Some(op);
                        i.generation = generation;
                    });
                }
                Some((state, progress)) = progress_rx.recv() => {
                    let next = operation::on_progress(&op, state, &progress, &now_time());
                    if next != op {
                        if operation::to_status(&next) == operation::to_status(&op) {
                            tracing::debug!(state = %state, message = %next.message, "re-attempt failed the same way");
                        } else {
                            tracing::info!(state = %state, phase = next.phase.as_str(), message = %next.message, "operation progress");
                        }
                        op = next;
                        op_tx.send_replace(op.clone());
                        let op = op.clone();
                        writer.update(|i| i.operation = Some(op));
                    }
                    if op.state == Some(RequestedState::Decommissioned)
                        && op.phase == Phase::Complete
                        && !marked_decommissioned
                    {
                        let done = DataMarker { decommissioned: true, ..marker.clone() };
                        match marker::write(&self.opts.data_dir, &done) {
                            Ok(()) => {
                                marked_decommissioned = true;
                                tracing::info!("data marker says decommissioned");
                            }
                            Err(e) => tracing::error!(error = %e, "marking the data decommissioned"),
                        }
                    }
                }
            }
        };
        observer.abort();
        operator.abort();
        self.metrics.process_up(false);
        let code = final_exit_code(code, graceful_stop);
        tracing::info!(code, "database exited; pilot exits");
        let lifecycle = Lifecycle::Exited(code);
        self.probes.set_lifecycle(lifecycle.clone());
        let seq = writer.update(|i| i.lifecycle = lifecycle);
        writer.flush(seq).await;
        code
    }

    /// Stays up without a database (so the status and probes say why) until stopped.
    async fn idle(&mut self, writer: &Writer, lifecycle: Lifecycle, code: i32) -> i32 {
        self.probes.set_lifecycle(lifecycle.clone());
        writer.update(|i| i.lifecycle = lifecycle);
        loop {
            tokio::select! {
                Some(sig) = self.signals.recv() => if is_stop(sig) { return code },
                Ok(()) = self.pilots.changed() => {
                    let generation = self.pilots.borrow_and_update().as_ref().and_then(|p| p.metadata.generation);
                    writer.update(|i| i.generation = generation);
                }
                else => return code,
            }
        }
    }

    fn spawn_writer(
        &self,
        op: &Operation,
        mut observations: watch::Receiver<Option<Observation>>,
    ) -> Writer {
        let (inputs_tx, mut inputs_rx) = watch::channel(WriterInputs {
            seq: 0,
            lifecycle: Lifecycle::WaitingForPilot,
            operation: Some(op.clone()),
            generation: self.pilot.metadata.generation,
        });
        let (done_tx, done_rx) = watch::channel(0u64);
        let mut status = StatusWriter::new(
            self.api.clone(),
            &self.identity.pod_name,
            self.pilot.status.clone(),
            self.opts.heartbeat_interval,
        );
        let probes = self.probes.clone();
        let metrics = self.metrics.clone();
        let max_age = self.opts.observation_max_age;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                let inputs = inputs_rx.borrow_and_update().clone();
                let snapshot = probes.snapshot();
                let observation = snapshot.fresh(Instant::now(), max_age);
                let facts = StatusFacts {
                    lifecycle: &inputs.lifecycle,
                    observation,
                    operation: inputs.operation.as_ref(),
                    generation: inputs.generation,
                };
                let started = Instant::now();
                match status.sync(&facts, now_time()).await {
                    Ok(written) => {
                        if let Some(reason) = written {
                            metrics.status_written(reason, started.elapsed());
                            tracing::debug!(reason = reason.as_str(), "status written");
                        }
                        if failing {
                            tracing::info!("status writes work again");
                        }
                        failing = false;
                        done_tx.send_replace(inputs.seq);
                    }
                    Err(e) => {
                        metrics.status_write_failed();
                        if !failing {
                            tracing::warn!(error = %e, "status write failed; retrying every second");
                        }
                        failing = true;
                    }
                }
                tokio::select! {
                    changed = inputs_rx.changed() => if changed.is_err() { break },
                    Ok(()) = observations.changed() => {},
                    _ = tick.tick() => {},
                }
            }
        });
        Writer {
            inputs: inputs_tx,
            done: done_rx,
        }
    }
}

/// Kills the database process if the runtime is dropped while it runs.
struct KillOnDrop(Supervisor);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0.exit_code().is_none() {
            let _ = self.0.signal(Signal::SIGKILL);
        }
    }
}

fn is_stop(sig: Signal) -> bool {
    matches!(sig, Signal::SIGTERM | Signal::SIGINT)
}

fn now_time() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

fn context(
    identity: &Identity,
    opts: &RuntimeOptions,
    pilots: &watch::Receiver<Option<Pilot>>,
) -> PilotContext {
    PilotContext {
        identity: identity.clone(),
        pilot: pilots.borrow().clone(),
        config_dir: opts.config_dir.clone(),
        data_dir: opts.data_dir.clone(),
    }
}

/// Observes the database every `observe_interval`, bounded by `observe_timeout`.
async fn observe_loop<A: DatabaseAdapter>(
    adapter: Arc<A>,
    identity: Identity,
    opts: RuntimeOptions,
    pilots: watch::Receiver<Option<Pilot>>,
    probes: SharedProbes,
    metrics: Arc<Metrics>,
    out: watch::Sender<Option<Observation>>,
) {
    let mut tick = tokio::time::interval(opts.observe_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let ctx = context(&identity, &opts, &pilots);
        let started = Instant::now();
        let (obs, timed_out) =
            match tokio::time::timeout(opts.observe_timeout, adapter.observe(&ctx)).await {
                Ok(obs) => (obs, false),
                Err(_) => (
                    Observation::unknown(format!(
                        "the database did not answer within {:?}",
                        opts.observe_timeout
                    )),
                    true,
                ),
            };
        metrics.observed(&obs, started.elapsed(), timed_out);
        probes.observed(obs.clone());
        out.send_replace(Some(obs));
    }
}

/// Calls `perform` after each observation while the operation is under way, and again every
/// `operation_retry_interval` while it is `Failed`.
async fn perform_loop<A: DatabaseAdapter>(
    adapter: Arc<A>,
    identity: Identity,
    opts: RuntimeOptions,
    pilots: watch::Receiver<Option<Pilot>>,
    mut ops: watch::Receiver<Operation>,
    mut observations: watch::Receiver<Option<Observation>>,
    progress: mpsc::UnboundedSender<(RequestedState, Progress)>,
) {
    loop {
        let op = ops.borrow_and_update().clone();
        match operation::next_step(&op, &now_time(), opts.operation_retry_interval) {
            NextStep::Idle => {
                if ops.changed().await.is_err() {
                    return;
                }
            }
            NextStep::RetryIn(wait) => {
                tokio::select! {
                    changed = ops.changed() => if changed.is_err() { return },
                    () = tokio::time::sleep(wait) => {},
                }
            }
            NextStep::Perform(state) => {
                // One step per observation.
                if observations.changed().await.is_err() {
                    return;
                }
                let Some(last) = observations.borrow_and_update().clone() else {
                    continue;
                };
                let ctx = context(&identity, &opts, &pilots);
                let result = adapter.perform(&ctx, state, &last).await;
                // A failure, a completion, or any report on a failed operation always changes
                // the operation (at least its last attempt): wait for that before the next
                // step, so a failure is not performed again before the retry interval.
                let changes_op = result.is_final() || op.phase == Phase::Failed;
                if progress.send((state, result)).is_err() {
                    return;
                }
                if changes_op {
                    let changed = tokio::time::timeout(Duration::from_secs(5), ops.changed());
                    if let Ok(Err(_)) = changed.await {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases = [
            ("30s", Ok(Duration::from_secs(30))),
            ("30", Ok(Duration::from_secs(30))),
            ("500ms", Ok(Duration::from_millis(500))),
            ("2m", Ok(Duration::from_secs(120))),
            ("1h", Ok(Duration::from_secs(3600))),
            ("1.5s", Ok(Duration::from_millis(1500))),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), want, "{text}");
        }
        assert!(parse_duration("3 days").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn exit_codes() {
        assert_eq!(final_exit_code(143, true), 0);
        assert_eq!(final_exit_code(143, false), 143);
        assert_eq!(final_exit_code(1, true), 1);
        assert_eq!(final_exit_code(0, false), 0);
    }
}
