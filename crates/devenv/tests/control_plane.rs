//! The devenv test group: a real control plane from the Go-built binaries, driven through the
//! `devenv` binary and the Go-built `kubectl`.
//!
//! `#[ignore]`d so that plain `cargo test` does not need the upstream binaries; `hack/test-devenv`
//! (run by `hack/test` and `.ci/run`) builds them with `hack/build-k8s` and runs this group with
//! `--ignored`. Without the binaries the test fails and says how to build them.
//!
//! One test, in steps, because they share one environment (start-up is the expensive part) and
//! `down` must come last: up → readyz → status/env → CRD → RBAC → namespace controller and
//! garbage collector → aggregation with a test backend → down (nothing left) → cached restart.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use devenv::binaries;
use devenv::components::Component;
use devenv::layout::Layout;
use devenv::process;
use devenv::state::{self, StateFile};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use test_support::devenv::Env;
use test_support::pki::{Ca, Leaf};

/// The aggregated API's group (not the CRD's group: a CRD's group/version gets its own local APIService).
const GROUP: &str = "aggregated.devenv.navigator.io";

/// devenv's layout of the environment's state directory.
fn layout(env: &Env) -> Layout {
    Layout::new(env.state_dir().canonicalize().expect("state dir"))
}

/// The test user's kubeconfig (RBAC-limited).
fn test_user(env: &Env) -> PathBuf {
    layout(env).test_user_kubeconfig()
}

/// PIDs of the supervisor and every component, from their PID files.
fn pids(env: &Env) -> Vec<(String, i32)> {
    let l = layout(env);
    let mut v: Vec<(String, i32)> = Component::ALL
        .iter()
        .filter_map(|c| process::read_pid(&l.pid_file(*c)).map(|p| (c.name().to_owned(), p)))
        .collect();
    if let Some(p) = process::read_pid(&l.supervisor_pid_file()) {
        v.push(("supervisor".to_owned(), p));
    }
    v
}

/// Polls `f` every 500 ms until it returns `Ok` (test-support's, without extra context).
fn eventually<T>(what: &str, timeout: Duration, f: impl FnMut() -> Result<T, String>) -> T {
    test_support::devenv::eventually_every(
        what,
        timeout,
        Duration::from_millis(500),
        String::new,
        f,
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
#[ignore = "devenv group: needs the Go-built Kubernetes binaries; run hack/test-devenv"]
fn control_plane_end_to_end() {
    let env = Env::new("devenv-test");
    let net_before = network_state();

    // --- up from an empty state directory (binaries cached) ---
    let t = Instant::now();
    let out = env.devenv(&["up"]);
    let first_up = t.elapsed();
    assert!(out.status.success(), "devenv up failed: {}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "KUBECONFIG={}",
            layout(&env).admin_kubeconfig().display()
        )),
        "{}",
        stdout(&out)
    );
    eprintln!("TIMING devenv up, fresh state dir: {first_up:.1?}");

    readyz_all_ok(&env);
    status_and_env(&env);
    crd_can_be_created_and_used(&env);
    rbac_denies_the_test_user(&env);
    namespace_controller_deletes_everything(&env);
    garbage_collector_collects_dependents(&env);
    aggregation_reaches_the_backend(&env);
    supervisor_restarts_a_killed_component(&env);
    eprintln!("TIMING control plane RSS: {}", rss_report(&env));

    // --- down stops everything it started, by PID ---
    down_leaves_nothing(&env, &net_before);

    // --- cached start: same state dir (PKI, etcd data, ports kept) ---
    let t = Instant::now();
    let out = env.devenv(&["up"]);
    let second_up = t.elapsed();
    assert!(
        out.status.success(),
        "second devenv up failed: {}",
        stderr(&out)
    );
    eprintln!("TIMING devenv up, existing state dir: {second_up:.1?}");
    readyz_all_ok(&env);
    // The CRD and its object survived the restart (etcd data kept).
    let w = env.json(&[
        "get",
        "widgets.test.devenv.navigator.io",
        "w1",
        "-n",
        "default",
    ]);
    assert_eq!(w["spec"]["size"], 3);
    down_leaves_nothing(&env, &net_before);
}

