//! Test fixtures: a fake ring of pods, Pilots with reports, StatefulSets built by the real
//! builders, and knobs to break each fact the planner reads.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use navigator_api::pilot_contract::CASSANDRA_SEED_LABEL;
use navigator_api::v1beta1::{
    CassandraCluster, CassandraClusterNodePool, CassandraClusterSpec, CassandraPeers,
    CassandraPilotStatus, Pilot,
};

use super::facts::REVISION_LABEL;
use crate::cassandra::children;
use crate::cassandra::compatibility::{STORAGE_COMPATIBILITY_ANNOTATION, StorageCompatibility};
use crate::cassandra::names;
use crate::cassandra::observe::Observed;
use crate::cassandra::settings::Settings;
pub use crate::observe::fixtures::{ago, now, operation, pilot_mut, pod_mut, unready};

/// The cluster's name.
pub const NAME: &str = "demo";
/// The first revision of every StatefulSet.
pub const REV1: &str = "rev-1";
/// The revision after a template change.
pub const REV2: &str = "rev-2";
/// The revision after a second template change.
pub const REV3: &str = "rev-3";
/// The revision after a third template change.
pub const REV4: &str = "rev-4";

/// A cluster `demo` with `pools` (name, desired replicas) at `version`.
pub fn cluster(pools: &[(&str, i32)], version: &str) -> CassandraCluster {
    CassandraCluster {
        metadata: ObjectMeta {
            name: Some(NAME.into()),
            namespace: Some("ns".into()),
            uid: Some("uid-1".into()),
            generation: Some(1),
            ..ObjectMeta::default()
        },
        spec: CassandraClusterSpec {
            version: Some(version.parse().expect("version")),
            node_pools: pools
                .iter()
                .map(|(n, r)| CassandraClusterNodePool {
                    name: (*n).into(),
                    replicas: Some(*r),
                    ..CassandraClusterNodePool::default()
                })
                .collect(),
            ..CassandraClusterSpec::default()
        },
        status: Default::default(),
    }
}

/// The pool `name` of `cluster`.
pub fn pool<'a>(cluster: &'a CassandraCluster, name: &str) -> &'a CassandraClusterNodePool {
    cluster
        .spec
        .node_pools
        .iter()
        .find(|p| p.name == name)
        .expect("pool")
}

/// Sets the desired replicas of `pool`.
pub fn set_replicas(cluster: &mut CassandraCluster, pool: &str, replicas: i32) {
    for p in &mut cluster.spec.node_pools {
        if p.name == pool {
            p.replicas = Some(replicas);
        }
    }
}

/// The IP of pod `ordinal` of the pool with index `pool_index`.
pub fn ip(pool_index: usize, ordinal: i32) -> String {
    format!("10.244.{pool_index}.{}", ordinal + 10)
}

/// The pod name of `ordinal` in `pool`.
pub fn pod_name(pool: &str, ordinal: i32) -> String {
    names::pod(NAME, pool, ordinal)
}

/// The StatefulSet of `pool` as the builder makes it, with a status the StatefulSet controller
/// has caught up with.
pub fn sts(
    cluster: &CassandraCluster,
    pool_name: &str,
    replicas: i32,
    partition: i32,
    update_revision: &str,
    current_revision: &str,
) -> StatefulSet {
    sts_in_mode(
        cluster,
        pool_name,
        replicas,
        partition,
        update_revision,
        current_revision,
        StorageCompatibility::None,
    )
}

/// [`sts`] with the template in storage compatibility `mode` (ignored for 4.x).
pub fn sts_in_mode(
    cluster: &CassandraCluster,
    pool_name: &str,
    replicas: i32,
    partition: i32,
    update_revision: &str,
    current_revision: &str,
    mode: StorageCompatibility,
) -> StatefulSet {
    let mut s = children::statefulset_in_mode(
        cluster,
        pool(cluster, pool_name),
        replicas,
        partition,
        &Settings::default(),
        mode,
    )
    .expect("statefulset builder");
    s.metadata.generation = Some(1);
    s.status = Some(StatefulSetStatus {
        observed_generation: Some(1),
        replicas,
        update_revision: Some(update_revision.into()),
        current_revision: Some(current_revision.into()),
        ..StatefulSetStatus::default()
    });
    s
}

