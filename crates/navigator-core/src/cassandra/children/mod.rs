//! The desired child objects of a CassandraCluster. Every object carries the cluster's labels,
//! an owner reference to the cluster (controller, blockOwnerDeletion) and the spec-hash
//! annotation of its own desired form ([`crate::hash`]), computed before the annotation is
//! added.
//!
//! One file per kind: `rbac` (ServiceAccount, Role, RoleBinding), `services` (nodes, seeds,
//! client), `pdb`, `statefulset` and `pilot`.

use std::collections::BTreeMap;

use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use navigator_api::v1beta1::{CassandraCluster, CassandraClusterNodePool, Pilot};

use super::compatibility::StorageCompatibility;
use super::observe::ChildRef;
use super::settings::Settings;
use crate::hash::{SPEC_HASH_ANNOTATION, spec_hash};

mod pdb;
mod pilot;
mod rbac;
mod services;
mod statefulset;

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
    /// The cluster has no `metadata.name`.
    #[error("the cluster has no metadata.name")]
    NoName,
}

/// One desired child other than a StatefulSet or Pilot.
// A handful are built per reconcile and matched by value; boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
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

    /// The child's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            DesiredChild::ServiceAccount(o) => &o.metadata,
            DesiredChild::Role(o) => &o.metadata,
            DesiredChild::RoleBinding(o) => &o.metadata,
            DesiredChild::Service(o) => &o.metadata,
            DesiredChild::PodDisruptionBudget(o) => &o.metadata,
        }
    }

    /// The spec-hash annotation of the child (always set by [`shared_children`]).
    pub fn spec_hash(&self) -> Option<&str> {
        self.metadata()
            .annotations
            .as_ref()?
            .get(SPEC_HASH_ANNOTATION)
            .map(String::as_str)
    }
}

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

/// What every child needs from its cluster: name, namespace and the owner reference.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Owner {
    /// The cluster's name.
    pub name: String,
    /// The cluster's namespace (every child lives there).
    pub namespace: Option<String>,
    /// The controller owner reference to the cluster.
    pub reference: OwnerReference,
}

impl Owner {
    /// The owner facts of `cluster`, or why it cannot own children.
    pub fn of(cluster: &CassandraCluster) -> Result<Self, ChildrenError> {
        let name = cluster
            .metadata
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or(ChildrenError::NoName)?;
        let uid = cluster
            .metadata
            .uid
            .clone()
            .filter(|u| !u.is_empty())
            .ok_or(ChildrenError::NoUid)?;
        Ok(Owner {
            reference: OwnerReference {
                api_version: CassandraCluster::API_VERSION.to_owned(),
                kind: CassandraCluster::KIND.to_owned(),
                name: name.clone(),
                uid,
                controller: Some(true),
                block_owner_deletion: Some(true),
            },
            namespace: cluster.metadata.namespace.clone(),
            name,
        })
    }

    /// Metadata of a child called `name` with `labels`, owned by the cluster (no annotations).
    pub fn meta(&self, name: String, labels: BTreeMap<String, String>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name),
            namespace: self.namespace.clone(),
            labels: Some(labels),
            owner_references: Some(vec![self.reference.clone()]),
            ..ObjectMeta::default()
        }
    }
}

/// Annotates `object` (whose metadata `meta` returns) with the spec-hash of its form as it
/// is now; the annotation must not be set yet, or the hash would cover itself.
pub(crate) fn hashed<T: serde::Serialize>(mut object: T, meta: fn(&mut T) -> &mut ObjectMeta) -> T {
    let hash = spec_hash(&object);
    meta(&mut object)
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(SPEC_HASH_ANNOTATION.to_owned(), hash);
    object
}
