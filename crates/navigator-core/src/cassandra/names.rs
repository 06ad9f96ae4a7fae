//! Names and labels of a Cassandra cluster's objects (the original Navigator's names, so
//! existing tooling and DNS names keep working).

use std::collections::BTreeMap;

use navigator_api::pilot_contract::{
    CASSANDRA_APP_LABEL_VALUE, CASSANDRA_CLUSTER_NAME_LABEL, CASSANDRA_NODE_POOL_NAME_LABEL,
    HAS_PILOT_LABEL,
};

/// The pilots' ServiceAccount, and the PodDisruptionBudget: `cass-<cluster>`.
pub fn service_account(cluster: &str) -> String {
    format!("cass-{cluster}")
}

/// The pilots' Role and RoleBinding: `cass-<cluster>-pilot`.
pub fn pilot_role(cluster: &str) -> String {
    format!("cass-{cluster}-pilot")
}

/// The headless Service giving every node a DNS name: `cass-<cluster>-nodes`.
pub fn nodes_service(cluster: &str) -> String {
    format!("cass-{cluster}-nodes")
}

/// The headless Service publishing the seeds, ready or not: `cass-<cluster>-seeds`.
pub fn seeds_service(cluster: &str) -> String {
    format!("cass-{cluster}-seeds")
}

/// The Service clients connect to (CQL on ready nodes): `cass-<cluster>`.
pub fn client_service(cluster: &str) -> String {
    format!("cass-{cluster}")
}

/// The PodDisruptionBudget of the database pods: `cass-<cluster>`.
pub fn pod_disruption_budget(cluster: &str) -> String {
    format!("cass-{cluster}")
}

/// The StatefulSet of a node pool: `cass-<cluster>-<pool>`.
pub fn statefulset(cluster: &str, pool: &str) -> String {
    format!("cass-{cluster}-{pool}")
}

/// The pod (and its Pilot) with `ordinal` in a pool: `cass-<cluster>-<pool>-<ordinal>`.
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
        ("app".to_owned(), CASSANDRA_APP_LABEL_VALUE.to_owned()),
        (CASSANDRA_CLUSTER_NAME_LABEL.to_owned(), cluster.to_owned()),
    ])
}

/// The labels of a pool's objects: the cluster's plus the pool name.
pub fn pool_labels(cluster: &str, pool: &str) -> BTreeMap<String, String> {
    let mut labels = cluster_labels(cluster);
    labels.insert(CASSANDRA_NODE_POOL_NAME_LABEL.to_owned(), pool.to_owned());
    labels
}

/// The labels of a pool's pods (its StatefulSet's selector): the pool's plus `has-pilot`.
pub fn pod_labels(cluster: &str, pool: &str) -> BTreeMap<String, String> {
    let mut labels = pool_labels(cluster, pool);
    labels.insert(HAS_PILOT_LABEL.to_owned(), String::new());
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_original() {
        assert_eq!(statefulset("demo", "rack-a"), "cass-demo-rack-a");
        assert_eq!(pod("demo", "rack-a", 2), "cass-demo-rack-a-2");
        assert_eq!(data_claim("demo", "a", 0), "data-cass-demo-a-0");
        assert_eq!(seeds_service("demo"), "cass-demo-seeds");
    }

    #[test]
    fn ordinals_are_parsed_only_for_the_pool() {
        for (name, want) in [
            ("cass-demo-a-0", Some(0)),
            ("cass-demo-a-12", Some(12)),
            ("data-cass-demo-a-3", Some(3)),
            ("cass-demo-a-01", None),
            ("cass-demo-a-", None),
            ("cass-demo-a-b-1", None),
            ("cass-demo-ab-1", None),
            ("cass-demo-a--1", None),
            ("cass-demo-a-+1", None),
        ] {
            assert_eq!(ordinal_of("demo", "a", name), want, "{name}");
        }
    }
}
