//! A pod's volumes on the host: emptyDir, configMap, secret, downwardAPI, projected (the
//! kube-api-access volume: a bound service-account token, `ca.crt`, `namespace`), hostPath and
//! persistentVolumeClaim (the bound PV's `hostPath`/`local` path). Which files a volume holds is
//! pure ([`files_for`]); writing them and asking the API is thin.

use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt as _, chown};
use std::path::{Path, PathBuf};

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, DownwardAPIVolumeFile, KeyToPath, PersistentVolume, PersistentVolumeClaim, Pod,
    Secret, ServiceAccount, Volume, VolumeMount,
};
use kube::Api;
use kube::api::PostParams;

use super::env::{PodFacts, field_value, format_map};
use super::sandbox::BindMount;

/// Why a volume is not ready.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// Waiting for something in the API (a PVC to bind, a ConfigMap to exist).
    #[error("{0}")]
    Waiting(String),
    /// The API failed.
    #[error("volume {volume}: {source}")]
    Api {
        /// The volume.
        volume: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing files failed.
    #[error("volume {volume}: cannot write {path}: {source}")]
    Io {
        /// The volume.
        volume: String,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// One file of a configMap/secret/downwardAPI/projected volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolFile {
    /// Path relative to the volume.
    pub path: String,
    /// Contents.
    pub data: Vec<u8>,
    /// File mode.
    pub mode: u32,
}

/// The files of a key→value source, honouring `items` and modes. Pure.
#[must_use]
pub fn key_files(
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    default_mode: u32,
) -> Vec<VolFile> {
    match items {
        Some(items) if !items.is_empty() => items
            .iter()
            .filter_map(|it| {
                data.get(&it.key).map(|d| VolFile {
                    path: it.path.clone(),
                    data: d.clone(),
                    mode: it.mode.map_or(default_mode, mode_u32),
                })
            })
            .collect(),
        _ => data
            .iter()
            .map(|(k, d)| VolFile {
                path: k.clone(),
                data: d.clone(),
                mode: default_mode,
            })
            .collect(),
    }
}

fn mode_u32(m: i32) -> u32 {
    u32::try_from(m).unwrap_or(0o644) & 0o7777
}

/// The files of downward-API items. Pure.
#[must_use]
pub fn downward_files(
    pod: &Pod,
    facts: &PodFacts,
    items: &[DownwardAPIVolumeFile],
    default_mode: u32,
) -> Vec<VolFile> {
    items
        .iter()
        .filter_map(|it| {
            let value = match &it.field_ref {
                Some(f) if f.field_path == "metadata.labels" => {
                    format_map(pod.metadata.labels.as_ref())
                }
                Some(f) if f.field_path == "metadata.annotations" => {
                    format_map(pod.metadata.annotations.as_ref())
                }
                Some(f) => field_value(pod, facts, &f.field_path).ok()?,
                None => String::new(),
            };
            Some(VolFile {
                path: it.path.clone(),
                data: value.into_bytes(),
                mode: it.mode.map_or(default_mode, mode_u32),
            })
        })
        .collect()
}

fn cm_data(cm: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    let mut d: BTreeMap<String, Vec<u8>> = cm
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    for (k, v) in cm.binary_data.iter().flatten() {
        d.insert(k.clone(), v.0.clone());
    }
    d
}

fn secret_data(s: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut d: BTreeMap<String, Vec<u8>> = s
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in s.string_data.iter().flatten() {
        d.insert(k.clone(), v.clone().into_bytes());
    }
    d
}

/// What the runner knows while preparing volumes.
pub struct VolumeCtx<'a> {
    /// The API client.
    pub client: &'a kube::Client,
    /// The pod.
    pub pod: &'a Pod,
    /// Downward-API facts.
    pub facts: &'a PodFacts,
    /// The pod's directory in the state dir.
    pub pod_dir: &'a Path,
}

