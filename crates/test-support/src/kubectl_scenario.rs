//! The kubectl scenario through kube-apiserver's aggregation layer: create, get (both versions,
//! tables), list, watch, strategic-merge/merge/JSON patches, label, client-side and server-side
//! apply, and delete for the three kinds — the same whether navigator-apiserver runs on the host
//! (`navigator-apiserver/tests/aggregated.rs`) or as pods installed by the chart
//! (`navigator-controller/tests/e2e_helm.rs`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::devenv::{GROUP, eventually};

/// A cluster with navigator-apiserver aggregated, as the scenario needs it.
pub trait Cluster {
    /// kubectl as the cluster admin: its stdout, or an error carrying its stderr.
    fn kubectl_admin(&self, args: &[&str]) -> Result<String, String>;
    /// The admin's kubeconfig (for the background `kubectl get -w`).
    fn admin_kubeconfig(&self) -> PathBuf;
    /// The kubectl binary.
    fn kubectl_binary(&self) -> PathBuf;
    /// A scratch directory for manifests and the watch's output.
    fn scratch(&self) -> &Path;
}

impl Cluster for crate::devenv::Env {
    fn kubectl_admin(&self, args: &[&str]) -> Result<String, String> {
        self.kubectl(args)
    }
    fn admin_kubeconfig(&self) -> PathBuf {
        self.admin()
    }
    fn kubectl_binary(&self) -> PathBuf {
        self.bin_dir().join("kubectl")
    }
    fn scratch(&self) -> &Path {
        self.work_dir()
    }
}

fn k(cp: &impl Cluster, args: &[&str]) -> String {
    cp.kubectl_admin(args).unwrap_or_else(|e| panic!("{e}"))
}

fn json(cp: &impl Cluster, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let out = k(cp, &all);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn apply(cp: &impl Cluster, name: &str, manifest: &Value) -> String {
    let path = cp.scratch().join(format!("{name}.json"));
    std::fs::write(&path, manifest.to_string()).expect("write the manifest");
    k(cp, &["apply", "-f", &path.to_string_lossy()])
}

/// A valid v1beta1 CassandraCluster (three nodes, not paused).
pub fn cassandra(namespace: &str, name: &str) -> Value {
    json!({
        "apiVersion": "navigator.jetstack.io/v1beta1",
        "kind": "CassandraCluster",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "demo"}},
        "spec": {
            "version": "5.0.2",
            "pilotImage": {"repository": "navigator/pilot-cassandra", "tag": "v1"},
            "nodePools": [{"name": "a", "replicas": 3, "persistence": {"size": "5Gi"}}]
        }
    })
}

/// A valid v1beta1 Pilot of cluster `demo`, pool `pool`.
pub fn pilot(namespace: &str, name: &str, pool: &str) -> Value {
    json!({
        "apiVersion": "navigator.jetstack.io/v1beta1",
        "kind": "Pilot",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"cluster": {"kind": "CassandraCluster", "name": "demo"}, "nodePool": pool}
    })
}

/// A valid v1alpha1 ElasticsearchCluster (the original project's API).
pub fn elasticsearch_v1alpha1(ns: &str, name: &str) -> Value {
    json!({
        "apiVersion": "navigator.jetstack.io/v1alpha1",
        "kind": "ElasticsearchCluster",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "minimumMasters": 2,
            "version": "6.8.23",
            "pilotImage": {"repository": "navigator/pilot-elasticsearch", "tag": "v1", "pullPolicy": "IfNotPresent"},
            "nodePools": [{"name": "mixed", "replicas": 3, "roles": ["master", "ingest", "data"],
                           "persistence": {"size": "10Gi"}}]
        }
    })
}

