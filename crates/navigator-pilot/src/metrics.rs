//! The pilot's Prometheus figures (`/metrics` on both probe ports): what the pilot does
//! (observations, their latency, status writes, heartbeats, the database process) and what the
//! adapter reports about the database (up, ready, and per-database facts).

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::adapter::{NodeFacts, Observation};

type Labels = Vec<(String, String)>;

/// The pilot's metrics and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    observations: Counter,
    observe_timeouts: Counter,
    observe_seconds: Histogram,
    status_writes: Family<Labels, Counter>,
    status_write_errors: Counter,
    status_write_seconds: Histogram,
    heartbeats: Counter,
    process_up: Gauge,
    restarts: Counter,
    database_up: Gauge,
    database_ready: Gauge,
    database_load_bytes: Gauge<f64, AtomicU64>,
    database_tokens: Gauge,
    database_peers: Family<Labels, Gauge>,
    database_documents: Gauge,
    database_shards: Gauge,
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
        let observations = Counter::default();
        let observe_timeouts = Counter::default();
        let observe_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        let status_writes = Family::<Labels, Counter>::default();
        let status_write_errors = Counter::default();
        let status_write_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        let heartbeats = Counter::default();
        let process_up = Gauge::default();
        let restarts = Counter::default();
        let database_up = Gauge::default();
        let database_ready = Gauge::default();
        let database_load_bytes = Gauge::<f64, AtomicU64>::default();
        let database_tokens = Gauge::default();
        let database_peers = Family::<Labels, Gauge>::default();
        let database_documents = Gauge::default();
        let database_shards = Gauge::default();
        let pilot = registry.sub_registry_with_prefix("navigator_pilot");
        pilot.register(
            "observations",
            "Observations of the database",
            observations.clone(),
        );
        pilot.register(
            "observe_timeouts",
            "Observations that did not finish in time",
            observe_timeouts.clone(),
        );
        pilot.register(
            "observe_duration_seconds",
            "Time one observation of the database took",
            observe_seconds.clone(),
        );
        pilot.register(
            "status_writes",
            "Writes of the Pilot status, by reason (changed, heartbeat)",
            status_writes.clone(),
        );
        pilot.register(
            "status_write_errors",
            "Status writes the API server refused or did not answer",
            status_write_errors.clone(),
        );
        pilot.register(
            "status_write_duration_seconds",
            "Time one status write (a PATCH of the status subresource) took",
            status_write_seconds.clone(),
        );
        pilot.register(
            "heartbeats",
            "Status writes made only because the heartbeat was due",
            heartbeats.clone(),
        );
        pilot.register(
            "database_process_up",
            "1 while the database process runs",
            process_up.clone(),
        );
        pilot.register(
            "database_restarts",
            "Restarts of the database process by the pilot (always 0: the kubelet restarts)",
            restarts.clone(),
        );
        let db = registry.sub_registry_with_prefix("navigator_database");
        db.register(
            "up",
            "1 when the database answered the last observation",
            database_up.clone(),
        );
        db.register(
            "ready",
            "1 when the database served clients at the last observation",
            database_ready.clone(),
        );
        db.register(
            "load_bytes",
            "Data the node holds (Cassandra)",
            database_load_bytes.clone(),
        );
        db.register(
            "tokens",
            "Tokens the node owns (Cassandra)",
            database_tokens.clone(),
        );
        db.register(
            "peers",
            "Peers in the node's view by state (Cassandra)",
            database_peers.clone(),
        );
        db.register(
            "documents",
            "Documents on the node (Elasticsearch)",
            database_documents.clone(),
        );
        db.register(
            "shards",
            "Shards on the node (Elasticsearch)",
            database_shards.clone(),
        );
        Self {
            registry,
            observations,
            observe_timeouts,
            observe_seconds,
            status_writes,
            status_write_errors,
            status_write_seconds,
            heartbeats,
            process_up,
            restarts,
            database_up,
            database_ready,
            database_load_bytes,
            database_tokens,
            database_peers,
            database_documents,
            database_shards,
        }
    }

    /// Records one observation, how long it took and whether it timed out.
    pub fn observed(&self, obs: &Observation, took: Duration, timed_out: bool) {
        self.observations.inc();
        if timed_out {
            self.observe_timeouts.inc();
        }
        self.observe_seconds.observe(took.as_secs_f64());
        self.database_up.set(i64::from(obs.alive));
        self.database_ready.set(i64::from(obs.ready));
        match &obs.facts {
            NodeFacts::Unknown => {}
            NodeFacts::Cassandra(c) => {
                if let Some(load) = c.load_bytes {
                    #[allow(clippy::cast_precision_loss)]
                    self.database_load_bytes.set(load as f64);
                }
                if let Some(tokens) = c.tokens {
                    self.database_tokens.set(i64::from(tokens));
                }
                if let Some(peers) = &c.peers {
                    for (state, list) in [
                        ("live", &peers.live),
                        ("unreachable", &peers.unreachable),
                        ("joining", &peers.joining),
                        ("leaving", &peers.leaving),
                        ("moving", &peers.moving),
                    ] {
                        let labels = vec![("state".to_owned(), state.to_owned())];
                        self.database_peers
                            .get_or_create(&labels)
                            .set(i64::try_from(list.len()).unwrap_or(i64::MAX));
                    }
                }
            }
            NodeFacts::Elasticsearch(e) => {
                if let Some(documents) = e.documents {
                    self.database_documents.set(documents);
                }
                if let Some(shards) = e.shards {
                    self.database_shards.set(shards);
                }
            }
        }
    }

    /// Records a status write, its reason and how long it took.
    pub fn status_written(&self, reason: crate::status::WriteReason, took: Duration) {
        self.status_write_seconds.observe(took.as_secs_f64());
        let labels = vec![("reason".to_owned(), reason.as_str().to_owned())];
        self.status_writes.get_or_create(&labels).inc();
        if reason == crate::status::WriteReason::Heartbeat {
            self.heartbeats.inc();
        }
    }

    /// Records a failed status write.
    pub fn status_write_failed(&self) {
        self.status_write_errors.inc();
    }

    /// Records whether the database process runs.
    pub fn process_up(&self, up: bool) {
        self.process_up.set(i64::from(up));
    }

    /// The figures in Prometheus' text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// Restarts by the pilot: there are none, the counter exists so dashboards can say so.
    pub fn restarts(&self) -> u64 {
        self.restarts.get()
    }
}
