//! Facts the planner reads from observed objects: pod readiness and revisions, report
//! freshness, the phase of a requested decommission (a drain), the leader pilot's report, and
//! the node pools with their objects by ordinal — those of the spec and those that left it.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use navigator_api::pilot_contract::{
    ELASTICSEARCH_NODE_POOL_NAME_LABEL, ELASTICSEARCH_ROLE_LABEL_PREFIX,
};
use navigator_api::v1beta1::{
    ElasticsearchCluster, ElasticsearchClusterNodePool, ElasticsearchPilotStatus, Pilot,
};
use navigator_api::version::ElasticsearchVersion;

use super::super::children;
use super::super::names;
use super::super::settings::Settings;
use crate::observe::Observed;
pub(crate) use crate::observe::facts::{
    DECOMMISSIONED, annotation_hash, decommission_requested, pod_ready, pod_revision, sts_lagging,
    sts_partition, sts_replicas, update_revision,
};
#[cfg(test)]
pub(crate) use crate::observe::facts::{REVISION_LABEL, RUNNING, requested_state};

/// Why a pilot's report cannot be trusted now, or `Ok` when it is fresh: heartbeat within
/// [`Settings::report_freshness`] of `now` (a heartbeat ahead of `now` counts as fresh) and
/// `status.observedGeneration` at least the Pilot's `metadata.generation` when both are set.
pub(crate) fn report_freshness(
    pilot: &Pilot,
    now: Timestamp,
    settings: &Settings,
) -> Result<(), String> {
    crate::observe::facts::report_freshness(pilot, now, settings.report_freshness)
}

/// Whether the pilot's report is fresh.
pub(crate) fn fresh(pilot: &Pilot, now: Timestamp, settings: &Settings) -> bool {
    report_freshness(pilot, now, settings).is_ok()
}

/// The phase of a pilot's decommission (drain) as its `status.operation` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecommissionPhase {
    /// No operation for `Decommissioned` reported (not accepted yet).
    Absent,
    /// Accepted, not started (e.g. the node has not joined the cluster).
    Pending,
    /// Shards are moving off the node.
    InProgress,
    /// The node holds no shards and is excluded (and out of the voting configuration when
    /// master-eligible).
    Complete,
    /// Refused or failed (the pilot tries again by itself).
    Failed,
}

impl DecommissionPhase {
    /// How a message says it.
    pub(crate) fn text(self) -> &'static str {
        match self {
            DecommissionPhase::Absent => "has not accepted the drain yet",
            DecommissionPhase::Pending => "reports the drain Pending",
            DecommissionPhase::InProgress => "reports the drain InProgress",
            DecommissionPhase::Complete => "reports the drain Complete",
            DecommissionPhase::Failed => "reports the drain Failed",
        }
    }
}

/// The decommission phase the pilot reports, and its message.
pub(crate) fn decommission_phase(pilot: &Pilot) -> (DecommissionPhase, &str) {
    match pilot.status.operation.as_ref() {
        Some(op) if op.state == DECOMMISSIONED => {
            let phase = match op.phase.as_str() {
                "Pending" => DecommissionPhase::Pending,
                "InProgress" => DecommissionPhase::InProgress,
                "Complete" => DecommissionPhase::Complete,
                "Failed" => DecommissionPhase::Failed,
                _ => DecommissionPhase::Absent,
            };
            (phase, op.message.as_str())
        }
        _ => (DecommissionPhase::Absent, ""),
    }
}

/// Whether the pilot asked to leave reports its drain `Complete` in a fresh report: its node
/// holds no shards and is excluded. A stale `Complete` does not count (the exclusion may have
/// been lifted since, e.g. by a cancelled and repeated request).
pub(crate) fn drained(pilot: &Pilot, now: Timestamp, settings: &Settings) -> bool {
    decommission_requested(pilot)
        && decommission_phase(pilot).0 == DecommissionPhase::Complete
        && fresh(pilot, now, settings)
}

/// The Elasticsearch facts of a pilot's report.
pub(crate) fn es(pilot: &Pilot) -> Option<&ElasticsearchPilotStatus> {
    pilot.status.elasticsearch.as_ref()
}

/// The shards the pilot's node holds, as reported.
pub(crate) fn shards(pilot: &Pilot) -> Option<i64> {
    es(pilot)?.shards
}

/// Whether a reported version is the spec's (major, minor, patch and pre-release; build
/// metadata ignored).
pub(crate) fn version_matches(
    spec: &ElasticsearchVersion,
    reported: &ElasticsearchVersion,
) -> bool {
    let (a, b) = (spec.semver(), reported.semver());
    a.major == b.major && a.minor == b.minor && a.patch == b.patch && a.pre == b.pre
}

/// Cluster health as the leader pilot reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Health {
    /// Every shard allocated.
    Green,
    /// Every primary allocated, some replica not.
    Yellow,
    /// Some primary unallocated.
    Red,
}

impl Health {
    /// Parses `Green`, `Yellow`, `Red` (any case); anything else is `None`.
    pub(crate) fn parse(s: &str) -> Option<Health> {
        match s.to_ascii_lowercase().as_str() {
            "green" => Some(Health::Green),
            "yellow" => Some(Health::Yellow),
            "red" => Some(Health::Red),
            _ => None,
        }
    }

