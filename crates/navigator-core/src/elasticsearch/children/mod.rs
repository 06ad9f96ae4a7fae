//! The desired child objects of an ElasticsearchCluster. Every object carries the cluster's
//! labels, an owner reference to the cluster (controller, blockOwnerDeletion) and the
//! spec-hash annotation of its own desired form ([`crate::hash`]), computed before the
//! annotation is added.
//!
//! One file per kind: `rbac` (ServiceAccount, Role, RoleBinding), `services` (discovery,
//! client), `pdb`, `config` (a pool's configuration ConfigMap, and the master arithmetic it
//! needs), `statefulset` and `pilot`; `flavor` says what differs between Elasticsearch and
//! OpenSearch.

use k8s_openapi::api::apps::v1::StatefulSet;
use navigator_api::v1beta1::{ElasticsearchCluster, ElasticsearchClusterNodePool, Pilot};

use super::settings::Settings;

mod config;
mod flavor;
mod pdb;
mod pilot;
mod rbac;
mod services;
mod statefulset;

pub use crate::children::{ChildrenError, DesiredChild};
pub(crate) use crate::children::{Owner, hashed};
pub use config::{
    CONFIG_CLUSTER_NAME, CONFIG_DISCOVERY_SERVICE, CONFIG_INITIAL_MASTER_NODES,
    CONFIG_MINIMUM_MASTER_NODES, CONFIG_NODE_POOL, CONFIG_ROLES, initial_master_node,
    master_eligible_replicas, minimum_master_nodes,
};
pub use flavor::{Flavor, flavor};
pub use navigator_api::pilot_contract::ELASTICSEARCH_VERSION_ANNOTATION;

#[cfg(test)]
mod tests;

/// The database's HTTP (REST) port, named `http`.
pub const HTTP_PORT: i32 = 9200;
/// The database's transport (inter-node) port, named `transport`.
pub const TRANSPORT_PORT: i32 = 9300;
/// Name of the HTTP port on the pods and Services.
pub const HTTP_PORT_NAME: &str = "http";
/// Name of the transport port on the pods and Services.
pub const TRANSPORT_PORT_NAME: &str = "transport";

/// The children every cluster has, in creation order: ServiceAccount, Role, RoleBinding, the
/// discovery and client Services, the PodDisruptionBudget, and one configuration ConfigMap per
/// node pool of the spec (in spec order).
///
/// Errors: no name or UID ([`ChildrenError::NoName`], [`ChildrenError::NoUid`]); no
/// master-eligible pool with a replica ([`ChildrenError::NoMasterEligibleNode`]: the
/// ConfigMaps cannot name the initial master).
pub fn shared_children(
    cluster: &ElasticsearchCluster,
    settings: &Settings,
) -> Result<Vec<DesiredChild>, ChildrenError> {
    let _ = settings;
    let owner = Owner::of(cluster)?;
    let mut children = vec![
        DesiredChild::ServiceAccount(rbac::service_account(&owner)),
        DesiredChild::Role(rbac::role(&owner)),
        DesiredChild::RoleBinding(rbac::role_binding(&owner)),
        DesiredChild::Service(services::discovery(&owner)),
        DesiredChild::Service(services::client(cluster, &owner)),
        DesiredChild::PodDisruptionBudget(pdb::pod_disruption_budget(
            &owner,
            cluster.spec.pod_disruption_budget.as_ref(),
        )),
    ];
    for pool in &cluster.spec.node_pools {
        children.push(DesiredChild::ConfigMap(config::pool_config(
            cluster, &owner, pool,
        )?));
    }
    Ok(children)
}

/// The StatefulSet of `pool` with `replicas` pods and the rolling-update `partition`. Its
/// spec-hash covers everything except `replicas` and the partition (it is computed with both
/// set to 0), so it changes exactly when the pod template (or another part) changes. The
/// pool's configuration ConfigMap is referenced by name (`envFrom`), so a change of the
/// masters changes the ConfigMap's hash, not this one.
///
/// Errors: no name or UID, no `spec.version` ([`ChildrenError::NoVersion`]), an unknown
/// flavour ([`ChildrenError::UnknownFlavor`]).
pub fn statefulset(
    cluster: &ElasticsearchCluster,
    pool: &ElasticsearchClusterNodePool,
    replicas: i32,
    partition: i32,
    settings: &Settings,
) -> Result<StatefulSet, ChildrenError> {
    statefulset::statefulset(cluster, pool, replicas, partition, settings)
}

/// The Pilot of the pod with `ordinal` in `pool`: same name, namespace and labels as the pod
/// (cluster, pool, one label per role), `spec.cluster` and `spec.nodePool` set,
/// `spec.requestedState` unset (`Running`).
pub fn pilot(
    cluster: &ElasticsearchCluster,
    pool: &ElasticsearchClusterNodePool,
    ordinal: i32,
) -> Result<Pilot, ChildrenError> {
    pilot::pilot(cluster, pool, ordinal)
}

/// Whether the pool's nodes are master-eligible (`roles` holds `master`).
pub fn is_master(pool: &ElasticsearchClusterNodePool) -> bool {
    pool.roles.iter().any(|r| r == "master")
}

/// Whether the pool's nodes hold data (`roles` holds `data`).
pub fn is_data(pool: &ElasticsearchClusterNodePool) -> bool {
    pool.roles.iter().any(|r| r == "data")
}

/// Whether the pool's nodes run ingest pipelines (`roles` holds `ingest`).
pub fn is_ingest(pool: &ElasticsearchClusterNodePool) -> bool {
    pool.roles.iter().any(|r| r == "ingest")
}
