//! The health gate: whether the whole cluster may take a step that changes the ring (add a
//! node, remove one, restart one). Cassandra allows one joining or leaving node at a time, so
//! the gate is cluster-wide, across every pool.

use k8s_openapi::jiff::Timestamp;
use navigator_api::v1beta1::CassandraCluster;

use super::facts::{self, PoolObjects};
use super::{Wait, WaitReason};
use crate::cassandra::observe::Observed;
use crate::cassandra::settings::Settings;

/// One node the ring should have: a pod of ordinal below its StatefulSet's replicas.
struct Member<'a> {
    pod_name: String,
    pod: Option<&'a k8s_openapi::api::core::v1::Pod>,
    pilot: Option<&'a navigator_api::v1beta1::Pilot>,
}

fn wait(reason: WaitReason, object: String, message: String) -> Wait {
    Wait {
        reason,
        object,
        message,
    }
}

/// `Ok` when the cluster is healthy, else the first reason it is not, checked in this order
/// over the pools in spec order and ordinals ascending:
///
/// 1. every StatefulSet's `status.observedGeneration` has caught up (`WaitingForStatefulSet`),
///    and no pod of an ordinal at or above its replicas is left (`WaitingForPodDeletion`);
/// 2. every pod of ordinal below its StatefulSet's replicas exists, is not being deleted and is
///    Ready (`WaitingForPodReady`);
/// 3. every such pod's Pilot exists and its report is fresh (`WaitingForPilotReport`);
/// 4. every pilot reports operation mode `NORMAL`, sees the pod IP of every other member in
///    `peers.live`, and nothing in `peers.unreachable`, `joining`, `leaving` or `moving`
///    (`WaitingForRing`).
pub(crate) fn cluster_healthy(
    cluster: &CassandraCluster,
    observed: &Observed,
    now: Timestamp,
    settings: &Settings,
) -> Result<(), Wait> {
    let name = cluster.metadata.name.as_deref().unwrap_or_default();
    let mut members = Vec::new();
    for pool in &cluster.spec.node_pools {
        let objects = PoolObjects::of(name, &pool.name, observed);
        let Some(sts) = objects.statefulset else {
            continue;
        };
        if facts::sts_lagging(sts) {
            return Err(wait(
                WaitReason::WaitingForStatefulSet,
                format!(
                    "statefulset/{}",
                    sts.metadata.name.as_deref().unwrap_or_default()
                ),
                "the StatefulSet controller has not observed its latest spec yet".to_owned(),
            ));
        }
        let replicas = facts::sts_replicas(sts);
        if let Some((k, _)) = objects.pods().find(|(k, _)| *k >= replicas) {
            let name = objects.pod_name(k);
            return Err(wait(
                WaitReason::WaitingForPodDeletion,
                format!("pod/{name}"),
                format!(
                    "pod {name} is above the StatefulSet's {replicas} replicas and has not gone yet"
                ),
            ));
        }
        for k in 0..replicas {
            members.push(Member {
                pod_name: objects.pod_name(k),
                pod: objects.pod(k),
                pilot: objects.pilot(k),
            });
        }
    }
    crate::plan::members_ready(
        members
            .iter()
            .map(|m| (m.pod_name.as_str(), m.pod, m.pilot)),
        now,
        settings.report_freshness,
    )?;
    for m in &members {
        let Some(pilot) = m.pilot else { continue };
        let ring = |message: String| {
            wait(
                WaitReason::WaitingForRing,
                format!("pilot/{}", m.pod_name),
                format!("pilot {} {message}", m.pod_name),
            )
        };
        match facts::operation_mode(pilot) {
            Some(facts::NORMAL) => {}
            Some(mode) => return Err(ring(format!("reports operation mode {mode}, not NORMAL"))),
            None => return Err(ring("reports no operation mode".to_owned())),
        }
        let peers = pilot
            .status
            .cassandra
            .as_ref()
            .and_then(|c| c.peers.clone())
            .unwrap_or_default();
        for (list, what) in [
            (&peers.unreachable, "unreachable"),
            (&peers.joining, "joining"),
            (&peers.leaving, "leaving"),
            (&peers.moving, "moving"),
        ] {
            if let Some(peer) = list.first() {
                return Err(ring(format!("sees {peer} {what}")));
            }
        }
        for other in members.iter().filter(|o| o.pod_name != m.pod_name) {
            let Some(ip) = other.pod.and_then(facts::pod_ip) else {
                return Err(wait(
                    WaitReason::WaitingForPodReady,
                    format!("pod/{}", other.pod_name),
                    format!("pod {} has no IP yet", other.pod_name),
                ));
            };
            if !peers.live.iter().any(|p| facts::same_host(p, ip)) {
                return Err(ring(format!(
                    "does not see {ip} (pod {}) live",
                    other.pod_name
                )));
            }
        }
    }
    Ok(())
}
