//! The desired child objects of an ElasticsearchCluster. Every object carries the cluster's
//! labels, an owner reference to the cluster (controller, blockOwnerDeletion) and the
//! spec-hash annotation of its own desired form ([`crate::hash`]).
//!
//! SKELETON: the signatures are fixed; the bodies are being written.

use k8s_openapi::api::apps::v1::StatefulSet;
use navigator_api::v1beta1::{ElasticsearchCluster, ElasticsearchClusterNodePool, Pilot};

use super::settings::Settings;
pub use crate::children::{ChildrenError, DesiredChild};

/// The children every cluster has, in creation order: ServiceAccount, Role, RoleBinding, the
/// discovery and client Services, the PodDisruptionBudget, and one configuration ConfigMap per
/// node pool of the spec (in spec order).
pub fn shared_children(
    cluster: &ElasticsearchCluster,
    settings: &Settings,
) -> Result<Vec<DesiredChild>, ChildrenError> {
    let _ = (cluster, settings);
    todo!("being written")
}

/// The StatefulSet of `pool` with `replicas` pods and the rolling-update `partition`. Its
/// spec-hash covers everything except `replicas` and the partition.
pub fn statefulset(
    cluster: &ElasticsearchCluster,
    pool: &ElasticsearchClusterNodePool,
    replicas: i32,
    partition: i32,
    settings: &Settings,
) -> Result<StatefulSet, ChildrenError> {
    let _ = (cluster, pool, replicas, partition, settings);
    todo!("being written")
}

/// The Pilot of the pod with `ordinal` in `pool`: same name, namespace and labels as the pod
/// (cluster, pool, one label per role), `spec.cluster` and `spec.nodePool` set,
/// `spec.requestedState` unset (`Running`).
pub fn pilot(
    cluster: &ElasticsearchCluster,
    pool: &ElasticsearchClusterNodePool,
    ordinal: i32,
) -> Result<Pilot, ChildrenError> {
    let _ = (cluster, pool, ordinal);
    todo!("being written")
}

/// Whether the pool's nodes are master-eligible (`roles` holds `master`).
pub fn is_master(pool: &ElasticsearchClusterNodePool) -> bool {
    pool.roles.iter().any(|r| r == "master")
}

/// Whether the pool's nodes hold data (`roles` holds `data`).
pub fn is_data(pool: &ElasticsearchClusterNodePool) -> bool {
    pool.roles.iter().any(|r| r == "data")
}
