//! The planner for ElasticsearchClusters: `(cluster, observed, now) → the next action`.
//!
//! SKELETON: the signatures are fixed; the rules are being written.

use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::ElasticsearchCluster;

use crate::observe::Observed;
pub use crate::plan::{Action, Wait, WaitReason};

use super::settings::Settings;

/// The next action for `cluster` given what was observed at `now`.
pub fn plan(
    cluster: &ElasticsearchCluster,
    observed: &Observed,
    now: Timestamp,
    settings: &Settings,
) -> Action {
    let _ = (cluster, observed, now, settings);
    todo!("being written")
}

/// When the controller should plan again although nothing changed: just after the first
/// fresh Pilot report goes stale ([`crate::plan::recheck_after`] with the settings' window).
pub fn recheck_after(
    observed: &Observed,
    now: Timestamp,
    settings: &Settings,
) -> Option<std::time::Duration> {
    crate::plan::recheck_after(observed, now, settings.report_freshness)
}
