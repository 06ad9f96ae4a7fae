//! Delegated security against a real control plane (`devenv up`): the navigator-apiserver
//! binary runs without `--standalone`, reads `kube-system/extension-apiserver-authentication`,
//! asks kube-apiserver's TokenReview and SubjectAccessReview, and watches Namespaces. Requests
//! go straight to its port, with and without client certificates, forged front-proxy headers,
//! bearer tokens (invalid, and a real ServiceAccount's), impersonation (headers, and `kubectl
//! --as` with a ServiceAccount's token; each impersonated attribute a SubjectAccessReview) and
//! real RBAC.
//!
//! `#[ignore]`d: needs the Go-built binaries; run by `hack/test-devenv`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value, json};

const SERVER: &str = env!("CARGO_BIN_EXE_navigator-apiserver");
const PILOTS: &str = "/apis/navigator.jetstack.io/v1alpha1/namespaces";

/// The devenv binary, built next to this test's binary (`cargo build -p devenv`), or `$DEVENV`.
fn devenv_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("DEVENV") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let target = exe.parent().unwrap().parent().unwrap();
    let p = target.join("devenv");
    assert!(
        p.is_file(),
        "{} missing: run `cargo build -p devenv` first (hack/test-devenv does)",
        p.display()
    );
    p
}

struct ControlPlane {
    state: tempfile::TempDir,
}

