//! What every reconcile shares: the client, settings, caches, events, metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use kube::Client;
use kube::runtime::reflector::Store;

use crate::admission::Admission;
use crate::events::Events;
use crate::expectations::Written;
use crate::kind::ClusterKind;
use crate::metrics::Metrics;
use crate::observe::ClusterKey;
use crate::stores::Stores;

/// What every reconcile of clusters of kind `C` shares.
pub struct Context<C: ClusterKind> {
    /// The API client.
    pub client: Client,
    /// The planner's settings.
    pub settings: C::Settings,
    /// The child caches.
    pub stores: Stores,
    /// The cluster cache (the controller's own).
    pub clusters: Store<C>,
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
