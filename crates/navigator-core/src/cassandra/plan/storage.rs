//! The storage compatibility mode each pool's template names (Cassandra 5 and later), decided
//! from the observed StatefulSets, pods and Pilots alone (see the module docs of
//! [`super`], "Storage compatibility"), and the guard against going back to 4.x.

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::CassandraCluster;

use super::facts::{self, PoolObjects};
use super::gates;
use super::pools::version_matches;
use crate::cassandra::children;
use crate::cassandra::compatibility::{self, StorageCompatibility};
use crate::cassandra::observe::Observed;
use crate::cassandra::settings::Settings;

/// The mode the template of each pool of the spec must name, by pool name. Empty when the
/// spec names no version or a 4.x one (its templates name no mode).
pub(crate) type Modes = BTreeMap<String, StorageCompatibility>;

/// The mode a pool's observed StatefulSet runs: its annotation (or template argument), and
/// `CASSANDRA_4` when it names none (a 4.x template, or one of 5.x that named no mode, which
/// the pilot renders as `CASSANDRA_4`).
pub(crate) fn current(sts: &k8s_openapi::api::apps::v1::StatefulSet) -> StorageCompatibility {
    compatibility::of_statefulset(sts).unwrap_or(StorageCompatibility::Cassandra4)
}

/// The desired mode of every pool of the spec:
///
/// - no pool has a StatefulSet yet (a cluster created at 5.x): `NONE`;
/// - pools with StatefulSets run modes between `lo` and `hi`: when `hi > lo` a step is under
///   way and every pool goes to at least the step after `lo` (never further), as long as no
///   node runs 4.x ([`none_on_4`]);
/// - every pool at the same mode `m` before `NONE`, and the cluster settled at it
///   ([`settled`]): every pool goes to the step after `m`; else each keeps its mode;
/// - a pool without a StatefulSet starts at `lo`.
pub(crate) fn desired_modes(
    cluster: &CassandraCluster,
    observed: &Observed,
    now: Timestamp,
    settings: &Settings,
) -> Modes {
    let mut modes = Modes::new();
    let Some(version) = cluster.spec.version.as_ref() else {
        return modes;
    };
    if !compatibility::applies_to(version) {
        return modes;
    }
    let name = cluster.metadata.name.as_deref().unwrap_or_default();
    let running: Vec<(&str, StorageCompatibility)> = cluster
        .spec
        .node_pools
        .iter()
        .filter_map(|p| {
            let sts = PoolObjects::of(name, &p.name, observed).statefulset?;
            Some((p.name.as_str(), current(sts)))
        })
        .collect();
    let (Some(lo), Some(hi)) = (
        running.iter().map(|(_, m)| *m).min(),
        running.iter().map(|(_, m)| *m).max(),
    ) else {
        for pool in &cluster.spec.node_pools {
            modes.insert(pool.name.clone(), StorageCompatibility::None);
        }
        return modes;
    };
    let step = if hi > lo {
        // A step under way goes on while no node runs 4.x (as when it started).
        lo.next().filter(|_| none_on_4(observed))
    } else if settled(cluster, observed, now, settings, lo) {
        lo.next()
    } else {
        None
    };
    for pool in &cluster.spec.node_pools {
        let cur = running
            .iter()
            .find(|(p, _)| *p == pool.name)
            .map_or(lo, |(_, m)| *m);
        let want = match step {
            Some(s) if running.iter().any(|(p, _)| *p == pool.name) => cur.max(s),
            _ => cur,
        };
        modes.insert(pool.name.clone(), want);
    }
    modes
}

/// Whether no pod of the cluster (any pool's, also of pools no longer in the spec) was created
/// from a template of Cassandra 4.x (its version annotation), and no Pilot reports 4.x.
pub(crate) fn none_on_4(observed: &Observed) -> bool {
    let pods = observed.pods.iter().all(|p| {
        p.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(children::CASSANDRA_VERSION_ANNOTATION))
            .and_then(|v| navigator_api::version::CassandraVersion::parse(v).ok())
            .is_none_or(|v| compatibility::applies_to(&v))
    });
    let pilots = observed.pilots.iter().all(|p| {
        p.status
            .cassandra
            .as_ref()
            .and_then(|c| c.version.as_ref())
            .is_none_or(compatibility::applies_to)
    });
    pods && pilots
}

/// Whether the whole cluster runs `mode` at the spec's version, done: every pool of the spec
/// has a StatefulSet naming `mode` whose template is the desired one at that mode, caught up
/// by the StatefulSet controller, with every pod below its replicas on its update revision;
/// every Pilot that reports a version (every pool's, also of pools no longer in the spec)
/// reports the spec's, and no pod was created from a 4.x template ([`none_on_4`]); and the
/// health gate is open (every node Ready, fresh and NORMAL, seeing
/// every other).
pub(crate) fn settled(
    cluster: &CassandraCluster,
    observed: &Observed,
    now: Timestamp,
    settings: &Settings,
    mode: StorageCompatibility,
) -> bool {
    let Some(version) = cluster.spec.version.as_ref() else {
        return false;
    };
    let name = cluster.metadata.name.as_deref().unwrap_or_default();
    for pool in &cluster.spec.node_pools {
        let objects = PoolObjects::of(name, &pool.name, observed);
        let Some(sts) = objects.statefulset else {
            return false;
        };
        if current(sts) != mode || facts::sts_lagging(sts) {
            return false;
        }
        let Ok(desired) = children::statefulset_in_mode(cluster, pool, 0, 0, settings, mode) else {
            return false;
        };
        if facts::annotation_hash(&sts.metadata) != facts::annotation_hash(&desired.metadata) {
            return false;
        }
        let Some(update) = facts::update_revision(sts) else {
            return false;
        };
        let current_revision = sts
            .status
            .as_ref()
            .and_then(|s| s.current_revision.as_deref());
        if current_revision != Some(update) {
            return false;
        }
        let r = facts::sts_replicas(sts);
        if (0..r).any(|k| objects.pod(k).and_then(facts::pod_revision) != Some(update)) {
            return false;
        }
    }
    let all_on_version = observed.pilots.iter().all(|p| {
        p.status
            .cassandra
            .as_ref()
            .and_then(|c| c.version.as_ref())
            .is_none_or(|v| version_matches(version, v))
    });
    all_on_version
        && none_on_4(observed)
        && gates::cluster_healthy(cluster, observed, now, settings).is_ok()
}

/// Why the spec cannot be followed: it names Cassandra 4.x while a pool's StatefulSet names a
/// mode past `CASSANDRA_4` (its nodes may have written SSTables 4.x cannot read). `None` when
/// the spec can be followed.
pub(crate) fn downgrade_refused(cluster: &CassandraCluster, observed: &Observed) -> Option<String> {
    let version = cluster.spec.version.as_ref()?;
    if compatibility::applies_to(version) {
        return None;
    }
    let name = cluster.metadata.name.as_deref().unwrap_or_default();
    cluster.spec.node_pools.iter().find_map(|pool| {
        let sts = PoolObjects::of(name, &pool.name, observed).statefulset?;
        let mode = current(sts);
        (mode > StorageCompatibility::Cassandra4).then(|| {
            format!(
                "spec.version {version} is older than Cassandra 5, but pool {} runs Cassandra 5 \
                 with storage_compatibility_mode {mode}: its SSTables may be in a format 4.x \
                 cannot read; set spec.version back to 5.x",
                pool.name
            )
        })
    })
}
