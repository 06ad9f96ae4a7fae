//! The objects a database's pilots need in devenv end-to-end tests, written by hand as the
//! controller will write them, and the pilots' and pods' state as kubectl shows it: the
//! pilots' ServiceAccount, Role and RoleBinding, the pod template's pieces every pilot-run
//! database shares (the init container that installs the pilot, the downward-API environment,
//! the probes on the pilot's ports, the data volume), a Pilot's requested state.

use std::time::Duration;

use serde_json::{Value, json};

use crate::devenv::{Env, GROUP, eventually};

/// The pilot's liveness port in the pod (startup and liveness probes).
pub const LIVENESS_PORT: u16 = 12000;
/// The pilot's readiness port in the pod.
pub const READINESS_PORT: u16 = 12001;

/// ServiceAccount `service_account`, and Role and RoleBinding `<service_account>-pilot` in `ns`
/// (a `v1` List, all labelled `labels`): the pilots read and update Pilots (and their status),
/// read the cluster kind `cluster_resource` (plural, e.g. `cassandraclusters`), hold their
/// leader Lease, read pods, endpoints and services, and write events.
pub fn pilot_rbac(
    ns: &str,
    service_account: &str,
    labels: &Value,
    cluster_resource: &str,
) -> Value {
    let role = format!("{service_account}-pilot");
    json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": service_account, "namespace": ns, "labels": labels}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": role, "namespace": ns, "labels": labels},
         "rules": [
            {"apiGroups": [GROUP], "resources": ["pilots"],
             "verbs": ["get", "list", "watch", "patch", "update"]},
            {"apiGroups": [GROUP], "resources": ["pilots/status"],
             "verbs": ["get", "patch", "update"]},
            {"apiGroups": [GROUP], "resources": [cluster_resource],
             "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
             "verbs": ["get", "list", "watch", "create", "update", "patch"]},
            {"apiGroups": [""], "resources": ["pods", "endpoints", "services"],
             "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "update", "patch"]},
         ]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": role, "namespace": ns, "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
         "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": ns}]},
    ]})
}

/// The init container `install-pilot` of `image` (the `navigator-pilot` image) that copies
/// `/usr/local/bin/<binary>` into the `shared` emptyDir as `/shared/pilot`, the database
/// container's command.
pub fn install_pilot(image: &str, binary: &str) -> Value {
    json!({
        "name": "install-pilot", "image": image,
        "command": ["cp", format!("/usr/local/bin/{binary}"), "/shared/pilot"],
        "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
    })
}

/// The pilot's identity from the downward API: `POD_NAME`, `POD_NAMESPACE`, `POD_IP`, and
/// `MEMORY_LIMIT`, container `container`'s memory limit in bytes. The divisor is explicit: a
/// pod runner older than the fix for the API server's default "0" gave i64::MAX (and an 8 GiB
/// heap per node).
pub fn pilot_env(container: &str) -> Value {
    let field = |name: &str, path: &str| json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}});
    json!([
        field("POD_NAME", "metadata.name"),
        field("POD_NAMESPACE", "metadata.namespace"),
        field("POD_IP", "status.podIP"),
        {"name": "MEMORY_LIMIT", "valueFrom": {"resourceFieldRef": {
            "containerName": container, "resource": "limits.memory", "divisor": "1"}}},
    ])
}

/// The database container's startup, liveness and readiness probes, on the pilot's ports (it
/// answers from its last observation of the database).
pub fn pilot_probes() -> (Value, Value, Value) {
    (
        json!({"httpGet": {"path": "/", "port": LIVENESS_PORT},
               "periodSeconds": 2, "failureThreshold": 90}),
        json!({"httpGet": {"path": "/", "port": LIVENESS_PORT},
               "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 3}),
        json!({"httpGet": {"path": "/", "port": READINESS_PORT},
               "periodSeconds": 2, "timeoutSeconds": 2, "failureThreshold": 2}),
    )
}

/// The StatefulSet's volume claim templates: one `data` volume of `size`.
pub fn data_volume_claims(size: &str) -> Value {
    json!([{
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    }])
}

/// Pilot `name` in `ns` as kubectl shows it.
pub fn pilot(env: &Env, ns: &str, name: &str) -> Result<Value, String> {
    env.get(&["get", &format!("pilots.{GROUP}"), name, "-n", ns])
}

/// Pod `name` in `ns` as kubectl shows it.
pub fn pod(env: &Env, ns: &str, name: &str) -> Result<Value, String> {
    env.get(&["get", "pod", name, "-n", ns])
}

/// Pod `name`'s IP, or an error while it has none.
pub fn pod_ip(env: &Env, ns: &str, name: &str) -> Result<String, String> {
    let p = pod(env, ns, name)?;
    p["status"]["podIP"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| format!("{name} has no IP yet"))
}

/// Sets (or, with `None`, clears) Pilot `name`'s `spec.requestedState` with a merge patch.
pub fn request_state(env: &Env, ns: &str, name: &str, state: Option<&str>) {
    let patch = json!({"spec": {"requestedState": state}}).to_string();
    env.k(&[
        "patch",
        &format!("pilots.{GROUP}"),
        name,
        "-n",
        ns,
        "--type=merge",
        "-p",
        &patch,
    ]);
}

/// Waits until StatefulSet `name` in `ns` has `n` ready replicas; panics after `timeout` with
/// its status and the pods' logs.
pub fn wait_statefulset_ready(env: &Env, ns: &str, name: &str, n: usize, timeout: Duration) {
    eventually(
        &format!("StatefulSet {name}: {n} pods Ready"),
        timeout,
        || env.pod_logs(ns),
        || {
            let s = env.get(&["get", "statefulset", name, "-n", ns])?;
            (s["status"]["readyReplicas"].as_u64() == Some(n as u64))
                .then_some(())
                .ok_or_else(|| format!("{}", s["status"]))
        },
    );
}

/// Waits for Pilot `name`'s operation towards `state` to reach `phase`; returns the operation.
/// Panics at once when that operation reaches one of `ends` (the phases that end it, such as
/// `Failed`) instead, and after `timeout` with the Pilot's status and the pods' logs.
pub fn wait_for_operation(
    env: &Env,
    ns: &str,
    name: &str,
    state: &str,
    phase: &str,
    ends: &[&str],
    timeout: Duration,
) -> Value {
    eventually(
        &format!("Pilot {name}: operation {state} {phase}"),
        timeout,
        || env.pod_logs(ns),
        || {
            let p = pilot(env, ns, name)?;
            let op = &p["status"]["operation"];
            if op["state"] == state && op["phase"] == phase {
                Ok(op.clone())
            } else if op["state"] == state && ends.contains(&op["phase"].as_str().unwrap_or("")) {
                panic!(
                    "Pilot {name}: operation {state} ended {} instead of {phase}: {op}",
                    op["phase"]
                )
            } else {
                Err(format!("{}", p["status"]))
            }
        },
    )
}
