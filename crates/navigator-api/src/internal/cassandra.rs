use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{ClusterConfig, Condition, ImageSpec, NodePoolStatus, PersistenceConfig};
use crate::version::CassandraVersion;

/// A Cassandra cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CassandraCluster {
    /// Standard object metadata.
    pub metadata: ObjectMeta,
    /// The desired cluster.
    pub spec: CassandraClusterSpec,
    /// The observed cluster.
    pub status: CassandraClusterStatus,
}

/// The datacenter of a pool that does not name one.
pub const DEFAULT_DATACENTER: &str = "navigator-default-datacenter";

/// The desired state of a Cassandra cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CassandraClusterSpec {
    /// Settings shared by every cluster kind.
    pub config: ClusterConfig,
    /// The Cassandra version.
    pub version: Option<CassandraVersion>,
    /// The node pools.
    pub node_pools: Vec<CassandraClusterNodePool>,
    /// The database image; derived from the version when unset.
    pub image: Option<ImageSpec>,
}

/// A group of identically configured Cassandra nodes in one rack, run as one StatefulSet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CassandraClusterNodePool {
    /// The pool name, unique in the cluster.
    pub name: String,
    /// Number of nodes.
    pub replicas: Option<i32>,
    /// Persistent storage; `emptyDir` when unset.
    pub persistence: Option<PersistenceConfig>,
    /// Node selector for the pods.
    pub node_selector: Option<BTreeMap<String, String>>,
    /// The Cassandra rack; the pool name when unset.
    pub rack: Option<String>,
    /// The Cassandra datacenter; `navigator-default-datacenter` when unset.
    pub datacenter: Option<String>,
    /// Resources of the database container.
    pub resources: Option<ResourceRequirements>,
    /// The scheduler for the pods; the default scheduler when empty.
    pub scheduler_name: String,
}

/// The observed state of a Cassandra cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CassandraClusterStatus {
    /// `Available`, `Progressing`, `Degraded` conditions.
    pub conditions: Vec<Condition>,
    /// The generation the controller last acted on.
    pub observed_generation: Option<i64>,
    /// Per node pool status, by pool name.
    pub node_pools: BTreeMap<String, NodePoolStatus>,
}
