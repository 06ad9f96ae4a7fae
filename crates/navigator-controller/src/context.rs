//! What every reconcile shares: the client, settings, caches, events, metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use kube::Client;
use kube::runtime::reflector::Store;
use navigator_api::v1beta1::CassandraCluster;
use navigator_core::cassandra::settings::Settings;

use crate::admission::Admission;
use crate::events::Events;
use crate::expectations::Written;
use crate::metrics::Metrics;
use crate::observe::ClusterKey;
use crate::stores::Stores;

/// What every reconcile shares.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The planner's settings.
    pub settings: Settings,
    /// The child caches.
    pub stores: Stores,
    /// The CassandraCluster cache (the controller's own).
    pub clusters: Store<CassandraCluster>,
    /// Event publishing.
    pub events: Events,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Per cluster, the last write the caches must show before it is planned again, and when
    /// it was made.
    pub expectations: Mutex<HashMap<ClusterKey, (Written, Instant)>>,
    /// Consecutive failures per cluster, for the error backoff.
    pub failures: Mutex<HashMap<ClusterKey, u32>>,
    /// Turns to reconcile, first come first served (`controller::CONCURRENCY` at once).
    pub admission: Arc<Admission>,
}
