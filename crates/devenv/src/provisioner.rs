//! Dynamic volumes for the pod network: the default StorageClass `standard` and an external
//! provisioner for it that backs each volume with a directory on the host.
//!
//! The flow (checked against kube-controller-manager v1.37.2's `persistentvolume-binder`, which
//! devenv runs with `--controllers=*`, and kube-scheduler's VolumeBinding plugin):
//!
//! 1. A PVC of class `standard` (`volumeBindingMode: WaitForFirstConsumer`) waits until a pod
//!    using it is scheduled; the scheduler then annotates it `volume.kubernetes.io/selected-node`
//!    and waits (up to 10 min) for it to be bound before binding the pod.
//! 2. KCM finds no PV, sees an external provisioner and annotates the PVC
//!    `volume.kubernetes.io/storage-provisioner` (and the beta key) with ours.
//! 3. This provisioner creates the directory `<volumes dir>/<pv>` and a `hostPath` PV
//!    `pvc-<pvc uid>` with the PVC's size and access modes, `claimRef` to the PVC (name,
//!    namespace, uid), node affinity to the selected node, and `pv.kubernetes.io/provisioned-by`.
//! 4. KCM binds the pre-bound PV and the PVC (both `Bound`); the scheduler binds the pod.
//! 5. When the PVC is deleted, KCM marks the PV `Released` and, as the volume is an external
//!    provisioner's, leaves deletion to it: this provisioner removes the directory and the PV.
//!
//! Planning ([`plan`]) is pure; the loop around it is thin.
//!
//! # Use (for the pod runner's wiring)
//!
//! ```no_run
//! # async fn wire(client: kube::Client, state_dir: &std::path::Path) -> Result<(), devenv::provisioner::ProvisionerError> {
//! use devenv::provisioner::{ProvisionerConfig, run};
//! let cfg = ProvisionerConfig { volumes_dir: state_dir.join("volumes") };
//! run(client, cfg, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
//!
//! The runner mounts a PVC volume by following the claim to its PV (`spec.volumeName`) and
//! bind-mounting `spec.hostPath.path`. The directories are created mode 0777 (fsGroup chown is
//! the runner's). They outlive pods and `devenv down`; `down --purge` deletes the state dir.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    ObjectReference, PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec,
    VolumeNodeAffinity,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};

use crate::cluster_watch::{self, Changes, Ready};

/// The default StorageClass's name.
pub const CLASS_NAME: &str = "standard";
/// The provisioner name in the StorageClass and on the PVs.
pub const PROVISIONER: &str = "devenv.navigator.jetstack.io/hostpath";
/// Set by the scheduler on a WaitForFirstConsumer PVC: the node its pod goes to.
pub const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// Set by KCM on a PVC it leaves to an external provisioner.
pub const ANN_STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
/// The deprecated form of [`ANN_STORAGE_PROVISIONER`] (KCM sets both).
pub const ANN_BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
/// Names the provisioner of a dynamically provisioned PV.
pub const ANN_PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// Marks the default StorageClass.
pub const ANN_DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
/// The node label the PV's node affinity matches.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// An error of the provisioner.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionerError {
    /// Creating the StorageClass failed.
    #[error("cannot create StorageClass {CLASS_NAME}")]
    StorageClass(#[source] kube::Error),
    /// Every watch stream ended.
    #[error("the PersistentVolumeClaim/PersistentVolume/Node watches ended")]
    WatchesEnded,
}

/// Where the volumes' directories go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionerConfig {
    /// `<state-dir>/volumes`.
    pub volumes_dir: PathBuf,
}

