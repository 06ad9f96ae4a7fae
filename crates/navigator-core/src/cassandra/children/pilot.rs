//! The Pilot of one database pod.

use k8s_openapi::Resource;
use navigator_api::v1beta1::{CassandraCluster, Pilot, PilotClusterReference, PilotSpec};

use super::{ChildrenError, Owner, hashed};
use crate::cassandra::names;

/// The Pilot named like pod `ordinal` of `pool`, with the pool's labels, owned by the cluster;
/// `spec.requestedState` unset (the API's default, `Running`).
pub(super) fn pilot(
    cluster: &CassandraCluster,
    pool: &str,
    ordinal: i32,
) -> Result<Pilot, ChildrenError> {
    let owner = Owner::of(cluster)?;
    Ok(hashed(
        Pilot {
            metadata: owner.meta(
                names::pod(&owner.name, pool, ordinal),
                names::pool_labels(&owner.name, pool),
            ),
            spec: PilotSpec {
                cluster: Some(PilotClusterReference {
                    kind: CassandraCluster::KIND.to_owned(),
                    name: owner.name.clone(),
                }),
                node_pool: Some(pool.to_owned()),
                requested_state: None,
            },
            status: Default::default(),
        },
        |o| &mut o.metadata,
    ))
}
