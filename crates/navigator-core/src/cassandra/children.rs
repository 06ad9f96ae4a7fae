//! The desired child objects of a CassandraCluster. Every object carries the cluster's labels,
//! an owner reference to the cluster (controller, blockOwnerDeletion) and the spec-hash
//! annotation of its own desired form ([`crate::hash`]).

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use navigator_api::v1beta1::{CassandraCluster, CassandraClusterNodePool, Pilot};

use super::observe::ChildRef;
use super::settings::Settings;

/// The spec cannot be turned into children.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChildrenError {
    /// The cluster has no `spec.version` (the API server defaults and validates it, so this
    /// is a cluster written around validation).
    #[error("spec.version is not set")]
    NoVersion,
    /// The cluster has no UID yet (not read from the API).
    #[error("the cluster has no metadata.uid")]
    NoUid,
}

/// One desired child other than a StatefulSet or Pilot.
#[derive(Clone, Debug, PartialEq)]
pub enum DesiredChild {
    /// The pilots' ServiceAccount.
    ServiceAccount(ServiceAccount),
    /// The pilots' Role.
    Role(Role),
    /// The pilots' RoleBinding.
    RoleBinding(RoleBinding),
    /// A Service (nodes, seeds or client).
    Service(Service),
    /// The PodDisruptionBudget.
    PodDisruptionBudget(PodDisruptionBudget),
}

impl DesiredChild {
    /// The child's kind and name.
    pub fn child_ref(&self) -> ChildRef {
        use super::observe::ChildKind;
        let (kind, name) = match self {
            DesiredChild::ServiceAccount(o) => (ChildKind::ServiceAccount, &o.metadata.name),
            DesiredChild::Role(o) => (ChildKind::Role, &o.metadata.name),
            DesiredChild::RoleBinding(o) => (ChildKind::RoleBinding, &o.metadata.name),
            DesiredChild::Service(o) => (ChildKind::Service, &o.metadata.name),
            DesiredChild::PodDisruptionBudget(o) => {
                (ChildKind::PodDisruptionBudget, &o.metadata.name)
            }
        };
        ChildRef {
            kind,
            name: name.clone().unwrap_or_default(),
        }
    }
}

/// The children every cluster has, in creation order: ServiceAccount, Role, RoleBinding, the
/// nodes, seeds and client Services, the PodDisruptionBudget.
pub fn shared_children(
    cluster: &CassandraCluster,
    settings: &Settings,
) -> Result<Vec<DesiredChild>, ChildrenError> {
    let _ = (cluster, settings);
    Ok(Vec::new())
}

/// The StatefulSet of `pool` with `replicas` pods and the rolling-update `partition`. Its
/// spec-hash covers everything except `replicas` and the partition, so it changes exactly
/// when the pod template (or another immutable part) changes.
pub fn statefulset(
    cluster: &CassandraCluster,
    pool: &CassandraClusterNodePool,
    replicas: i32,
    partition: i32,
    settings: &Settings,
) -> Result<StatefulSet, ChildrenError> {
    let _ = (cluster, pool, replicas, partition, settings);
    Err(ChildrenError::NoVersion)
}

/// The Pilot of the pod with `ordinal` in `pool`: same name and namespace as the pod,
/// `spec.cluster` and `spec.nodePool` set, requested state `Running`.
pub fn pilot(cluster: &CassandraCluster, pool: &str, ordinal: i32) -> Result<Pilot, ChildrenError> {
    let _ = (cluster, pool, ordinal);
    Err(ChildrenError::NoUid)
}
