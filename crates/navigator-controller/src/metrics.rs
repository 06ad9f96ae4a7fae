//! The controller's Prometheus figures and the HTTP endpoint serving them with `/healthz` and
//! `/readyz`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The metrics endpoint could not be served.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The address could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("serving metrics: {0}")]
    Serve(#[source] std::io::Error),
}

type Labels = Vec<(String, String)>;

/// The controller's metrics and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reconciles: Family<Labels, Counter>,
    reconcile_errors: Family<Labels, Counter>,
    actions: Family<Labels, Counter>,
    reconcile_seconds: Histogram,
    status_writes: Counter,
    clusters: Family<Labels, Gauge>,
    reconciles_in_flight: Gauge,
    leader: Gauge,
    ready: AtomicBool,
    kinds_filled: AtomicUsize,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every figure.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let reconciles = Family::<Labels, Counter>::default();
        let reconcile_errors = Family::<Labels, Counter>::default();
        let actions = Family::<Labels, Counter>::default();
        let reconcile_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let status_writes = Counter::default();
        let clusters = Family::<Labels, Gauge>::default();
        let reconciles_in_flight = Gauge::default();
        let leader = Gauge::default();
        let r = registry.sub_registry_with_prefix("navigator_controller");
        r.register(
            "reconciles",
            "Reconciles of a cluster, by result (action, wait, idle, error)",
            reconciles.clone(),
        );
        r.register(
            "reconcile_errors",
            "Reconciles that failed, by the kind of error",
            reconcile_errors.clone(),
        );
        r.register(
            "actions",
            "Actions carried out, by kind (CreateNodePool, ScaleOut, ...)",
            actions.clone(),
        );
        r.register(
            "reconcile_duration_seconds",
            "Time one reconcile took (observe, plan, act, status)",
            reconcile_seconds.clone(),
        );
        r.register(
            "status_writes",
            "Writes of a cluster's status (only made when it changed)",
            status_writes.clone(),
        );
        r.register(
            "clusters",
            "Clusters known to the controller, by kind (the work queue's size is not exposed by kube-rs)",
            clusters.clone(),
        );
        r.register(
            "reconciles_in_flight",
            "Reconciles running now",
            reconciles_in_flight.clone(),
        );
        r.register(
            "leader",
            "1 while this process holds the leader Lease (or runs without election)",
            leader.clone(),
        );
        Metrics {
            registry,
            reconciles,
            reconcile_errors,
            actions,
            reconcile_seconds,
            status_writes,
            clusters,
            reconciles_in_flight,
            leader,
            ready: AtomicBool::new(false),
            kinds_filled: AtomicUsize::new(0),
        }
    }

    /// A reconcile started; the guard records its duration and result when dropped.
    pub fn reconcile_started(self: &Arc<Self>) -> ReconcileTimer {
        self.reconciles_in_flight.inc();
        ReconcileTimer {
            metrics: Arc::clone(self),
            started: std::time::Instant::now(),
            result: "error",
        }
    }

    /// A reconcile failed with an error of `kind`.
    pub fn reconcile_error(&self, kind: &str) {
        self.reconcile_errors
            .get_or_create(&vec![("kind".to_owned(), kind.to_owned())])
            .inc();
    }

    /// An action of `kind` was carried out.
    pub fn action(&self, kind: &str) {
        self.actions
            .get_or_create(&vec![("action".to_owned(), kind.to_owned())])
            .inc();
    }

    /// A status was written.
    pub fn status_written(&self) {
        self.status_writes.inc();
    }

    /// The number of clusters of `kind` (e.g. `CassandraCluster`) known.
    pub fn set_clusters(&self, kind: &str, n: usize) {
        self.clusters
            .get_or_create(&vec![("kind".to_owned(), kind.to_owned())])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Whether this process leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Whether `/readyz` answers OK: the caches are filled (or this process follows).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// The caches of one kind of cluster are filled; once those of `kinds` kinds are, the
    /// process is ready.
    pub fn kind_caches_filled(&self, kinds: usize) {
        let filled = self.kinds_filled.fetch_add(1, Ordering::Relaxed) + 1;
        if filled >= kinds {
            self.set_ready(true);
        }
    }

    /// The figures in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Records one reconcile's duration and result when dropped.
pub struct ReconcileTimer {
    metrics: Arc<Metrics>,
    started: std::time::Instant,
    result: &'static str,
}

impl ReconcileTimer {
    /// The reconcile's result: `action`, `wait`, `idle`, `skipped` (default `error`).
    pub fn set_result(&mut self, result: &'static str) {
        self.result = result;
    }
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        let m = &self.metrics;
        m.reconciles_in_flight.dec();
        m.reconcile_seconds
            .observe(self.started.elapsed().as_secs_f64());
        m.reconciles
            .get_or_create(&vec![("result".to_owned(), self.result.to_owned())])
            .inc();
    }
}

/// Binds the metrics address (at start-up, so a taken port fails the process at once).
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, MetricsError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
) -> Result<(), MetricsError> {
    let app = Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready_handler))
        .with_state(metrics);
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving /metrics, /healthz, /readyz");
    }
    axum::serve(listener, app)
        .await
        .map_err(MetricsError::Serve)
}

async fn metrics_handler(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
}

async fn ready_handler(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    if metrics.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "caches not filled yet")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_encoded_with_their_labels() {
        let m = Arc::new(Metrics::new());
        {
            let mut t = m.reconcile_started();
            t.set_result("action");
        }
        m.action("ScaleOut");
        m.reconcile_error("Execute");
        m.set_leader(true);
        m.set_clusters("CassandraCluster", 3);
        let text = m.encode();
        for want in [
            "navigator_controller_reconciles_total{result=\"action\"} 1",
            "navigator_controller_actions_total{action=\"ScaleOut\"} 1",
            "navigator_controller_reconcile_errors_total{kind=\"Execute\"} 1",
            "navigator_controller_leader 1",
            "navigator_controller_clusters{kind=\"CassandraCluster\"} 3",
            "navigator_controller_reconciles_in_flight 0",
            "navigator_controller_reconcile_duration_seconds_count 1",
        ] {
            assert!(text.contains(want), "{want} missing from\n{text}");
        }
    }
}
