//! Facts the planner reads from observed objects: pod readiness, addresses and revisions,
//! report freshness, the phase of a requested decommission, and a pool's objects by ordinal.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::Pilot;

use super::super::names;
use super::super::observe::Observed;
use super::super::settings::Settings;
#[cfg(test)]
pub(crate) use crate::observe::facts::REVISION_LABEL;
pub(crate) use crate::observe::facts::{
    DECOMMISSIONED, annotation_hash, decommission_requested, pod_ready, pod_revision, sts_lagging,
    sts_partition, sts_replicas, update_revision,
};

/// The operation mode of a ring member that serves its ranges.
pub(crate) const NORMAL: &str = "NORMAL";

/// The pod's IP (`status.podIP`), when it has one.
pub(crate) fn pod_ip(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()?
        .pod_ip
        .as_deref()
        .filter(|ip| !ip.is_empty())
}

/// Whether a peer address as a pilot reports it (`10.0.0.1`, `/10.0.0.1`, `10.0.0.1:7000`,
/// `/10.0.0.1:7000`) is the host `ip`.
pub(crate) fn same_host(peer: &str, ip: &str) -> bool {
    let p = peer.trim_start_matches('/');
    let host = p
        .rsplit_once(':')
        .filter(|(h, port)| {
            !h.is_empty() && !port.is_empty() && port.chars().all(|c| c.is_ascii_digit())
        })
        .map_or(p, |(h, _)| h);
    host == ip
}

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

/// The phase of a pilot's decommission as its `status.operation` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecommissionPhase {
    /// No operation for `Decommissioned` is reported (not accepted yet, or another state).
    Absent,
    /// Accepted, not started (e.g. the node is not NORMAL yet).
    Pending,
    /// The node is leaving the ring.
    InProgress,
    /// The node has left the ring (sticky).
    Complete,
    /// Refused or failed (sticky until the request changes).
    Failed,
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

/// Whether the pilot reports that its node has left the ring for good. `Complete` is sticky
/// in the pilot, so it counts fresh or not.
pub(crate) fn decommission_complete(pilot: &Pilot) -> bool {
    decommission_phase(pilot).0 == DecommissionPhase::Complete
}

/// The operation mode the pilot reports.
pub(crate) fn operation_mode(pilot: &Pilot) -> Option<&str> {
    pilot.status.cassandra.as_ref()?.operation_mode.as_deref()
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
    claims: Vec<(i32, &'a PersistentVolumeClaim)>,
}

impl<'a> PoolObjects<'a> {
    /// Picks `pool`'s objects out of `observed` by name.
    pub fn of(cluster: &'a str, pool: &'a str, observed: &'a Observed) -> Self {
        let sts_name = names::statefulset(cluster, pool);
        let by_ordinal =
            |name: Option<&String>| name.and_then(|n| names::ordinal_of(cluster, pool, n));
        let mut pods: Vec<_> = observed
            .pods
            .iter()
            .filter_map(|p| by_ordinal(p.metadata.name.as_ref()).map(|k| (k, p)))
            .filter(|(k, p)| {
                // a claim-like name is not a pod name
                p.metadata.name.as_deref() == Some(names::pod(cluster, pool, *k).as_str())
            })
            .collect();
        pods.sort_by_key(|(k, _)| *k);
        let mut pilots: Vec<_> = observed
            .pilots
            .iter()
            .filter_map(|p| by_ordinal(p.metadata.name.as_ref()).map(|k| (k, p)))
            .filter(|(k, p)| {
                p.metadata.name.as_deref() == Some(names::pod(cluster, pool, *k).as_str())
            })
            .collect();
        pilots.sort_by_key(|(k, _)| *k);
        let mut claims: Vec<_> = observed
            .claims
            .iter()
            .filter_map(|c| by_ordinal(c.metadata.name.as_ref()).map(|k| (k, c)))
            .filter(|(k, c)| {
                c.metadata.name.as_deref() == Some(names::data_claim(cluster, pool, *k).as_str())
            })
            .collect();
        claims.sort_by_key(|(k, _)| *k);
        PoolObjects {
            cluster,
            pool,
            statefulset: observed
                .statefulsets
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(sts_name.as_str())),
            pods,
            pilots,
            claims,
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

    /// The data claim of `ordinal`.
    pub fn claim(&self, ordinal: i32) -> Option<&'a PersistentVolumeClaim> {
        self.claims
            .iter()
            .find(|(k, _)| *k == ordinal)
            .map(|(_, c)| *c)
    }

    /// The pool's pods in ordinal order.
    pub fn pods(&self) -> impl Iterator<Item = (i32, &'a Pod)> + '_ {
        self.pods.iter().copied()
    }

    /// Every ordinal some pod, Pilot or claim of the pool has, ascending.
    pub fn ordinals(&self) -> BTreeSet<i32> {
        self.pods
            .iter()
            .map(|(k, _)| *k)
            .chain(self.pilots.iter().map(|(k, _)| *k))
            .chain(self.claims.iter().map(|(k, _)| *k))
            .collect()
    }

    /// The pod's name for `ordinal`.
    pub fn pod_name(&self, ordinal: i32) -> String {
        names::pod(self.cluster, self.pool, ordinal)
    }
}
