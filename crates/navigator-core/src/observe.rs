//! What the controller observed of a cluster's children, handed to the planner as plain data.
//! The controller fills it from its label-selected caches; the planner never asks for more.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use navigator_api::v1beta1::Pilot;

pub(crate) mod facts;
#[cfg(test)]
pub(crate) mod fixtures;

/// The kinds of child objects other than StatefulSets, Pods, Pilots and claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChildKind {
    /// `v1/ServiceAccount`.
    ServiceAccount,
    /// `rbac.authorization.k8s.io/v1/Role`.
    Role,
    /// `rbac.authorization.k8s.io/v1/RoleBinding`.
    RoleBinding,
    /// `v1/Service`.
    Service,
    /// `policy/v1/PodDisruptionBudget`.
    PodDisruptionBudget,
    /// `v1/ConfigMap`.
    ConfigMap,
}

/// A child object by kind and name (in the cluster's namespace).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChildRef {
    /// The kind.
    pub kind: ChildKind,
    /// The name.
    pub name: String,
}

/// Everything of one cluster the controller observed, in the cluster's namespace, selected by
/// the cluster's labels. Objects being deleted are included (their `deletionTimestamp` set).
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// The cluster's StatefulSets (one per node pool that exists).
    pub statefulsets: Vec<StatefulSet>,
    /// The cluster's database pods.
    pub pods: Vec<Pod>,
    /// The cluster's Pilots.
    pub pilots: Vec<Pilot>,
    /// The cluster's data volume claims.
    pub claims: Vec<PersistentVolumeClaim>,
    /// The other children that exist, with their spec-hash annotation when they carry one
    /// ([`crate::hash::SPEC_HASH_ANNOTATION`]).
    pub others: BTreeMap<ChildRef, Option<String>>,
}
