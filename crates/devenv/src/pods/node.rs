//! The Nodes the runner stands in for: their objects (pure) and the heartbeat that keeps them
//! Ready (a Lease in `kube-node-lease` every 10 s and the `Ready` condition's heartbeat).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::ipam::GATEWAY;

/// How often leases and the Ready heartbeat are renewed.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// Lease duration written into each node's Lease.
const LEASE_SECONDS: i32 = 40;

/// The name of node number `i` (0 → `devenv-node-a`).
#[must_use]
pub fn node_name(i: usize) -> String {
    format!("devenv-node-{}", zone_letter(i))
}

fn zone_letter(i: usize) -> char {
    char::from(b'a' + u8::try_from(i % 26).unwrap_or(0))
}

/// The zone of node number `i` (`zone-a`, …).
#[must_use]
pub fn zone(i: usize) -> String {
    format!("zone-{}", zone_letter(i))
}

/// The Node object (metadata and spec) for node `i`. Pure.
#[must_use]
pub fn node_object(i: usize) -> Value {
    let name = node_name(i);
    let zone = zone(i);
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": zone,
                "topology.kubernetes.io/region": "devenv",
                "failure-domain.beta.kubernetes.io/zone": zone,
                "failure-domain.beta.kubernetes.io/region": "devenv",
                "devenv.navigator.io/node": "true",
            },
        },
        "spec": {"podCIDR": super::ipam::POD_CIDR, "podCIDRs": [super::ipam::POD_CIDR]},
    })
}

/// The Node's status at `now` (RFC 3339). Pure.
#[must_use]
pub fn node_status(i: usize, now: &str) -> Value {
    let resources =
        json!({"cpu": "2", "memory": "24Gi", "pods": "110", "ephemeral-storage": "100Gi"});
    let cond = |t: &str, status: &str, reason: &str, msg: &str| {
        json!({"type": t, "status": status, "reason": reason, "message": msg,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    json!({
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "addresses": [
                {"type": "InternalIP", "address": GATEWAY.to_string()},
                {"type": "Hostname", "address": node_name(i)},
            ],
            "conditions": [
                cond("Ready", "True", "KubeletReady", "devenv pod runner is posting ready status"),
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "devenv"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "devenv"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "devenv"),
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": "", "systemUUID": "", "bootID": "",
                "kernelVersion": "", "osImage": "devenv", "containerRuntimeVersion": "devenv://1",
                "kubeletVersion": "v1.37.2", "kubeProxyVersion": "", "operatingSystem": "linux",
                "architecture": "amd64",
            },
        }
    })
}

/// The node's Lease object at `now` (RFC 3339 with microseconds). Pure.
#[must_use]
pub fn lease_object(i: usize, now: &str) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": node_name(i), "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": node_name(i), "leaseDurationSeconds": LEASE_SECONDS,
                 "renewTime": now},
    })
}

/// Creates (or updates) node `i` and marks it Ready.
///
/// # Errors
/// The API error.
pub async fn register(
    client: &kube::Client,
    i: usize,
    now: &str,
    micro: &str,
) -> Result<(), kube::Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    let name = node_name(i);
    let obj: Node = serde_json::from_value(node_object(i)).map_err(kube::Error::SerdeError)?;
    match nodes.create(&PostParams::default(), &obj).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {
            nodes
                .patch(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(node_object(i)),
                )
                .await?;
        }
        Err(e) => return Err(e),
    }
    heartbeat(client, i, now, micro).await
}

/// Renews node `i`'s Lease and Ready heartbeat.
///
/// # Errors
/// The API error.
pub async fn heartbeat(
    client: &kube::Client,
    i: usize,
    now: &str,
    micro: &str,
) -> Result<(), kube::Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    let name = node_name(i);
    nodes
        .patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Strategic(node_status(i, now)),
        )
        .await?;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let lease: Lease =
        serde_json::from_value(lease_object(i, micro)).map_err(kube::Error::SerdeError)?;
    match leases.create(&PostParams::default(), &lease).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => leases
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(lease_object(i, micro)),
            )
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_have_zones_addresses_and_capacity() {
        assert_eq!(node_name(0), "devenv-node-a");
        assert_eq!(node_name(2), "devenv-node-c");
        let n: Node = serde_json::from_value(node_object(1)).expect("node");
        let labels = n.metadata.labels.expect("labels");
        assert_eq!(labels["topology.kubernetes.io/zone"], "zone-b");
        assert_eq!(labels["failure-domain.beta.kubernetes.io/zone"], "zone-b");
        assert_eq!(labels["kubernetes.io/hostname"], "devenv-node-b");
        let s: Node =
            serde_json::from_value(node_status(1, "2026-01-01T00:00:00Z")).expect("status");
        let st = s.status.expect("status");
        assert_eq!(st.addresses.expect("addresses")[0].address, "10.244.0.1");
        assert_eq!(st.allocatable.expect("alloc")["pods"].0, "110");
        let ready = st
            .conditions
            .expect("conds")
            .into_iter()
            .find(|c| c.type_ == "Ready")
            .expect("ready");
        assert_eq!(ready.status, "True");
        let l: Lease =
            serde_json::from_value(lease_object(0, "2026-01-01T00:00:00.000000Z")).expect("lease");
        assert_eq!(
            l.spec.expect("spec").holder_identity.as_deref(),
            Some("devenv-node-a")
        );
    }
}
