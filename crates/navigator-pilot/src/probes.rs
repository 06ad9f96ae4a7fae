//! Liveness (port 12000) and readiness (port 12001), answered from the adapter's last
//! observation with a bounded age, plus `/metrics` on both ports. The verdict is a pure function
//! of the pilot's lifecycle and the last observation; the servers only read shared state.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use navigator_api::pilot_contract::{LIVENESS_PATH, READINESS_PATH};

use crate::adapter::Observation;
use crate::metrics::Metrics;
use crate::status::Lifecycle;

/// Which probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The pilot and the database answer (a failure restarts the container).
    Liveness,
    /// The database serves clients (a failure takes the pod out of Services).
    Readiness,
}

/// Bounds on what counts as a fresh observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeLimits {
    /// Observations older than this count as none.
    pub max_age: Duration,
    /// How long after start a database that has never answered still counts as alive.
    pub startup_grace: Duration,
}

/// A probe's answer: pass or fail, and the reason (the response body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Pass (200) or fail (503).
    pub ok: bool,
    /// Why, for the body and the kubelet's event.
    pub reason: String,
}

fn pass(reason: impl Into<String>) -> Verdict {
    Verdict {
        ok: true,
        reason: reason.into(),
    }
}

fn fail(reason: impl Into<String>) -> Verdict {
    Verdict {
        ok: false,
        reason: reason.into(),
    }
}

/// What the probes read: the lifecycle, the last observation and when it was made, when the
/// database started, and whether it has ever been seen alive.
#[derive(Clone, Debug)]
pub struct ProbeState {
    /// The database process's lifecycle.
    pub lifecycle: Lifecycle,
    /// The last observation and when it was made.
    pub last: Option<(Observation, Instant)>,
    /// When the database process was started.
    pub started_at: Option<Instant>,
    /// The database has answered alive at least once since it started.
    pub seen_alive: bool,
}

impl Default for ProbeState {
    fn default() -> Self {
        Self {
            lifecycle: Lifecycle::WaitingForPilot,
            last: None,
            started_at: None,
            seen_alive: false,
        }
    }
}

impl ProbeState {
    /// The last observation, when younger than `max_age` at `now`.
    pub fn fresh(&self, now: Instant, max_age: Duration) -> Option<&Observation> {
        self.last
            .as_ref()
            .filter(|(_, at)| now.saturating_duration_since(*at) <= max_age)
            .map(|(obs, _)| obs)
    }
}

/// The verdict of `probe` at `now`.
pub fn verdict(probe: Probe, state: &ProbeState, now: Instant, limits: ProbeLimits) -> Verdict {
    let fresh = state.fresh(now, limits.max_age);
    let age = state
        .last
        .as_ref()
        .map(|(_, at)| now.saturating_duration_since(*at));
    let in_grace = !state.seen_alive
        && state
            .started_at
            .is_some_and(|at| now.saturating_duration_since(at) < limits.startup_grace);
    let not_running = |what: &str| match probe {
        // The pilot itself is alive: a restart would not help, the status says why.
        Probe::Liveness => pass(format!("pilot alive; {what}")),
        Probe::Readiness => fail(what.to_owned()),
    };
    match &state.lifecycle {
        Lifecycle::WaitingForPilot => not_running("waiting for the Pilot object"),
        Lifecycle::Refused(why) => not_running(&format!("database start refused: {why}")),
        Lifecycle::PrepareFailed(why) => not_running(&format!("preparing failed: {why}")),
        Lifecycle::Exited(code) => fail(format!("the database exited with status {code}")),
        Lifecycle::Stopping => match probe {
            Probe::Liveness => pass("stopping"),
            Probe::Readiness => fail("stopping"),
        },
        Lifecycle::Running => match (probe, fresh) {
            (Probe::Liveness, Some(obs)) if obs.alive => pass("alive"),
            (Probe::Readiness, Some(obs)) if obs.ready => pass("ready"),
            (Probe::Liveness, _) if in_grace => pass("starting"),
            (_, Some(obs)) => fail(obs.detail.clone()),
            (_, None) => fail(match age {
                Some(age) => format!("last observation is {}s old", age.as_secs()),
                None => "no observation yet".to_owned(),
            }),
        },
    }
}

/// The state shared between the runtime and the probe servers.
#[derive(Clone, Debug)]
pub struct SharedProbes {
    state: Arc<Mutex<ProbeState>>,
    limits: ProbeLimits,
    metrics: Arc<Metrics>,
}

