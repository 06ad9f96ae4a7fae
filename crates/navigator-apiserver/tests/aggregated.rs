//! navigator-apiserver behind a real kube-apiserver (devenv): the production shape.
//!
//! A devenv control plane (etcd, kube-apiserver with the aggregation layer,
//! kube-controller-manager, kube-scheduler) runs in its own state directory; a second etcd holds
//! navigator's objects. The `deploy/` manifests (the rendered Helm chart) are applied as a user
//! would — the Namespace, ServiceAccounts, delegation and server RBAC, user roles and APIServices
//! — except the workloads (no pods here; the whole of `deploy/` and the chart's default render
//! pass a server-side dry run): the binary runs on the host, on the address kube-apiserver
//! advertises, with a kubeconfig made from the ServiceAccount's token (`kubectl create token`), so
//! the RBAC in `deploy/` is what lets it delegate. `hack/deploy-certs` makes its serving
//! certificate and sets the APIServices' caBundle; a Service without selector plus a manual
//! EndpointSlice point kube-aggregator at the host process.
//!
//! Then, all through kube-apiserver: the APIServices become Available; kubectl creates, gets,
//! lists, applies, patches, watches and deletes the three kinds in both versions; `kubectl auth
//! can-i` and RBAC decide (a user without a binding gets 403, bound to the aggregated `edit` role
//! succeeds); deleting a namespace deletes its navigator objects (namespace controller, metadata
//! client, deletecollection) and the namespace goes away; a Pilot owned by a Pod is garbage
//! collected when the Pod is deleted; creating in a missing namespace is refused with 404.
//!
//! `#[ignore]`d: needs the Go-built binaries and the devenv binary; run by `hack/test-devenv`.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use support::{Etcd, Output, cassandra, kubectl_path, run_bounded};
use test_support::kubectl_scenario::{elasticsearch_v1alpha1, names};

const SERVER: &str = env!("CARGO_BIN_EXE_navigator-apiserver");
const GROUP: &str = "navigator.jetstack.io";
const TEST_USER: &str = "devenv-test-user";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The devenv binary, built next to this test's binary (`cargo build -p devenv`), or `$DEVENV`.
fn devenv_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("DEVENV") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("devenv");
    assert!(
        p.is_file(),
        "{} missing: run `cargo build -p devenv` first (hack/test-devenv does)",
        p.display()
    );
    p
}

/// A devenv control plane in a temporary state directory; `devenv down` on drop.
struct ControlPlane {
    state: tempfile::TempDir,
    /// Scratch files (manifests, certificates, kubeconfigs, logs).
    work: tempfile::TempDir,
}

impl ControlPlane {
    fn devenv(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(devenv_bin());
        cmd.arg("--state-dir")
            .arg(self.state.path())
            .args(args)
            .stdin(Stdio::null());
        run_bounded(cmd, Duration::from_secs(300), &format!("devenv {args:?}"))
    }

    fn admin(&self) -> PathBuf {
        self.state.path().join("admin.kubeconfig")
    }

    fn test_user(&self) -> PathBuf {
        self.state.path().join("test-user.kubeconfig")
    }

    fn kubectl_as(&self, kubeconfig: &Path, args: &[&str]) -> Output {
        let mut cmd = Command::new(kubectl_path());
        cmd.arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--cache-dir")
            .arg(self.work.path().join(format!(
                "kube-cache-{}",
                kubeconfig.file_stem().unwrap().to_string_lossy()
            )))
            .args(args)
            .stdin(Stdio::null());
        run_bounded(cmd, Duration::from_secs(120), &format!("kubectl {args:?}"))
    }

