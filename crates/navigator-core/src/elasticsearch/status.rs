//! The status of an ElasticsearchCluster from the observations and the planned action.
//!
//! SKELETON: the signature is fixed; the body is being written.

use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::{ElasticsearchCluster, ElasticsearchClusterStatus};

use super::settings::Settings;
use crate::observe::Observed;
use crate::plan::Action;

/// The status to write for `cluster` after planning `action` at `now`.
pub fn status(
    cluster: &ElasticsearchCluster,
    observed: &Observed,
    action: &Action,
    now: Timestamp,
    settings: &Settings,
) -> ElasticsearchClusterStatus {
    let _ = (cluster, observed, action, now, settings);
    todo!("being written")
}
