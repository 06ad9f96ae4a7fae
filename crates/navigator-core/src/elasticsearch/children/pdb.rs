//! The PodDisruptionBudget of the database pods.

use std::collections::BTreeMap;

use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use navigator_api::pilot_contract::HAS_PILOT_LABEL;
use navigator_api::v1beta1::PodDisruptionBudgetConfig;

use super::Owner;
use crate::elasticsearch::names;

/// The selector of the PodDisruptionBudget: the cluster's labels plus `has-pilot` (the
/// database pods, every pool).
pub(super) fn pdb_selector(cluster: &str) -> BTreeMap<String, String> {
    let mut selector = names::cluster_labels(cluster);
    selector.insert(HAS_PILOT_LABEL.to_owned(), String::new());
    selector
}

/// The PodDisruptionBudget `es-<cluster>` over the cluster's pods: `minAvailable` or
/// `maxUnavailable` as the spec gives them (`minAvailable` when both are set, which
/// validation rejects), `maxUnavailable: 1` when it gives neither.
pub(super) fn pod_disruption_budget(
    owner: &Owner,
    config: Option<&PodDisruptionBudgetConfig>,
) -> PodDisruptionBudget {
    crate::children::pdb::pod_disruption_budget(
        owner,
        names::pod_disruption_budget(&owner.name),
        names::cluster_labels(&owner.name),
        pdb_selector(&owner.name),
        config,
    )
}