/// The sorted names of a list's items.
pub fn names(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list["items"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|o| {
            o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    v.sort();
    v
}

/// create/get/list/apply/patch/watch/delete for the three kinds in both versions, through
/// kube-apiserver, in namespace `ns` (created here). Leaves CassandraCluster `demo` and Pilot
/// `demo-a-0` behind.
pub fn run(cp: &impl Cluster, ns: &str) {
    k(cp, &["create", "namespace", ns]);
    let resources = k(cp, &["api-resources", "--api-group", GROUP, "-o", "name"]);
    let mut found: Vec<&str> = resources.lines().collect();
    found.sort_unstable();
    assert_eq!(
        found,
        [
            "cassandraclusters.navigator.jetstack.io",
            "elasticsearchclusters.navigator.jetstack.io",
            "pilots.navigator.jetstack.io"
        ]
    );
    let versions = k(cp, &["api-versions"]);
    assert!(
        versions.contains("navigator.jetstack.io/v1beta1"),
        "{versions}"
    );
    assert!(
        versions.contains("navigator.jetstack.io/v1alpha1"),
        "{versions}"
    );

    // create (v1beta1 CassandraCluster and Pilot, v1alpha1 ElasticsearchCluster) …
    apply(cp, "cass", &cassandra(ns, "demo"));
    apply(cp, "es", &elasticsearch_v1alpha1(ns, "search"));
    apply(cp, "pilot", &pilot(ns, "demo-a-0", "a"));
    // … get in both versions …
    for (resource, name) in [
        ("cassandraclusters", "demo"),
        ("elasticsearchclusters", "search"),
        ("pilots", "demo-a-0"),
    ] {
        for version in ["v1beta1", "v1alpha1"] {
            let o = json(
                cp,
                &[
                    "get",
                    &format!("{resource}.{version}.{GROUP}"),
                    name,
                    "-n",
                    ns,
                ],
            );
            assert_eq!(o["apiVersion"], format!("{GROUP}/{version}"));
            assert_eq!(o["metadata"]["name"], name);
        }
    }
    // … the preferred version is v1beta1; tables come from navigator's printer columns …
    let es = json(cp, &["get", "elasticsearchclusters", "search", "-n", ns]);
    assert_eq!(es["apiVersion"], "navigator.jetstack.io/v1beta1");
    let table = k(cp, &["get", "cassandraclusters", "-n", ns]);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.contains("demo"), "{table}");
    // … list (namespace and all namespaces) …
    assert_eq!(names(&json(cp, &["get", "pilots", "-n", ns])), ["demo-a-0"]);
    assert_eq!(
        names(&json(
            cp,
            &[
                "get",
                "cassandraclusters.v1alpha1.navigator.jetstack.io",
                "-A"
            ]
        )),
        ["demo"]
    );

    // watch: a background `kubectl get -w` sees a patch made meanwhile.
    let watch_out = cp.scratch().join("watch.out");
    let mut watch = Command::new(cp.kubectl_binary())
        .arg("--kubeconfig")
        .arg(cp.admin_kubeconfig())
        .args([
            "get",
            "cassandraclusters",
            "-n",
            ns,
            "--watch-only",
            "--output-watch-events",
            "-o",
            "json",
        ])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&watch_out).expect("create the watch output"))
        .stderr(Stdio::null())
        .spawn()
        .expect("start kubectl get -w");
    std::thread::sleep(Duration::from_secs(2));
    // patch: strategic merge (pools merged by name) …
    k(
        cp,
        &[
            "patch",
            "cassandraclusters",
            "demo",
            "-n",
            ns,
            "-p",
            r#"{"spec":{"nodePools":[{"name":"a","replicas":5}]}}"#,
        ],
    );
    let seen = eventually(
        "the watch sees the patch",
        Duration::from_secs(30),
        String::new,
        || {
            let s = std::fs::read_to_string(&watch_out).unwrap_or_default();
            let events: Vec<Value> = serde_json::Deserializer::from_str(&s)
                .into_iter::<Value>()
                .filter_map(Result::ok)
                .collect();
            events
                .into_iter()
                .find(|e| {
                    e["type"] == "MODIFIED" && e["object"]["spec"]["nodePools"][0]["replicas"] == 5
                })
                .ok_or(s)
        },
    );
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(seen["object"]["metadata"]["name"], "demo");
    let cass = json(cp, &["get", "cassandraclusters", "demo", "-n", ns]);
    assert_eq!(cass["spec"]["nodePools"][0]["persistence"]["size"], "5Gi");
    // … merge and JSON patches, label …
    k(
        cp,
        &[
            "patch",
            "pilots",
            "demo-a-0",
            "-n",
            ns,
            "--type=merge",
            "-p",
            r#"{"metadata":{"annotations":{"checked":"yes"}}}"#,
        ],
    );
    k(
        cp,
        &[
            "patch",
            "elasticsearchclusters.v1alpha1.navigator.jetstack.io",
            "search",
            "-n",
            ns,
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/minimumMasters","value":3},{"op":"replace","path":"/spec/nodePools/0/replicas","value":4}]"#,
        ],
    );
    k(cp, &["label", "pilots", "demo-a-0", "-n", ns, "tier=db"]);
    let p = json(cp, &["get", "pilots", "-n", ns, "-l", "tier=db"]);
    assert_eq!(names(&p), ["demo-a-0"]);
    assert_eq!(p["items"][0]["metadata"]["annotations"]["checked"], "yes");
    let es = json(cp, &["get", "elasticsearchclusters", "search", "-n", ns]);
    assert_eq!(es["spec"]["nodePools"][0]["replicas"], 4);
    // … apply again (client-side: a three-way strategic merge) and server-side apply …
    let mut cass = cassandra(ns, "demo");
    cass["spec"]["nodePools"][0]["replicas"] = json!(2);
    apply(cp, "cass-again", &cass);
    assert_eq!(
        json(cp, &["get", "cassandraclusters", "demo", "-n", ns])["spec"]["nodePools"][0]["replicas"],
        2
    );
    let ssa = cp.scratch().join("ssa.json");
    std::fs::write(&ssa, cassandra(ns, "applied").to_string()).expect("write the manifest");
    k(
        cp,
        &["apply", "--server-side", "-f", &ssa.to_string_lossy()],
    );
    let applied = json(
        cp,
        &[
            "get",
            "cassandraclusters",
            "applied",
            "-n",
            ns,
            "--show-managed-fields",
        ],
    );
    let managers: Vec<&str> = applied["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .map(|m| m["manager"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(managers, ["kubectl"], "{applied:#}");
    // … delete.
    k(cp, &["delete", "cassandraclusters", "applied", "-n", ns]);
    k(
        cp,
        &[
            "delete",
            "elasticsearchclusters.v1alpha1.navigator.jetstack.io",
            "search",
            "-n",
            ns,
        ],
    );
    let gone = cp
        .kubectl_admin(&["get", "elasticsearchclusters", "search", "-n", ns])
        .expect_err("deleted");
    assert!(gone.contains("NotFound"), "{gone}");
}
