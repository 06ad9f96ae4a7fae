//! The planner's observations of one cluster, picked from the caches: the objects in the
//! cluster's namespace that carry its cluster-name label. Pure: the caches' contents come in
//! as slices, so the filtering is tested without an API.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::PartialObjectMeta;
use navigator_api::v1beta1::Pilot;
use navigator_core::hash::SPEC_HASH_ANNOTATION;
use navigator_core::observe::{ChildKind, ChildRef, Observed};

/// A cluster by namespace and name (and the label its objects carry its name in).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterKey {
    /// The cluster-name label of the cluster's kind (e.g.
    /// `navigator.jetstack.io/cassandra-cluster-name`).
    pub label: &'static str,
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl ClusterKey {
    /// The key of the cluster `metadata` belongs to by its cluster-name label `label`, if it
    /// has one.
    pub fn of_labelled(label: &'static str, metadata: &ObjectMeta) -> Option<ClusterKey> {
        let name = metadata.labels.as_ref()?.get(label)?;
        if name.is_empty() {
            return None;
        }
        Some(ClusterKey {
            label,
            namespace: metadata.namespace.clone().unwrap_or_default(),
            name: name.clone(),
        })
    }

    /// Whether `metadata` is in this cluster's namespace and carries its cluster-name label
    /// (the same as `of_labelled(self.label, metadata) == Some(self)`, without copying: every reconcile
    /// asks this of every cached object).
    pub fn owns(&self, metadata: &ObjectMeta) -> bool {
        let label = metadata.labels.as_ref().and_then(|l| l.get(self.label));
        matches!(label, Some(name) if !name.is_empty() && *name == self.name)
            && metadata.namespace.as_deref().unwrap_or_default() == self.namespace
    }
}

impl std::fmt::Display for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// What the caches hold, as snapshots (one `Vec` per kind).
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// StatefulSets.
    pub statefulsets: Vec<Arc<StatefulSet>>,
    /// Pods.
    pub pods: Vec<Arc<Pod>>,
    /// Pilots.
    pub pilots: Vec<Arc<Pilot>>,
    /// PersistentVolumeClaims.
    pub claims: Vec<Arc<PersistentVolumeClaim>>,
    /// ServiceAccounts.
    pub service_accounts: Vec<Arc<PartialObjectMeta<ServiceAccount>>>,
    /// Roles.
    pub roles: Vec<Arc<PartialObjectMeta<Role>>>,
    /// RoleBindings.
    pub role_bindings: Vec<Arc<PartialObjectMeta<RoleBinding>>>,
    /// Services.
    pub services: Vec<Arc<PartialObjectMeta<Service>>>,
    /// PodDisruptionBudgets.
    pub pod_disruption_budgets: Vec<Arc<PartialObjectMeta<PodDisruptionBudget>>>,
    /// ConfigMaps.
    pub config_maps: Vec<Arc<PartialObjectMeta<ConfigMap>>>,
}

/// The cluster's objects in `snapshot`, sorted by name so the planner sees a stable order.
pub fn observed(cluster: &ClusterKey, snapshot: &Snapshot) -> Observed {
    let mut observed = Observed {
        statefulsets: pick(cluster, &snapshot.statefulsets, |o| &o.metadata),
        pods: pick(cluster, &snapshot.pods, |o| &o.metadata),
        pilots: pick(cluster, &snapshot.pilots, |o| &o.metadata),
        claims: pick(cluster, &snapshot.claims, |o| &o.metadata),
        others: Default::default(),
    };
    let mut other = |kind: ChildKind, metadata: &ObjectMeta| {
        if cluster.owns(metadata) {
            let hash = metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(SPEC_HASH_ANNOTATION))
                .cloned();
            let name = metadata.name.clone().unwrap_or_default();
            observed.others.insert(ChildRef { kind, name }, hash);
        }
    };
    for o in &snapshot.service_accounts {
        other(ChildKind::ServiceAccount, &o.metadata);
    }
    for o in &snapshot.roles {
        other(ChildKind::Role, &o.metadata);
    }
    for o in &snapshot.role_bindings {
        other(ChildKind::RoleBinding, &o.metadata);
    }
    for o in &snapshot.services {
        other(ChildKind::Service, &o.metadata);
    }
    for o in &snapshot.pod_disruption_budgets {
        other(ChildKind::PodDisruptionBudget, &o.metadata);
    }
    for o in &snapshot.config_maps {
        other(ChildKind::ConfigMap, &o.metadata);
    }
    observed
}

