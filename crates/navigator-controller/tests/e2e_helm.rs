//! End to end: Navigator installed the way users install it — `helm install` of
//! `charts/navigator` on devenv, everything as pods (navigator-apiserver ×2, its etcd, the
//! controller ×2 with Lease election), images from devenv's image map (the release binaries under
//! the OCI images' names and entrypoints).
//!
//! One install goes through the whole story:
//!
//!  1. `helm install --wait` with the controller off: both APIServices Available, served by the
//!     pods; the aggregated kubectl scenario (`test_support::kubectl_scenario`: every verb, both
//!     versions, watch, patches, apply) passes through them;
//!  2. `helm upgrade` turns the controller on (two replicas, one Lease holder), which writes a
//!     paused CassandraCluster's status;
//!  3. one navigator-apiserver pod killed (grace 0) during a stream of kubectl creates: every
//!     acknowledged object is read back, the APIService never leaves Available, and the
//!     Deployment replaces the pod;
//!  4. `helm upgrade` with a changed value (a pod annotation) rolls the API server pods (all new
//!     UIDs), the objects stay;
//!  5. `helm uninstall`: no Navigator pods and no navigator APIServices are left; etcd's volume
//!     claim stays (Helm never deletes a StatefulSet's claims; database volumes stay too).
//!
//! `#[ignore]`d: needs root, the pod network, the Go-built binaries (`hack/build-k8s`), Helm
//! (`hack/build-helm`) and `cargo build --release -p navigator-apiserver -p navigator-controller
//! -p pilot-cassandra -p pilot-elasticsearch`. Run by `hack/test-devenv`, or with
//! `flock /tmp/devenv.lock cargo test -p navigator-controller --test e2e_helm -- --ignored
//! --nocapture`.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use test_support::deploy::helm_run;
use test_support::devenv::{
    Env, EnvOptions, GROUP, condition, eventually, repo_root, require_release_binary,
};

const NS: &str = "navigator";
const USER_NS: &str = "helm-e2e";

/// `helm install` (`verb` "install") or `helm upgrade --reuse-values` of the chart with one
/// `--set`, waiting for the release's pods; panics with the release's state unless it succeeds.
fn release(env: &Env, verb: &str, set: &str) {
    let chart = repo_root().join("charts/navigator");
    let mut args = vec![
        verb,
        "navigator",
        chart.to_str().unwrap(),
        "--namespace",
        NS,
    ];
    args.push(if verb == "install" {
        "--create-namespace"
    } else {
        "--reuse-values"
    });
    args.extend(["--set", set, "--wait", "--timeout", "5m"]);
    helm_run(&env.admin(), &args).unwrap_or_else(|e| panic!("{e}\n{}", context(env)));
}

/// Everything a failed wait should show: the release's pods and their logs.
fn context(env: &Env) -> String {
    format!(
        "--- pods ---\n{}\n--- apiservices ---\n{}\n--- pod logs ---\n{}",
        env.kubectl(&["get", "pods", "-n", NS, "-o", "wide"])
            .unwrap_or_else(|e| e),
        env.kubectl(&["get", "apiservices", "-o", "wide"])
            .unwrap_or_else(|e| e)
            .lines()
            .filter(|l| l.contains(GROUP) || l.starts_with("NAME"))
            .collect::<Vec<_>>()
            .join("\n"),
        env.pod_logs(NS)
    )
}

fn apiservice_available(env: &Env, version: &str) -> Result<(), String> {
    let svc = env.get(&["get", "apiservice", &format!("{version}.{GROUP}")])?;
    let c = condition(&svc["status"]["conditions"], "Available")
        .cloned()
        .unwrap_or(Value::Null);
    (c["status"] == "True")
        .then_some(())
        .ok_or_else(|| format!("{c}"))
}

