//! What the desired children of every kind of cluster share: the [`DesiredChild`] objects
//! other than StatefulSets and Pilots, the owner reference to the cluster, the spec-hash
//! annotation ([`crate::hash`]) and the [`ChildrenError`] of a spec that cannot be built.

use std::collections::BTreeMap;

use k8s_openapi::Resource;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::hash::{SPEC_HASH_ANNOTATION, spec_hash};
use crate::observe::ChildRef;

pub(crate) mod pdb;
pub(crate) mod pilot;
pub(crate) mod pod;
pub(crate) mod rbac;
pub(crate) mod service;
#[cfg(test)]
pub(crate) mod test_support;

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
    /// `spec.flavor` names no flavour Navigator runs (ElasticsearchCluster; validation rejects
    /// it, so this is a cluster written around validation).
    #[error("spec.flavor {0:?} is neither elasticsearch nor opensearch")]
    UnknownFlavor(String),
    /// No node pool is master-eligible with at least one replica, so no node can form the
    /// cluster (ElasticsearchCluster; validation requires a master).
    #[error("no master-eligible node pool has a replica: the initial master cannot be named")]
    NoMasterEligibleNode,
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
    /// A Service.
    Service(Service),
    /// The PodDisruptionBudget.
    PodDisruptionBudget(PodDisruptionBudget),
    /// A ConfigMap (Elasticsearch: a pool's configuration).
    ConfigMap(ConfigMap),
}

impl DesiredChild {
    /// The child's kind and name.
    pub fn child_ref(&self) -> ChildRef {
        use crate::observe::ChildKind;
        let (kind, name) = match self {
            DesiredChild::ServiceAccount(o) => (ChildKind::ServiceAccount, &o.metadata.name),
            DesiredChild::Role(o) => (ChildKind::Role, &o.metadata.name),
            DesiredChild::RoleBinding(o) => (ChildKind::RoleBinding, &o.metadata.name),
            DesiredChild::Service(o) => (ChildKind::Service, &o.metadata.name),
            DesiredChild::PodDisruptionBudget(o) => {
                (ChildKind::PodDisruptionBudget, &o.metadata.name)
            }
            DesiredChild::ConfigMap(o) => (ChildKind::ConfigMap, &o.metadata.name),
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
            DesiredChild::ConfigMap(o) => &o.metadata,
        }
    }

    /// The spec-hash annotation of the child (always set by the kinds' builders).
    pub fn spec_hash(&self) -> Option<&str> {
        self.metadata()
            .annotations
            .as_ref()?
            .get(SPEC_HASH_ANNOTATION)
            .map(String::as_str)
    }
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
    pub fn of<K: Resource + k8s_openapi::Metadata<Ty = ObjectMeta>>(
        cluster: &K,
    ) -> Result<Self, ChildrenError> {
        let name = cluster
            .metadata()
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .ok_or(ChildrenError::NoName)?;
        let uid = cluster
            .metadata()
            .uid
            .clone()
            .filter(|u| !u.is_empty())
            .ok_or(ChildrenError::NoUid)?;
        Ok(Owner {
            reference: OwnerReference {
                api_version: K::API_VERSION.to_owned(),
                kind: K::KIND.to_owned(),
                name: name.clone(),
                uid,
                controller: Some(true),
                block_owner_deletion: Some(true),
            },
            namespace: cluster.metadata().namespace.clone(),
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
