//! The PodDisruptionBudget of the database pods.

use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use navigator_api::v1beta1::PodDisruptionBudgetConfig;

use super::Owner;
use crate::cassandra::names;

/// The PodDisruptionBudget `cass-<cluster>` over the cluster's pods: `minAvailable` or
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
        names::cluster_labels(&owner.name),
        config,
    )
}
