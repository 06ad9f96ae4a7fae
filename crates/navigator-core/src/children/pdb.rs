//! The PodDisruptionBudget over a cluster's database pods, alike for every kind.

use std::collections::BTreeMap;

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use navigator_api::v1beta1::PodDisruptionBudgetConfig;

use super::{Owner, hashed};

/// The PodDisruptionBudget `name` (labelled `labels`) over the pods `selector` matches:
/// `minAvailable` or `maxUnavailable` as the spec gives them (`minAvailable` when both are
/// set, which validation rejects), `maxUnavailable: 1` when it gives neither.
pub(crate) fn pod_disruption_budget(
    owner: &Owner,
    name: String,
    labels: BTreeMap<String, String>,
    selector: BTreeMap<String, String>,
    config: Option<&PodDisruptionBudgetConfig>,
) -> PodDisruptionBudget {
    let min_available = config.and_then(|c| c.min_available.clone());
    let max_unavailable = match (
        &min_available,
        config.and_then(|c| c.max_unavailable.clone()),
    ) {
        (Some(_), _) => None,
        (None, Some(max)) => Some(max),
        (None, None) => Some(IntOrString::Int(1)),
    };
    hashed(
        PodDisruptionBudget {
            metadata: owner.meta(name, labels),
            spec: Some(PodDisruptionBudgetSpec {
                selector: Some(LabelSelector {
                    match_labels: Some(selector),
                    ..LabelSelector::default()
                }),
                min_available,
                max_unavailable,
                ..PodDisruptionBudgetSpec::default()
            }),
            status: None,
        },
        |o| &mut o.metadata,
    )
}
