//! The kube-rs `Controller` over the clusters of one kind (CassandraClusters or
//! ElasticsearchClusters; the process runs one per kind): the clusters' own watch, the children
//! it owns (StatefulSets, Services, ServiceAccounts, Roles, RoleBindings, PodDisruptionBudgets,
//! ConfigMaps, by owner reference) and the objects mapped to a cluster by its cluster-name label
//! (Pods, Pilots, PersistentVolumeClaims). Every child watch is selected by the kind's `app`
//! label and feeds the cache the planner's observations come from.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use kube::Client;
use kube::runtime::controller::{Config, Controller};
use kube::runtime::reflector::ObjectRef;

use crate::admission::Admission;
use crate::events::Events;
use crate::kind::ClusterKind;
use crate::metrics::Metrics;
use crate::observe::ClusterKey;
use crate::reconcile::{Context, error_policy, reconcile};
use crate::stores::{Stores, reflected, reflected_clusters};

/// The kinds of cluster the process runs (one controller each): it is ready once the caches
/// of all of them are filled.
pub const KINDS: usize = 2;

/// How long triggers are collected before a reconcile (pilot heartbeats of one cluster
/// arrive close together). Creating a cluster's children takes three passes, each behind the
/// debounce: at 250 ms they took 0.95 s (p50) to appear.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// How many clusters are reconciled at once. Unbounded, 1,000 new clusters meant ~800 API
/// connections at once, 504s from the API server and a Lease renewal that came too late.
/// Enforced by [`Admission`] in the reconcile (first come, first served), not by kube-rs
/// (see [`config`]).
pub const CONCURRENCY: u16 = 8;

/// The kube-rs `Controller`'s configuration: [`DEBOUNCE`], and no concurrency limit of its own.
/// kube-rs' limit serves the requests it holds back by hash order, which starved a fixed set of
/// clusters for minutes under overload (crate::admission); every due request is started at
/// once instead and waits its turn in [`Admission`] ([`CONCURRENCY`] at a time).
pub fn config() -> Config {
    Config::default().debounce(DEBOUNCE).concurrency(0)
}

/// The cluster of kind `C` an object belongs to by its labels, as a reconcile request.
pub fn cluster_of<C: ClusterKind>(
    metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<ObjectRef<C>> {
    ClusterKey::of_labelled(C::CLUSTER_LABEL, metadata)
        .map(|k| ObjectRef::new(&k.name).within(&k.namespace))
}

/// Runs the controller until `shutdown` completes (in-flight reconciles are left to finish
/// or be dropped: every step is safe to repeat).
pub async fn run<C: ClusterKind>(
    client: Client,
    namespace: Option<String>,
    settings: C::Settings,
    metrics: Arc<Metrics>,
    instance: String,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let ns = namespace.as_deref();
    let app = C::APP;
    let (statefulsets, statefulset_events) = reflected(&client, ns, app);
    let (service_accounts, service_account_events) = reflected(&client, ns, app);
    let (roles, role_events) = reflected(&client, ns, app);
    let (role_bindings, role_binding_events) = reflected(&client, ns, app);
    let (services, service_events) = reflected(&client, ns, app);
    let (pod_disruption_budgets, pdb_events) = reflected(&client, ns, app);
    let (config_maps, config_map_events) = reflected(&client, ns, app);
    let (pods, pod_events) = reflected(&client, ns, app);
    let (pilots, pilot_events) = reflected(&client, ns, app);
    let (claims, claim_events) = reflected(&client, ns, app);
    let stores = Stores {
        statefulsets,
        pods,
        pilots,
        claims,
        service_accounts,
        roles,
        role_bindings,
        services,
        pod_disruption_budgets,
        config_maps,
    };
    let (clusters, cluster_events) = reflected_clusters::<C>(&client, ns);
    let admission = Arc::new(Admission::new(usize::from(CONCURRENCY)));
    let controller = Controller::for_stream(cluster_events, clusters)
        .with_config(config())
        .owns_stream(statefulset_events)
        .owns_stream(service_account_events)
        .owns_stream(role_events)
        .owns_stream(role_binding_events)
        .owns_stream(service_events)
        .owns_stream(pdb_events)
        .owns_stream(config_map_events)
        .watches_stream(pod_events, |o: k8s_openapi::api::core::v1::Pod| {
            cluster_of::<C>(&o.metadata)
        })
        .watches_stream(pilot_events, |o: navigator_api::v1beta1::Pilot| {
            cluster_of::<C>(&o.metadata)
        })
        .watches_stream(
            claim_events,
            |o: k8s_openapi::api::core::v1::PersistentVolumeClaim| cluster_of::<C>(&o.metadata),
        )
        .graceful_shutdown_on({
            // Reconciles still waiting for their turn are dropped at once on shutdown (the
            // ones running finish).
            let admission = Arc::clone(&admission);
            async move {
                shutdown.await;
                admission.close();
            }
        });

    // Marks the process ready once the caches are filled, then stays pending (the controller's
    // stream decides when `run` ends).
    let ready = {
        let stores = stores.clone();
        let metrics = Arc::clone(&metrics);
        async move {
            if stores
                .wait_until_ready(Duration::from_secs(3600))
                .await
                .is_ok()
            {
                tracing::info!(kind = %C::kind(&()), "caches filled");
                metrics.kind_caches_filled(KINDS);
            }
            std::future::pending::<()>().await;
        }
    };
    let ctx = Arc::new(Context {
        events: Events::new(client.clone(), instance),
        client,
        settings,
        clusters: controller.store(),
        stores,
        metrics,
        expectations: Mutex::new(HashMap::new()),
        failures: Mutex::new(HashMap::new()),
        admission,
    });
    let run = controller
        .run(reconcile::<C>, error_policy::<C>, ctx)
        .for_each(|result| async move {
            match result {
                Ok(_) => {}
                Err(kube::runtime::controller::Error::ReconcilerFailed(_, _)) => {
                    // Logged inside the reconcile, with the cluster's span.
                }
                Err(e) => tracing::warn!(error = %e, "controller"),
            }
        });
    // The caches fill while the controller polls their watches.
    tokio::select! {
        () = run => {}
        () = ready => {}
    }
}
