//! The Pilot of one database pod (built by [`crate::children::pilot`]).

use navigator_api::v1beta1::{CassandraCluster, Pilot};

use super::{ChildrenError, Owner};
use crate::cassandra::names;

/// The Pilot named like pod `ordinal` of `pool`, with the pool's labels, owned by the cluster;
/// `spec.requestedState` unset (the API's default, `Running`).
pub(super) fn pilot(
    cluster: &CassandraCluster,
    pool: &str,
    ordinal: i32,
) -> Result<Pilot, ChildrenError> {
    let owner = Owner::of(cluster)?;
    Ok(crate::children::pilot::pilot::<CassandraCluster>(
        &owner,
        names::pod(&owner.name, pool, ordinal),
        names::pool_labels(&owner.name, pool),
        pool,
    ))
}