    /// The spelling of the API (`Green`, `Yellow`, `Red`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Health::Green => "Green",
            Health::Yellow => "Yellow",
            Health::Red => "Red",
        }
    }
}

/// The leader pilot's report: the Pilot with `status.elasticsearch.clusterHealth` set and the
/// latest heartbeat.
pub(crate) struct Leader<'a> {
    /// The Pilot.
    pub pilot: &'a Pilot,
    /// Its name.
    pub name: &'a str,
    /// The health it reports (`None`: a value the planner does not know).
    pub health: Option<Health>,
    /// The raw health string.
    pub health_text: &'a str,
    /// Relocating shards (unknown counts as not zero).
    pub relocating: Option<i32>,
    /// Initializing shards (unknown counts as not zero).
    pub initializing: Option<i32>,
    /// Unassigned shards.
    pub unassigned: Option<i32>,
}

/// The leader pilot's report (fresh or not), if any pilot reports cluster health.
pub(crate) fn leader(observed: &Observed) -> Option<Leader<'_>> {
    observed
        .pilots
        .iter()
        .filter_map(|p| {
            let es = es(p)?;
            let health = es.cluster_health.as_deref()?;
            Some((p, es, health))
        })
        // The latest heartbeat; ties by name, so the choice never depends on list order.
        .max_by(|(a, _, _), (b, _, _)| {
            let hb = |p: &Pilot| p.status.last_heartbeat_time.as_ref().map(|t| t.0);
            hb(a)
                .cmp(&hb(b))
                .then_with(|| b.metadata.name.cmp(&a.metadata.name))
        })
        .map(|(pilot, es, health)| Leader {
            pilot,
            name: pilot.metadata.name.as_deref().unwrap_or_default(),
            health: Health::parse(health),
            health_text: health,
            relocating: es.relocating_shards,
            initializing: es.initializing_shards,
            unassigned: es.unassigned_shards,
        })
}

/// The leader's report when it is fresh, else why there is none.
pub(crate) fn fresh_leader<'a>(
    observed: &'a Observed,
    now: Timestamp,
    settings: &Settings,
) -> Result<Leader<'a>, String> {
    let Some(leader) = leader(observed) else {
        return Err("no pilot reports the cluster's health (no leader pilot yet)".to_owned());
    };
    match report_freshness(leader.pilot, now, settings) {
        Ok(()) => Ok(leader),
        Err(stale) => Err(format!("the leader pilot {} {stale}", leader.name)),
    }
}

/// The replicas the spec asks of `pool` (1 when unset, never below 0).
pub(crate) fn desired_replicas(pool: &ElasticsearchClusterNodePool) -> i32 {
    pool.replicas.unwrap_or(1).max(0)
}

/// One node pool the planner looks after: a pool of the spec, or one that left it while it
/// still has objects (its StatefulSet, pods or Pilots).
#[derive(Clone, Debug)]
pub(crate) struct Pool {
    /// The pool: the spec's, or for a removed pool its name and the roles read from its
    /// objects' labels.
    pub spec: ElasticsearchClusterNodePool,
    /// Whether the pool left the spec (its desired replicas are 0).
    pub removed: bool,
}

impl Pool {
    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The replicas wanted: the spec's, 0 for a removed pool.
    pub fn desired(&self) -> i32 {
        if self.removed {
            0
        } else {
            desired_replicas(&self.spec)
        }
    }

    /// Whether the pool's nodes are master-eligible.
    pub fn is_master(&self) -> bool {
        children::is_master(&self.spec)
    }

    /// Whether the pool's nodes hold data.
    pub fn is_data(&self) -> bool {
        children::is_data(&self.spec)
    }
}

/// The roles named by `labels` (`navigator.jetstack.io/elasticsearch-role-<role>: "true"`).
fn roles_of(labels: Option<&BTreeMap<String, String>>, into: &mut BTreeSet<String>) {
    for (k, v) in labels.into_iter().flatten() {
        if let Some(role) = k.strip_prefix(ELASTICSEARCH_ROLE_LABEL_PREFIX)
            && v == "true"
            && !role.is_empty()
        {
            into.insert(role.to_owned());
        }
    }
}

/// The pool label of an object's metadata.
fn pool_label(meta: &ObjectMeta) -> Option<&str> {
    meta.labels
        .as_ref()?
        .get(ELASTICSEARCH_NODE_POOL_NAME_LABEL)
        .map(String::as_str)
}