impl SharedProbes {
    /// Shared state starting in [`Lifecycle::WaitingForPilot`].
    pub fn new(limits: ProbeLimits, metrics: Arc<Metrics>) -> Self {
        Self {
            state: Arc::new(Mutex::new(ProbeState::default())),
            limits,
            metrics,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut ProbeState) -> T) -> T {
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Sets the lifecycle; entering `Running` starts the startup grace.
    pub fn set_lifecycle(&self, lifecycle: Lifecycle) {
        self.with(|s| {
            if lifecycle == Lifecycle::Running && s.lifecycle != Lifecycle::Running {
                s.started_at = Some(Instant::now());
                s.seen_alive = false;
            }
            s.lifecycle = lifecycle;
        });
    }

    /// Records an observation made now.
    pub fn observed(&self, obs: Observation) {
        self.with(|s| {
            s.seen_alive |= obs.alive;
            s.last = Some((obs, Instant::now()));
        });
    }

    /// A copy of the state.
    pub fn snapshot(&self) -> ProbeState {
        self.with(|s| s.clone())
    }

    /// The probe limits.
    pub fn limits(&self) -> ProbeLimits {
        self.limits
    }

    /// The verdict of `probe` now.
    pub fn verdict(&self, probe: Probe) -> Verdict {
        self.with(|s| verdict(probe, s, Instant::now(), self.limits))
    }

    /// The metrics served on `/metrics`.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}

/// Binding a probe port failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The address could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped.
    #[error("serving on {addr}: {source}")]
    Serve {
        /// The address.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The router of one probe port: the probe on its path, `/metrics`.
pub fn router(probe: Probe, shared: SharedProbes) -> Router {
    let path = match probe {
        Probe::Liveness => LIVENESS_PATH,
        Probe::Readiness => READINESS_PATH,
    };
    Router::new()
        .route(
            path,
            get(move |State(shared): State<SharedProbes>| async move {
                let v = shared.verdict(probe);
                let code = if v.ok {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                (code, format!("{}\n", v.reason))
            }),
        )
        .route(
            "/metrics",
            get(|State(shared): State<SharedProbes>| async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    shared.metrics.encode(),
                )
                    .into_response()
            }),
        )
        .with_state(shared)
}

/// Binds `addr` for `probe` and serves it in a background task. Returns the bound address
/// (useful with port 0).
pub async fn spawn_server(
    probe: Probe,
    addr: SocketAddr,
    shared: SharedProbes,
) -> Result<SocketAddr, ProbeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ProbeError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ProbeError::Bind { addr, source })?;
    let app = router(probe, shared);
    tokio::spawn(async move {
        if let Err(source) = axum::serve(listener, app).await {
            let e = ProbeError::Serve {
                addr: bound,
                source,
            };
            tracing::error!(error = %e, "probe server stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::NodeFacts;

    fn obs(alive: bool, ready: bool, detail: &str) -> Observation {
        Observation {
            alive,
            ready,
            facts: NodeFacts::Unknown,
            detail: detail.into(),
        }
    }

    #[test]
    fn table() {
        let t0 = Instant::now();
        let limits = ProbeLimits {
            max_age: Duration::from_secs(10),
            startup_grace: Duration::from_secs(60),
        };
        let running = |last: Option<(Observation, u64)>, seen_alive: bool| ProbeState {
            lifecycle: Lifecycle::Running,
            last: last.map(|(o, at)| (o, t0 + Duration::from_secs(at))),
            started_at: Some(t0),
            seen_alive,
        };
        let other = |lifecycle: Lifecycle| ProbeState {
            lifecycle,
            ..ProbeState::default()
        };
        // (name, state, seconds after t0, liveness, readiness, reason fragment)
        let cases = [
            (
                "waiting",
                other(Lifecycle::WaitingForPilot),
                1,
                true,
                false,
                "waiting",
            ),
            (
                "refused",
                other(Lifecycle::Refused("decommissioned".into())),
                1,
                true,
                false,
                "decommissioned",
            ),
            (
                "exited",
                other(Lifecycle::Exited(137)),
                1,
                false,
                false,
                "status 137",
            ),
            (
                "stopping",
                other(Lifecycle::Stopping),
                1,
                true,
                false,
                "stopping",
            ),
            (
                "no observation, in grace",
                running(None, false),
                5,
                true,
                false,
                "no observation yet",
            ),
            (
                "no observation, after grace",
                running(None, false),
                61,
                false,
                false,
                "no observation yet",
            ),
            (
                "starting, not alive yet",
                running(Some((obs(false, false, "jolokia refused"), 3)), false),
                5,
                true,
                false,
                "jolokia refused",
            ),
            (
                "alive, not ready",
                running(Some((obs(true, false, "JOINING"), 70)), true),
                71,
                true,
                false,
                "JOINING",
            ),
            (
                "ready",
                running(Some((obs(true, true, ""), 70)), true),
                71,
                true,
                true,
                "",
            ),
            (
                "stale",
                running(Some((obs(true, true, ""), 70)), true),
                81,
                false,
                false,
                "11s old",
            ),
            (
                "frozen after being alive",
                running(Some((obs(false, false, "jolokia timed out"), 30)), true),
                31,
                false,
                false,
                "timed out",
            ),
        ];
        for (name, state, at, live, ready, reason) in cases {
            let now = t0 + Duration::from_secs(at);
            let l = verdict(Probe::Liveness, &state, now, limits);
            let r = verdict(Probe::Readiness, &state, now, limits);
            assert_eq!((l.ok, r.ok), (live, ready), "{name}: {l:?} {r:?}");
            assert!(
                r.reason.contains(reason) || l.reason.contains(reason),
                "{name}: {l:?} {r:?} lack {reason:?}"
            );
        }
    }
}