/// The default StorageClass `standard`.
pub fn storage_class() -> StorageClass {
    StorageClass {
        metadata: ObjectMeta {
            name: Some(CLASS_NAME.to_owned()),
            annotations: Some(BTreeMap::from([(
                ANN_DEFAULT_CLASS.to_owned(),
                "true".to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        provisioner: PROVISIONER.to_owned(),
        reclaim_policy: Some("Delete".to_owned()),
        volume_binding_mode: Some("WaitForFirstConsumer".to_owned()),
        ..StorageClass::default()
    }
}

/// One step of the provisioner.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create `dir`, then the PV.
    Provision {
        /// The PV to create.
        pv: Box<PersistentVolume>,
        /// Its directory.
        dir: PathBuf,
    },
    /// Delete the directory (when it is ours), then the PV.
    Delete {
        /// The PV's name.
        pv: String,
        /// Its directory, if it lies under the volumes directory.
        dir: Option<PathBuf>,
    },
}

/// The PV name for a claim: `pvc-<uid>`, as upstream provisioners name them.
pub fn pv_name(claim_uid: &str) -> String {
    format!("pvc-{claim_uid}")
}

/// What to do, from the cluster's PVCs, PVs and Nodes. Pure.
pub fn plan<C, V, N>(claims: &[C], volumes: &[V], nodes: &[N], volumes_dir: &Path) -> Vec<Action>
where
    C: Borrow<PersistentVolumeClaim>,
    V: Borrow<PersistentVolume>,
    N: Borrow<Node>,
{
    let existing: std::collections::BTreeSet<&str> = volumes
        .iter()
        .filter_map(|v| v.borrow().metadata.name.as_deref())
        .collect();
    let mut out = Vec::new();
    for c in claims {
        let c = c.borrow();
        if let Some((pv, dir)) = provision(c, nodes, volumes_dir)
            && pv
                .metadata
                .name
                .as_deref()
                .is_some_and(|n| !existing.contains(n))
        {
            out.push(Action::Provision {
                pv: Box::new(pv),
                dir,
            });
        }
    }
    for v in volumes {
        let v = v.borrow();
        let ours = v
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANN_PROVISIONED_BY))
            .is_some_and(|p| p == PROVISIONER);
        let released = v.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Released");
        let spec = v.spec.as_ref();
        let delete_policy =
            spec.and_then(|s| s.persistent_volume_reclaim_policy.as_deref()) == Some("Delete");
        let (Some(name), true, true, true, None) = (
            v.metadata.name.as_deref(),
            ours,
            released,
            delete_policy,
            v.metadata.deletion_timestamp.as_ref(),
        ) else {
            continue;
        };
        let dir = spec
            .and_then(|s| s.host_path.as_ref())
            .map(|h| PathBuf::from(&h.path))
            .filter(|p| is_strictly_under(p, volumes_dir));
        out.push(Action::Delete {
            pv: name.to_owned(),
            dir,
        });
    }
    out
}

/// `p` is a directory strictly inside `dir` with no `..` (so a hand-made PV cannot make the
/// provisioner delete something else).
fn is_strictly_under(p: &Path, dir: &Path) -> bool {
    p != dir
        && p.starts_with(dir)
        && !p
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
}

/// The PV for `c`, if `c` is an unbound claim of our class ready for provisioning.
fn provision<N: Borrow<Node>>(
    c: &PersistentVolumeClaim,
    nodes: &[N],
    volumes_dir: &Path,
) -> Option<(PersistentVolume, PathBuf)> {
    let spec = c.spec.as_ref()?;
    let ann = c.metadata.annotations.as_ref()?;
    let ours = [ANN_STORAGE_PROVISIONER, ANN_BETA_STORAGE_PROVISIONER]
        .iter()
        .any(|k| ann.get(*k).is_some_and(|p| p == PROVISIONER));
    let pending = c
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_none_or(|p| p == "Pending");
    if spec.storage_class_name.as_deref() != Some(CLASS_NAME)
        || !ours
        || !pending
        || spec.volume_name.as_deref().is_some_and(|v| !v.is_empty())
        || c.metadata.deletion_timestamp.is_some()
        || spec
            .volume_mode
            .as_deref()
            .is_some_and(|m| m != "Filesystem")
    {
        return None;
    }
    let node = ann.get(ANN_SELECTED_NODE)?;
    let size = spec.resources.as_ref()?.requests.as_ref()?.get("storage")?;
    let (name, namespace, uid) = (
        c.metadata.name.as_deref()?,
        c.metadata.namespace.as_deref()?,
        c.metadata.uid.as_deref()?,
    );
    let hostname = nodes
        .iter()
        .map(Borrow::borrow)
        .find(|n| n.metadata.name.as_deref() == Some(node))
        .and_then(|n| n.metadata.labels.as_ref()?.get(HOSTNAME_LABEL).cloned())
        .unwrap_or_else(|| node.clone());
    let pv = pv_name(uid);
    let dir = volumes_dir.join(&pv);
    let access_modes = match spec.access_modes.as_deref() {
        Some(m) if !m.is_empty() => m.to_vec(),
        _ => vec!["ReadWriteOnce".to_owned()],
    };
    Some((
        PersistentVolume {
            metadata: ObjectMeta {
                name: Some(pv),
                annotations: Some(BTreeMap::from([(
                    ANN_PROVISIONED_BY.to_owned(),
                    PROVISIONER.to_owned(),
                )])),
                ..ObjectMeta::default()
            },
            spec: Some(PersistentVolumeSpec {
                capacity: Some(BTreeMap::from([("storage".to_owned(), size.clone())])),
                access_modes: Some(access_modes),
                persistent_volume_reclaim_policy: Some("Delete".to_owned()),
                storage_class_name: Some(CLASS_NAME.to_owned()),
                volume_mode: Some("Filesystem".to_owned()),
                host_path: Some(HostPathVolumeSource {
                    path: dir.to_string_lossy().into_owned(),
                    type_: Some("Directory".to_owned()),
                }),
                claim_ref: Some(ObjectReference {
                    api_version: Some("v1".to_owned()),
                    kind: Some("PersistentVolumeClaim".to_owned()),
                    name: Some(name.to_owned()),
                    namespace: Some(namespace.to_owned()),
                    uid: Some(uid.to_owned()),
                    ..ObjectReference::default()
                }),
                node_affinity: Some(VolumeNodeAffinity {
                    required: Some(NodeSelector {
                        node_selector_terms: vec![NodeSelectorTerm {
                            match_expressions: Some(vec![NodeSelectorRequirement {
                                key: HOSTNAME_LABEL.to_owned(),
                                operator: "In".to_owned(),
                                values: Some(vec![hostname]),
                            }]),
                            match_fields: None,
                        }],
                    }),
                }),
                ..PersistentVolumeSpec::default()
            }),
            status: None,
        },
        dir,
    ))
}

/// Creates the StorageClass `standard` unless it exists.
///
/// # Errors
/// [`ProvisionerError::StorageClass`] on any API error but "already exists".
pub async fn ensure_storage_class(client: &Client) -> Result<(), ProvisionerError> {
    let api: Api<StorageClass> = Api::all(client.clone());
    match api.create(&PostParams::default(), &storage_class()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(ProvisionerError::StorageClass(e)),
    }
}

/// Runs one action; failures are logged (the next change or resync retries).
async fn execute(api: &Api<PersistentVolume>, action: Action) {
    let log = |m: String| cluster_watch::log("provisioner", &m);
    match action {
        Action::Provision { pv, dir } => {
            let name = pv.metadata.name.clone().unwrap_or_default();
            if let Err(e) = make_dir(&dir) {
                log(format!("cannot create {}: {e}", dir.display()));
                return;
            }
            match api.create(&PostParams::default(), &pv).await {
                Ok(_) => log(format!("created {name} at {}", dir.display())),
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => log(format!("cannot create {name}: {e}")),
            }
        }
        Action::Delete { pv, dir } => {
            if let Some(dir) = &dir {
                match std::fs::remove_dir_all(dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        log(format!("cannot remove {}: {e}", dir.display()));
                        return;
                    }
                }
            }
            match api.delete(&pv, &DeleteParams::default()).await {
                Ok(_) => log(format!("deleted {pv}")),
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => log(format!("cannot delete {pv}: {e}")),
            }
        }
    }
}

fn make_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))
}

