//! The Pilot of one database pod (built by [`crate::children::pilot`]).

use navigator_api::v1beta1::{ElasticsearchCluster, ElasticsearchClusterNodePool, Pilot};

use super::{ChildrenError, Owner};
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
    Ok(crate::children::pilot::pilot::<ElasticsearchCluster>(
        &owner,
        names::pod(&owner.name, &pool.name, ordinal),
        names::pod_labels(&owner.name, &pool.name, &pool.roles),
        &pool.name,
    ))
}
