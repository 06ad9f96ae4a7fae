//! The Pilot of one database pod, alike for every kind of cluster.

use std::collections::BTreeMap;

use k8s_openapi::Resource;
use navigator_api::v1beta1::{Pilot, PilotClusterReference, PilotSpec};

use super::{Owner, hashed};

/// The Pilot `name` (the pod's name) of node pool `pool` of the cluster of kind `K`, labelled
/// `labels`, owned by the cluster; `spec.requestedState` unset (the API's default, `Running`).
pub(crate) fn pilot<K: Resource>(
    owner: &Owner,
    name: String,
    labels: BTreeMap<String, String>,
    pool: &str,
) -> Pilot {
    hashed(
        Pilot {
            metadata: owner.meta(name, labels),
            spec: PilotSpec {
                cluster: Some(PilotClusterReference {
                    kind: K::KIND.to_owned(),
                    name: owner.name.clone(),
                }),
                node_pool: Some(pool.to_owned()),
                requested_state: None,
            },
            status: Default::default(),
        },
        |o| &mut o.metadata,
    )
}