impl VolumeCtx<'_> {
    fn ns(&self) -> String {
        self.pod.metadata.namespace.clone().unwrap_or_default()
    }

    async fn config_map(
        &self,
        vol: &str,
        name: &str,
        optional: bool,
    ) -> Result<Option<ConfigMap>, VolumeError> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.ns());
        match api.get_opt(name).await {
            Ok(Some(cm)) => Ok(Some(cm)),
            Ok(None) if optional => Ok(None),
            Ok(None) => Err(VolumeError::Waiting(format!(
                "configmap {name:?} not found (volume {vol})"
            ))),
            Err(source) => Err(VolumeError::Api {
                volume: vol.to_owned(),
                source,
            }),
        }
    }

    async fn secret(
        &self,
        vol: &str,
        name: &str,
        optional: bool,
    ) -> Result<Option<Secret>, VolumeError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.ns());
        match api.get_opt(name).await {
            Ok(Some(s)) => Ok(Some(s)),
            Ok(None) if optional => Ok(None),
            Ok(None) => Err(VolumeError::Waiting(format!(
                "secret {name:?} not found (volume {vol})"
            ))),
            Err(source) => Err(VolumeError::Api {
                volume: vol.to_owned(),
                source,
            }),
        }
    }

    async fn token(
        &self,
        vol: &str,
        audience: Option<&str>,
        seconds: Option<i64>,
    ) -> Result<String, VolumeError> {
        let sa = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_else(|| "default".to_owned());
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &self.ns());
        let req = TokenRequest {
            spec: TokenRequestSpec {
                audiences: audience.map(|a| vec![a.to_owned()]).unwrap_or_default(),
                expiration_seconds: Some(seconds.unwrap_or(3607).max(600)),
                bound_object_ref: Some(BoundObjectReference {
                    api_version: Some("v1".to_owned()),
                    kind: Some("Pod".to_owned()),
                    name: self.pod.metadata.name.clone(),
                    uid: self.pod.metadata.uid.clone(),
                }),
            },
            ..TokenRequest::default()
        };
        let resp = api
            .create_token_request(&sa, &PostParams::default(), &req)
            .await
            .map_err(|source| VolumeError::Api {
                volume: vol.to_owned(),
                source,
            })?;
        Ok(resp.status.map(|s| s.token).unwrap_or_default())
    }

    /// The files of a configMap/secret/downwardAPI/projected volume; `None` for other kinds.
    async fn files_for(&self, v: &Volume) -> Result<Option<Vec<VolFile>>, VolumeError> {
        let name = v.name.as_str();
        if let Some(c) = &v.config_map {
            let mode = c.default_mode.map_or(0o644, mode_u32);
            let cm = self
                .config_map(name, &c.name, c.optional == Some(true))
                .await?;
            return Ok(Some(cm.map_or_else(Vec::new, |cm| {
                key_files(&cm_data(&cm), c.items.as_deref(), mode)
            })));
        }
        if let Some(s) = &v.secret {
            let mode = s.default_mode.map_or(0o644, mode_u32);
            let sname = s.secret_name.clone().unwrap_or_default();
            let sec = self.secret(name, &sname, s.optional == Some(true)).await?;
            return Ok(Some(sec.map_or_else(Vec::new, |sec| {
                key_files(&secret_data(&sec), s.items.as_deref(), mode)
            })));
        }
        if let Some(d) = &v.downward_api {
            let mode = d.default_mode.map_or(0o644, mode_u32);
            return Ok(Some(downward_files(
                self.pod,
                self.facts,
                d.items.as_deref().unwrap_or_default(),
                mode,
            )));
        }
        if let Some(p) = &v.projected {
            let mode = p.default_mode.map_or(0o644, mode_u32);
            let mut out = Vec::new();
            for src in p.sources.iter().flatten() {
                if let Some(c) = &src.config_map
                    && let Some(cm) = self
                        .config_map(name, &c.name, c.optional == Some(true))
                        .await?
                {
                    out.extend(key_files(&cm_data(&cm), c.items.as_deref(), mode));
                }
                if let Some(s) = &src.secret
                    && let Some(sec) = self.secret(name, &s.name, s.optional == Some(true)).await?
                {
                    out.extend(key_files(&secret_data(&sec), s.items.as_deref(), mode));
                }
                if let Some(d) = &src.downward_api {
                    out.extend(downward_files(
                        self.pod,
                        self.facts,
                        d.items.as_deref().unwrap_or_default(),
                        mode,
                    ));
                }
                if let Some(t) = &src.service_account_token {
                    let token = self
                        .token(name, t.audience.as_deref(), t.expiration_seconds)
                        .await?;
                    out.push(VolFile {
                        path: t.path.clone(),
                        data: token.into_bytes(),
                        mode: 0o644.min(mode),
                    });
                }
            }
            return Ok(Some(out));
        }
        Ok(None)
    }

    async fn pvc_path(&self, vol: &str, claim: &str) -> Result<PathBuf, VolumeError> {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), &self.ns());
        let api_err = |source| VolumeError::Api {
            volume: vol.to_owned(),
            source,
        };
        let pvc = pvcs.get_opt(claim).await.map_err(api_err)?.ok_or_else(|| {
            VolumeError::Waiting(format!("persistentvolumeclaim {claim:?} not found"))
        })?;
        let bound = pvc.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
        let pv_name = pvc.spec.as_ref().and_then(|s| s.volume_name.clone());
        let (true, Some(pv_name)) = (bound, pv_name) else {
            return Err(VolumeError::Waiting(format!(
                "persistentvolumeclaim {claim:?} is not bound yet"
            )));
        };
        let pvs: Api<PersistentVolume> = Api::all(self.client.clone());
        let pv = pvs.get(&pv_name).await.map_err(api_err)?;
        let spec = pv.spec.unwrap_or_default();
        let path = spec
            .host_path
            .map(|h| h.path)
            .or_else(|| spec.local.map(|l| l.path))
            .ok_or_else(|| {
                VolumeError::Waiting(format!(
                    "persistentvolume {pv_name} has neither hostPath nor local (unsupported)"
                ))
            })?;
        Ok(PathBuf::from(path))
    }

    /// Prepares every volume of the pod; returns volume name → host path.
    ///
    /// # Errors
    /// [`VolumeError::Waiting`] while something is missing; the others on failure.
    pub async fn prepare(&self) -> Result<BTreeMap<String, PathBuf>, VolumeError> {
        let spec = self.pod.spec.clone().unwrap_or_default();
        let fs_group = spec
            .security_context
            .as_ref()
            .and_then(|s| s.fs_group)
            .and_then(|g| u32::try_from(g).ok());
        let mut out = BTreeMap::new();
        for v in spec.volumes.iter().flatten() {
            let name = v.name.clone();
            let io = |path: &Path, source| VolumeError::Io {
                volume: name.clone(),
                path: path.to_path_buf(),
                source,
            };
            let dir = self.pod_dir.join("volumes").join(&v.name);
            let path = if let Some(files) = self.files_for(v).await? {
                write_files(&dir, &files).map_err(|e| io(&dir, e))?;
                dir
            } else if v.empty_dir.is_some() {
                std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
                    .map_err(|e| io(&dir, e))?;
                dir
            } else if let Some(h) = &v.host_path {
                let p = PathBuf::from(&h.path);
                match h.type_.as_deref() {
                    Some("DirectoryOrCreate") | None | Some("") if !p.exists() => {
                        std::fs::create_dir_all(&p).map_err(|e| io(&p, e))?;
                    }
                    _ => {}
                }
                p
            } else if let Some(c) = &v.persistent_volume_claim {
                let p = self.pvc_path(&name, &c.claim_name).await?;
                std::fs::create_dir_all(&p).map_err(|e| io(&p, e))?;
                p
            } else {
                // Unsupported kinds get an empty directory, so the pod still starts.
                std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
                dir
            };
            if let Some(g) = fs_group
                && v.host_path.is_none()
            {
                apply_fs_group(&path, g).map_err(|e| io(&path, e))?;
            }
            out.insert(v.name.clone(), path);
        }
        Ok(out)
    }
}

