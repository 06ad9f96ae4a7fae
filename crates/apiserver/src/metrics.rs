//! `/metrics` (Go's `apiserver/pkg/endpoints/metrics`): request counts and latencies by verb,
//! resource and code, in-flight and long-running (watch) gauges, watch event counts, and a
//! storage-latency family other crates record into. Prometheus/OpenMetrics text.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Encoding the registry as text failed.
    #[error("encoding metrics: {0}")]
    Encode(#[source] std::fmt::Error),
    /// The registry lock was poisoned by a panicking thread.
    #[error("metrics registry lock poisoned")]
    Poisoned,
}

/// Labels of `apiserver_request_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Kubernetes verb (upper-case `WATCH`, `LIST` … as Go reports them) or HTTP method for
    /// non-resource requests.
    pub verb: String,
    /// `All` for dry runs, else empty.
    pub dry_run: String,
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Resource.
    pub resource: String,
    /// Subresource.
    pub subresource: String,
    /// `namespace`, `cluster`, `resource` or empty for non-resource requests.
    pub scope: String,
    /// `apiserver`.
    pub component: String,
    /// HTTP status code.
    pub code: String,
}

/// Labels of the latency histogram and the long-running gauge (no `code`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestKindLabels {
    /// As in [`RequestLabels`].
    pub verb: String,
    /// As in [`RequestLabels`].
    pub dry_run: String,
    /// As in [`RequestLabels`].
    pub group: String,
    /// As in [`RequestLabels`].
    pub version: String,
    /// As in [`RequestLabels`].
    pub resource: String,
    /// As in [`RequestLabels`].
    pub subresource: String,
    /// As in [`RequestLabels`].
    pub scope: String,
    /// As in [`RequestLabels`].
    pub component: String,
}

impl RequestKindLabels {
    /// The counter labels for a finished request.
    pub fn with_code(&self, code: u16) -> RequestLabels {
        RequestLabels {
            verb: self.verb.clone(),
            dry_run: self.dry_run.clone(),
            group: self.group.clone(),
            version: self.version.clone(),
            resource: self.resource.clone(),
            subresource: self.subresource.clone(),
            scope: self.scope.clone(),
            component: self.component.clone(),
            code: code.to_string(),
        }
    }
}

/// Labels of `apiserver_current_inflight_requests`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InflightLabels {
    /// `readOnly` or `mutating`.
    pub request_kind: String,
}

/// Labels of `apiserver_watch_events_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WatchEventLabels {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Resource.
    pub resource: String,
}

/// Labels of `etcd_request_duration_seconds` / `etcd_requests_total` (Go's storage metrics).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StorageLabels {
    /// `get`, `list`, `create`, `update`, `delete`, `watch` …
    pub operation: String,
    /// The resource (Go's `type` label, e.g. `cassandraclusters.navigator.jetstack.io`).
    pub r#type: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
        10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
    ])
}

fn storage_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
        10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
    ])
}

/// Storage latency metrics, for the storage layer to record into (the "hook").
#[derive(Debug, Clone)]
pub struct StorageMetrics {
    durations: Family<StorageLabels, Histogram, fn() -> Histogram>,
    requests: Family<StorageLabels, Counter>,
}

impl StorageMetrics {
    /// Records one storage request.
    pub fn observe(&self, operation: &str, resource: &str, duration: Duration) {
        let labels = StorageLabels {
            operation: operation.to_owned(),
            r#type: resource.to_owned(),
        };
        self.durations
            .get_or_create(&labels)
            .observe(duration.as_secs_f64());
        self.requests.get_or_create(&labels).inc();
    }
}