    /// kubectl as the cluster admin; panics with its stderr unless it succeeds.
    fn k(&self, args: &[&str]) -> String {
        let out = self.kubectl_as(&self.admin(), args);
        assert!(
            out.success(),
            "kubectl {args:?} failed ({}):\n{}\n{}",
            out.status,
            out.stdout,
            out.stderr
        );
        out.stdout
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let out = self.k(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// Writes `manifest` to a file and `kubectl apply`s it as admin.
    fn apply(&self, name: &str, manifest: &Value) -> String {
        let path = self.work.path().join(format!("{name}.json"));
        std::fs::write(&path, manifest.to_string()).unwrap();
        self.k(&["apply", "-f", path.to_str().unwrap()])
    }
}

impl test_support::kubectl_scenario::Cluster for ControlPlane {
    fn kubectl_admin(&self, args: &[&str]) -> Result<String, String> {
        let out = self.kubectl_as(&self.admin(), args);
        if out.success() {
            Ok(out.stdout)
        } else {
            Err(format!(
                "kubectl {args:?} failed ({}): {}",
                out.status, out.stderr
            ))
        }
    }
    fn admin_kubeconfig(&self) -> PathBuf {
        self.admin()
    }
    fn kubectl_binary(&self) -> PathBuf {
        kubectl_path().to_path_buf()
    }
    fn scratch(&self) -> &Path {
        self.work.path()
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let _ = self.devenv(&["down"]);
    }
}

/// The navigator-apiserver process; killed on drop.
struct Navigator {
    child: Child,
    log: PathBuf,
}

impl Navigator {
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }
}

impl Drop for Navigator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- navigator-apiserver log ---\n{}", self.log_tail());
        }
    }
}

fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => panic!("{what}: not within {timeout:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// A kubeconfig for the ServiceAccount `navigator/navigator-apiserver`: kube-apiserver's address
/// and CA from the admin kubeconfig, a token from the TokenRequest API.
fn service_account_kubeconfig(cp: &ControlPlane) -> PathBuf {
    let admin: Value = serde_yaml::from_str(&std::fs::read_to_string(cp.admin()).unwrap()).unwrap();
    let cluster = &admin["clusters"][0]["cluster"];
    let token = cp.k(&[
        "create",
        "token",
        "navigator-apiserver",
        "-n",
        "navigator",
        "--duration=2h",
    ]);
    let kubeconfig = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "devenv", "cluster": {
            "server": cluster["server"],
            "certificate-authority-data": cluster["certificate-authority-data"]}}],
        "users": [{"name": "navigator-apiserver", "user": {"token": token.trim()}}],
        "contexts": [{"name": "sa", "context": {"cluster": "devenv", "user": "navigator-apiserver"}}],
        "current-context": "sa"
    });
    let path = cp.work.path().join("navigator-apiserver.kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&kubeconfig).unwrap()).unwrap();
    path
}

fn pilot(ns: &str, name: &str) -> Value {
    support::pilot(ns, name, "a")
}