fn supervisor_restarts_a_killed_component(env: &Env) {
    let pid_file = layout(env).pid_file(Component::KubeScheduler);
    let old = process::read_pid(&pid_file).expect("kube-scheduler PID file");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill kube-scheduler");
    eventually(
        "kube-scheduler restarted and ready",
        Duration::from_secs(60),
        || {
            let new = process::read_pid(&pid_file).ok_or("no PID file")?;
            if new == old {
                return Err("not restarted yet".to_owned());
            }
            let out = env.devenv(&["status"]);
            out.status
                .success()
                .then_some(())
                .ok_or_else(|| stdout(&out))
        },
    );
}

fn readyz_all_ok(env: &Env) {
    let body = env.k(&["get", "--raw", "/readyz?verbose"]);
    let checks: Vec<&str> = body.lines().filter(|l| l.starts_with('[')).collect();
    assert!(checks.len() > 10, "too few checks:\n{body}");
    for line in &checks {
        assert!(
            line.starts_with("[+]") && line.ends_with(" ok"),
            "{line}\n{body}"
        );
    }
    assert!(body.contains("readyz check passed"), "{body}");
    for check in [
        "[+]etcd ok",
        "[+]poststarthook/apiservice-registration-controller ok",
    ] {
        assert!(body.contains(check), "missing {check}:\n{body}");
    }
}

fn status_and_env(env: &Env) {
    let out = env.devenv(&["status"]);
    assert!(
        out.status.success(),
        "status: {}{}",
        stdout(&out),
        stderr(&out)
    );
    for c in Component::ALL {
        assert!(
            stdout(&out)
                .lines()
                .any(|l| l.starts_with(c.name()) && l.ends_with("ready")),
            "{}",
            stdout(&out)
        );
    }
    let out = env.devenv(&["env"]);
    assert!(out.status.success());
    let first = stdout(&out).lines().next().unwrap_or_default().to_owned();
    assert_eq!(first, format!("KUBECONFIG={}", env.admin().display()));
    // The version the binaries report is the pinned release.
    let v = env.json(&["version"]);
    let pinned = binaries::pinned_k8s_version().expect("pinned");
    assert_eq!(v["serverVersion"]["gitVersion"], pinned, "{v:#}");
    assert_eq!(v["clientVersion"]["gitVersion"], pinned, "{v:#}");
}

fn crd_can_be_created_and_used(env: &Env) {
    env.apply(
        "crd",
        &json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": { "name": "widgets.test.devenv.navigator.io" },
            "spec": {
                "group": "test.devenv.navigator.io",
                "scope": "Namespaced",
                "names": { "plural": "widgets", "singular": "widget", "kind": "Widget" },
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "schema": { "openAPIV3Schema": {
                        "type": "object",
                        "properties": { "spec": { "type": "object", "properties": {
                            "size": { "type": "integer", "minimum": 1 }
                        }}}
                    }}
                }]
            }
        }),
    );
    env.k(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.test.devenv.navigator.io",
        "--timeout=60s",
    ]);
    let widget = |size: i64| {
        json!({
            "apiVersion": "test.devenv.navigator.io/v1", "kind": "Widget",
            "metadata": { "name": "w1", "namespace": "default" },
            "spec": { "size": size }
        })
    };
    // Creation may race discovery right after Established; retry briefly.
    eventually("create a Widget", Duration::from_secs(30), || {
        let o = env.kubectl_as(
            &env.admin(),
            &["apply", "-f", "-"],
            Some(&widget(2).to_string()),
        );
        o.status.success().then_some(()).ok_or_else(|| stderr(&o))
    });
    env.apply("widget", &widget(3));
    let w = env.json(&[
        "get",
        "widgets.test.devenv.navigator.io",
        "w1",
        "-n",
        "default",
    ]);
    assert_eq!(w["spec"]["size"], 3);
    assert_eq!(w["metadata"]["generation"], 2);
    // Schema validation is enforced.
    let bad = env.kubectl_as(
        &env.admin(),
        &["apply", "-f", "-"],
        Some(&widget(0).to_string()),
    );
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("spec.size"), "{}", stderr(&bad));
    let list = env.json(&["get", "widgets.test.devenv.navigator.io", "-A"]);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
}