/// The pools of the spec (in spec order), then the pools that left the spec and still have a
/// StatefulSet, pods or Pilots (by name). A removed pool's roles come from the role labels of
/// its StatefulSet (labels and selector), pods and Pilots; when none carries one, it counts as
/// master-eligible and data-bearing (the careful assumption).
pub(crate) fn pools(cluster: &ElasticsearchCluster, observed: &Observed) -> Vec<Pool> {
    let name = cluster.metadata.name.as_deref().unwrap_or_default();
    let mut pools: Vec<Pool> = cluster
        .spec
        .node_pools
        .iter()
        .map(|p| Pool {
            spec: p.clone(),
            removed: false,
        })
        .collect();
    let in_spec: BTreeSet<&str> = cluster
        .spec
        .node_pools
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let mut removed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let prefix = format!("es-{name}-");
    for sts in &observed.statefulsets {
        let Some(sts_name) = sts.metadata.name.as_deref() else {
            continue;
        };
        let pool = pool_label(&sts.metadata)
            .filter(|p| names::statefulset(name, p) == sts_name)
            .or_else(|| sts_name.strip_prefix(&prefix))
            .filter(|p| !p.is_empty() && !in_spec.contains(p));
        if let Some(pool) = pool {
            let roles = removed.entry(pool.to_owned()).or_default();
            roles_of(sts.metadata.labels.as_ref(), roles);
            roles_of(
                sts.spec
                    .as_ref()
                    .and_then(|s| s.selector.match_labels.as_ref()),
                roles,
            );
        }
    }
    let mut by_label = |meta: &ObjectMeta, node_pool: Option<&str>| {
        let Some(object) = meta.name.as_deref() else {
            return;
        };
        let pool = pool_label(meta)
            .or(node_pool)
            .filter(|p| !in_spec.contains(p))
            .filter(|p| names::ordinal_of(name, p, object).is_some());
        if let Some(pool) = pool {
            roles_of(
                meta.labels.as_ref(),
                removed.entry(pool.to_owned()).or_default(),
            );
        }
    };
    for pod in &observed.pods {
        by_label(&pod.metadata, None);
    }
    for pilot in &observed.pilots {
        by_label(&pilot.metadata, pilot.spec.node_pool.as_deref());
    }
    for (pool, roles) in removed {
        let roles: Vec<String> = if roles.is_empty() {
            vec!["data".to_owned(), "master".to_owned()]
        } else {
            roles.into_iter().collect()
        };
        pools.push(Pool {
            spec: ElasticsearchClusterNodePool {
                name: pool,
                replicas: Some(0),
                roles,
                ..ElasticsearchClusterNodePool::default()
            },
            removed: true,
        });
    }
    pools
}

/// The objects of one node pool, by ordinal.
pub(crate) struct PoolObjects<'a> {
    /// The cluster's name.
    pub cluster: &'a str,
    /// The pool's name.
    pub pool: &'a str,
    /// The pool's StatefulSet.
    pub statefulset: Option<&'a StatefulSet>,
    pods: Vec<(i32, &'a Pod)>,
    pilots: Vec<(i32, &'a Pilot)>,
}

impl<'a> PoolObjects<'a> {
    /// Picks `pool`'s objects out of `observed` by name.
    pub fn of(cluster: &'a str, pool: &'a str, observed: &'a Observed) -> Self {
        let sts_name = names::statefulset(cluster, pool);
        let exact = |name: Option<&String>| {
            let name = name?;
            let k = names::ordinal_of(cluster, pool, name)?;
            (*name == names::pod(cluster, pool, k)).then_some(k)
        };
        let mut pods: Vec<_> = observed
            .pods
            .iter()
            .filter_map(|p| exact(p.metadata.name.as_ref()).map(|k| (k, p)))
            .collect();
        pods.sort_by_key(|(k, _)| *k);
        let mut pilots: Vec<_> = observed
            .pilots
            .iter()
            .filter_map(|p| exact(p.metadata.name.as_ref()).map(|k| (k, p)))
            .collect();
        pilots.sort_by_key(|(k, _)| *k);
        PoolObjects {
            cluster,
            pool,
            statefulset: observed
                .statefulsets
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(sts_name.as_str())),
            pods,
            pilots,
        }
    }

    /// The StatefulSet's replicas; 0 without a StatefulSet or while it is being deleted.
    pub fn replicas(&self) -> i32 {
        match self.statefulset {
            Some(s) if s.metadata.deletion_timestamp.is_none() => sts_replicas(s),
            _ => 0,
        }
    }

    /// The pod of `ordinal`.
    pub fn pod(&self, ordinal: i32) -> Option<&'a Pod> {
        self.pods
            .iter()
            .find(|(k, _)| *k == ordinal)
            .map(|(_, p)| *p)
    }

    /// The Pilot of `ordinal`.
    pub fn pilot(&self, ordinal: i32) -> Option<&'a Pilot> {
        self.pilots
            .iter()
            .find(|(k, _)| *k == ordinal)
            .map(|(_, p)| *p)
    }

    /// The pool's pods in ordinal order.
    pub fn pods(&self) -> impl Iterator<Item = (i32, &'a Pod)> + '_ {
        self.pods.iter().copied()
    }

    /// Every ordinal some pod or Pilot of the pool has, ascending.
    pub fn ordinals(&self) -> BTreeSet<i32> {
        self.pods
            .iter()
            .map(|(k, _)| *k)
            .chain(self.pilots.iter().map(|(k, _)| *k))
            .collect()
    }

    /// The pod's name for `ordinal`.
    pub fn pod_name(&self, ordinal: i32) -> String {
        names::pod(self.cluster, self.pool, ordinal)
    }
}
