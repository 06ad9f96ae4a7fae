//! Test fixtures: a fake Elasticsearch cluster of pods, Pilots with reports (one of them the
//! leader), StatefulSets built by the real builders, knobs to break each fact the planner
//! reads, and a small simulation of what each action does (the API, the StatefulSet
//! controller and the pilots), to run whole stories.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use navigator_api::pilot_contract::ELASTICSEARCH_VERSION_ANNOTATION;
use navigator_api::v1beta1::{
    ElasticsearchCluster, ElasticsearchClusterNodePool, ElasticsearchClusterSpec,
    ElasticsearchPilotStatus, Pilot, PilotOperationStatus,
};

use super::facts::{self, REVISION_LABEL};
use super::{Action, plan};
use crate::elasticsearch::children;
use crate::elasticsearch::names;
use crate::elasticsearch::settings::Settings;
use crate::observe::Observed;
pub use crate::observe::fixtures::{ago, now, operation, pilot_mut, pod_mut, unready};

/// The cluster's name.
pub const NAME: &str = "demo";
/// The first revision of every StatefulSet.
pub const REV1: &str = "rev-1";
/// The revision after a template change.
pub const REV2: &str = "rev-2";
/// The version of every cluster unless a test says otherwise.
pub const VERSION: &str = "8.15.0";
/// Master-eligible only.
pub const MASTER: &[&str] = &["master"];
/// Data only.
pub const DATA: &[&str] = &["data"];
/// Master-eligible and data.
pub const MASTER_DATA: &[&str] = &["master", "data"];
/// Ingest only.
pub const INGEST: &[&str] = &["ingest"];

/// The settings of every test.
pub fn settings() -> Settings {
    Settings::default()
}

/// `plan` at `now` with the default settings.
pub fn run(c: &ElasticsearchCluster, o: &Observed) -> Action {
    plan(c, o, now(), &settings())
}

/// A cluster `demo` with `pools` (name, desired replicas, roles) at `version`.
pub fn cluster_at(pools: &[(&str, i32, &[&str])], version: &str) -> ElasticsearchCluster {
    ElasticsearchCluster {
        metadata: ObjectMeta {
            name: Some(NAME.into()),
            namespace: Some("ns".into()),
            uid: Some("uid-1".into()),
            generation: Some(1),
            ..ObjectMeta::default()
        },
        spec: ElasticsearchClusterSpec {
            version: Some(version.parse().expect("version")),
            node_pools: pools
                .iter()
                .map(|(n, r, roles)| ElasticsearchClusterNodePool {
                    name: (*n).into(),
                    replicas: Some(*r),
                    roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                    ..ElasticsearchClusterNodePool::default()
                })
                .collect(),
            ..ElasticsearchClusterSpec::default()
        },
        status: Default::default(),
    }
}

/// [`cluster_at`] at [`VERSION`].
pub fn cluster(pools: &[(&str, i32, &[&str])]) -> ElasticsearchCluster {
    cluster_at(pools, VERSION)
}

/// The pool `name` of `cluster`.
pub fn pool<'a>(cluster: &'a ElasticsearchCluster, name: &str) -> &'a ElasticsearchClusterNodePool {
    cluster
        .spec
        .node_pools
        .iter()
        .find(|p| p.name == name)
        .expect("pool")
}

/// Sets the desired replicas of `pool`.
pub fn set_replicas(cluster: &mut ElasticsearchCluster, pool: &str, replicas: i32) {
    for p in &mut cluster.spec.node_pools {
        if p.name == pool {
            p.replicas = Some(replicas);
        }
    }
}

/// The pod name of `ordinal` in `pool`.
pub fn pod_name(pool: &str, ordinal: i32) -> String {
    names::pod(NAME, pool, ordinal)
}

/// The StatefulSet of `pool` as the builder makes it.
pub fn built(c: &ElasticsearchCluster, p: &str, replicas: i32, partition: i32) -> StatefulSet {
    children::statefulset(c, pool(c, p), replicas, partition, &settings())
        .expect("statefulset builder")
}