fn rbac_denies_the_test_user(env: &Env) {
    let tu = test_user(env);
    // Authenticated (SelfSubjectReview is open to every authenticated user) …
    let who = env.kubectl_as(&tu, &["auth", "whoami", "-o", "json"], None);
    assert!(who.status.success(), "{}", stderr(&who));
    let who: Value = serde_json::from_slice(&who.stdout).expect("whoami json");
    assert_eq!(
        who["status"]["userInfo"]["username"],
        devenv::pki::TEST_USER
    );
    // … but not authorized.
    let pods = env.kubectl_as(&tu, &["get", "pods", "-n", "default"], None);
    assert!(!pods.status.success());
    assert!(
        stderr(&pods).contains(&format!(
            "User \"{}\" cannot list resource \"pods\"",
            devenv::pki::TEST_USER
        )),
        "{}",
        stderr(&pods)
    );
    let can = env.kubectl_as(
        &tu,
        &[
            "auth",
            "can-i",
            "create",
            "widgets.test.devenv.navigator.io",
        ],
        None,
    );
    assert_eq!(stdout(&can).trim(), "no");
    assert!(!can.status.success());
    // RBAC is evaluated, not a blanket denial: a Role grants exactly reading ConfigMaps.
    env.apply(
        "rbac",
        &json!({
            "apiVersion": "v1", "kind": "List", "items": [
                { "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                  "metadata": { "name": "read-configmaps", "namespace": "default" },
                  "rules": [{ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"] }] },
                { "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                  "metadata": { "name": "test-user-reads-configmaps", "namespace": "default" },
                  "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-configmaps" },
                  "subjects": [{ "apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": devenv::pki::TEST_USER }] }
            ]
        }),
    );
    eventually(
        "the RoleBinding takes effect",
        Duration::from_secs(30),
        || {
            let o = env.kubectl_as(&tu, &["get", "configmaps", "-n", "default"], None);
            o.status.success().then_some(()).ok_or_else(|| stderr(&o))
        },
    );
    let secrets = env.kubectl_as(&tu, &["get", "secrets", "-n", "default"], None);
    assert!(!secrets.status.success());
    assert!(
        stderr(&secrets).contains("forbidden"),
        "{}",
        stderr(&secrets)
    );
    let other_ns = env.kubectl_as(&tu, &["get", "configmaps", "-n", "kube-system"], None);
    assert!(!other_ns.status.success());
}

fn namespace_controller_deletes_everything(env: &Env) {
    let ns = "devenv-ns-test";
    env.k(&["create", "namespace", ns]);
    // The service-account and root-CA publisher controllers fill a new namespace.
    eventually("default ServiceAccount", Duration::from_secs(60), || {
        let o = env.kubectl_as(
            &env.admin(),
            &["get", "serviceaccount", "default", "-n", ns],
            None,
        );
        o.status.success().then_some(()).ok_or_else(|| stderr(&o))
    });
    eventually(
        "kube-root-ca.crt ConfigMap",
        Duration::from_secs(60),
        || {
            let o = env.kubectl_as(
                &env.admin(),
                &["get", "configmap", "kube-root-ca.crt", "-n", ns],
                None,
            );
            o.status.success().then_some(()).ok_or_else(|| stderr(&o))
        },
    );
    env.k(&["create", "configmap", "c1", "-n", ns, "--from-literal=a=b"]);
    env.k(&[
        "create",
        "secret",
        "generic",
        "s1",
        "-n",
        ns,
        "--from-literal=a=b",
    ]);
    env.k(&[
        "create",
        "deployment",
        "d1",
        "-n",
        ns,
        "--image=example.invalid/none",
        "--replicas=2",
    ]);
    env.apply(
        "namespaced-widget",
        &json!({ "apiVersion": "test.devenv.navigator.io/v1", "kind": "Widget",
                 "metadata": { "name": "w", "namespace": ns }, "spec": { "size": 1 } }),
    );
    // The deployment and replicaset controllers act: two (unschedulable) Pods appear.
    eventually(
        "Deployment → ReplicaSet → 2 Pods",
        Duration::from_secs(60),
        || {
            let pods = env.json(&["get", "pods", "-n", ns]);
            let n = pods["items"].as_array().map_or(0, Vec::len);
            (n == 2).then_some(()).ok_or(format!("{n} pods"))
        },
    );
    env.k(&["delete", "namespace", ns, "--wait=false"]);
    eventually(
        "namespace deleted completely",
        Duration::from_secs(120),
        || {
            let o = env.kubectl_as(&env.admin(), &["get", "namespace", ns], None);
            (!o.status.success() && stderr(&o).contains("NotFound"))
                .then_some(())
                .ok_or_else(|| stdout(&o))
        },
    );
    // Nothing of it is left anywhere.
    for kind in [
        "configmaps",
        "secrets",
        "deployments",
        "replicasets",
        "pods",
        "widgets.test.devenv.navigator.io",
    ] {
        let all = env.json(&[
            "get",
            kind,
            "-A",
            "--field-selector",
            &format!("metadata.namespace={ns}"),
        ]);
        assert_eq!(
            all["items"].as_array().map(Vec::len),
            Some(0),
            "{kind} left: {all:#}"
        );
    }
}

fn garbage_collector_collects_dependents(env: &Env) {
    let dependent = |name: &str, owner_uid: &str| {
        json!({ "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": { "name": name, "namespace": "default", "ownerReferences": [{
                    "apiVersion": "v1", "kind": "ConfigMap", "name": "gc-owner", "uid": owner_uid }] },
                "data": { "a": "b" } })
    };
    env.k(&["create", "configmap", "gc-owner", "-n", "default"]);
    let owner = env.json(&["get", "configmap", "gc-owner", "-n", "default"]);
    let uid = owner["metadata"]["uid"].as_str().expect("uid").to_owned();
    env.apply("gc-dependent", &dependent("gc-dependent", &uid));
    // Deleting the owner (background propagation): the garbage collector deletes the dependent.
    env.k(&["delete", "configmap", "gc-owner", "-n", "default"]);
    eventually(
        "dependent of a deleted owner collected",
        Duration::from_secs(90),
        || {
            let o = env.kubectl_as(
                &env.admin(),
                &["get", "configmap", "gc-dependent", "-n", "default"],
                None,
            );
            (!o.status.success())
                .then_some(())
                .ok_or_else(|| stdout(&o))
        },
    );
    // An object created pointing at the already-deleted owner is collected too.
    env.apply("gc-orphan", &dependent("gc-orphan", &uid));
    eventually(
        "object owned by a deleted owner collected",
        Duration::from_secs(90),
        || {
            let o = env.kubectl_as(
                &env.admin(),
                &["get", "configmap", "gc-orphan", "-n", "default"],
                None,
            );
            (!o.status.success())
                .then_some(())
                .ok_or_else(|| stdout(&o))
        },
    );
}

/// What the test backend saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
    peer_cert: Option<Vec<u8>>,
}

impl Seen {
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

fn aggregation_reaches_the_backend(env: &Env) {
    // The front-proxy CA, as an extension API server learns it: from the ConfigMap
    // kube-apiserver publishes.
    let cm = env.json(&[
        "get",
        "configmap",
        "extension-apiserver-authentication",
        "-n",
        "kube-system",
    ]);
    let front_proxy_ca = cm["data"]["requestheader-client-ca-file"]
        .as_str()
        .expect("requestheader-client-ca-file")
        .to_owned();
    assert_eq!(
        cm["data"]["requestheader-allowed-names"],
        "[\"front-proxy-client\"]"
    );
    assert_eq!(
        cm["data"]["requestheader-username-headers"],
        "[\"X-Remote-User\"]"
    );

    // The backend listens on the address kube-apiserver advertises (endpoint addresses may not
    // be loopback), found in the `kubernetes` Service's EndpointSlice.
    let eps = env.json(&[
        "get",
        "endpointslices",
        "-n",
        "default",
        "-l",
        "kubernetes.io/service-name=kubernetes",
    ]);
    let host_ip: IpAddr = eps["items"][0]["endpoints"][0]["addresses"][0]
        .as_str()
        .expect("kubernetes endpoint address")
        .parse()
        .expect("ip");

    let service_dns = "devenv-test-backend.default.svc";
    let (ca_pem, cert_pem, key_pem) = backend_certificates(&[service_dns, &host_ip.to_string()]);
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind((host_ip, 0)))
        .expect("bind backend");
    let port = listener.local_addr().expect("addr").port();
    let acceptor = backend_tls(&front_proxy_ca, &cert_pem, &key_pem);
    rt.spawn(serve(listener, acceptor, Arc::clone(&seen)));

    env.apply(
        "aggregated-backend",
        &json!({ "apiVersion": "v1", "kind": "List", "items": [
            { "apiVersion": "v1", "kind": "Service",
              "metadata": { "name": "devenv-test-backend", "namespace": "default" },
              "spec": { "ports": [{ "name": "https", "port": 443, "targetPort": port, "protocol": "TCP" }] } },
            { "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
              "metadata": { "name": "devenv-test-backend-1", "namespace": "default", "labels": {
                  "kubernetes.io/service-name": "devenv-test-backend",
                  "endpointslice.kubernetes.io/managed-by": "devenv-test" } },
              "addressType": if host_ip.is_ipv4() { "IPv4" } else { "IPv6" },
              "ports": [{ "name": "https", "port": port, "protocol": "TCP" }],
              "endpoints": [{ "addresses": [host_ip.to_string()], "conditions": { "ready": true } }] },
            { "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
              "metadata": { "name": format!("v1.{GROUP}") },
              "spec": { "group": GROUP, "version": "v1", "groupPriorityMinimum": 1000, "versionPriority": 15,
                        "service": { "name": "devenv-test-backend", "namespace": "default", "port": 443 },
                        "caBundle": STANDARD.encode(&ca_pem) } }
        ]}),
    );
    let waited = env.kubectl_as(
        &env.admin(),
        &[
            "wait",
            "--for=condition=Available",
            &format!("apiservice/v1.{GROUP}"),
            "--timeout=120s",
        ],
        None,
    );
    assert!(
        waited.status.success(),
        "APIService not Available: {}\n{:#}",
        stderr(&waited),
        env.json(&["get", "apiservice", &format!("v1.{GROUP}")])
    );
    let apisvc = env.json(&["get", "apiservice", &format!("v1.{GROUP}")]);
    let available = apisvc["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Available"))
        .expect("Available condition");
    assert_eq!(available["status"], "True", "{apisvc:#}");

    // Requests through kube-apiserver reach the backend with the caller's identity.
    let path = format!("/apis/{GROUP}/v1/namespaces/default/things/echo");
    let echo = env.kubectl_as(&env.admin(), &["get", "--raw", &path], None);
    assert!(
        echo.status.success(),
        "GET {path} through kube-apiserver failed: {}\nthe backend saw: {:#?}",
        stderr(&echo),
        seen.lock().expect("lock")
    );
    let body: Value = serde_json::from_slice(&echo.stdout).expect("echo json");
    assert_eq!(body["path"], path.as_str());
    // kube-apiserver authorizes before proxying: the test user (no RBAC rule for the group) is
    // refused there, and the backend never sees the request.
    let tu = env.kubectl_as(
        &test_user(env),
        &["get", "--raw", &format!("{path}?as=test-user")],
        None,
    );
    assert!(!tu.status.success());
    assert!(
        stderr(&tu).contains("forbidden") || stderr(&tu).contains("Forbidden"),
        "{}",
        stderr(&tu)
    );

    let front_proxy_client =
        CertificateDer::from_pem_file(layout(env).pki("front-proxy-client.crt"))
            .expect("front-proxy-client.crt");
    let seen = seen.lock().expect("lock").clone();
    let admin_req = seen
        .iter()
        .find(|s| s.path == path)
        .unwrap_or_else(|| panic!("backend never saw {path}: {seen:#?}"));
    assert_eq!(
        admin_req.peer_cert.as_deref(),
        Some(front_proxy_client.as_ref()),
        "client certificate"
    );
    assert_eq!(admin_req.header("X-Remote-User"), [devenv::pki::ADMIN_USER]);
    let groups = admin_req.header("X-Remote-Group");
    assert!(groups.contains(&"system:masters"), "{groups:?}");
    assert!(groups.contains(&"system:authenticated"), "{groups:?}");
    assert!(
        !seen.iter().any(|s| s.path.contains("as=test-user")),
        "a request kube-apiserver should have refused reached the backend: {seen:#?}"
    );
    // The availability check and discovery came from kube-apiserver too, always with the cert.
    assert!(
        seen.iter().any(|s| s.path == format!("/apis/{GROUP}/v1")),
        "{seen:#?}"
    );
    assert!(seen.iter().all(|s| s.peer_cert.is_some()), "{seen:#?}");

    env.k(&["delete", "apiservice", &format!("v1.{GROUP}")]);
    rt.shutdown_timeout(Duration::from_secs(2));
}

