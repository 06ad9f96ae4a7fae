//! Finding a pod's container on this host: the pod's UID (from the API), the sandbox spec the
//! runner wrote (`<state>/pods/<uid>/<container>.json`), the host PID of the container's
//! `pod-init` (PID 1 of its PID namespace, found in `/proc` by its command line) and the pod's
//! network namespace.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;

use crate::pods::net::PodNet;
use crate::pods::probes::ExecTarget;

/// The parts of the runner's sandbox spec (`pods::sandbox::SandboxSpec`) an exec needs.
#[derive(Debug, serde::Deserialize)]
struct SpecView {
    uid: u32,
    gid: u32,
    env: Vec<(String, String)>,
}

/// Why a container cannot be reached.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The pod does not exist (or the API failed).
    #[error("pod {namespace}/{pod}: {message}")]
    Pod {
        /// Namespace.
        namespace: String,
        /// Pod.
        pod: String,
        /// What failed.
        message: String,
    },
    /// The container has never been started here.
    #[error("container {container} of pod {namespace}/{pod} is not known to this node")]
    Unknown {
        /// Namespace.
        namespace: String,
        /// Pod.
        pod: String,
        /// Container.
        container: String,
    },
    /// The container is not running.
    #[error("container {container} is not running")]
    NotRunning {
        /// Container.
        container: String,
    },
}

/// The UID of pod `namespace/pod`.
///
/// # Errors
/// [`TargetError::Pod`].
pub async fn pod_uid(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
) -> Result<String, TargetError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let err = |message: String| TargetError::Pod {
        namespace: namespace.to_owned(),
        pod: pod.to_owned(),
        message,
    };
    let p = api.get(pod).await.map_err(|e| err(e.to_string()))?;
    p.metadata.uid.ok_or_else(|| err("has no uid".to_owned()))
}

/// The sandbox spec file of `container` of the pod with `uid`. Pure.
#[must_use]
pub fn spec_file(root: &Path, uid: &str, container: &str) -> PathBuf {
    root.join("pods")
        .join(uid)
        .join(format!("{container}.json"))
}

/// The network namespace file of the pod with `uid` (`/run/netns/nav-…`). Pure.
#[must_use]
pub fn netns_file(uid: &str) -> PathBuf {
    Path::new("/run/netns").join(PodNet::for_uid(uid).netns)
}

/// Whether a process with NUL-separated `cmdline` and `/proc/<pid>/status` text `status` is the
/// `pod-init` of `spec` — `<exe> pod-init <spec>`, PID 1 of its own PID namespace. Pure.
#[must_use]
pub fn is_pod_init(cmdline: &[u8], status: &str, spec: &Path) -> bool {
    let args: Vec<&[u8]> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .collect();
    let named =
        args.len() == 3 && args[1] == b"pod-init" && args[2] == spec.as_os_str().as_encoded_bytes();
    let pid1 = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .and_then(|l| l.split_whitespace().last())
        == Some("1");
    named && pid1
}

/// The host PID of `spec`'s running `pod-init`, if any.
#[must_use]
pub fn find_init(spec: &Path) -> Option<i32> {
    let dir = std::fs::read_dir("/proc").ok()?;
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if !cmd.windows(b"pod-init".len()).any(|w| w == b"pod-init") {
            continue;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if is_pod_init(&cmd, &status, spec) {
            return Some(pid);
        }
    }
    None
}

/// How to exec into `container` of pod `namespace/pod`: its running `pod-init`, user and
/// environment.
///
/// # Errors
/// [`TargetError`].
pub async fn exec_target(
    client: &kube::Client,
    root: &Path,
    namespace: &str,
    pod: &str,
    container: &str,
) -> Result<ExecTarget, TargetError> {
    let uid = pod_uid(client, namespace, pod).await?;
    let file = spec_file(root, &uid, container);
    let unknown = || TargetError::Unknown {
        namespace: namespace.to_owned(),
        pod: pod.to_owned(),
        container: container.to_owned(),
    };
    let bytes = std::fs::read(&file).map_err(|_| unknown())?;
    let spec: SpecView = serde_json::from_slice(&bytes).map_err(|_| unknown())?;
    let f = file.clone();
    let init = tokio::task::spawn_blocking(move || find_init(&f))
        .await
        .ok()
        .flatten()
        .ok_or_else(|| TargetError::NotRunning {
            container: container.to_owned(),
        })?;
    Ok(ExecTarget {
        init_pid: init,
        uid: spec.uid,
        gid: spec.gid,
        env: spec.env,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_init_is_recognised_by_argv_and_pid_namespace() {
        let spec = Path::new("/s/pods/u/c.json");
        let init = b"/x/devenv\0pod-init\0/s/pods/u/c.json\0";
        let ns1 = "Name:\tdevenv\nNSpid:\t4242\t1\n";
        let host = "Name:\tunshare\nNSpid:\t4241\n";
        let cases: [(&[u8], &str, bool); 5] = [
            (init, ns1, true),
            (init, host, false),
            (b"/x/devenv\0pod-init\0/s/pods/u/other.json\0", ns1, false),
            (
                b"unshare\0--mount\0--fork\0/x/devenv\0pod-init\0/s/pods/u/c.json\0",
                host,
                false,
            ),
            (b"sleep\x00100\0", ns1, false),
        ];
        for (cmd, status, want) in cases {
            assert_eq!(
                is_pod_init(cmd, status, spec),
                want,
                "{}",
                String::from_utf8_lossy(cmd)
            );
        }
        assert_eq!(
            spec_file(Path::new("/s"), "u", "c"),
            PathBuf::from("/s/pods/u/c.json")
        );
        assert!(
            netns_file("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
                .to_string_lossy()
                .starts_with("/run/netns/nav-0f1e2d3c4b5a")
        );
    }
}