fn pick<T: Clone>(
    cluster: &ClusterKey,
    objects: &[Arc<T>],
    metadata: impl Fn(&T) -> &ObjectMeta,
) -> Vec<T> {
    let mut picked: Vec<T> = objects
        .iter()
        .filter(|o| cluster.owns(metadata(o)))
        .map(|o| T::clone(o))
        .collect();
    picked.sort_by(|a, b| metadata(a).name.cmp(&metadata(b).name));
    picked
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use kube::core::PartialObjectMetaExt as _;
    use pretty_assertions::assert_eq;

    use navigator_api::pilot_contract::CASSANDRA_CLUSTER_NAME_LABEL;

    use super::*;

    fn meta(namespace: &str, name: &str, cluster: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            namespace: Some(namespace.to_owned()),
            name: Some(name.to_owned()),
            labels: cluster.map(|c| {
                BTreeMap::from([
                    ("app".to_owned(), "cassandracluster".to_owned()),
                    (CASSANDRA_CLUSTER_NAME_LABEL.to_owned(), c.to_owned()),
                ])
            }),
            ..ObjectMeta::default()
        }
    }

    fn pod(namespace: &str, name: &str, cluster: Option<&str>) -> Arc<Pod> {
        Arc::new(Pod {
            metadata: meta(namespace, name, cluster),
            ..Pod::default()
        })
    }

    fn names<T>(objects: &[T], metadata: impl Fn(&T) -> &ObjectMeta) -> Vec<String> {
        objects
            .iter()
            .map(|o| metadata(o).name.clone().unwrap_or_default())
            .collect()
    }

    #[test]
    fn only_objects_of_the_cluster_in_its_namespace_are_observed() {
        let key = ClusterKey {
            label: CASSANDRA_CLUSTER_NAME_LABEL,
            namespace: "ns1".into(),
            name: "demo".into(),
        };
        let snapshot = Snapshot {
            pods: vec![
                pod("ns1", "cass-demo-a-1", Some("demo")),
                pod("ns1", "cass-demo-a-0", Some("demo")),
                // Same cluster name, other namespace.
                pod("ns2", "cass-demo-a-0", Some("demo")),
                // Other cluster, same namespace.
                pod("ns1", "cass-other-a-0", Some("other")),
                // A name that looks like the cluster's but no label.
                pod("ns1", "cass-demo-a-2", None),
            ],
            pilots: vec![Arc::new(Pilot {
                metadata: meta("ns1", "cass-demo-a-0", Some("demo")),
                ..Pilot::default()
            })],
            ..Snapshot::default()
        };
        let observed = observed(&key, &snapshot);
        assert_eq!(
            names(&observed.pods, |p| &p.metadata),
            vec!["cass-demo-a-0", "cass-demo-a-1"]
        );
        assert_eq!(
            names(&observed.pilots, |p| &p.metadata),
            vec!["cass-demo-a-0"]
        );
        assert!(observed.statefulsets.is_empty());
        assert!(observed.claims.is_empty());
    }

    #[test]
    fn other_children_carry_their_spec_hash() {
        let key = ClusterKey {
            label: CASSANDRA_CLUSTER_NAME_LABEL,
            namespace: "ns1".into(),
            name: "demo".into(),
        };
        let mut hashed = meta("ns1", "cass-demo-nodes", Some("demo"));
        hashed.annotations = Some(BTreeMap::from([(
            SPEC_HASH_ANNOTATION.to_owned(),
            "abc".to_owned(),
        )]));
        let snapshot = Snapshot {
            services: vec![
                Arc::new(hashed.into_request_partial::<Service>()),
                Arc::new(
                    meta("ns1", "cass-other-nodes", Some("other"))
                        .into_request_partial::<Service>(),
                ),
            ],
            service_accounts: vec![Arc::new(
                meta("ns1", "cass-demo", Some("demo")).into_request_partial::<ServiceAccount>(),
            )],
            ..Snapshot::default()
        };
        let observed = observed(&key, &snapshot);
        assert_eq!(
            observed.others,
            BTreeMap::from([
                (
                    ChildRef {
                        kind: ChildKind::ServiceAccount,
                        name: "cass-demo".into()
                    },
                    None
                ),
                (
                    ChildRef {
                        kind: ChildKind::Service,
                        name: "cass-demo-nodes".into()
                    },
                    Some("abc".into())
                ),
            ])
        );
    }

    #[test]
    fn the_cluster_of_a_labelled_object_is_its_namespace_and_label() {
        assert_eq!(
            ClusterKey::of_labelled(
                CASSANDRA_CLUSTER_NAME_LABEL,
                &meta("ns1", "x", Some("demo"))
            ),
            Some(ClusterKey {
                label: CASSANDRA_CLUSTER_NAME_LABEL,
                namespace: "ns1".into(),
                name: "demo".into()
            })
        );
        assert_eq!(
            ClusterKey::of_labelled(CASSANDRA_CLUSTER_NAME_LABEL, &meta("ns1", "x", None)),
            None
        );
        assert_eq!(
            ClusterKey::of_labelled(CASSANDRA_CLUSTER_NAME_LABEL, &meta("ns1", "x", Some(""))),
            None
        );
        let unnamed = ClusterKey {
            label: CASSANDRA_CLUSTER_NAME_LABEL,
            namespace: "ns1".into(),
            name: String::new(),
        };
        assert!(!unnamed.owns(&meta("ns1", "x", Some(""))));
        assert!(!unnamed.owns(&meta("ns1", "x", None)));
        let no_namespace = ClusterKey {
            label: CASSANDRA_CLUSTER_NAME_LABEL,
            namespace: String::new(),
            name: "demo".into(),
        };
        let mut unset = meta("ns1", "x", Some("demo"));
        unset.namespace = None;
        assert!(no_namespace.owns(&unset));
    }
}
