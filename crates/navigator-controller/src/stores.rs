//! The controller's caches, per kind of cluster: one label-selected watch (`app=cassandracluster`
//! or `app=elasticsearchcluster`) per child kind, in one namespace or all, each feeding a
//! reflector store. Nothing unrelated to the clusters is cached. The watch streams also trigger
//! reconciles (see `controller`).

use std::fmt::Debug;
use std::time::Duration;

use futures::Stream;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt as _, watcher};

use crate::strip::Strip;
use kube::{Api, Client, Resource};
use navigator_api::v1beta1::Pilot;
use serde::de::DeserializeOwned;

use crate::expectations::Kind;
use crate::kind::ClusterKind;
use crate::observe::{ClusterKey, Snapshot};

/// The caches did not fill in time.
#[derive(Debug, thiserror::Error)]
pub enum StoresError {
    /// A cache has not finished its first list.
    #[error("the {0} cache has not finished its first list within {1:?}")]
    NotReady(&'static str, Duration),
}

/// The label selector of every child watch of a cluster kind whose `app` label is `app`,
/// e.g. `app=cassandracluster`.
pub fn selector(app: &str) -> String {
    format!("app={app}")
}

/// The watch configuration of every child kind of a cluster kind whose `app` label is `app`.
pub fn watch_config(app: &str) -> watcher::Config {
    watcher::Config::default().labels(&selector(app))
}

/// An `Api` in `namespace`, or across all namespaces.
pub fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// A label-selected watch of `K` reflected into a store (each object stripped to what the
/// decisions read, [`Strip`]): the store, and the stream of touched objects (applied or
/// deleted) that must be polled for the store to fill. With `K` a `PartialObjectMeta<_>` the
/// watch is metadata-only (the API server sends `PartialObjectMetadata`: no spec or status is
/// sent, parsed or kept): so are the children whose metadata is all the decisions read
/// (ServiceAccounts, Roles, RoleBindings, Services, PodDisruptionBudgets: names, labels, the
/// spec-hash annotation; owner references for the controller's triggers).
pub fn reflected<K>(
    client: &Client,
    namespace: Option<&str>,
    app: &str,
) -> (
    Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Strip
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api::<K>(client, namespace), watch_config(app))
        .default_backoff()
        .modify(Strip::strip)
        .reflect(writer)
        .touched_objects();
    (reader, stream)
}

/// The watch of every cluster of kind `C` (no label selector: clusters are the users' objects)
/// reflected into a store, each stripped like the children ([`Strip`]: no managedFields, no
/// last-applied annotation): the store, and the stream of applied clusters that drives the
/// controller (`Controller::for_stream`). `Controller::new` would keep the clusters whole.
pub fn reflected_clusters<C: ClusterKind>(
    client: &Client,
    namespace: Option<&str>,
) -> (
    Store<C>,
    impl Stream<Item = Result<C, watcher::Error>> + Send + 'static,
) {
    let (reader, writer) = reflector::store();
    let stream = watcher(api::<C>(client, namespace), watcher::Config::default())
        .default_backoff()
        .modify(Strip::strip)
        .reflect(writer)
        .applied_objects();
    (reader, stream)
}

/// Read handles of every child cache (metadata only for the kinds whose metadata is all that is
/// read).
#[derive(Clone)]
pub struct Stores {
    /// StatefulSets.
    pub statefulsets: Store<StatefulSet>,
    /// Pods.
    pub pods: Store<Pod>,
    /// Pilots.
    pub pilots: Store<Pilot>,
    /// PersistentVolumeClaims.
    pub claims: Store<PersistentVolumeClaim>,
    /// ServiceAccounts.
    pub service_accounts: Store<PartialObjectMeta<ServiceAccount>>,
    /// Roles.
    pub roles: Store<PartialObjectMeta<Role>>,
    /// RoleBindings.
    pub role_bindings: Store<PartialObjectMeta<RoleBinding>>,
    /// Services.
    pub services: Store<PartialObjectMeta<Service>>,
    /// PodDisruptionBudgets.
    pub pod_disruption_budgets: Store<PartialObjectMeta<PodDisruptionBudget>>,
    /// ConfigMaps.
    pub config_maps: Store<PartialObjectMeta<ConfigMap>>,
}