/// Creates the StorageClass, then provisions and deletes volumes until `shutdown` resolves.
///
/// # Errors
/// [`ProvisionerError`] if the StorageClass cannot be created or the watches end.
pub async fn run(
    client: Client,
    cfg: ProvisionerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ProvisionerError> {
    ensure_storage_class(&client).await?;
    let pv_api: Api<PersistentVolume> = Api::all(client.clone());
    let mut changes = Changes::default();
    let claims = cluster_watch::reflect::<PersistentVolumeClaim>(&client, &mut changes);
    let volumes = cluster_watch::reflect::<PersistentVolume>(&client, &mut changes);
    let nodes = cluster_watch::reflect::<Node>(&client, &mut changes);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            batch = cluster_watch::next_batch(&mut changes) => match batch {
                None => return Err(ProvisionerError::WatchesEnded),
                Some(errors) => for e in errors {
                    cluster_watch::log("provisioner", &format!("watch error (retrying): {e}"));
                },
            },
            _ = tick.tick() => {}
            () = &mut shutdown => return Ok(()),
        }
        if !cluster_watch::all_ready([
            &claims as &dyn Ready,
            &volumes as &dyn Ready,
            &nodes as &dyn Ready,
        ]) {
            continue;
        }
        for action in plan(
            &claims.state(),
            &volumes.state(),
            &nodes.state(),
            &cfg.volumes_dir,
        ) {
            execute(&pv_api, action).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claim(
        name: &str,
        ann: serde_json::Value,
        extra: serde_json::Value,
    ) -> PersistentVolumeClaim {
        let mut v = json!({
            "metadata": {"name": name, "namespace": "db", "uid": format!("uid-{name}"),
                         "annotations": ann},
            "spec": {"storageClassName": "standard", "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Pending"}
        });
        merge(&mut v, extra);
        serde_json::from_value(v).unwrap()
    }

    fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
        match (a, b) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    fn ready_ann() -> serde_json::Value {
        json!({ANN_SELECTED_NODE: "node-a", ANN_STORAGE_PROVISIONER: PROVISIONER,
               ANN_BETA_STORAGE_PROVISIONER: PROVISIONER})
    }

    fn node(name: &str, hostname: &str) -> Node {
        serde_json::from_value(json!({"metadata": {"name": name,
            "labels": {"kubernetes.io/hostname": hostname}}}))
        .unwrap()
    }

    fn provisioned(actions: &[Action]) -> Vec<&str> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Provision { pv, .. } => pv.metadata.name.as_deref(),
                Action::Delete { .. } => None,
            })
            .collect()
    }

    #[test]
    fn provisions_only_claims_ready_for_it() {
        let dir = Path::new("/state/volumes");
        let none: &[PersistentVolume] = &[];
        let nodes = [node("node-a", "host-a")];
        let cases: Vec<(&str, PersistentVolumeClaim, bool)> = vec![
            ("ready", claim("ready", ready_ann(), json!({})), true),
            (
                "beta annotation only",
                claim(
                    "beta",
                    json!({ANN_SELECTED_NODE: "node-a",
                    ANN_BETA_STORAGE_PROVISIONER: PROVISIONER}),
                    json!({}),
                ),
                true,
            ),
            (
                "no selected node yet",
                claim(
                    "wait",
                    json!({ANN_STORAGE_PROVISIONER: PROVISIONER}),
                    json!({}),
                ),
                false,
            ),
            (
                "KCM has not handed it over",
                claim("kcm", json!({ANN_SELECTED_NODE: "node-a"}), json!({})),
                false,
            ),
            (
                "another provisioner",
                claim(
                    "other",
                    json!({ANN_SELECTED_NODE: "node-a",
                    ANN_STORAGE_PROVISIONER: "ebs.csi.aws.com"}),
                    json!({}),
                ),
                false,
            ),
            (
                "another class",
                claim(
                    "cls",
                    ready_ann(),
                    json!({"spec": {"storageClassName": "fast"}}),
                ),
                false,
            ),
            (
                "already bound",
                claim(
                    "bound",
                    ready_ann(),
                    json!({"spec": {"volumeName": "pv-x"},
                    "status": {"phase": "Bound"}}),
                ),
                false,
            ),
            (
                "being deleted",
                claim(
                    "del",
                    ready_ann(),
                    json!({"metadata":
                    {"deletionTimestamp": "2026-11-25T00:00:00Z", "finalizers": ["x"]}}),
                ),
                false,
            ),
            (
                "block mode",
                claim("blk", ready_ann(), json!({"spec": {"volumeMode": "Block"}})),
                false,
            ),
            (
                "no size",
                claim(
                    "nosize",
                    ready_ann(),
                    json!({"spec": {"resources": {"requests": null}}}),
                ),
                false,
            ),
        ];
        for (what, c, want) in cases {
            let got = plan(&[c], none, &nodes, dir);
            assert_eq!(got.len(), usize::from(want), "{what}: {got:?}");
        }
    }

    #[test]
    fn the_volume_is_pre_bound_to_the_claim_on_its_node() {
        let dir = Path::new("/state/volumes");
        let c = claim(
            "data-cass-0",
            ready_ann(),
            json!({"spec": {"accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
                            "resources": {"requests": {"storage": "5Gi"}}}}),
        );
        let got = plan(
            std::slice::from_ref(&c),
            &[] as &[PersistentVolume],
            &[node("node-a", "host-a")],
            dir,
        );
        let [Action::Provision { pv, dir: d }] = got.as_slice() else {
            panic!("{got:?}")
        };
        assert_eq!(d, &dir.join("pvc-uid-data-cass-0"));
        let v = serde_json::to_value(pv.as_ref()).unwrap();
        assert_eq!(
            v,
            json!({
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": "pvc-uid-data-cass-0",
                             "annotations": {ANN_PROVISIONED_BY: PROVISIONER}},
                "spec": {
                    "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
                    "capacity": {"storage": "5Gi"},
                    "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                 "name": "data-cass-0", "namespace": "db", "uid": "uid-data-cass-0"},
                    "hostPath": {"path": "/state/volumes/pvc-uid-data-cass-0", "type": "Directory"},
                    "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["host-a"]}]}]}},
                    "persistentVolumeReclaimPolicy": "Delete",
                    "storageClassName": "standard",
                    "volumeMode": "Filesystem"
                }
            })
        );
        // Not again once the PV exists; the node's name when the Node is unknown.
        let existing = (**pv).clone();
        assert!(plan(std::slice::from_ref(&c), &[existing], &[] as &[Node], dir).is_empty());
        let got = plan(&[c], &[] as &[PersistentVolume], &[] as &[Node], dir);
        assert!(format!("{got:?}").contains("\"node-a\""), "{got:?}");
        assert_eq!(provisioned(&got), ["pvc-uid-data-cass-0"]);
    }

    #[test]
    fn released_volumes_of_ours_are_deleted() {
        let dir = Path::new("/state/volumes");
        let pv =
            |name: &str, path: &str, phase: &str, policy: &str, by: &str| -> PersistentVolume {
                serde_json::from_value(json!({
                    "metadata": {"name": name, "annotations": {ANN_PROVISIONED_BY: by}},
                    "spec": {"persistentVolumeReclaimPolicy": policy, "hostPath": {"path": path}},
                    "status": {"phase": phase}
                }))
                .unwrap()
            };
        let volumes = [
            pv("a", "/state/volumes/a", "Released", "Delete", PROVISIONER),
            pv(
                "bound",
                "/state/volumes/bound",
                "Bound",
                "Delete",
                PROVISIONER,
            ),
            pv(
                "retain",
                "/state/volumes/retain",
                "Released",
                "Retain",
                PROVISIONER,
            ),
            pv(
                "theirs",
                "/state/volumes/theirs",
                "Released",
                "Delete",
                "other.io/x",
            ),
            // Ours by annotation, but its path is outside the volumes dir: the PV goes, the
            // directory stays.
            pv(
                "escape",
                "/state/volumes/../etcd",
                "Released",
                "Delete",
                PROVISIONER,
            ),
            pv("root", "/state/volumes", "Released", "Delete", PROVISIONER),
        ];
        let got = plan(
            &[] as &[PersistentVolumeClaim],
            &volumes,
            &[] as &[Node],
            dir,
        );
        assert_eq!(
            got,
            vec![
                Action::Delete {
                    pv: "a".into(),
                    dir: Some(dir.join("a"))
                },
                Action::Delete {
                    pv: "escape".into(),
                    dir: None
                },
                Action::Delete {
                    pv: "root".into(),
                    dir: None
                },
            ]
        );
    }

    #[test]
    fn the_storage_class() {
        let v = serde_json::to_value(storage_class()).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                   "metadata": {"name": "standard",
                                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                   "provisioner": "devenv.navigator.jetstack.io/hostpath",
                   "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"})
        );
    }
}