/// A CA and a serving certificate for `sans`, as PEM.
fn backend_certificates(sans: &[&str]) -> (String, String, String) {
    let ca = Ca::new("aggregated backend CA").expect("a CA");
    let serving = ca
        .issue(&Leaf::server("aggregated-backend", sans))
        .expect("a serving certificate");
    (ca.pem().cert.clone(), serving.cert, serving.key)
}

/// TLS for the backend: its serving certificate; client certificates verified against the
/// front-proxy CA when presented (recorded, so the test can see whether one came).
fn backend_tls(front_proxy_ca: &str, cert_pem: &str, key_pem: &str) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(front_proxy_ca.as_bytes()) {
        roots.add(c.expect("front-proxy CA pem")).expect("add root");
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::clone(&provider),
    )
    .allow_unauthenticated()
    .build()
    .expect("verifier");
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("cert");
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .expect("server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    seen: Arc<Mutex<Vec<Seen>>>,
) {
    while let Ok((tcp, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        let seen = Arc::clone(&seen);
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let peer_cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec());
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let path = req
                    .uri()
                    .path_and_query()
                    .map_or_else(String::new, ToString::to_string);
                let headers = req
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                seen.lock().expect("lock").push(Seen {
                    path: path.clone(),
                    headers,
                    peer_cert: peer_cert.clone(),
                });
                async move { Ok::<_, Infallible>(respond(&path)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), svc)
                .await;
        });
    }
}

