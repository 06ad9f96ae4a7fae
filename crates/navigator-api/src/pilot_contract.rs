//! What the controller and the pilots agree on: label and annotation keys, probe ports and
//! paths, and the names of the objects that link a pod to its pilot. Both sides use these
//! constants, so a change here is a protocol change.

/// Port of the pilot's liveness endpoint (the original's port).
pub const LIVENESS_PORT: u16 = 12000;
/// Port of the pilot's readiness endpoint (the original's port).
pub const READINESS_PORT: u16 = 12001;
/// HTTP path of the liveness probe.
pub const LIVENESS_PATH: &str = "/";
/// HTTP path of the readiness probe.
pub const READINESS_PATH: &str = "/";
/// Where the init container copies the pilot binary, and the pod's command.
pub const PILOT_BINARY_PATH: &str = "/shared/pilot";

/// Label on every pod that gets a Pilot; the value is empty.
pub const HAS_PILOT_LABEL: &str = "navigator.jetstack.io/has-pilot";

/// Label naming the Elasticsearch cluster of an object.
pub const ELASTICSEARCH_CLUSTER_NAME_LABEL: &str =
    "navigator.jetstack.io/elasticsearch-cluster-name";
/// Label naming the Elasticsearch node pool of an object.
pub const ELASTICSEARCH_NODE_POOL_NAME_LABEL: &str =
    "navigator.jetstack.io/elasticsearch-node-pool-name";
/// Prefix of the per-role labels (`…-role-master: "true"`).
pub const ELASTICSEARCH_ROLE_LABEL_PREFIX: &str = "navigator.jetstack.io/elasticsearch-role-";
/// The `app` label value on every Elasticsearch/OpenSearch object.
pub const ELASTICSEARCH_APP_LABEL_VALUE: &str = "elasticsearchcluster";
/// Annotation on an Elasticsearch StatefulSet recording the version its pods are known to run.
pub const ELASTICSEARCH_VERSION_ANNOTATION: &str = "navigator.jetstack.io/elasticsearch-version";
/// Annotation a pilot sets on its own Pilot once its node has joined a formed cluster: the
/// cluster's UUID. It stays when the node stops (unlike `status.elasticsearch.shards`), so a pod
/// restarted without its volume knows the cluster exists and only joins it.
pub const ELASTICSEARCH_CLUSTER_UUID_ANNOTATION: &str =
    "navigator.jetstack.io/elasticsearch-cluster-uuid";

/// Label naming the Cassandra cluster of an object.
pub const CASSANDRA_CLUSTER_NAME_LABEL: &str = "navigator.jetstack.io/cassandra-cluster-name";
/// Label naming the Cassandra node pool of an object.
pub const CASSANDRA_NODE_POOL_NAME_LABEL: &str = "navigator.jetstack.io/cassandra-node-pool-name";
/// Label on Cassandra seed pods; the value is `"true"`.
pub const CASSANDRA_SEED_LABEL: &str = "navigator.jetstack.io/cassandra-seed";
/// The `app` label value on every Cassandra object.
pub const CASSANDRA_APP_LABEL_VALUE: &str = "cassandracluster";

/// Environment variable carrying the pod's name into the pilot.
pub const ENV_POD_NAME: &str = "POD_NAME";
/// Environment variable carrying the pod's namespace into the pilot.
pub const ENV_POD_NAMESPACE: &str = "POD_NAMESPACE";

/// The label that selects a cluster's objects, for a cluster kind.
pub fn cluster_name_label(kind: crate::scheme::Kind) -> Option<&'static str> {
    match kind {
        crate::scheme::Kind::CassandraCluster => Some(CASSANDRA_CLUSTER_NAME_LABEL),
        crate::scheme::Kind::ElasticsearchCluster => Some(ELASTICSEARCH_CLUSTER_NAME_LABEL),
        crate::scheme::Kind::Pilot => None,
    }
}

/// The label that names a node pool, for a cluster kind.
pub fn node_pool_name_label(kind: crate::scheme::Kind) -> Option<&'static str> {
    match kind {
        crate::scheme::Kind::CassandraCluster => Some(CASSANDRA_NODE_POOL_NAME_LABEL),
        crate::scheme::Kind::ElasticsearchCluster => Some(ELASTICSEARCH_NODE_POOL_NAME_LABEL),
        crate::scheme::Kind::Pilot => None,
    }
}

/// The Elasticsearch role label for `role`, e.g. `navigator.jetstack.io/elasticsearch-role-data`.
pub fn elasticsearch_role_label(role: &str) -> String {
    format!("{ELASTICSEARCH_ROLE_LABEL_PREFIX}{role}")
}
