//! The desired child objects of a CassandraCluster. Every object carries the cluster's labels,
//! an owner reference to the cluster (controller, blockOwnerDeletion) and the spec-hash
//! annotation of its own desired form ([`crate::hash`]), computed before the annotation is
//! added.
//!
//! One file per kind: `rbac` (ServiceAccount, Role, RoleBinding), `services` (nodes, seeds,
//! client), `pdb`, `statefulset` and `pilot`.

use k8s_openapi::api::apps::v1::StatefulSet;
use navigator_api::v1beta1::{CassandraCluster, CassandraClusterNodePool, Pilot};

use super::compatibility::StorageCompatibility;
use super::settings::Settings;

mod pdb;
mod pilot;
mod rbac;
mod services;
mod statefulset;

pub use crate::children::{ChildrenError, DesiredChild};
pub(crate) use crate::children::{Owner, hashed};
pub use statefulset::CASSANDRA_VERSION_ANNOTATION;

#[cfg(test)]
mod tests;

/// Cassandra's inter-node (gossip and streaming) port, named `intra-node`.
pub const INTRA_NODE_PORT: i32 = 7000;
/// Cassandra's native-protocol (CQL) port, named `cql`.
pub const CQL_PORT: i32 = 9042;
/// Name of the inter-node port on the pods and Services.
pub const INTRA_NODE_PORT_NAME: &str = "intra-node";
/// Name of the CQL port on the pods and Services.
pub const CQL_PORT_NAME: &str = "cql";

/// The children every cluster has, in creation order: ServiceAccount, Role, RoleBinding, the
/// nodes, seeds and client Services, the PodDisruptionBudget.
pub fn shared_children(
    cluster: &CassandraCluster,
    settings: &Settings,
) -> Result<Vec<DesiredChild>, ChildrenError> {
    let _ = settings;
    let owner = Owner::of(cluster)?;
    Ok(vec![
        DesiredChild::ServiceAccount(rbac::service_account(&owner)),
        DesiredChild::Role(rbac::role(&owner)),
        DesiredChild::RoleBinding(rbac::role_binding(&owner)),
        DesiredChild::Service(services::nodes(&owner)),
        DesiredChild::Service(services::seeds(&owner)),
        DesiredChild::Service(services::client(&owner)),
        DesiredChild::PodDisruptionBudget(pdb::pod_disruption_budget(
            &owner,
            cluster.spec.pod_disruption_budget.as_ref(),
        )),
    ])
}

/// The StatefulSet of `pool` with `replicas` pods and the rolling-update `partition`, as a
/// pool created now has it: on Cassandra 5 or later under `storage_compatibility_mode: NONE`
/// (see [`statefulset_in_mode`]).
pub fn statefulset(
    cluster: &CassandraCluster,
    pool: &CassandraClusterNodePool,
    replicas: i32,
    partition: i32,
    settings: &Settings,
) -> Result<StatefulSet, ChildrenError> {
    statefulset_in_mode(
        cluster,
        pool,
        replicas,
        partition,
        settings,
        StorageCompatibility::None,
    )
}

/// The StatefulSet of `pool` with `replicas` pods and the rolling-update `partition`, its
/// pods' Cassandra (5 or later; ignored for 4.x) under `storage_compatibility_mode` `mode`
/// (the pilot's argument and the
/// [`crate::cassandra::compatibility::STORAGE_COMPATIBILITY_ANNOTATION`] on the StatefulSet and
/// its pod template). Its spec-hash covers everything except `replicas` and the partition (it
/// is computed with both set to 0), so it changes exactly when the pod template (or another
/// part, such as the mode) changes.
pub fn statefulset_in_mode(
    cluster: &CassandraCluster,
    pool: &CassandraClusterNodePool,
    replicas: i32,
    partition: i32,
    settings: &Settings,
    mode: StorageCompatibility,
) -> Result<StatefulSet, ChildrenError> {
    statefulset::statefulset(cluster, pool, replicas, partition, settings, mode)
}

/// The Pilot of the pod with `ordinal` in `pool`: same name and namespace as the pod,
/// `spec.cluster` and `spec.nodePool` set. `spec.requestedState` is left unset, which the API
/// defines as `Running`; the planner sets it explicitly (e.g. `Decommissioned`) when it asks
/// for something else, so applying this form never reverts a request.
pub fn pilot(cluster: &CassandraCluster, pool: &str, ordinal: i32) -> Result<Pilot, ChildrenError> {
    pilot::pilot(cluster, pool, ordinal)
}