fn respond(path: &str) -> Response<Full<Bytes>> {
    let (status, body) = if path.split('?').next() == Some(&format!("/apis/{GROUP}/v1")) {
        let list = json!({ "kind": "APIResourceList", "apiVersion": "v1",
                           "groupVersion": format!("{GROUP}/v1"), "resources": [] });
        (200, list)
    } else if path.starts_with(&format!("/apis/{GROUP}/v1/")) {
        (200, json!({ "kind": "Echo", "path": path }))
    } else {
        (
            404,
            json!({ "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404, "reason": "NotFound" }),
        )
    };
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}

fn down_leaves_nothing(env: &Env, net_before: &HostNet) {
    let layout = layout(env);
    let st = StateFile::read(&layout.state_file())
        .expect("state")
        .expect("state file");
    let before = pids(env);
    assert_eq!(before.len(), 5, "supervisor + 4 components: {before:?}");
    let out = env.devenv(&["down"]);
    assert!(out.status.success(), "devenv down: {}", stderr(&out));
    for (name, pid) in &before {
        assert!(
            process::cmdline(*pid).is_none(),
            "{name} (pid {pid}) still running"
        );
    }
    assert!(pids(env).is_empty(), "PID files left: {:?}", pids(env));
    assert_eq!(
        state::ports_in_use(&st.settings.ports),
        Vec::<u16>::new(),
        "ports still bound"
    );
    let root = layout.root().to_string_lossy().into_owned();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!mounts.contains(&root), "mounts under the state dir remain");
    assert_eq!(
        &network_state(),
        net_before,
        "network interfaces, namespaces, /etc/netns entries or mount points changed"
    );
    let strays: Vec<String> = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(process::cmdline)
        .filter(|c| c.iter().any(|a| a.contains(&root)))
        .map(|c| c.join(" "))
        .collect();
    assert!(
        strays.is_empty(),
        "processes mentioning the state dir remain: {strays:#?}"
    );
}

/// Network interfaces, named network namespaces, `/etc/netns` entries and mount points on the
/// host (the pod runner creates and must remove all of them).
type HostNet = (
    BTreeSet<String>,
    BTreeSet<String>,
    BTreeSet<String>,
    BTreeSet<String>,
);

fn network_state() -> HostNet {
    let names = |dir: &str| {
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .map(|m| {
            m.lines()
                .filter_map(|l| l.split_whitespace().nth(4).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (
        names("/sys/class/net"),
        names("/run/netns"),
        names("/etc/netns"),
        mounts,
    )
}

/// RSS of each running component (from /proc), for the report.
fn rss_report(env: &Env) -> String {
    let mut total = 0u64;
    let mut parts = Vec::new();
    for (name, pid) in pids(env) {
        let kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            })
            .unwrap_or(0);
        total += kib;
        parts.push(format!("{name} {} MiB", kib / 1024));
    }
    format!("{} (total {} MiB)", parts.join(", "), total / 1024)
}