#[test]
#[ignore = "devenv group: needs the Go-built Kubernetes binaries; run hack/test-devenv"]
fn navigator_behind_a_real_kube_apiserver() {
    let cp = ControlPlane {
        state: tempfile::Builder::new()
            .prefix("nav-aggregated-")
            .tempdir()
            .unwrap(),
        work: tempfile::Builder::new()
            .prefix("nav-aggregated-work-")
            .tempdir()
            .unwrap(),
    };
    let t = Instant::now();
    let up = cp.devenv(&["up"]);
    assert!(up.success(), "devenv up: {}", up.stderr);
    eprintln!("TIMING devenv up: {:.1?}", t.elapsed());
    let etcd = Etcd::start();

    // --- deploy/ (the rendered chart): everything but the workloads (no pods in this test) ---
    let deploy = repo_root().join("deploy");
    let objects = cp.work.path().join("deploy-objects.json");
    std::fs::write(
        &objects,
        test_support::deploy::deploy_objects(&test_support::deploy::WORKLOAD_KINDS).to_string(),
    )
    .unwrap();
    cp.k(&["apply", "-f", objects.to_str().unwrap()]);

    // The address kube-apiserver advertises (endpoint addresses may not be loopback).
    let eps = cp.json(&[
        "get",
        "endpointslices",
        "-n",
        "default",
        "-l",
        "kubernetes.io/service-name=kubernetes",
    ]);
    let host_ip: IpAddr = eps["items"][0]["endpoints"][0]["addresses"][0]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // --- certificates: hack/deploy-certs (Secret + caBundle of both APIServices) ---
    let certs = cp.work.path().join("certs");
    let mut script = Command::new(repo_root().join("hack/deploy-certs"));
    script
        .arg("--kubeconfig")
        .arg(cp.admin())
        .arg("--kubectl")
        .arg(kubectl_path())
        .arg("--out-dir")
        .arg(&certs)
        .arg("--san")
        .arg(host_ip.to_string())
        .stdin(Stdio::null());
    let out = run_bounded(script, Duration::from_secs(60), "hack/deploy-certs");
    assert!(
        out.success(),
        "deploy-certs:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    let ca = std::fs::read_to_string(certs.join("ca.crt")).unwrap();
    for version in ["v1beta1", "v1alpha1"] {
        let svc = cp.json(&["get", "apiservice", &format!("{version}.{GROUP}")]);
        assert_eq!(svc["spec"]["caBundle"], STANDARD.encode(&ca), "{svc:#}");
    }
    let secret = cp.json(&[
        "get",
        "secret",
        "navigator-apiserver-tls",
        "-n",
        "navigator",
    ]);
    assert_eq!(secret["type"], "kubernetes.io/tls");

    // --- the server on the host, as the ServiceAccount, storing in etcd ---
    let sa_kubeconfig = service_account_kubeconfig(&cp);
    let port = std::net::TcpListener::bind((host_ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = cp.work.path().join("navigator-apiserver.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let child = Command::new(SERVER)
        .arg("--data-dir")
        .arg(cp.work.path().join("navigator-data"))
        .args(["--bind-address", &host_ip.to_string()])
        .args(["--secure-port", &port.to_string()])
        .arg("--tls-cert-file")
        .arg(certs.join("tls.crt"))
        .arg("--tls-private-key-file")
        .arg(certs.join("tls.key"))
        .args(["--etcd-servers", &etcd.url()])
        .arg("--kubeconfig")
        .arg(&sa_kubeconfig)
        .args([
            "--authorization-webhook-cache-authorized-ttl=1s",
            "--authorization-webhook-cache-unauthorized-ttl=1s",
        ])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let mut nav = Navigator { child, log };

    // kube-aggregator reaches it through a Service without selector and a manual EndpointSlice.
    cp.apply(
        "service",
        &json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": "navigator-apiserver", "namespace": "navigator"},
             "spec": {"ports": [{"name": "https", "port": 443, "targetPort": port, "protocol": "TCP"}]}},
            {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
             "metadata": {"name": "navigator-apiserver-host", "namespace": "navigator", "labels": {
                 "kubernetes.io/service-name": "navigator-apiserver",
                 "endpointslice.kubernetes.io/managed-by": "navigator-test"}},
             "addressType": if host_ip.is_ipv4() { "IPv4" } else { "IPv6" },
             "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
             "endpoints": [{"addresses": [host_ip.to_string()], "conditions": {"ready": true}}]}
        ]}),
    );

    // --- the APIServices become Available ---
    let t = Instant::now();
    for version in ["v1beta1", "v1alpha1"] {
        let name = format!("apiservice/{version}.{GROUP}");
        let waited = cp.kubectl_as(
            &cp.admin(),
            &["wait", "--for=condition=Available", &name, "--timeout=120s"],
        );
        if let Ok(Some(status)) = nav.child.try_wait() {
            panic!("navigator-apiserver exited with {status}");
        }
        assert!(
            waited.success(),
            "{name} not Available: {}\n{:#}",
            waited.stderr,
            cp.json(&["get", &name])
        );
    }
    eprintln!("TIMING APIServices Available after {:.1?}", t.elapsed());

    // The whole kustomization — the Deployment, Service and PDB too — is valid for the real
    // kube-apiserver (server-side dry run: schema, defaulting and validation, nothing stored).
    let dry = cp.k(&["apply", "-k", deploy.to_str().unwrap(), "--dry-run=server"]);
    for object in [
        "deployment.apps/navigator-apiserver",
        "poddisruptionbudget.policy/navigator-apiserver",
        "service/navigator-apiserver",
        "clusterrole.rbac.authorization.k8s.io/navigator-edit",
        "statefulset.apps/navigator-etcd",
        "deployment.apps/navigator-controller",
    ] {
        assert!(dry.contains(object), "{object} missing from:\n{dry}");
    }
    // So is the chart with its defaults (a generated serving certificate in a Secret, the CA
    // in both APIServices), rendered by the real Helm.
    let rendered = cp.work.path().join("chart-default.yaml");
    let out = Command::new(test_support::deploy::helm())
        .args(["template", "navigator"])
        .arg(repo_root().join("charts/navigator"))
        .args(["--namespace", "navigator"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&rendered, &out.stdout).unwrap();
    let dry = cp.k(&[
        "apply",
        "-f",
        rendered.to_str().unwrap(),
        "--dry-run=server",
    ]);
    for object in [
        "secret/navigator-apiserver-tls",
        "apiservice.apiregistration.k8s.io/v1beta1.navigator.jetstack.io",
        "statefulset.apps/navigator-etcd",
    ] {
        assert!(dry.contains(object), "{object} missing from:\n{dry}");
    }

    test_support::kubectl_scenario::run(&cp, "agg");
    rbac_decides(&cp);
    missing_namespace_is_refused(&cp);
    garbage_collector_collects_an_owned_pilot(&cp);
    namespace_deletion_deletes_navigator_objects(&cp);

    assert!(
        nav.child.try_wait().unwrap().is_none(),
        "navigator-apiserver died:\n{}",
        nav.log_tail()
    );
    // Delegated, not standalone: the server saw the callers' identities (front proxy headers).
    let log = std::fs::read_to_string(&nav.log).unwrap();
    assert!(
        !log.contains("system:anonymous-admin"),
        "{}",
        nav.log_tail()
    );
    assert!(log.contains(TEST_USER), "{}", nav.log_tail());
}

/// `kubectl auth can-i` and real RBAC decide: the devenv test user has no binding (403); bound to
/// the aggregated `edit` ClusterRole in one namespace it may create there.
fn rbac_decides(cp: &ControlPlane) {
    let ns = "agg";
    let tu = cp.test_user();
    let can = cp.kubectl_as(
        &tu,
        &[
            "auth",
            "can-i",
            "create",
            "cassandraclusters.navigator.jetstack.io",
            "-n",
            ns,
        ],
    );
    assert_eq!(can.stdout.trim(), "no", "{}", can.stderr);
    let denied = cp.kubectl_as(&tu, &["get", "cassandraclusters", "-n", ns]);
    assert!(!denied.success());
    assert!(
        denied.stderr.contains(&format!(
            "User \"{TEST_USER}\" cannot list resource \"cassandraclusters\" in API group \"navigator.jetstack.io\""
        )),
        "{}",
        denied.stderr
    );
    // The same through the raw API: 403 Forbidden Status.
    let raw = cp.kubectl_as(
        &tu,
        &[
            "get",
            "--raw",
            &format!("/apis/{GROUP}/v1beta1/namespaces/{ns}/pilots"),
        ],
    );
    assert!(!raw.success());
    assert!(
        raw.stderr.contains("Forbidden") || raw.stderr.contains("forbidden"),
        "{}",
        raw.stderr
    );

    // The aggregated roles exist with navigator's rules folded in.
    let edit = cp.json(&["get", "clusterrole", "edit"]);
    assert!(
        edit["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["apiGroups"] == json!([GROUP])
                && r["resources"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("cassandraclusters"))),
        "navigator-edit not aggregated into edit: {edit:#}"
    );
    cp.apply(
        "test-user-edit",
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "test-user-edit", "namespace": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": TEST_USER}]}),
    );
    eventually(
        "the RoleBinding takes effect",
        Duration::from_secs(60),
        || {
            let o = cp.kubectl_as(
                &tu,
                &[
                    "auth",
                    "can-i",
                    "create",
                    "cassandraclusters.navigator.jetstack.io",
                    "-n",
                    ns,
                ],
            );
            (o.stdout.trim() == "yes")
                .then_some(())
                .ok_or(o.stdout + &o.stderr)
        },
    );
    let path = cp.work.path().join("tu-pilot.json");
    std::fs::write(&path, pilot(ns, "by-test-user").to_string()).unwrap();
    eventually(
        "the test user creates a Pilot",
        Duration::from_secs(30),
        || {
            let o = cp.kubectl_as(&tu, &["create", "-f", path.to_str().unwrap()]);
            o.success().then_some(()).ok_or(o.stderr)
        },
    );
    let listed = cp.kubectl_as(&tu, &["get", "pilots", "-n", ns, "-o", "name"]);
    assert!(listed.success(), "{}", listed.stderr);
    assert!(
        listed
            .stdout
            .contains("pilot.navigator.jetstack.io/by-test-user"),
        "{}",
        listed.stdout
    );
    // edit does not reach other namespaces …
    let other = cp.kubectl_as(&tu, &["get", "pilots", "-n", "default"]);
    assert!(!other.success());
    assert!(other.stderr.contains("forbidden"), "{}", other.stderr);
    // … nor status, which navigator-admin (aggregated into admin only) grants.
    let status = cp.kubectl_as(
        &tu,
        &[
            "auth",
            "can-i",
            "update",
            "pilots.navigator.jetstack.io",
            "--subresource=status",
            "-n",
            ns,
        ],
    );
    assert_eq!(status.stdout.trim(), "no");
}

/// Creating in a namespace that does not exist: 404 NotFound for the namespace.
fn missing_namespace_is_refused(cp: &ControlPlane) {
    let path = cp.work.path().join("nowhere.json");
    std::fs::write(&path, pilot("nowhere", "p").to_string()).unwrap();
    let o = cp.kubectl_as(&cp.admin(), &["create", "-f", path.to_str().unwrap()]);
    assert!(!o.success());
    assert!(
        o.stderr.contains("namespaces \"nowhere\" not found"),
        "{}",
        o.stderr
    );
}

/// A Pilot with an ownerReference to a Pod is collected by kube-controller-manager's garbage
/// collector once the Pod is deleted.
fn garbage_collector_collects_an_owned_pilot(cp: &ControlPlane) {
    let ns = "agg";
    cp.apply(
        "pod",
        &json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "db-0", "namespace": ns},
                "spec": {"containers": [{"name": "db", "image": "example.invalid/db"}],
                         "nodeSelector": {"navigator.test/nowhere": "true"}}}),
    );
    let pod = cp.json(&["get", "pod", "db-0", "-n", ns]);
    let mut owned = pilot(ns, "db-0");
    owned["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "v1", "kind": "Pod", "name": "db-0",
        "uid": pod["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true
    }]);
    cp.apply("owned-pilot", &owned);
    cp.json(&["get", "pilots", "db-0", "-n", ns]);
    cp.k(&[
        "delete",
        "pod",
        "db-0",
        "-n",
        ns,
        "--grace-period=0",
        "--force",
    ]);
    eventually(
        "the owned Pilot is collected",
        Duration::from_secs(120),
        || {
            let o = cp.kubectl_as(&cp.admin(), &["get", "pilots", "db-0", "-n", ns]);
            (!o.success() && o.stderr.contains("NotFound"))
                .then_some(())
                .ok_or(o.stdout)
        },
    );
    // A Pilot without an owner is left alone.
    cp.json(&["get", "pilots", "demo-a-0", "-n", ns]);
}

