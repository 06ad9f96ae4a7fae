//! Names and labels of an Elasticsearch/OpenSearch cluster's objects (the original Navigator's
//! names: `es-<cluster>…`, so existing tooling and DNS names keep working).

use std::collections::BTreeMap;

use navigator_api::pilot_contract::{
    ELASTICSEARCH_APP_LABEL_VALUE, ELASTICSEARCH_CLUSTER_NAME_LABEL,
    ELASTICSEARCH_NODE_POOL_NAME_LABEL, HAS_PILOT_LABEL, elasticsearch_role_label,
};

/// The pilots' ServiceAccount: `es-<cluster>`.
pub fn service_account(cluster: &str) -> String {
    format!("es-{cluster}")
}

/// The pilots' Role and RoleBinding: `es-<cluster>-pilot`.
pub fn pilot_role(cluster: &str) -> String {
    format!("es-{cluster}-pilot")
}

/// The headless Service the nodes discover each other through, ready or not:
/// `es-<cluster>-discovery`.
pub fn discovery_service(cluster: &str) -> String {
    format!("es-{cluster}-discovery")
}

/// The Service clients connect to (HTTP on ready ingest or data nodes): `es-<cluster>`.
pub fn client_service(cluster: &str) -> String {
    format!("es-{cluster}")
}

/// The PodDisruptionBudget of the database pods: `es-<cluster>`.
pub fn pod_disruption_budget(cluster: &str) -> String {
    format!("es-{cluster}")
}

/// The leader pilot's Lease: `es-<cluster>-pilot-leader` (the pilot's own naming).
pub fn leader_lease(cluster: &str) -> String {
    format!("es-{cluster}-pilot-leader")
}

/// The StatefulSet of a node pool: `es-<cluster>-<pool>`.
pub fn statefulset(cluster: &str, pool: &str) -> String {
    format!("es-{cluster}-{pool}")
}

/// The ConfigMap of a node pool's configuration: `es-<cluster>-<pool>-config`.
pub fn pool_config(cluster: &str, pool: &str) -> String {
    format!("{}-config", statefulset(cluster, pool))
}

/// The pod (and its Pilot) with `ordinal` in a pool: `es-<cluster>-<pool>-<ordinal>`; also
/// the node's name in the database.
pub fn pod(cluster: &str, pool: &str, ordinal: i32) -> String {
    format!("{}-{ordinal}", statefulset(cluster, pool))
}

/// The name of the data volume claim template.
pub const DATA_VOLUME: &str = "data";

/// The claim of a pod's data volume: `data-<pod>` (the StatefulSet controller's naming).
pub fn data_claim(cluster: &str, pool: &str, ordinal: i32) -> String {
    format!("{DATA_VOLUME}-{}", pod(cluster, pool, ordinal))
}

/// The ordinal of a pod (or Pilot, or claim) name of `pool`'s StatefulSet, if it is one.
pub fn ordinal_of(cluster: &str, pool: &str, name: &str) -> Option<i32> {
    let sts = statefulset(cluster, pool);
    let rest = name
        .strip_prefix(&format!("{DATA_VOLUME}-"))
        .unwrap_or(name)
        .strip_prefix(&sts)?
        .strip_prefix('-')?;
    if rest.is_empty() || rest.starts_with('+') || (rest.len() > 1 && rest.starts_with('0')) {
        return None;
    }
    rest.parse().ok().filter(|n: &i32| *n >= 0)
}

/// The labels of every object of the cluster: `app` and the cluster name.
pub fn cluster_labels(cluster: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app".to_owned(), ELASTICSEARCH_APP_LABEL_VALUE.to_owned()),
        (
            ELASTICSEARCH_CLUSTER_NAME_LABEL.to_owned(),
            cluster.to_owned(),
        ),
    ])
}

/// The labels of a pool's objects: the cluster's plus the pool name.
pub fn pool_labels(cluster: &str, pool: &str) -> BTreeMap<String, String> {
    let mut labels = cluster_labels(cluster);
    labels.insert(
        ELASTICSEARCH_NODE_POOL_NAME_LABEL.to_owned(),
        pool.to_owned(),
    );
    labels
}

/// The labels of a pool's pods and Pilots (the pods' are its StatefulSet's selector): the
/// pool's, one `navigator.jetstack.io/elasticsearch-role-<role>: "true"` per role, and
/// `has-pilot`.
pub fn pod_labels(cluster: &str, pool: &str, roles: &[String]) -> BTreeMap<String, String> {
    let mut labels = pool_labels(cluster, pool);
    for role in roles {
        labels.insert(elasticsearch_role_label(role), "true".to_owned());
    }
    labels.insert(HAS_PILOT_LABEL.to_owned(), String::new());
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_original() {
        assert_eq!(statefulset("demo", "data"), "es-demo-data");
        assert_eq!(pod("demo", "data", 2), "es-demo-data-2");
        assert_eq!(data_claim("demo", "data", 0), "data-es-demo-data-0");
        assert_eq!(discovery_service("demo"), "es-demo-discovery");
        assert_eq!(client_service("demo"), "es-demo");
        assert_eq!(pool_config("demo", "data"), "es-demo-data-config");
        assert_eq!(leader_lease("demo"), "es-demo-pilot-leader");
    }

    #[test]
    fn ordinals_are_parsed_only_for_the_pool() {
        for (name, want) in [
            ("es-demo-a-0", Some(0)),
            ("es-demo-a-12", Some(12)),
            ("data-es-demo-a-3", Some(3)),
            ("es-demo-a-01", None),
            ("es-demo-a-", None),
            ("es-demo-a-b-1", None),
            ("es-demo-ab-1", None),
        ] {
            assert_eq!(ordinal_of("demo", "a", name), want, "{name}");
        }
    }

    #[test]
    fn pods_carry_one_label_per_role() {
        let labels = pod_labels("demo", "m", &["master".to_owned(), "data".to_owned()]);
        assert_eq!(
            labels.get("navigator.jetstack.io/elasticsearch-role-master"),
            Some(&"true".to_owned())
        );
        assert_eq!(
            labels.get("navigator.jetstack.io/elasticsearch-role-data"),
            Some(&"true".to_owned())
        );
        assert_eq!(labels.get("app"), Some(&"elasticsearchcluster".to_owned()));
    }
}
