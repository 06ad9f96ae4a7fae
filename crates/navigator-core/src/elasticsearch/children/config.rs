//! A node pool's configuration: the ConfigMap `es-<cluster>-<pool>-config` its pods read with
//! `envFrom` (the keys are the pilot's environment fallbacks), and the master arithmetic it
//! holds. Pods read it at their next start; it is not part of the pod template, so a change of
//! the masters updates the ConfigMap without rolling any pod.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use navigator_api::v1beta1::{ElasticsearchCluster, ElasticsearchClusterNodePool};
use navigator_api::validation::quorum;

use super::{ChildrenError, Owner, hashed, is_master};
use crate::elasticsearch::names;

/// Key of the cluster's name (`cluster.name`, the Pilots' cluster label, the leader Lease).
pub const CONFIG_CLUSTER_NAME: &str = "ELASTICSEARCH_CLUSTER_NAME";
/// Key of the pool's name (`node.attr.pool`).
pub const CONFIG_NODE_POOL: &str = "ELASTICSEARCH_NODE_POOL";
/// Key of the pool's roles, comma-separated in spec order.
pub const CONFIG_ROLES: &str = "ELASTICSEARCH_ROLES";
/// Key of the discovery Service's DNS name, `es-<cluster>-discovery.<ns>.svc.cluster.local`.
pub const CONFIG_DISCOVERY_SERVICE: &str = "ELASTICSEARCH_DISCOVERY_SERVICE";
/// Key of the node that forms the cluster the first time ([`initial_master_node`]).
pub const CONFIG_INITIAL_MASTER_NODES: &str = "ELASTICSEARCH_INITIAL_MASTER_NODES";
/// Key of the master quorum (Elasticsearch 6 only; [`minimum_master_nodes`]).
pub const CONFIG_MINIMUM_MASTER_NODES: &str = "ELASTICSEARCH_MINIMUM_MASTER_NODES";

/// The namespace a cluster without one lives in.
const DEFAULT_NAMESPACE: &str = "default";

/// The master-eligible nodes the spec asks for: the sum of the desired `replicas` (1 when
/// unset, negative counted as 0) of every pool whose roles hold `master`.
pub fn master_eligible_replicas(cluster: &ElasticsearchCluster) -> i32 {
    cluster
        .spec
        .node_pools
        .iter()
        .filter(|p| is_master(p))
        .map(|p| p.replicas.unwrap_or(1).max(0))
        .sum()
}

/// The master quorum the pods are configured with: `spec.minimumMasters` when set, else a
/// majority of [`master_eligible_replicas`] (`n / 2 + 1`; 1 for 1, 0 for none). It follows the
/// spec, not the pods that exist: a scale of a master pool changes it at once.
pub fn minimum_master_nodes(cluster: &ElasticsearchCluster) -> i32 {
    cluster
        .spec
        .minimum_masters
        .unwrap_or_else(|| quorum(master_eligible_replicas(cluster)))
}

/// The node that forms the cluster the first time: pod 0 of the first pool in spec order that
/// is master-eligible and has at least one desired replica (`es-<cluster>-<pool>-0`). The pilot
/// uses it only while no cluster exists yet, so a later change (pools reordered or scaled to
/// zero) harms nothing. [`ChildrenError::NoMasterEligibleNode`] when no pool qualifies;
/// [`ChildrenError::NoName`] when the cluster has no name.
pub fn initial_master_node(cluster: &ElasticsearchCluster) -> Result<String, ChildrenError> {
    let name = cluster
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or(ChildrenError::NoName)?;
    let pool = cluster
        .spec
        .node_pools
        .iter()
        .find(|p| is_master(p) && p.replicas.unwrap_or(1) > 0)
        .ok_or(ChildrenError::NoMasterEligibleNode)?;
    Ok(names::pod(name, &pool.name, 0))
}

/// The ConfigMap `es-<cluster>-<pool>-config` of `pool`, with the pool's labels.
pub(super) fn pool_config(
    cluster: &ElasticsearchCluster,
    owner: &Owner,
    pool: &ElasticsearchClusterNodePool,
) -> Result<ConfigMap, ChildrenError> {
    let c = &owner.name;
    let namespace = owner.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE);
    let data = BTreeMap::from([
        (CONFIG_CLUSTER_NAME.to_owned(), c.clone()),
        (CONFIG_NODE_POOL.to_owned(), pool.name.clone()),
        (CONFIG_ROLES.to_owned(), pool.roles.join(",")),
        (
            CONFIG_DISCOVERY_SERVICE.to_owned(),
            format!(
                "{}.{namespace}.svc.cluster.local",
                names::discovery_service(c)
            ),
        ),
        (
            CONFIG_INITIAL_MASTER_NODES.to_owned(),
            initial_master_node(cluster)?,
        ),
        (
            CONFIG_MINIMUM_MASTER_NODES.to_owned(),
            minimum_master_nodes(cluster).to_string(),
        ),
    ]);
    Ok(hashed(
        ConfigMap {
            metadata: owner.meta(
                names::pool_config(c, &pool.name),
                names::pool_labels(c, &pool.name),
            ),
            data: Some(data),
            ..ConfigMap::default()
        },
        |o| &mut o.metadata,
    ))
}