/// The server's metrics and its registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestKindLabels, Histogram, fn() -> Histogram>,
    longrunning: Family<RequestKindLabels, Gauge>,
    inflight: Family<InflightLabels, Gauge>,
    dropped: Family<InflightLabels, Counter>,
    watch_events: Family<WatchEventLabels, Counter>,
    storage: StorageMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with the apiserver metrics registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "apiserver_request",
            "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
            requests.clone(),
        );
        let durations: Family<RequestKindLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "apiserver_request_duration_seconds",
            "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
            durations.clone(),
        );
        let longrunning = Family::<RequestKindLabels, Gauge>::default();
        registry.register(
            "apiserver_longrunning_requests",
            "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.",
            longrunning.clone(),
        );
        let inflight = Family::<InflightLabels, Gauge>::default();
        registry.register(
            "apiserver_current_inflight_requests",
            "Maximal number of currently used inflight request limit of this apiserver per request kind in last second.",
            inflight.clone(),
        );
        let dropped = Family::<InflightLabels, Counter>::default();
        registry.register(
            "apiserver_dropped_requests",
            "Number of requests dropped with 'Try again later' response",
            dropped.clone(),
        );
        let watch_events = Family::<WatchEventLabels, Counter>::default();
        registry.register(
            "apiserver_watch_events",
            "Number of events sent in watch clients",
            watch_events.clone(),
        );
        let storage_durations: Family<StorageLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(storage_histogram);
        registry.register(
            "etcd_request_duration_seconds",
            "Etcd request latency in seconds for each operation and object type.",
            storage_durations.clone(),
        );
        let storage_requests = Family::<StorageLabels, Counter>::default();
        registry.register(
            "etcd_requests",
            "Etcd request counts for each operation and object type.",
            storage_requests.clone(),
        );
        Self {
            registry: Arc::new(Mutex::new(registry)),
            requests,
            durations,
            longrunning,
            inflight,
            dropped,
            watch_events,
            storage: StorageMetrics {
                durations: storage_durations,
                requests: storage_requests,
            },
        }
    }

    /// Lets other components register their own metrics in the same registry.
    ///
    /// # Errors
    /// [`MetricsError::Poisoned`] if the registry lock was poisoned.
    pub fn register(&self, f: impl FnOnce(&mut Registry)) -> Result<(), MetricsError> {
        let mut reg = self.registry.lock().map_err(|_| MetricsError::Poisoned)?;
        f(&mut reg);
        Ok(())
    }

    /// The storage metrics handle, for the storage layer.
    pub fn storage(&self) -> StorageMetrics {
        self.storage.clone()
    }

    /// Records a finished request.
    pub fn observe_request(&self, labels: &RequestKindLabels, code: u16, elapsed: Duration) {
        self.requests.get_or_create(&labels.with_code(code)).inc();
        self.durations
            .get_or_create(labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a request in flight until the guard drops.
    pub fn inflight(&self, mutating: bool) -> GaugeGuard {
        let kind = if mutating { "mutating" } else { "readOnly" };
        let gauge = self
            .inflight
            .get_or_create(&InflightLabels {
                request_kind: kind.to_owned(),
            })
            .clone();
        gauge.inc();
        GaugeGuard(gauge)
    }

    /// Counts a request refused by the in-flight limit (`readOnly` or `mutating`).
    pub fn dropped_request(&self, request_kind: &str) {
        self.dropped
            .get_or_create(&InflightLabels {
                request_kind: request_kind.to_owned(),
            })
            .inc();
    }

    /// Counts a long-running request (a watch) until the guard drops.
    pub fn longrunning(&self, labels: &RequestKindLabels) -> GaugeGuard {
        let gauge = self.longrunning.get_or_create(labels).clone();
        gauge.inc();
        GaugeGuard(gauge)
    }

    /// Counts one watch event sent.
    pub fn watch_event(&self, group: &str, version: &str, resource: &str) {
        self.watch_events
            .get_or_create(&WatchEventLabels {
                group: group.to_owned(),
                version: version.to_owned(),
                resource: resource.to_owned(),
            })
            .inc();
    }

    /// The registry in OpenMetrics text format.
    ///
    /// # Errors
    /// [`MetricsError`] if encoding fails or the lock is poisoned.
    pub fn encode(&self) -> Result<String, MetricsError> {
        let reg = self.registry.lock().map_err(|_| MetricsError::Poisoned)?;
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &reg).map_err(MetricsError::Encode)?;
        Ok(out)
    }
}

/// Decrements a gauge when dropped.
#[derive(Debug)]
pub struct GaugeGuard(Gauge);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> RequestKindLabels {
        RequestKindLabels {
            verb: "LIST".into(),
            dry_run: String::new(),
            group: "g.io".into(),
            version: "v1".into(),
            resource: "things".into(),
            subresource: String::new(),
            scope: "namespace".into(),
            component: "apiserver".into(),
        }
    }

    #[test]
    fn encodes_go_metric_names() {
        let m = Metrics::new();
        m.observe_request(&labels(), 200, Duration::from_millis(3));
        let guard = m.longrunning(&labels());
        m.storage()
            .observe("get", "things.g.io", Duration::from_millis(1));
        m.watch_event("g.io", "v1", "things");
        m.dropped_request("mutating");
        let text = m.encode().unwrap();
        assert!(
            text.contains(r#"apiserver_dropped_requests_total{request_kind="mutating"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"apiserver_request_total{verb="LIST",dry_run="",group="g.io",version="v1",resource="things",subresource="",scope="namespace",component="apiserver",code="200"} 1"#), "{text}");
        assert!(text.contains("apiserver_request_duration_seconds_bucket{"));
        assert!(text.contains("apiserver_longrunning_requests{") && text.contains("} 1\n"));
        assert!(
            text.contains(
                r#"etcd_request_duration_seconds_count{operation="get",type="things.g.io"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("apiserver_watch_events_total{"));
        drop(guard);
        assert!(m.encode().unwrap().contains(
            r#"apiserver_longrunning_requests{verb="LIST",dry_run="",group="g.io",version="v1",resource="things",subresource="",scope="namespace",component="apiserver"} 0"#
        ));
    }
}