/// The Pilot of `pool`'s `ordinal` as the builder makes it.
pub fn built_pilot(c: &ElasticsearchCluster, p: &str, ordinal: i32) -> Pilot {
    children::pilot(c, pool(c, p), ordinal).expect("pilot builder")
}

/// The StatefulSet of `pool` as the builder makes it, with a status the StatefulSet controller
/// has caught up with.
pub fn sts(
    cluster: &ElasticsearchCluster,
    pool_name: &str,
    replicas: i32,
    partition: i32,
    update_revision: &str,
    current_revision: &str,
) -> StatefulSet {
    let mut s = built(cluster, pool_name, replicas, partition);
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

/// A Ready pod of `ordinal` in `pool` (with `roles`) on `revision`.
pub fn pod(pool: &str, roles: &[String], ordinal: i32, revision: &str) -> Pod {
    let mut labels = names::pod_labels(NAME, pool, roles);
    labels.insert(REVISION_LABEL.into(), revision.into());
    Pod {
        metadata: ObjectMeta {
            name: Some(pod_name(pool, ordinal)),
            namespace: Some("ns".into()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(PodStatus {
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        }),
    }
}

/// The Pilot of `ordinal` in `pool`, as the builder makes it, reporting a fresh node of
/// `version` that joined the cluster and holds 4 shards.
pub fn pilot(
    cluster: &ElasticsearchCluster,
    pool_name: &str,
    ordinal: i32,
    version: &str,
) -> Pilot {
    let mut p = built_pilot(cluster, pool_name, ordinal);
    report(&mut p, version);
    p
}

/// Makes `pilot` report a fresh node of `version` that joined the cluster.
pub fn report(p: &mut Pilot, version: &str) {
    p.metadata.generation = Some(p.metadata.generation.unwrap_or(1));
    p.status.observed_generation = p.metadata.generation;
    p.status.last_heartbeat_time = Some(ago(5));
    let name = p.metadata.name.clone().unwrap_or_default();
    let es = p.status.elasticsearch.get_or_insert_with(Default::default);
    es.version = Some(version.parse().expect("version"));
    es.node_id = Some(format!("id-{name}"));
    es.shards.get_or_insert(4);
    es.documents.get_or_insert(100);
}

/// Makes `pilot` the leader reporting Green, nothing relocating or initializing.
pub fn lead(p: &mut Pilot) {
    let es = p.status.elasticsearch.get_or_insert_with(Default::default);
    es.cluster_health = Some("Green".into());
    es.relocating_shards = Some(0);
    es.initializing_shards = Some(0);
    es.unassigned_shards = Some(0);
}

/// The shared children of `cluster` recorded as observed, with their hashes.
pub fn record_children(cluster: &ElasticsearchCluster, observed: &mut Observed) {
    for child in children::shared_children(cluster, &settings()).expect("shared children") {
        let hash = facts::annotation_hash(child.metadata()).map(str::to_owned);
        observed.others.insert(child.child_ref(), hash);
    }
}

/// A converged observation of `cluster`: shared children applied, every pool's StatefulSet at
/// `replicas` (pools not named have none) on revision 1, Ready pods, fresh Pilots, and the
/// Pilot of the first pod of the first pool the Green leader.
pub fn healthy_with(cluster: &ElasticsearchCluster, replicas: &[(&str, i32)]) -> Observed {
    let mut observed = Observed::default();
    record_children(cluster, &mut observed);
    let version = cluster
        .spec
        .version
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let counts: BTreeMap<&str, i32> = replicas.iter().copied().collect();
    for p in &cluster.spec.node_pools {
        let Some(&n) = counts.get(p.name.as_str()) else {
            continue;
        };
        observed
            .statefulsets
            .push(sts(cluster, &p.name, n, 0, REV1, REV1));
        for k in 0..n {
            observed.pods.push(pod(&p.name, &p.roles, k, REV1));
            observed.pilots.push(pilot(cluster, &p.name, k, &version));
        }
    }
    if let Some(first) = observed.pilots.first_mut() {
        lead(first);
    }
    observed
}

/// [`healthy_with`] every pool at its desired replicas.
pub fn healthy(cluster: &ElasticsearchCluster) -> Observed {
    let replicas: Vec<(&str, i32)> = cluster
        .spec
        .node_pools
        .iter()
        .map(|p| (p.name.as_str(), p.replicas.unwrap_or(1)))
        .collect();
    healthy_with(cluster, &replicas)
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

/// The Elasticsearch facts of a Pilot.
pub fn es_mut(pilot: &mut Pilot) -> &mut ElasticsearchPilotStatus {
    pilot
        .status
        .elasticsearch
        .get_or_insert_with(Default::default)
}

/// The leader's facts (the Pilot reporting cluster health).
pub fn leader_mut(observed: &mut Observed) -> &mut ElasticsearchPilotStatus {
    observed
        .pilots
        .iter_mut()
        .find(|p| {
            p.status
                .elasticsearch
                .as_ref()
                .is_some_and(|e| e.cluster_health.is_some())
        })
        .and_then(|p| p.status.elasticsearch.as_mut())
        .expect("a leader")
}

/// Removes the pod and the Pilot called `name`.
pub fn remove(observed: &mut Observed, name: &str) {
    observed
        .pods
        .retain(|p| p.metadata.name.as_deref() != Some(name));
    observed
        .pilots
        .retain(|p| p.metadata.name.as_deref() != Some(name));
}

/// `Decommissioned` requested, the drain reported in `phase` with `shards` left.
pub fn draining(pilot: &mut Pilot, phase: &str, shards: i64) {
    operation(
        pilot,
        facts::DECOMMISSIONED,
        Some((facts::DECOMMISSIONED, phase, "moving shards")),
    );
    es_mut(pilot).shards = Some(shards);
}

/// What the world does with an action: the API server stores it, the StatefulSet controller
/// creates, restarts and removes pods (at once), the pilots report, drains complete at once
/// when `drains_complete`. Pilots report the version of the template their pod came from.
pub struct World {
    /// What the controller sees.
    pub observed: Observed,
    /// Whether a requested drain completes in the next report.
    pub drains_complete: bool,
}

impl World {
    /// An empty namespace.
    pub fn new() -> Self {
        World {
            observed: Observed::default(),
            drains_complete: true,
        }
    }

    /// Carries out `action` for `cluster`, then lets every controller and pilot settle.
    pub fn act(&mut self, cluster: &ElasticsearchCluster, action: &Action) {
        let o = &mut self.observed;
        match action {
            Action::ApplyChildren(children) => {
                for c in children {
                    o.others
                        .insert(c.child_ref(), c.spec_hash().map(str::to_owned));
                }
            }
            Action::DeleteChildren(refs) => {
                for r in refs {
                    o.others.remove(r);
                }
            }
            Action::CreatePilot(p) => {
                let mut p = p.clone();
                p.metadata.generation = Some(1);
                o.pilots.push(p);
            }
            Action::CreateNodePool { statefulset, .. } => {
                o.statefulsets.push(statefulset.clone());
            }
            Action::ScaleOut { statefulset, .. }
            | Action::ScaleIn { statefulset, .. }
            | Action::UpdatePodTemplate { statefulset, .. }
            | Action::RollNextPod { statefulset, .. } => {
                let name = statefulset.metadata.name.clone();
                let old = o
                    .statefulsets
                    .iter_mut()
                    .find(|s| s.metadata.name == name)
                    .expect("an existing StatefulSet");
                let status = old.status.clone();
                let generation = old.metadata.generation;
                *old = statefulset.clone();
                old.status = status;
                old.metadata.generation = generation;
            }
            Action::RequestDecommission { pilot } | Action::CancelDecommission { pilot } => {
                let p = pilot_mut(o, pilot);
                p.spec.requested_state = Some(
                    if matches!(action, Action::RequestDecommission { .. }) {
                        facts::DECOMMISSIONED
                    } else {
                        facts::RUNNING
                    }
                    .into(),
                );
                p.metadata.generation = Some(p.metadata.generation.unwrap_or(1) + 1);
            }
            Action::DeletePilot { pilot } => {
                o.pilots
                    .retain(|p| p.metadata.name.as_deref() != Some(pilot.as_str()));
            }
            Action::DeleteNodePool { statefulset, .. } => {
                o.statefulsets
                    .retain(|s| s.metadata.name.as_deref() != Some(statefulset.as_str()));
            }
            Action::SetSeedLabel { .. } | Action::DeleteClaim { .. } => {
                panic!("not an Elasticsearch action: {action:?}")
            }
            Action::Wait(_) | Action::Idle => {}
        }
        self.settle(cluster);
    }

    /// The StatefulSet controller and the pilots catch up with everything.
    pub fn settle(&mut self, cluster: &ElasticsearchCluster) {
        let o = &mut self.observed;
        // The StatefulSet controller: revisions named after the template's hash.
        let mut wanted: BTreeMap<String, (Vec<String>, String, String)> = BTreeMap::new();
        for s in &mut o.statefulsets {
            let name = s.metadata.name.clone().unwrap_or_default();
            let rev = format!(
                "rev-{}",
                facts::annotation_hash(&s.metadata).unwrap_or_default()
            );
            let replicas = facts::sts_replicas(s);
            let partition = facts::sts_partition(s);
            let template = s.spec.as_ref().map(|s| &s.template);
            let roles = template
                .and_then(|t| t.metadata.as_ref())
                .and_then(|m| m.labels.as_ref())
                .map(|l| {
                    l.keys()
                        .filter_map(|k| {
                            k.strip_prefix(
                                navigator_api::pilot_contract::ELASTICSEARCH_ROLE_LABEL_PREFIX,
                            )
                        })
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let version = template
                .and_then(|t| t.metadata.as_ref())
                .and_then(|m| m.annotations.as_ref())
                .and_then(|a| a.get(ELASTICSEARCH_VERSION_ANNOTATION))
                .cloned()
                .unwrap_or_default();
            let pool = s
                .metadata
                .labels
                .as_ref()
                .and_then(|l| {
                    l.get(navigator_api::pilot_contract::ELASTICSEARCH_NODE_POOL_NAME_LABEL)
                })
                .cloned()
                .unwrap_or_default();
            // Old pods at or above the partition restart; pods above the replicas go.
            let mut current = s
                .status
                .as_ref()
                .and_then(|st| st.current_revision.clone())
                .unwrap_or_else(|| rev.clone());
            o.pods.retain(|p| {
                let Some(k) =
                    names::ordinal_of(NAME, &pool, p.metadata.name.as_deref().unwrap_or_default())
                else {
                    return true;
                };
                k < replicas && (k < partition || facts::pod_revision(p) == Some(rev.as_str()))
            });
            let mut all_new = true;
            for k in 0..replicas {
                let n = pod_name(&pool, k);
                if !o
                    .pods
                    .iter()
                    .any(|p| p.metadata.name.as_deref() == Some(n.as_str()))
                {
                    let mut p = pod(&pool, &roles, k, &rev);
                    p.metadata.annotations = Some(BTreeMap::from([(
                        ELASTICSEARCH_VERSION_ANNOTATION.to_owned(),
                        version.clone(),
                    )]));
                    o.pods.push(p);
                }
                let p = o
                    .pods
                    .iter()
                    .find(|p| p.metadata.name.as_deref() == Some(n.as_str()))
                    .expect("pod");
                all_new &= facts::pod_revision(p) == Some(rev.as_str());
            }
            if all_new {
                current = rev.clone();
            }
            s.metadata.generation = Some(1);
            s.status = Some(StatefulSetStatus {
                observed_generation: Some(1),
                replicas,
                update_revision: Some(rev),
                current_revision: Some(current),
                ..StatefulSetStatus::default()
            });
            wanted.insert(name, (roles, version, pool));
        }
        // Pods of a StatefulSet that is gone go too.
        let pools: Vec<String> = wanted.values().map(|(_, _, p)| p.clone()).collect();
        o.pods.retain(|p| {
            pools.iter().any(|pool| {
                names::ordinal_of(NAME, pool, p.metadata.name.as_deref().unwrap_or_default())
                    .is_some()
            })
        });
        // The pilots of running pods report; drains complete.
        let pods: BTreeMap<String, String> = o
            .pods
            .iter()
            .map(|p| {
                (
                    p.metadata.name.clone().unwrap_or_default(),
                    p.metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get(ELASTICSEARCH_VERSION_ANNOTATION))
                        .cloned()
                        .unwrap_or_else(|| {
                            cluster
                                .spec
                                .version
                                .as_ref()
                                .map(ToString::to_string)
                                .unwrap_or_default()
                        }),
                )
            })
            .collect();
        for p in &mut o.pilots {
            let name = p.metadata.name.clone().unwrap_or_default();
            let Some(version) = pods.get(&name) else {
                continue;
            };
            report(p, version);
            let requested = facts::requested_state(p).to_owned();
            let phase = if requested == facts::DECOMMISSIONED && !self.drains_complete {
                "InProgress"
            } else {
                "Complete"
            };
            if requested == facts::DECOMMISSIONED && phase == "Complete" {
                es_mut(p).shards = Some(0);
            }
            p.status.operation = Some(PilotOperationStatus {
                state: requested,
                phase: phase.into(),
                ..PilotOperationStatus::default()
            });
        }
        // The leader: the first pilot with a pod, reporting Green.
        for p in &mut o.pilots {
            if let Some(es) = p.status.elasticsearch.as_mut() {
                es.cluster_health = None;
                es.relocating_shards = None;
                es.initializing_shards = None;
                es.unassigned_shards = None;
            }
        }
        let leader = o
            .pilots
            .iter_mut()
            .find(|p| pods.contains_key(p.metadata.name.as_deref().unwrap_or_default()));
        if let Some(p) = leader {
            lead(p);
        }
    }

    /// Plans and acts until the planner is idle or waits (at most `limit` steps); the actions
    /// taken, in order.
    pub fn converge(&mut self, cluster: &ElasticsearchCluster, limit: usize) -> Vec<Action> {
        let mut taken = Vec::new();
        for _ in 0..limit {
            let action = run(cluster, &self.observed);
            if matches!(action, Action::Idle | Action::Wait(_)) {
                taken.push(action);
                return taken;
            }
            self.act(cluster, &action);
            taken.push(action);
        }
        panic!("no convergence in {limit} steps: {taken:#?}");
    }
}

/// A short name for an action, for asserting sequences.
pub fn short(action: &Action) -> String {
    match action {
        Action::ApplyChildren(c) => format!("ApplyChildren({})", c.len()),
        Action::CreatePilot(p) => format!(
            "CreatePilot {}",
            p.metadata.name.as_deref().unwrap_or_default()
        ),
        Action::CreateNodePool {
            pool, statefulset, ..
        } => format!("CreateNodePool {pool} {}", facts::sts_replicas(statefulset)),
        Action::ScaleOut { pool, from, to, .. } => format!("ScaleOut {pool} {from}->{to}"),
        Action::ScaleIn { pool, from, to, .. } => format!("ScaleIn {pool} {from}->{to}"),
        Action::RequestDecommission { pilot } => format!("RequestDecommission {pilot}"),
        Action::CancelDecommission { pilot } => format!("CancelDecommission {pilot}"),
        Action::DeletePilot { pilot } => format!("DeletePilot {pilot}"),
        Action::UpdatePodTemplate { pool, .. } => format!("UpdatePodTemplate {pool}"),
        Action::RollNextPod { pod, .. } => format!("RollNextPod {pod}"),
        Action::DeleteNodePool { pool, .. } => format!("DeleteNodePool {pool}"),
        Action::DeleteChildren(refs) => format!(
            "DeleteChildren {}",
            refs.iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
        Action::Wait(w) => format!("Wait {:?} {}", w.reason, w.object),
        Action::Idle => "Idle".to_owned(),
        other => format!("{other:?}"),
    }
}
