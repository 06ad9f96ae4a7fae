use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{ClusterConfig, Condition, ImageSpec, NodePoolStatus, PersistenceConfig};
use crate::version::ElasticsearchVersion;

/// An Elasticsearch or OpenSearch cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ElasticsearchCluster {
    /// Standard object metadata.
    pub metadata: ObjectMeta,
    /// The desired cluster.
    pub spec: ElasticsearchClusterSpec,
    /// The observed cluster.
    pub status: ElasticsearchClusterStatus,
}

/// The flavours of the Elasticsearch family Navigator runs.
pub const FLAVORS: &[&str] = &[FLAVOR_ELASTICSEARCH, FLAVOR_OPENSEARCH];
/// Elasticsearch (versions 6 to 8).
pub const FLAVOR_ELASTICSEARCH: &str = "elasticsearch";
/// OpenSearch (versions 1 to 3).
pub const FLAVOR_OPENSEARCH: &str = "opensearch";

/// The node roles a pool may have.
pub const ROLES: &[&str] = &[ROLE_DATA, ROLE_INGEST, ROLE_MASTER];
/// Data role.
pub const ROLE_DATA: &str = "data";
/// Ingest role.
pub const ROLE_INGEST: &str = "ingest";
/// Master-eligible role.
pub const ROLE_MASTER: &str = "master";

/// The desired state of an Elasticsearch/OpenSearch cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ElasticsearchClusterSpec {
    /// Settings shared by every cluster kind.
    pub config: ClusterConfig,
    /// `elasticsearch` or `opensearch`.
    pub flavor: Option<String>,
    /// The database version.
    pub version: Option<ElasticsearchVersion>,
    /// Plugins to install on every node.
    pub plugins: Vec<String>,
    /// The node pools.
    pub node_pools: Vec<ElasticsearchClusterNodePool>,
    /// The database image; derived from the flavour and version when unset.
    pub image: Option<ImageSpec>,
    /// Master-eligible nodes needed to elect a master (Elasticsearch 6); a quorum when unset.
    pub minimum_masters: Option<i32>,
}

impl ElasticsearchClusterSpec {
    /// The number of master-eligible nodes over all pools (negative replica counts count as 0).
    pub fn master_count(&self) -> i32 {
        self.node_pools
            .iter()
            .filter(|pool| pool.roles.iter().any(|r| r == ROLE_MASTER))
            .map(|pool| pool.replicas.unwrap_or(1).max(0))
            .sum()
    }

    /// The flavour, `elasticsearch` when unset.
    pub fn flavor(&self) -> &str {
        self.flavor.as_deref().unwrap_or(FLAVOR_ELASTICSEARCH)
    }
}

/// A group of identically configured nodes, run as one StatefulSet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ElasticsearchClusterNodePool {
    /// The pool name, unique in the cluster.
    pub name: String,
    /// Number of nodes.
    pub replicas: Option<i32>,
    /// Node roles: `data`, `ingest`, `master`.
    pub roles: Vec<String>,
    /// Node selector for the pods.
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Resources of the database container.
    pub resources: Option<ResourceRequirements>,
    /// Persistent storage; `emptyDir` when unset.
    pub persistence: Option<PersistenceConfig>,
    /// The scheduler for the pods; the default scheduler when empty.
    pub scheduler_name: String,
}

/// The observed state of an Elasticsearch/OpenSearch cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ElasticsearchClusterStatus {
    /// `Available`, `Progressing`, `Degraded` conditions.
    pub conditions: Vec<Condition>,
    /// The generation the controller last acted on.
    pub observed_generation: Option<i64>,
    /// Per node pool status, by pool name.
    pub node_pools: BTreeMap<String, NodePoolStatus>,
    /// Cluster health: `Green`, `Yellow` or `Red`.
    pub health: Option<String>,
}

/// The values `status.health` may have.
pub const HEALTHS: &[&str] = &["Green", "Yellow", "Red"];
