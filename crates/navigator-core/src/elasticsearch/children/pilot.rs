//! The Pilot of one database pod.

use k8s_openapi::Resource;
use navigator_api::v1beta1::{
    ElasticsearchCluster, ElasticsearchClusterNodePool, Pilot, PilotClusterReference, PilotSpec,
};

use super::{ChildrenError, Owner, hashed};
use crate::elasticsearch::names;

/// The Pilot named like pod `ordinal` of `pool`, with the pod's labels (the leader pilot
/// selects the cluster's Pilots by the cluster label), owned by the cluster;
/// `spec.requestedState` unset (the API's default, `Running`).
pub(super) fn pilot(
    cluster: &ElasticsearchCluster,
    pool: &ElasticsearchClusterNodePool,
    ordinal: i32,
) -> Result<Pilot, ChildrenError> {
    let owner = Owner::of(cluster)?;
    Ok(hashed(
        Pilot {
            metadata: owner.meta(
                names::pod(&owner.name, &pool.name, ordinal),
                names::pod_labels(&owner.name, &pool.name, &pool.roles),
            ),
            spec: PilotSpec {
                cluster: Some(PilotClusterReference {
                    kind: ElasticsearchCluster::KIND.to_owned(),
                    name: owner.name.clone(),
                }),
                node_pool: Some(pool.name.clone()),
                requested_state: None,
            },
            status: Default::default(),
        },
        |o| &mut o.metadata,
    ))
}