impl Stores {
    /// What the caches hold of one cluster (its namespace and cluster-name label); only
    /// that cluster's objects are cloned out of the caches.
    pub fn snapshot_of(&self, cluster: &ClusterKey) -> Snapshot {
        Snapshot {
            statefulsets: self
                .statefulsets
                .state_filter(|o| cluster.owns(&o.metadata)),
            pods: self.pods.state_filter(|o| cluster.owns(&o.metadata)),
            pilots: self.pilots.state_filter(|o| cluster.owns(&o.metadata)),
            claims: self.claims.state_filter(|o| cluster.owns(&o.metadata)),
            service_accounts: self
                .service_accounts
                .state_filter(|o| cluster.owns(&o.metadata)),
            roles: self.roles.state_filter(|o| cluster.owns(&o.metadata)),
            role_bindings: self
                .role_bindings
                .state_filter(|o| cluster.owns(&o.metadata)),
            services: self.services.state_filter(|o| cluster.owns(&o.metadata)),
            pod_disruption_budgets: self
                .pod_disruption_budgets
                .state_filter(|o| cluster.owns(&o.metadata)),
            config_maps: self.config_maps.state_filter(|o| cluster.owns(&o.metadata)),
        }
    }

    /// The cached object of `kind` named `name` in `namespace`: its resourceVersion and
    /// whether it is being deleted; `None` when the cache does not hold it.
    pub fn seen(&self, kind: Kind, namespace: &str, name: &str) -> Option<(String, bool)> {
        fn one<K>(store: &Store<K>, namespace: &str, name: &str) -> Option<(String, bool)>
        where
            K: Resource<DynamicType = ()> + Clone + 'static,
        {
            let object = store.get(&ObjectRef::new(name).within(namespace))?;
            let meta = object.meta();
            Some((
                meta.resource_version.clone().unwrap_or_default(),
                meta.deletion_timestamp.is_some(),
            ))
        }
        match kind {
            Kind::StatefulSet => one(&self.statefulsets, namespace, name),
            Kind::Pilot => one(&self.pilots, namespace, name),
            Kind::Pod => one(&self.pods, namespace, name),
            Kind::Claim => one(&self.claims, namespace, name),
        }
    }

    /// Waits until every cache finished its first list (the planner must never act on a
    /// cache that does not yet hold what exists: a missing StatefulSet would be created again
    /// with one replica).
    pub async fn wait_until_ready(&self, timeout: Duration) -> Result<(), StoresError> {
        async fn one<K>(
            store: &Store<K>,
            name: &'static str,
            timeout: Duration,
        ) -> Result<(), StoresError>
        where
            K: Resource<DynamicType = ()> + Clone + 'static,
        {
            match tokio::time::timeout(timeout, store.wait_until_ready()).await {
                Ok(Ok(())) => Ok(()),
                _ => Err(StoresError::NotReady(name, timeout)),
            }
        }
        one(&self.statefulsets, "StatefulSet", timeout).await?;
        one(&self.pods, "Pod", timeout).await?;
        one(&self.pilots, "Pilot", timeout).await?;
        one(&self.claims, "PersistentVolumeClaim", timeout).await?;
        one(&self.service_accounts, "ServiceAccount", timeout).await?;
        one(&self.roles, "Role", timeout).await?;
        one(&self.role_bindings, "RoleBinding", timeout).await?;
        one(&self.services, "Service", timeout).await?;
        one(&self.pod_disruption_budgets, "PodDisruptionBudget", timeout).await?;
        one(&self.config_maps, "ConfigMap", timeout).await?;
        Ok(())
    }
}