impl ControlPlane {
    fn devenv(&self, args: &[&str]) -> Output {
        Command::new(devenv_bin())
            .arg("--state-dir")
            .arg(self.state.path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn root(&self) -> PathBuf {
        self.state.path().canonicalize().unwrap()
    }

    fn pki(&self, file: &str) -> PathBuf {
        self.root().join("pki").join(file)
    }

    fn admin(&self) -> PathBuf {
        self.root().join("admin.kubeconfig")
    }

    fn kubectl_in(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let kubectl = test_support::paths::k8s_binary("kubectl");
        let mut child = Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(self.admin())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write as _;
            let mut input = child.stdin.take().unwrap();
            if let Some(s) = stdin {
                input.write_all(s.as_bytes()).unwrap();
            }
        }
        child.wait_with_output().unwrap()
    }

    fn k(&self, args: &[&str]) -> String {
        let out = self.kubectl_in(args, None);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn apply(&self, manifest: &Value) {
        let out = self.kubectl_in(&["apply", "-f", "-"], Some(&manifest.to_string()));
        assert!(
            out.status.success(),
            "apply: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        let _ = self.devenv(&["down"]);
    }
}

struct Navigator {
    child: Child,
    port: u16,
    data: tempfile::TempDir,
}

impl Drop for Navigator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Navigator {
    fn log(&self) -> String {
        std::fs::read_to_string(self.data.path().join("server.log")).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    test_support::ports::free_port().unwrap()
}

/// kubectl with `kubeconfig` (e.g. one pointing at navigator-apiserver directly).
fn kubectl_with(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(test_support::paths::k8s_binary("kubectl"))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A client identity: certificate chain and key in PEM.
#[derive(Clone)]
struct Identity {
    cert_pem: String,
    key_pem: String,
}

fn identity_from_files(cert: &Path, key: &Path) -> Identity {
    Identity {
        cert_pem: std::fs::read_to_string(cert).unwrap(),
        key_pem: std::fs::read_to_string(key).unwrap(),
    }
}

/// A client certificate for `cn` signed by the CA in `ca_cert`/`ca_key` (PEM).
fn sign_client(ca_cert: &str, ca_key: &str, cn: &str, orgs: &[&str]) -> Identity {
    let ca_key = KeyPair::from_pem(ca_key).unwrap();
    let issuer = Issuer::from_ca_cert_pem(ca_cert, ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    for o in orgs {
        dn.push(DnType::OrganizationName, *o);
    }
    p.distinguished_name = dn;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = p.signed_by(&key, &issuer).unwrap();
    Identity {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// A CA nobody trusts.
fn foreign_ca() -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "devenv-front-proxy-ca");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = p.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

struct Reply {
    code: u16,
    body: Value,
}

/// One HTTPS request to the navigator server, trusting its CA, optionally with a client
/// certificate, extra headers and a JSON body.
async fn request(
    nav: &Navigator,
    method: &str,
    path: &str,
    identity: Option<&Identity>,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(nav.data.path().join("certs/ca.crt")).unwrap();
    for c in CertificateDer::pem_slice_iter(&ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let config = match identity {
        Some(id) => {
            let chain: Vec<_> = CertificateDer::pem_slice_iter(id.cert_pem.as_bytes())
                .map(Result::unwrap)
                .collect();
            let key = PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", nav.port))
        .await
        .unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("accept", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let bytes = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            b.to_string().into_bytes()
        }
        None => Vec::new(),
    };
    let resp = sender
        .send_request(req.body(Full::new(Bytes::from(bytes))).unwrap())
        .await
        .unwrap();
    let code = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Reply {
        code,
        body: serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
    }
}

fn pilot(name: &str) -> Value {
    json!({
        "apiVersion": "navigator.jetstack.io/v1alpha1",
        "kind": "Pilot",
        "metadata": {"name": name},
        "spec": {}
    })
}

const FORGED: [(&str, &str); 2] = [
    ("X-Remote-User", "system:admin"),
    ("X-Remote-Group", "system:masters"),
];

async fn eventually_code(
    what: &str,
    timeout: Duration,
    want: u16,
    mut f: impl AsyncFnMut() -> Reply,
) -> Reply {
    let deadline = Instant::now() + timeout;
    loop {
        let r = f().await;
        if r.code == want {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: wanted {want} within {timeout:?}, last {} {}",
            r.code,
            r.body
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "devenv group: needs the Go-built Kubernetes binaries; run hack/test-devenv"]
async fn delegated_security_against_a_real_control_plane() {
    let cp = ControlPlane {
        state: tempfile::Builder::new()
            .prefix("nav-security-")
            .tempdir()
            .unwrap(),
    };
    let t = Instant::now();
    let out = cp.devenv(&["up"]);
    assert!(
        out.status.success(),
        "devenv up: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("TIMING devenv up: {:.1?}", t.elapsed());

    // --- the server, delegated: only --kubeconfig; CAs and headers from the ConfigMap ---
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let log = std::fs::File::create(data.path().join("server.log")).unwrap();
    let child = Command::new(SERVER)
        .arg("--data-dir")
        .arg(data.path())
        .args([
            "--bind-address",
            "127.0.0.1",
            "--secure-port",
            &port.to_string(),
        ])
        .arg("--kubeconfig")
        .arg(cp.admin())
        .args([
            "--authorization-webhook-cache-unauthorized-ttl=1s",
            "--authorization-webhook-cache-authorized-ttl=1s",
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let nav = Navigator { child, port, data };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if nav.data.path().join("certs/ca.crt").is_file()
            && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        {
            break;
        }
        assert!(Instant::now() < deadline, "server not up: {}", nav.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let r = request(&nav, "GET", "/readyz", None, &[], None).await;
    assert_eq!(r.code, 200, "{}", r.body);

    let front_proxy = identity_from_files(
        &cp.pki("front-proxy-client.crt"),
        &cp.pki("front-proxy-client.key"),
    );
    let admin = identity_from_files(&cp.pki("admin.crt"), &cp.pki("admin.key"));
    let fp_ca = std::fs::read_to_string(cp.pki("front-proxy-ca.crt")).unwrap();
    let fp_key = std::fs::read_to_string(cp.pki("front-proxy-ca.key")).unwrap();

    cp.k(&["create", "namespace", "sec"]);
    let as_masters = [
        ("X-Remote-User", "bob"),
        ("X-Remote-Group", "system:masters"),
    ];
    let created = request(
        &nav,
        "POST",
        &format!("{PILOTS}/sec/pilots"),
        Some(&front_proxy),
        &as_masters,
        Some(&pilot("by-proxy")),
    )
    .await;
    assert_eq!(created.code, 201, "{}", created.body);

    // --- forged headers, no client certificate: anonymous, refused, nothing created ---
    let r = request(
        &nav,
        "POST",
        &format!("{PILOTS}/sec/pilots"),
        None,
        &FORGED,
        Some(&pilot("forged")),
    )
    .await;
    assert!(matches!(r.code, 401 | 403), "{} {}", r.code, r.body);
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        r#"pilots.navigator.jetstack.io is forbidden: User "system:anonymous" cannot create resource "pilots" in API group "navigator.jetstack.io" in the namespace "sec""#
    );
    assert_eq!(r.body["reason"], "Forbidden");
    let r = request(
        &nav,
        "GET",
        &format!("{PILOTS}/sec/pilots"),
        None,
        &FORGED,
        None,
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);

    // --- signed by the front-proxy CA, but not an allowed name: 401 ---
    let wrong_name = sign_client(&fp_ca, &fp_key, "not-the-front-proxy", &[]);
    let r = request(
        &nav,
        "POST",
        &format!("{PILOTS}/sec/pilots"),
        Some(&wrong_name),
        &FORGED,
        Some(&pilot("wrong-name")),
    )
    .await;
    assert_eq!(r.code, 401, "{}", r.body);
    assert_eq!(r.body["reason"], "Unauthorized");
    assert_eq!(r.body["message"], "Unauthorized");

    // --- signed by another CA (same subject names as the real ones): 401 ---
    let (other_ca, other_key) = foreign_ca();
    let foreign = sign_client(
        &other_ca,
        &other_key,
        "front-proxy-client",
        &["system:masters"],
    );
    let r = request(
        &nav,
        "POST",
        &format!("{PILOTS}/sec/pilots"),
        Some(&foreign),
        &FORGED,
        Some(&pilot("foreign")),
    )
    .await;
    assert_eq!(r.code, 401, "{}", r.body);

    // --- an invalid bearer token: 401 through a real TokenReview ---
    let r = request(
        &nav,
        "GET",
        &format!("{PILOTS}/sec/pilots"),
        None,
        &[("Authorization", "Bearer not-a-real-token")],
        None,
    )
    .await;
    assert_eq!(r.code, 401, "{}", r.body);

    // Nothing the refused requests sent was stored.
    let list = request(
        &nav,
        "GET",
        &format!("{PILOTS}/sec/pilots"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(list.code, 200, "{}", list.body);
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["by-proxy"]);

    // --- the front proxy's user without groups: SAR decides for that user ---
    let r = request(
        &nav,
        "GET",
        &format!("{PILOTS}/sec/pilots"),
        Some(&front_proxy),
        &[("X-Remote-User", "carol")],
        None,
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        r#"pilots.navigator.jetstack.io is forbidden: User "carol" cannot list resource "pilots" in API group "navigator.jetstack.io" in the namespace "sec""#
    );

    // --- a real ServiceAccount token: authenticated; RBAC decides ---
    cp.k(&["create", "serviceaccount", "alice", "-n", "sec"]);
    let token = cp
        .k(&["create", "token", "alice", "-n", "sec"])
        .trim()
        .to_owned();
    let bearer = format!("Bearer {token}");
    let sa_list = async || {
        request(
            &nav,
            "GET",
            &format!("{PILOTS}/sec/pilots"),
            None,
            &[("Authorization", bearer.as_str())],
            None,
        )
        .await
    };
    let r = sa_list().await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        r#"pilots.navigator.jetstack.io is forbidden: User "system:serviceaccount:sec:alice" cannot list resource "pilots" in API group "navigator.jetstack.io" in the namespace "sec""#
    );
    cp.apply(&json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "pilot-reader", "namespace": "sec"},
        "rules": [{"apiGroups": ["navigator.jetstack.io"], "resources": ["pilots"],
                   "verbs": ["get", "list"]}]
    }));
    cp.apply(&json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "alice-reads-pilots", "namespace": "sec"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pilot-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "alice", "namespace": "sec"}]
    }));
    let r = eventually_code(
        "RoleBinding takes effect",
        Duration::from_secs(30),
        200,
        sa_list,
    )
    .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    // Reading is allowed, creating is not.
    let r = request(
        &nav,
        "POST",
        &format!("{PILOTS}/sec/pilots"),
        None,
        &[("Authorization", bearer.as_str())],
        Some(&pilot("by-alice")),
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);

    // --- impersonation: each impersonated attribute is a SubjectAccessReview against RBAC ---
    // system:masters (the admin certificate) may impersonate anyone without asking: as the
    // ServiceAccount alice (with its groups) reading is allowed, creating is not.
    let as_alice = [("Impersonate-User", "system:serviceaccount:sec:alice")];
    let r = request(
        &nav,
        "GET",
        &format!("{PILOTS}/sec/pilots"),
        Some(&admin),
        &as_alice,
        None,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = request(
        &nav,
        "POST",
        &format!("{PILOTS}/sec/pilots"),
        Some(&admin),
        &as_alice,
        Some(&pilot("as-alice")),
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        r#"pilots.navigator.jetstack.io is forbidden: User "system:serviceaccount:sec:alice" cannot create resource "pilots" in API group "navigator.jetstack.io" in the namespace "sec""#
    );
    // kubectl --as straight to navigator-apiserver with alice's token: refused until a
    // ClusterRole allows alice to impersonate.
    let alice_kubeconfig = nav.data.path().join("alice.kubeconfig");
    std::fs::write(
        &alice_kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: nav\n  cluster:\n    server: https://127.0.0.1:{port}\n    certificate-authority: {}\nusers:\n- name: alice\n  user:\n    token: {token}\ncontexts:\n- name: nav\n  context:\n    cluster: nav\n    user: alice\n    namespace: sec\ncurrent-context: nav\n",
            nav.data.path().join("certs/ca.crt").display()
        ),
    )
    .unwrap();
    let as_carol = [
        "--as",
        "carol",
        "--as-group",
        "pilot-readers",
        "get",
        "pilots",
        "-o",
        "name",
    ];
    // (kubectl's discovery reports a refused request as "Forbidden: unknown" whatever the
    // body says; the Status itself is checked over HTTP.)
    let out = kubectl_with(&alice_kubeconfig, &as_carol);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("Error from server (Forbidden)"), "{stderr}");
    let r = request(
        &nav,
        "GET",
        &format!("{PILOTS}/sec/pilots"),
        None,
        &[
            ("Authorization", bearer.as_str()),
            ("Impersonate-User", "carol"),
            ("Impersonate-Group", "pilot-readers"),
        ],
        None,
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        r#"users "carol" is forbidden: User "system:serviceaccount:sec:alice" cannot impersonate resource "users" in API group "" at the cluster scope"#
    );
    cp.apply(&json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "navigator-test-impersonate-carol"},
        "rules": [
            {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"],
             "resourceNames": ["carol"]},
            {"apiGroups": [""], "resources": ["groups"], "verbs": ["impersonate"],
             "resourceNames": ["pilot-readers"]}
        ]
    }));
    cp.apply(&json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "navigator-test-alice-impersonates-carol"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "navigator-test-impersonate-carol"},
        "subjects": [{"kind": "ServiceAccount", "name": "alice", "namespace": "sec"}]
    }));
    cp.apply(&json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "pilot-readers-read-pilots", "namespace": "sec"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pilot-reader"},
        "subjects": [{"kind": "Group", "name": "pilot-readers",
                      "apiGroup": "rbac.authorization.k8s.io"}]
    }));
    let deadline = Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let out = kubectl_with(&alice_kubeconfig, &as_carol);
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(
            Instant::now() < deadline,
            "kubectl --as carol --as-group pilot-readers: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(listed.trim(), "pilot.navigator.jetstack.io/by-proxy");
    // carol without the group is impersonated, then authorized as carol: refused.
    let out = kubectl_with(&alice_kubeconfig, &["--as", "carol", "get", "pilots"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(r#"Error from server (Forbidden): pilots.navigator.jetstack.io is forbidden: User "carol" cannot list resource "pilots" in API group "navigator.jetstack.io" in the namespace "sec""#),
        "{stderr}"
    );
    // Another user or group is still refused, naming what was not allowed.
    let r = request(
        &nav,
        "GET",
        &format!("{PILOTS}/sec/pilots"),
        None,
        &[
            ("Authorization", bearer.as_str()),
            ("Impersonate-User", "carol"),
            ("Impersonate-Group", "system:masters"),
        ],
        None,
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        r#"groups "system:masters" is forbidden: User "system:serviceaccount:sec:alice" cannot impersonate resource "groups" in API group "" at the cluster scope"#
    );
    let r = request(
        &nav,
        "GET",
        &format!("{PILOTS}/sec/pilots"),
        None,
        &[
            ("Authorization", bearer.as_str()),
            ("Impersonate-User", "dave"),
        ],
        None,
    )
    .await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        r#"users "dave" is forbidden: User "system:serviceaccount:sec:alice" cannot impersonate resource "users" in API group "" at the cluster scope"#
    );

    // --- discovery is a non-resource SAR: allowed for authenticated users by default RBAC ---
    let r = request(
        &nav,
        "GET",
        "/apis/navigator.jetstack.io/v1alpha1",
        None,
        &[("Authorization", bearer.as_str())],
        None,
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let r = request(
        &nav,
        "GET",
        "/openapi/v2",
        None,
        &[("Authorization", bearer.as_str())],
        None,
    )
    .await;
    assert_eq!(r.code, 200);

    // --- NamespaceLifecycle: missing namespace 404, terminating namespace 403 ---
    let r = request(
        &nav,
        "POST",
        &format!("{PILOTS}/nowhere/pilots"),
        Some(&admin),
        &[],
        Some(&pilot("p")),
    )
    .await;
    assert_eq!(r.code, 404, "{}", r.body);
    assert_eq!(r.body["message"], r#"namespaces "nowhere" not found"#);
    // A namespace created a moment ago is found (cache, then live lookup).
    cp.k(&["create", "namespace", "fresh"]);
    let r = request(
        &nav,
        "POST",
        &format!("{PILOTS}/fresh/pilots"),
        Some(&admin),
        &[],
        Some(&pilot("p")),
    )
    .await;
    assert_eq!(r.code, 201, "{}", r.body);
    // A ConfigMap with a finalizer keeps the namespace Terminating.
    cp.k(&["create", "namespace", "ending"]);
    cp.apply(&json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "blocker", "namespace": "ending",
                     "finalizers": ["navigator.test/block"]}
    }));
    cp.k(&["delete", "namespace", "ending", "--wait=false"]);
    let r = eventually_code(
        "create in a terminating namespace",
        Duration::from_secs(30),
        403,
        async || {
            request(
                &nav,
                "POST",
                &format!("{PILOTS}/ending/pilots"),
                Some(&admin),
                &[],
                Some(&pilot("late")),
            )
            .await
        },
    )
    .await;
    assert_eq!(
        r.body["message"],
        r#"pilots.navigator.jetstack.io "late" is forbidden: unable to create new content in namespace ending because it is being terminated"#
    );
    assert_eq!(
        r.body["details"]["causes"][0]["reason"],
        "NamespaceTerminating"
    );
    assert_eq!(
        r.body["details"]["causes"][0]["field"],
        "metadata.namespace"
    );
    cp.k(&[
        "patch",
        "configmap",
        "blocker",
        "-n",
        "ending",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);

    // --- the TLS handshake names both CAs as acceptable client-certificate issuers ---
    if let Ok(out) = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Acceptable client certificate CA names"),
            "{text}"
        );
        assert!(text.contains("devenv-front-proxy-ca"), "{text}");
        assert!(text.contains("devenv-ca"), "{text}");
    }
    eprintln!("server log tail:\n{}", {
        let l = nav.log();
        l.lines().rev().take(5).collect::<Vec<_>>().join("\n")
    });
}