/// The navigator-apiserver pods: (name, uid).
fn apiserver_pods(env: &Env) -> Vec<(String, String)> {
    let pods = env.json(&[
        "get",
        "pods",
        "-n",
        NS,
        "-l",
        "app.kubernetes.io/name=navigator-apiserver",
    ]);
    pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap().to_owned(),
                p["metadata"]["uid"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pilot(name: &str) -> Value {
    json!({"apiVersion": format!("{GROUP}/v1beta1"), "kind": "Pilot",
           "metadata": {"name": name, "namespace": USER_NS, "labels": {"e2e": "helm"}}})
}

#[test]
#[ignore = "devenv group: needs root, the Go-built binaries, Helm and release binaries; run hack/test-devenv"]
fn navigator_installed_with_helm() {
    for package in [
        "navigator-apiserver",
        "navigator-controller",
        "pilot-cassandra",
        "pilot-elasticsearch",
    ] {
        require_release_binary(package);
    }
    let env = Env::up(EnvOptions::new("nav-helm"));
    // 1. install
    let t = Instant::now();
    release(&env, "install", "controller.enabled=false");
    for version in ["v1beta1", "v1alpha1"] {
        eventually(
            &format!("APIService {version} Available"),
            Duration::from_secs(120),
            || context(&env),
            || apiservice_available(&env, version),
        );
    }
    println!(
        "TIMING helm install → both APIServices Available {:.1}s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(apiserver_pods(&env).len(), 2);
    let t = Instant::now();
    test_support::kubectl_scenario::run(&env, "agg");
    env.k(&["delete", "namespace", "agg", "--timeout=120s"]);
    println!(
        "TIMING the aggregated kubectl scenario through the pods {:.1}s",
        t.elapsed().as_secs_f64()
    );

    // 2. the controller turned on by an upgrade; kubectl in both versions
    release(&env, "upgrade", "controller.enabled=true");
    env.k(&["create", "namespace", USER_NS]);
    env.apply("pilot-a", &pilot("a"));
    let a = env.json(&[
        "get",
        "pilot.v1alpha1.navigator.jetstack.io",
        "a",
        "-n",
        USER_NS,
    ]);
    assert_eq!(a["apiVersion"], format!("{GROUP}/v1alpha1"));
    env.k(&[
        "patch",
        "pilot",
        "a",
        "-n",
        USER_NS,
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"patched":"yes"}}}"#,
    ]);
    let listed = env.json(&["get", "pilots", "-n", USER_NS, "-l", "patched=yes"]);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed:#}");
    env.apply(
        "cluster",
        &json!({"apiVersion": format!("{GROUP}/v1beta1"), "kind": "CassandraCluster",
                "metadata": {"name": "held", "namespace": USER_NS},
                "spec": {"version": "5.0.8", "paused": true,
                         "pilotImage": {"repository": "navigator-pilot", "tag": "0.1.0"},
                         "nodePools": [{"name": "a", "replicas": 1}]}}),
    );
    eventually(
        "the in-cluster controller reports the paused cluster",
        Duration::from_secs(90),
        || context(&env),
        || {
            let c = env.get(&["get", "cassandracluster", "held", "-n", USER_NS])?;
            let progressing = condition(&c["status"]["conditions"], "Progressing")
                .cloned()
                .unwrap_or(Value::Null);
            (progressing["reason"] == "ClusterPaused")
                .then_some(())
                .ok_or_else(|| format!("{}", c["status"]))
        },
    );
    let lease = env.json(&["get", "lease", "navigator-controller", "-n", NS]);
    let holder = lease["spec"]["holderIdentity"].as_str().unwrap_or_default();
    assert!(holder.starts_with("navigator-controller-"), "{lease:#}");
    env.k(&["delete", "cassandracluster", "held", "-n", USER_NS]);

    // 3. one API server pod killed during a stream of writes
    let victim = apiserver_pods(&env)[0].clone();
    let mut acked = Vec::new();
    let mut unavailable = Vec::new();
    let t = Instant::now();
    for i in 0..60 {
        if i == 15 {
            env.k(&[
                "delete",
                "pod",
                &victim.0,
                "-n",
                NS,
                "--grace-period=0",
                "--force",
            ]);
        }
        let name = format!("w-{i}");
        if env
            .kubectl(&["create", "-f", &write_manifest(&env, &name)])
            .is_ok()
        {
            acked.push(name);
        }
        if let Err(e) = apiservice_available(&env, "v1beta1") {
            unavailable.push(format!("after write {i}: {e}"));
        }
    }
    println!(
        "TIMING 60 kubectl creates with one API server pod killed: {:.1}s, {} acknowledged",
        t.elapsed().as_secs_f64(),
        acked.len()
    );
    assert!(
        unavailable.is_empty(),
        "the APIService left Available: {unavailable:?}"
    );
    assert!(
        acked.len() >= 50,
        "only {} writes acknowledged",
        acked.len()
    );
    let names = writer_pilots(&env);
    let lost: Vec<&String> = acked.iter().filter(|n| !names.contains(n)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    eventually(
        "the Deployment replaces the killed pod",
        Duration::from_secs(120),
        || context(&env),
        || {
            let pods = apiserver_pods(&env);
            let ready = env.get(&["get", "deployment", "navigator-apiserver", "-n", NS])?;
            (pods.len() == 2
                && !pods.iter().any(|p| p.1 == victim.1)
                && ready["status"]["readyReplicas"] == 2)
                .then_some(())
                .ok_or_else(|| format!("{pods:?} {}", ready["status"]))
        },
    );

    // 4. upgrade with a changed value: the API server pods roll
    let before = apiserver_pods(&env);
    let t = Instant::now();
    release(&env, "upgrade", "apiserver.podAnnotations.e2e/rolled=yes");
    eventually(
        "only new API server pods after the upgrade",
        Duration::from_secs(120),
        || context(&env),
        || {
            let after = apiserver_pods(&env);
            (after.len() == 2 && after.iter().all(|p| !before.iter().any(|b| b.1 == p.1)))
                .then_some(())
                .ok_or_else(|| format!("{after:?}"))
        },
    );
    apiservice_available(&env, "v1beta1").unwrap();
    println!(
        "TIMING helm upgrade (changed value) → API server pods rolled {:.1}s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(
        writer_pilots(&env),
        names,
        "objects kept across the upgrade"
    );

    // 5. uninstall
    let t = Instant::now();
    helm_run(
        &env.admin(),
        &["uninstall", "navigator", "--namespace", NS, "--wait"],
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", context(&env)));
    eventually(
        "no Navigator pods left",
        Duration::from_secs(120),
        || context(&env),
        || {
            let pods = env.k(&["get", "pods", "-n", NS, "-o", "name"]);
            pods.trim().is_empty().then_some(()).ok_or(pods)
        },
    );
    let apiservices = env.k(&["get", "apiservices", "-o", "name"]);
    assert!(!apiservices.contains(GROUP), "{apiservices}");
    let claims = env.k(&["get", "pvc", "-n", NS, "-o", "name"]);
    assert!(
        claims.contains("persistentvolumeclaim/data-navigator-etcd-0"),
        "etcd's claim stays: {claims}"
    );
    println!(
        "TIMING helm uninstall → no Navigator pods {:.1}s",
        t.elapsed().as_secs_f64()
    );
}

/// The names of the writer's Pilots, in the order written.
fn writer_pilots(env: &Env) -> Vec<String> {
    let mut names: Vec<String> = env
        .k(&[
            "get",
            "pilots",
            "-n",
            USER_NS,
            "-l",
            "e2e=writer",
            "-o",
            "name",
        ])
        .lines()
        .map(|l| {
            l.trim_start_matches("pilot.navigator.jetstack.io/")
                .to_owned()
        })
        .collect();
    names.sort_by_key(|n| {
        n.trim_start_matches("w-")
            .parse::<u32>()
            .unwrap_or(u32::MAX)
    });
    names
}

/// A Pilot labelled `e2e=writer`, written to a file for `kubectl create -f`.
fn write_manifest(env: &Env, name: &str) -> String {
    let mut p = pilot(name);
    p["metadata"]["labels"] = json!({"e2e": "writer"});
    let path = env.work_dir().join(format!("{name}.json"));
    std::fs::write(&path, p.to_string()).unwrap();
    path.to_string_lossy().into_owned()
}
