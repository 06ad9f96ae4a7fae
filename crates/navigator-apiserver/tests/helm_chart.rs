//! The Helm chart (`charts/navigator`) checked with the real Helm (`hack/build-helm`): it lints,
//! `deploy/` is its current render, bad values fail with a message saying what to fix, and the
//! default render's pieces fit together (the generated serving certificate is signed by the CA
//! both APIServices carry and names the Service; etcd's members and quorum budget follow
//! `etcd.replicas`). What the real kube-apiserver says about the render (a server-side dry run)
//! is in `tests/aggregated.rs`; installs on a cluster in `hack/test-devenv`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use test_support::deploy::helm;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// `helm template` with `args`; Ok(objects) or Err(stderr).
fn template(args: &[&str]) -> Result<Vec<Value>, String> {
    let out = Command::new(helm())
        .args(["template", "navigator"])
        .arg(repo_root().join("charts/navigator"))
        .args(["--namespace", "navigator"])
        .args(args)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8(out.stdout).unwrap();
    Ok(text
        .split("\n---")
        .map(|doc| serde_yaml::from_str::<Value>(doc).unwrap())
        .filter(|v| !v.is_null())
        .collect())
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn args_of(deployment: &Value) -> Vec<String> {
    let c = &deployment["spec"]["template"]["spec"]["containers"][0];
    c["args"]
        .as_array()
        .or(c["command"].as_array())
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_chart_lints() {
    let out = Command::new(helm())
        .args(["lint", "--strict"])
        .arg(repo_root().join("charts/navigator"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn deploy_is_the_current_render_of_the_chart() {
    let out = Command::new(repo_root().join("hack/render-deploy"))
        .arg("--check")
        .env("HELM", helm())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "deploy/navigator.yaml is stale — run hack/render-deploy:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_values_fail_saying_what_to_fix() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["--set", "certificates.mode=selfsigned"],
            "certificates.mode must be generate, certManager or external",
        ),
        (
            &["--set", "etcd.replicas=2"],
            "etcd.replicas must be 1, 3 or 5",
        ),
        (
            &["--set", "etcd.mode=embedded"],
            "etcd.mode must be internal or external",
        ),
        (
            &["--set", "etcd.mode=external"],
            "etcd.external.servers must name at least one server",
        ),
        (
            &["--set", "apiserver.replicas=0"],
            "apiserver.replicas must be at least 1",
        ),
    ];
    for (args, message) in cases {
        let err = template(args).expect_err(&format!("{args:?} rendered"));
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn the_generated_certificate_is_signed_by_the_apiservices_ca_and_names_the_service() {
    let objects = template(&[]).unwrap();
    let secret = find(&objects, "Secret", "navigator-apiserver-tls");
    let ca = secret["data"]["ca.crt"].as_str().unwrap();
    for version in ["v1beta1", "v1alpha1"] {
        let svc = find(
            &objects,
            "APIService",
            &format!("{version}.navigator.jetstack.io"),
        );
        assert_eq!(svc["spec"]["caBundle"], ca, "{version}");
        assert_eq!(svc["spec"]["service"]["name"], "navigator-apiserver");
    }
    let dir = tempfile::tempdir().unwrap();
    for key in ["ca.crt", "tls.crt"] {
        let pem = STANDARD
            .decode(secret["data"][key].as_str().unwrap())
            .unwrap();
        std::fs::write(dir.path().join(key), pem).unwrap();
    }
    let verify = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(dir.path().join("ca.crt"))
        .arg(dir.path().join("tls.crt"))
        .output()
        .expect("openssl (Debian package openssl)");
    assert!(verify.status.success(), "{verify:?}");
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(dir.path().join("tls.crt"))
        .output()
        .unwrap();
    let sans = String::from_utf8_lossy(&text.stdout);
    assert!(
        sans.contains("DNS:navigator-apiserver.navigator.svc"),
        "{sans}"
    );
    // The pods read it from that Secret.
    let deployment = find(&objects, "Deployment", "navigator-apiserver");
    let volumes = &deployment["spec"]["template"]["spec"]["volumes"];
    assert!(
        volumes
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["secret"]["secretName"] == "navigator-apiserver-tls"),
        "{volumes}"
    );
}

#[test]
fn etcd_members_and_budget_follow_the_replicas() {
    for (replicas, max_unavailable) in [(1, 0), (3, 1)] {
        let objects = template(&["--set", &format!("etcd.replicas={replicas}")]).unwrap();
        let sts = find(&objects, "StatefulSet", "navigator-etcd");
        assert_eq!(sts["spec"]["replicas"], replicas);
        assert_eq!(sts["spec"]["podManagementPolicy"], "Parallel");
        let initial = args_of(sts)
            .into_iter()
            .find_map(|a| a.strip_prefix("--initial-cluster=").map(str::to_owned))
            .unwrap();
        let members: Vec<&str> = initial.split(',').collect();
        assert_eq!(members.len(), replicas, "{initial}");
        for (i, m) in members.iter().enumerate() {
            assert!(
                m.starts_with(&format!("navigator-etcd-{i}=http://navigator-etcd-{i}.navigator-etcd-peers.navigator.svc:2380")),
                "{m}"
            );
        }
        let pdb = find(&objects, "PodDisruptionBudget", "navigator-etcd");
        assert_eq!(pdb["spec"]["maxUnavailable"], max_unavailable);
        let apiserver = find(&objects, "Deployment", "navigator-apiserver");
        assert!(
            args_of(apiserver)
                .contains(&"--etcd-servers=http://navigator-etcd.navigator.svc:2379".to_owned())
        );
    }
    // External etcd: no StatefulSet, the servers and the client certificate's Secret are used.
    let objects = template(&[
        "--set",
        "etcd.mode=external",
        "--set",
        "etcd.external.servers={https://a:2379,https://b:2379}",
        "--set",
        "etcd.external.tlsSecret=etcd-client",
    ])
    .unwrap();
    assert!(!objects.iter().any(|o| o["kind"] == "StatefulSet"));
    let args = args_of(find(&objects, "Deployment", "navigator-apiserver"));
    assert!(
        args.contains(&"--etcd-servers=https://a:2379,https://b:2379".to_owned()),
        "{args:?}"
    );
    assert!(
        args.contains(&"--etcd-cafile=/var/run/navigator/etcd/ca.crt".to_owned()),
        "{args:?}"
    );
}

#[test]
fn images_follow_registry_and_tag() {
    let objects = template(&[
        "--set",
        "image.registry=registry.example/nav/",
        "--set",
        "image.tag=1.2.3",
    ])
    .unwrap();
    let image = |name: &str| {
        find(&objects, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        image("navigator-apiserver"),
        "registry.example/nav/navigator-apiserver:1.2.3"
    );
    assert_eq!(
        image("navigator-controller"),
        "registry.example/nav/navigator-controller:1.2.3"
    );
    let controller = args_of(find(&objects, "Deployment", "navigator-controller"));
    assert!(
        controller.contains(&"--pilot-image=registry.example/nav/navigator-pilot:1.2.3".to_owned()),
        "{controller:?}"
    );
    assert!(controller.contains(&"--leader-election-namespace=navigator".to_owned()));
    // Defaults: bare names at the chart's appVersion (what hack/build-oci-images makes and
    // devenv's image map runs).
    let objects = template(&[]).unwrap();
    let apiserver = find(&objects, "Deployment", "navigator-apiserver");
    let image = apiserver["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert!(image.starts_with("navigator-apiserver:"), "{image}");
}
