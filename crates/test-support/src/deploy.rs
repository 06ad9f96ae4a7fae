//! `deploy/` (the rendered Helm chart) as objects, for tests that apply part of it, and the Helm
//! binary the chart tests run.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::devenv::repo_root;

/// The objects of `deploy/namespace.yaml` and `deploy/navigator.yaml` whose kind is not in
/// `skip`, as a `v1` `List`. Panics when a file is missing or not YAML.
pub fn deploy_objects(skip: &[&str]) -> Value {
    let mut items = Vec::new();
    for file in ["namespace.yaml", "navigator.yaml"] {
        let path = repo_root().join("deploy").join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let object: Value = serde::Deserialize::deserialize(doc)
                .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
            if object.is_null() {
                continue;
            }
            let kind = object["kind"].as_str().unwrap_or_default();
            if !skip.contains(&kind) {
                items.push(object);
            }
        }
    }
    serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items})
}

/// The kinds that make pods or route to them: what tests that run navigator-apiserver (and the
/// controller) as host processes leave out of `deploy/`.
pub const WORKLOAD_KINDS: [&str; 4] = [
    "Deployment",
    "StatefulSet",
    "Service",
    "PodDisruptionBudget",
];

/// The Helm binary `hack/build-helm` caches (`$HELM` overrides); panics saying how to build it.
pub fn helm() -> PathBuf {
    if let Some(path) = std::env::var_os("HELM") {
        return PathBuf::from(path);
    }
    let out = std::process::Command::new(repo_root().join("hack/build-helm"))
        .output()
        .unwrap_or_else(|e| panic!("run hack/build-helm: {e}"));
    assert!(
        out.status.success(),
        "hack/build-helm failed (it builds Helm from the Go module proxy; needs Go): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    PathBuf::from(dir).join("helm")
}

/// `helm <args> --kubeconfig <kubeconfig>` with the Helm of [`helm`]: its stdout, or an error
/// with its whole output.
pub fn helm_run(kubeconfig: &Path, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new(helm())
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .output()
        .map_err(|e| format!("run helm: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "helm {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