/// A Ready pod of `ordinal` in `pool` on `revision`.
pub fn pod(pool_index: usize, pool: &str, ordinal: i32, revision: &str) -> Pod {
    let mut labels = names::pod_labels(NAME, pool);
    labels.insert(REVISION_LABEL.into(), revision.into());
    if ordinal == 0 {
        labels.insert(CASSANDRA_SEED_LABEL.into(), "true".into());
    }
    Pod {
        metadata: ObjectMeta {
            name: Some(pod_name(pool, ordinal)),
            namespace: Some("ns".into()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(PodStatus {
            pod_ip: Some(ip(pool_index, ordinal)),
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        }),
    }
}

/// The Pilot of `ordinal` in `pool`, as the builder makes it, reporting a fresh, NORMAL node
/// of `version` that sees `live`.
pub fn pilot(
    cluster: &CassandraCluster,
    pool: &str,
    ordinal: i32,
    version: &str,
    live: Vec<String>,
) -> Pilot {
    let mut p = children::pilot(cluster, pool, ordinal).expect("pilot builder");
    p.metadata.generation = Some(1);
    p.status.observed_generation = Some(1);
    p.status.last_heartbeat_time = Some(ago(5));
    p.status.cassandra = Some(CassandraPilotStatus {
        version: Some(version.parse().expect("version")),
        host_id: Some(format!("host-{pool}-{ordinal}")),
        operation_mode: Some("NORMAL".into()),
        peers: Some(CassandraPeers {
            live,
            ..CassandraPeers::default()
        }),
        ..CassandraPilotStatus::default()
    });
    p
}

/// The data claim of `ordinal` in `pool`.
pub fn claim(pool: &str, ordinal: i32) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(names::data_claim(NAME, pool, ordinal)),
            namespace: Some("ns".into()),
            ..ObjectMeta::default()
        },
        ..PersistentVolumeClaim::default()
    }
}

/// A converged observation of `cluster`: shared children applied, every pool's StatefulSet at
/// `replicas` (its desired replicas when `None`) on revision 1, Ready pods, fresh Pilots that
/// see every node, and claims.
pub fn ring_with(cluster: &CassandraCluster, replicas: &[(&str, i32)]) -> Observed {
    let settings = Settings::default();
    let mut observed = Observed::default();
    for child in children::shared_children(cluster, &settings).expect("shared children") {
        let hash = super::facts::annotation_hash(child_meta(&child)).map(str::to_owned);
        observed.others.insert(child.child_ref(), hash);
    }
    let version = cluster
        .spec
        .version
        .as_ref()
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default();
    let counts: BTreeMap<&str, i32> = replicas.iter().copied().collect();
    let mut all_ips = Vec::new();
    for (i, p) in cluster.spec.node_pools.iter().enumerate() {
        if let Some(n) = counts.get(p.name.as_str()) {
            all_ips.extend((0..*n).map(|k| ip(i, k)));
        }
    }
    for (i, p) in cluster.spec.node_pools.iter().enumerate() {
        let Some(&n) = counts.get(p.name.as_str()) else {
            continue;
        };
        observed
            .statefulsets
            .push(sts(cluster, &p.name, n, 0, REV1, REV1));
        for k in 0..n {
            observed.pods.push(pod(i, &p.name, k, REV1));
            observed
                .pilots
                .push(pilot(cluster, &p.name, k, &version, all_ips.clone()));
            observed.claims.push(claim(&p.name, k));
        }
    }
    observed
}

/// [`ring_with`] every pool at its desired replicas.
pub fn ring(cluster: &CassandraCluster) -> Observed {
    let replicas: Vec<(&str, i32)> = cluster
        .spec
        .node_pools
        .iter()
        .map(|p| (p.name.as_str(), p.replicas.unwrap_or(1)))
        .collect();
    ring_with(cluster, &replicas)
}

fn child_meta(child: &children::DesiredChild) -> &ObjectMeta {
    child.metadata()
}

/// The StatefulSet of `pool`.
pub fn sts_mut<'a>(observed: &'a mut Observed, pool: &str) -> &'a mut StatefulSet {
    let name = names::statefulset(NAME, pool);
    observed
        .statefulsets
        .iter_mut()
        .find(|s| s.metadata.name.as_deref() == Some(name.as_str()))
        .expect("statefulset")
}

/// Removes the objects called `name` (pods, Pilots, claims).
pub fn remove(observed: &mut Observed, name: &str) {
    observed
        .pods
        .retain(|p| p.metadata.name.as_deref() != Some(name));
    observed
        .pilots
        .retain(|p| p.metadata.name.as_deref() != Some(name));
    observed
        .claims
        .retain(|p| p.metadata.name.as_deref() != Some(name));
}

/// The cassandra facts of a Pilot.
pub fn facts_mut(pilot: &mut Pilot) -> &mut CassandraPilotStatus {
    pilot.status.cassandra.get_or_insert_with(Default::default)
}

/// Marks the pod as created from a template in storage compatibility `mode` (its annotation).
pub fn in_mode(pod: &mut Pod, mode: StorageCompatibility) {
    pod.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(
            STORAGE_COMPATIBILITY_ANNOTATION.into(),
            mode.as_str().into(),
        );
}