/// Deleting a namespace deletes its navigator objects (namespace controller: discovery, the
/// metadata client and deletecollection through kube-apiserver) and the namespace goes away.
fn namespace_deletion_deletes_navigator_objects(cp: &ControlPlane) {
    let ns = "doomed";
    cp.k(&["create", "namespace", ns]);
    cp.apply("doomed-cass", &cassandra(ns, "c1"));
    cp.apply("doomed-es", &elasticsearch_v1alpha1(ns, "e1"));
    cp.apply("doomed-pilot-1", &pilot(ns, "p1"));
    cp.apply("doomed-pilot-2", &pilot(ns, "p2"));
    cp.k(&["delete", "namespace", ns, "--wait=false"]);
    eventually("the namespace is deleted", Duration::from_secs(180), || {
        let o = cp.kubectl_as(&cp.admin(), &["get", "namespace", ns, "-o", "json"]);
        (!o.success() && o.stderr.contains("NotFound"))
            .then_some(())
            .ok_or(o.stdout)
    });
    for resource in ["cassandraclusters", "elasticsearchclusters", "pilots"] {
        let all = cp.json(&["get", resource, "-A"]);
        let left: Vec<&Value> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["metadata"]["namespace"] == ns)
            .collect();
        assert!(left.is_empty(), "{resource} left in {ns}: {left:#?}");
    }
    // The objects in the other namespace are untouched.
    assert!(!names(&cp.json(&["get", "pilots", "-n", "agg"])).is_empty());
}