/// Replaces the contents of `dir` with `files`.
fn write_files(dir: &Path, files: &[VolFile]) -> std::io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    for f in files {
        let rel = Path::new(&f.path);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            continue;
        }
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, &f.data)?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(f.mode))?;
    }
    Ok(())
}

/// Gives group `gid` ownership of everything under `root`, group read/write (and search on
/// directories, setgid on directories) — kubelet's fsGroup with `OnRootMismatch`: skipped when the
/// root already has the group and setgid bit.
fn apply_fs_group(root: &Path, gid: u32) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(root)?;
    if meta.gid() == gid && meta.mode() & 0o2000 != 0 {
        return Ok(());
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let m = std::fs::symlink_metadata(&p)?;
        if m.file_type().is_symlink() {
            continue;
        }
        chown(&p, None, Some(gid))?;
        let mut mode = m.mode() & 0o7777 | 0o060;
        if m.is_dir() {
            mode |= 0o2010;
            for e in std::fs::read_dir(&p)? {
                stack.push(e?.path());
            }
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// The bind mounts of a container's `volumeMounts`. Pure.
#[must_use]
pub fn container_mounts(
    mounts: &[VolumeMount],
    volumes: &BTreeMap<String, PathBuf>,
) -> Vec<BindMount> {
    let mut v: Vec<BindMount> = mounts
        .iter()
        .filter_map(|m| {
            let base = volumes.get(&m.name)?;
            let source = match m.sub_path.as_deref().filter(|s| !s.is_empty()) {
                Some(sub) => base.join(sub.trim_start_matches('/')),
                None => base.clone(),
            };
            Some(BindMount {
                source,
                target: m.mount_path.clone(),
                read_only: m.read_only == Some(true),
            })
        })
        .collect();
    // Parents before children.
    v.sort_by_key(|m| Path::new(&m.target).components().count());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_honour_items_and_modes() {
        let data: BTreeMap<String, Vec<u8>> = [
            ("a".to_owned(), b"1".to_vec()),
            ("b".to_owned(), b"2".to_vec()),
        ]
        .into();
        let all = key_files(&data, None, 0o644);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].path, "a");
        let items = [KeyToPath {
            key: "b".into(),
            path: "sub/b.txt".into(),
            mode: Some(0o600),
        }];
        let some = key_files(&data, Some(&items), 0o644);
        assert_eq!(
            some,
            vec![VolFile {
                path: "sub/b.txt".into(),
                data: b"2".to_vec(),
                mode: 0o600
            }]
        );
    }

    #[test]
    fn mounts_resolve_sub_paths_and_sort_parents_first() {
        let vols: BTreeMap<String, PathBuf> = [
            ("data".to_owned(), PathBuf::from("/pv/1")),
            ("cfg".to_owned(), PathBuf::from("/s/cfg")),
        ]
        .into();
        let mounts: Vec<VolumeMount> = serde_json::from_value(serde_json::json!([
            {"name": "cfg", "mountPath": "/var/lib/app/conf", "readOnly": true},
            {"name": "data", "mountPath": "/var/lib/app", "subPath": "d"},
            {"name": "missing", "mountPath": "/x"}
        ]))
        .expect("mounts");
        let m = container_mounts(&mounts, &vols);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].target, "/var/lib/app");
        assert_eq!(m[0].source, PathBuf::from("/pv/1/d"));
        assert!(m[1].read_only);
    }

    #[test]
    fn write_files_skips_escapes_and_applies_modes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("v");
        write_files(
            &d,
            &[
                VolFile {
                    path: "x/y".into(),
                    data: b"hi".to_vec(),
                    mode: 0o600,
                },
                VolFile {
                    path: "../evil".into(),
                    data: b"no".to_vec(),
                    mode: 0o644,
                },
            ],
        )
        .expect("write");
        assert_eq!(std::fs::read(d.join("x/y")).expect("read"), b"hi");
        assert!(!dir.path().join("evil").exists());
        let mode = std::fs::metadata(d.join("x/y"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
