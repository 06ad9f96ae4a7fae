//! kubectl — a real client nobody here wrote — against the standalone server: every kubectl
//! scenario of issue 3 (create in both versions, client-side apply sending a strategic merge patch
//! that merges node pools by name, server-side apply with a conflict and `--force-conflicts`,
//! every `get` output and selector, chunked lists, `get -w`, describe, non-interactive edit,
//! patch of every type, label, annotate, delete waiting on a finalizer, wait for a condition and a
//! jsonpath, explain of both versions, diff, api-resources/api-versions, short names and the
//! `navigator` category, and `get --raw` of discovery and OpenAPI). Each test runs its own server
//! and asserts what the server stored, not only kubectl's exit code.
#![allow(clippy::unwrap_used)]

mod support;

use std::fs::File;
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Backend, Server, wait_until};

const V1ALPHA1_CASSANDRA: &str =
    include_str!("../../navigator-api/tests/fixtures/original/quick-start-cassandra-cluster.yaml");

fn cassandra_yaml(namespace: &str, name: &str, replicas: i64) -> String {
    format!(
        r#"apiVersion: navigator.jetstack.io/v1beta1
kind: CassandraCluster
metadata:
  name: {name}
  namespace: {namespace}
  labels:
    app: demo
spec:
  version: "5.0.2"
  pilotImage:
    repository: navigator/pilot-cassandra
    tag: v1
  nodePools:
  - name: a
    replicas: {replicas}
    persistence:
      size: 5Gi
"#
    )
}

fn elasticsearch_yaml(namespace: &str, name: &str) -> String {
    format!(
        r#"apiVersion: navigator.jetstack.io/v1beta1
kind: ElasticsearchCluster
metadata:
  name: {name}
  namespace: {namespace}
spec:
  version: "8.15.0"
  pilotImage:
    repository: navigator/pilot-elasticsearch
    tag: v1
  nodePools:
  - name: master
    replicas: 3
    roles: [master]
  - name: data
    replicas: 2
    roles: [data, ingest]
    persistence:
      size: 10Gi
"#
    )
}

fn pilot_yaml(namespace: &str, name: &str, pool: &str) -> String {
    format!(
        r#"apiVersion: navigator.jetstack.io/v1beta1
kind: Pilot
metadata:
  name: {name}
  namespace: {namespace}
spec:
  cluster:
    kind: CassandraCluster
    name: demo
  nodePool: {pool}
"#
    )
}

/// The non-empty lines of `s`, each split on whitespace.
fn rows(s: &str) -> Vec<Vec<String>> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v
}

/// Pools of a cluster as (name, replicas), sorted by name (a strategic merge patch may put a
/// new element first, as Go's does).
fn pools(obj: &Value) -> Vec<(String, i64)> {
    let mut pools: Vec<(String, i64)> = obj["spec"]["nodePools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["replicas"].as_i64().unwrap(),
            )
        })
        .collect();
    pools.sort();
    pools
}

/// A background kubectl whose output goes to files in the data dir; killed on drop.
struct Background {
    child: Child,
    stdout: std::path::PathBuf,
    stderr: std::path::PathBuf,
}

impl Background {
    fn start(server: &Server, name: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let stdout = server.data_dir().join(format!("{name}.stdout"));
        let stderr = server.data_dir().join(format!("{name}.stderr"));
        let mut cmd = server.kubectl_command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdout(Stdio::from(File::create(&stdout).unwrap()))
            .stderr(Stdio::from(File::create(&stderr).unwrap()))
            .spawn()
            .unwrap();
        Background {
            child,
            stdout,
            stderr,
        }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits (bounded) for the process to exit; returns whether it succeeded.
    fn finish(&mut self, timeout: Duration) -> bool {
        let status = wait_until(timeout, "background kubectl to exit", || {
            self.child.try_wait().unwrap()
        });
        status.success()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn create_in_both_versions_and_every_get_output(backend: Backend) {
    let s = Server::start_on(backend);
    let ns = "kc-get";
    let alpha = s.write_file("alpha.yaml", V1ALPHA1_CASSANDRA);
    let out = s.kubectl_ok(&["create", "-n", ns, "-f", alpha.to_str().unwrap()]);
    assert_eq!(
        out.stdout.trim(),
        "cassandracluster.navigator.jetstack.io/demo created"
    );
    let beta = s.write_file("beta.yaml", &cassandra_yaml(ns, "demo2", 3));
    let out = s.kubectl_ok(&["create", "-f", beta.to_str().unwrap()]);
    assert_eq!(
        out.stdout.trim(),
        "cassandracluster.navigator.jetstack.io/demo2 created"
    );
    // Creating again is AlreadyExists.
    let again = s.kubectl(&["create", "-f", beta.to_str().unwrap()]);
    assert!(!again.success());
    assert!(
        again.stderr.contains("AlreadyExists") && again.stderr.contains("already exists"),
        "{}",
        again.stderr
    );

    // Both objects read back in both versions, with server-side defaults and system fields.
    let demo_alpha = s.kubectl_json(&[
        "get",
        "-n",
        ns,
        "cassandraclusters.v1alpha1.navigator.jetstack.io",
        "demo",
    ]);
    assert_eq!(demo_alpha["apiVersion"], "navigator.jetstack.io/v1alpha1");
    assert_eq!(demo_alpha["spec"]["version"], "3.11.1");
    assert_eq!(demo_alpha["spec"]["nodePools"][0]["datacenter"], "region-1");
    let demo2_beta = s.kubectl_json(&[
        "get",
        "-n",
        ns,
        "cassandraclusters.v1beta1.navigator.jetstack.io",
        "demo2",
    ]);
    assert_eq!(demo2_beta["apiVersion"], "navigator.jetstack.io/v1beta1");
    assert_eq!(demo2_beta["metadata"]["generation"], 1);
    assert!(demo2_beta["metadata"]["uid"].as_str().unwrap().len() >= 32);
    assert!(demo2_beta["metadata"]["creationTimestamp"].is_string());
    assert_eq!(
        demo2_beta["spec"]["nodePools"][0]["datacenter"],
        "navigator-default-datacenter"
    );
    assert_eq!(demo2_beta["spec"]["nodePools"][0]["rack"], "a");

    // -o yaml
    let out = s.kubectl_ok(&["get", "-n", ns, "cassandracluster", "demo2", "-o", "yaml"]);
    let y: Value = serde_yaml::from_str(&out.stdout).unwrap();
    assert_eq!(y["kind"], "CassandraCluster");
    assert_eq!(y["metadata"]["name"], "demo2");
    assert_eq!(y["metadata"]["uid"], demo2_beta["metadata"]["uid"]);

    // Default table and -o wide: the server's printer columns.
    let out = s.kubectl_ok(&["get", "-n", ns, "cassandraclusters"]);
    let t = rows(&out.stdout);
    assert_eq!(t[0], ["NAME", "VERSION", "READY", "STATUS", "AGE"]);
    assert_eq!(t.len(), 3, "{}", out.stdout);
    let out = s.kubectl_ok(&["get", "-n", ns, "cassandraclusters", "-o", "wide"]);
    let t = rows(&out.stdout);
    assert_eq!(
        t[0],
        [
            "NAME",
            "VERSION",
            "READY",
            "STATUS",
            "AGE",
            "POOLS",
            "DATACENTERS"
        ]
    );
    let demo2_row = t.iter().find(|r| r[0] == "demo2").unwrap();
    assert_eq!(demo2_row[1], "5.0.2");
    assert!(
        out.stdout.contains("navigator-default-datacenter"),
        "{}",
        out.stdout
    );

    // -o jsonpath and custom-columns
    let out = s.kubectl_ok(&[
        "get",
        "-n",
        ns,
        "cassandra",
        "demo",
        "-o",
        "jsonpath={.spec.version}/{.spec.nodePools[0].name}",
    ]);
    assert_eq!(out.stdout, "3.11.1/region-1-zone-a");
    let out = s.kubectl_ok(&[
        "get",
        "-n",
        ns,
        "cassandraclusters",
        "-o",
        "custom-columns=NAME:.metadata.name,POOL:.spec.nodePools[0].name,REPLICAS:.spec.nodePools[0].replicas",
    ]);
    assert_eq!(
        rows(&out.stdout),
        [
            vec!["NAME", "POOL", "REPLICAS"],
            vec!["demo", "region-1-zone-a", "3"],
            vec!["demo2", "a", "3"]
        ]
    );

    // -l and --field-selector (metadata.name)
    let out = s.kubectl_ok(&[
        "get",
        "-n",
        ns,
        "cassandraclusters",
        "-l",
        "app=demo",
        "-o",
        "name",
    ]);
    assert_eq!(
        out.stdout.trim(),
        "cassandracluster.navigator.jetstack.io/demo2"
    );
    let out = s.kubectl_ok(&[
        "get",
        "-n",
        ns,
        "cassandraclusters",
        "-l",
        "app!=demo",
        "-o",
        "name",
    ]);
    assert_eq!(
        out.stdout.trim(),
        "cassandracluster.navigator.jetstack.io/demo"
    );
    let out = s.kubectl_ok(&[
        "get",
        "-n",
        ns,
        "cassandraclusters",
        "--field-selector",
        "metadata.name=demo",
        "-o",
        "name",
    ]);
    assert_eq!(
        out.stdout.trim(),
        "cassandracluster.navigator.jetstack.io/demo"
    );
    let bad = s.kubectl(&[
        "get",
        "-n",
        ns,
        "cassandraclusters",
        "--field-selector",
        "spec.foo=x",
    ]);
    assert!(!bad.success());
    assert!(
        bad.stderr
            .contains("\"spec.foo\" is not a known field selector"),
        "{}",
        bad.stderr
    );

    // Pilots and a kind-specific field selector.
    for (name, pool) in [("p-a-0", "a"), ("p-a-1", "a"), ("p-b-0", "b")] {
        let f = s.write_file(&format!("{name}.yaml"), &pilot_yaml(ns, name, pool));
        s.kubectl_ok(&["create", "-f", f.to_str().unwrap()]);
    }
    let out = s.kubectl_ok(&[
        "get",
        "-n",
        ns,
        "pilots",
        "--field-selector",
        "spec.nodePool=b",
        "-o",
        "name",
    ]);
    assert_eq!(out.stdout.trim(), "pilot.navigator.jetstack.io/p-b-0");
    let out = s.kubectl_ok(&[
        "get",
        "-n",
        ns,
        "pilots",
        "--field-selector",
        "spec.nodePool!=b,metadata.name!=p-a-0",
        "-o",
        "name",
    ]);
    assert_eq!(out.stdout.trim(), "pilot.navigator.jetstack.io/p-a-1");

    // --chunk-size=1: kubectl pages with limit=1 and follows every continue token.
    let out = s.kubectl_ok(&[
        "get",
        "-n",
        ns,
        "pilots",
        "--chunk-size=1",
        "-o",
        "name",
        "-v=6",
    ]);
    assert_eq!(
        sorted_lines(&out.stdout),
        [
            "pilot.navigator.jetstack.io/p-a-0",
            "pilot.navigator.jetstack.io/p-a-1",
            "pilot.navigator.jetstack.io/p-b-0"
        ]
    );
    assert!(out.stderr.contains("limit=1"), "{}", out.stderr);
    assert!(out.stderr.contains("continue="), "{}", out.stderr);
    let out = s.kubectl_ok(&["get", "-n", ns, "pilots", "--chunk-size=1"]);
    let t = rows(&out.stdout);
    assert_eq!(t.len(), 4, "one header and three rows:\n{}", out.stdout);
    assert_eq!(t[0][..3], ["NAME", "CLUSTER", "POOL"]);

    // Short names, the category, and cluster-wide lists.
    let es = s.write_file("es.yaml", &elasticsearch_yaml(ns, "logs"));
    s.kubectl_ok(&["create", "-f", es.to_str().unwrap()]);
    for short in ["cass", "cassandra"] {
        let out = s.kubectl_ok(&["get", "-n", ns, short, "-o", "name"]);
        assert_eq!(out.stdout.lines().count(), 2, "{short}: {}", out.stdout);
    }
    for short in ["esc", "elasticsearch"] {
        let out = s.kubectl_ok(&["get", "-n", ns, short, "-o", "name"]);
        assert_eq!(
            out.stdout.trim(),
            "elasticsearchcluster.navigator.jetstack.io/logs",
            "{short}"
        );
    }
    let out = s.kubectl_ok(&["get", "navigator", "-n", ns, "-o", "name"]);
    assert_eq!(
        sorted_lines(&out.stdout),
        [
            "cassandracluster.navigator.jetstack.io/demo",
            "cassandracluster.navigator.jetstack.io/demo2",
            "elasticsearchcluster.navigator.jetstack.io/logs",
            "pilot.navigator.jetstack.io/p-a-0",
            "pilot.navigator.jetstack.io/p-a-1",
            "pilot.navigator.jetstack.io/p-b-0",
        ]
    );
    let out = s.kubectl_ok(&["get", "cassandraclusters", "-A", "-o", "name"]);
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
    let out = s.kubectl_ok(&["get", "cassandraclusters", "-n", "elsewhere", "-o", "name"]);
    assert_eq!(out.stdout.trim(), "");
}

fn client_side_apply_sends_a_strategic_merge_patch_merging_pools_by_name(backend: Backend) {
    let s = Server::start_on(backend);
    let ns = "kc-apply";
    let f1 = s.write_file("c1.yaml", &cassandra_yaml(ns, "demo", 3));
    let out = s.kubectl_ok(&["apply", "-f", f1.to_str().unwrap()]);
    assert_eq!(
        out.stdout.trim(),
        "cassandracluster.navigator.jetstack.io/demo created"
    );
    let obj = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
    assert!(
        obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );
    // Another writer adds pool "b" (not part of the applied configuration).
    s.kubectl_ok(&[
        "patch",
        "-n",
        ns,
        "cassandra",
        "demo",
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/spec/nodePools/-","value":{"name":"b","replicas":0}}]"#,
    ]);
    // Re-apply with pool "a" changed: a three-way strategic merge patch keyed by pool name, so
    // pool "b" survives (a JSON merge patch would have replaced the whole list).
    let f2 = s.write_file("c2.yaml", &cassandra_yaml(ns, "demo", 4));
    let out = s.kubectl_ok(&["apply", "-f", f2.to_str().unwrap(), "-v=8"]);
    assert!(
        out.stdout
            .contains("cassandracluster.navigator.jetstack.io/demo configured"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("application/strategic-merge-patch+json"),
        "client-side apply did not send a strategic merge patch:\n{}",
        out.stderr
    );
    let obj = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
    assert_eq!(
        pools(&obj),
        [("a".to_owned(), 4), ("b".to_owned(), 0)],
        "{obj:#}"
    );
    assert_eq!(obj["metadata"]["generation"], 3);
    // Applying the same file again keeps both pools.
    s.kubectl_ok(&["apply", "-f", f2.to_str().unwrap()]);
    let again = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
    assert_eq!(pools(&again), [("a".to_owned(), 4), ("b".to_owned(), 0)]);
    assert_eq!(again["metadata"]["generation"], 3);
}

fn server_side_apply_reports_conflicts_and_force_takes_ownership(backend: Backend) {
    let s = Server::start_on(backend);
    let ns = "kc-ssa";
    let f1 = s.write_file("c1.yaml", &cassandra_yaml(ns, "demo", 3));
    let out = s.kubectl_ok(&["apply", "--server-side", "-f", f1.to_str().unwrap()]);
    assert!(
        out.stdout
            .contains("cassandracluster.navigator.jetstack.io/demo serverside-applied"),
        "{}",
        out.stdout
    );
    let obj = s.kubectl_json(&[
        "get",
        "-n",
        ns,
        "cassandra",
        "demo",
        "--show-managed-fields",
    ]);
    let managers: Vec<&str> = obj["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["kubectl"]);
    assert_eq!(obj["metadata"]["managedFields"][0]["operation"], "Apply");

    // Another manager sets a field kubectl owns with a different value: conflict.
    let f2 = s.write_file("c2.yaml", &cassandra_yaml(ns, "demo", 5));
    let out = s.kubectl(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        f2.to_str().unwrap(),
    ]);
    assert!(!out.success(), "{}", out.stdout);
    assert!(
        out.stderr.contains("Apply failed with") && out.stderr.contains("conflict"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("conflict with \"kubectl\""),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(".spec.nodePools"), "{}", out.stderr);
    let unchanged = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
    assert_eq!(pools(&unchanged), [("a".to_owned(), 3)]);

    // --force-conflicts takes the field.
    s.kubectl_ok(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "--force-conflicts",
        "-f",
        f2.to_str().unwrap(),
    ]);
    let obj = s.kubectl_json(&[
        "get",
        "-n",
        ns,
        "cassandra",
        "demo",
        "--show-managed-fields",
    ]);
    assert_eq!(pools(&obj), [("a".to_owned(), 5)]);
    let mf = obj["metadata"]["managedFields"].as_array().unwrap();
    let other = mf.iter().find(|m| m["manager"] == "other").unwrap();
    assert_eq!(other["operation"], "Apply");
    let other_fields = other["fieldsV1"].to_string();
    assert!(other_fields.contains("f:replicas"), "{other_fields}");
    // kubectl no longer owns the replicas of pool "a".
    if let Some(k) = mf.iter().find(|m| m["manager"] == "kubectl") {
        let pool_a = &k["fieldsV1"]["f:spec"]["f:nodePools"]["k:{\"name\":\"a\"}"];
        assert!(pool_a.get("f:replicas").is_none(), "{k:#}");
    }
}

fn get_watch_sees_a_later_change(backend: Backend) {
    let s = Server::start_on(backend);
    let ns = "kc-watch";
    let f = s.write_file("c.yaml", &cassandra_yaml(ns, "demo", 3));
    s.kubectl_ok(&["create", "-f", f.to_str().unwrap()]);
    s.kubectl_ok(&["label", "-n", ns, "cassandra", "demo", "step=one"]);
    let mut watch = Background::start(
        &s,
        "watch",
        &[
            "get",
            "-n",
            ns,
            "cassandraclusters",
            "-w",
            "-o",
            "jsonpath={.metadata.name}={.metadata.labels.step}{\"\\n\"}",
        ],
        &[],
    );
    wait_until(Duration::from_secs(30), "the watch's initial list", || {
        watch.stdout().contains("demo=one").then_some(())
    });
    s.kubectl_ok(&[
        "label",
        "-n",
        ns,
        "cassandra",
        "demo",
        "step=two",
        "--overwrite",
    ]);
    let p2 = s.write_file("p.yaml", &cassandra_yaml(ns, "later", 1));
    s.kubectl_ok(&["create", "-f", p2.to_str().unwrap()]);
    wait_until(
        Duration::from_secs(30),
        "the watch to see both changes",
        || {
            let o = watch.stdout();
            (o.contains("demo=two") && o.contains("later=")).then_some(())
        },
    );
    assert!(watch.running(), "watch ended early: {}", watch.stderr());
    let lines: Vec<String> = watch.stdout().lines().map(str::to_owned).collect();
    assert_eq!(
        lines,
        ["demo=one", "demo=two", "later="],
        "{}",
        watch.stderr()
    );
}

fn describe_edit_patch_label_annotate(backend: Backend) {
    let s = Server::start_on(backend);
    let ns = "kc-edit";
    let f = s.write_file("c.yaml", &cassandra_yaml(ns, "demo", 3));
    s.kubectl_ok(&["create", "-f", f.to_str().unwrap()]);

    let out = s.kubectl_ok(&["describe", "-n", ns, "cassandra", "demo"]);
    for want in [
        "Name:",
        "demo",
        "Namespace:",
        ns,
        "CassandraCluster",
        "navigator.jetstack.io/v1beta1",
        "Node Pools:",
        "5.0.2",
    ] {
        assert!(out.stdout.contains(want), "{want} missing:\n{}", out.stdout);
    }

    // edit through a non-interactive EDITOR that rewrites the file.
    let editor = s.write_file(
        "editor.sh",
        "#!/bin/sh\nset -e\nsed -i 's/replicas: 3/replicas: 4/' \"$1\"\n",
    );
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = s.kubectl_with(
        &["edit", "-n", ns, "cassandra", "demo"],
        &[
            ("EDITOR", editor.to_str().unwrap()),
            ("KUBE_EDITOR", editor.to_str().unwrap()),
        ],
        support::KUBECTL_TIMEOUT,
    );
    assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("cassandracluster.navigator.jetstack.io/demo edited"),
        "{}",
        out.stdout
    );
    let obj = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
    assert_eq!(pools(&obj), [("a".to_owned(), 4)]);
    assert_eq!(obj["metadata"]["generation"], 2);

    // --type=json
    s.kubectl_ok(&[
        "patch",
        "-n",
        ns,
        "cassandra",
        "demo",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/nodePools/0/replicas","value":5}]"#,
    ]);
    let obj = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
    assert_eq!(pools(&obj), [("a".to_owned(), 5)]);
    // A failing JSON-patch test op is refused and changes nothing.
    let out = s.kubectl(&[
        "patch",
        "-n",
        ns,
        "cassandra",
        "demo",
        "--type=json",
        "-p",
        r#"[{"op":"test","path":"/spec/version","value":"4.0.0"},{"op":"replace","path":"/spec/nodePools/0/replicas","value":9}]"#,
    ]);
    assert!(!out.success());
    let unchanged = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
    assert_eq!(
        unchanged["metadata"]["resourceVersion"],
        obj["metadata"]["resourceVersion"]
    );

    // --type=merge
    s.kubectl_ok(&[
        "patch",
        "-n",
        ns,
        "cassandra",
        "demo",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"merged":"yes"}},"spec":{"paused":true}}"#,
    ]);
    let obj = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
    assert_eq!(obj["metadata"]["labels"]["merged"], "yes");
    assert_eq!(obj["metadata"]["labels"]["app"], "demo");
    assert_eq!(obj["spec"]["paused"], true);

    // --type=strategic (the default): pools merge by name, so "a" stays and "b" is added.
    let out = s.kubectl_ok(&[
        "patch",
        "-n",
        ns,
        "cassandra",
        "demo",
        "-p",
        r#"{"spec":{"nodePools":[{"name":"b","replicas":0}]}}"#,
    ]);
    assert!(out.stdout.contains("patched"), "{}", out.stdout);
    let obj = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
    assert_eq!(pools(&obj), [("a".to_owned(), 5), ("b".to_owned(), 0)]);
    // ... and a merge patch of the same list replaces it.
    let out = s.kubectl(&[
        "patch",
        "-n",
        ns,
        "cassandra",
        "demo",
        "--type=merge",
        "-p",
        r#"{"spec":{"nodePools":[{"name":"b","replicas":0}]}}"#,
    ]);
    // Removing pool "a" with 5 replicas is refused by validation (pools go to 0 first).
    assert!(!out.success());
    assert!(out.stderr.contains("is invalid"), "{}", out.stderr);

    // label and annotate
    s.kubectl_ok(&["label", "-n", ns, "cassandra", "demo", "tier=db"]);
    let out = s.kubectl(&["label", "-n", ns, "cassandra", "demo", "tier=other"]);
    assert!(!out.success(), "label without --overwrite must fail");
    s.kubectl_ok(&[
        "label",
        "-n",
        ns,
        "cassandra",
        "demo",
        "tier=web",
        "--overwrite",
    ]);
    s.kubectl_ok(&[
        "annotate",
        "-n",
        ns,
        "cassandra",
        "demo",
        "note=hello world",
    ]);
    s.kubectl_ok(&["label", "-n", ns, "cassandra", "demo", "merged-"]);
    let obj = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
    assert_eq!(
        obj["metadata"]["labels"],
        json!({"app": "demo", "tier": "web"})
    );
    assert_eq!(obj["metadata"]["annotations"]["note"], "hello world");
    let out = s.kubectl_ok(&["get", "-n", ns, "cassandra", "-l", "tier=web", "-o", "name"]);
    assert_eq!(
        out.stdout.trim(),
        "cassandracluster.navigator.jetstack.io/demo"
    );
}

fn delete_waits_for_a_held_finalizer(backend: Backend) {
    let s = Server::start_on(backend);
    let ns = "kc-delete";
    let manifest = cassandra_yaml(ns, "demo", 3).replace(
        "  labels:\n",
        "  finalizers:\n  - navigator.jetstack.io/test-hold\n  labels:\n",
    );
    let f = s.write_file("c.yaml", &manifest);
    s.kubectl_ok(&["create", "-f", f.to_str().unwrap()]);
    let mut delete = Background::start(
        &s,
        "delete",
        &[
            "delete",
            "-n",
            ns,
            "cassandra",
            "demo",
            "--wait=true",
            "--timeout=60s",
        ],
        &[],
    );
    let held = wait_until(Duration::from_secs(30), "deletionTimestamp", || {
        let obj = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
        obj["metadata"]["deletionTimestamp"]
            .is_string()
            .then_some(obj)
    });
    assert_eq!(
        held["metadata"]["finalizers"],
        json!(["navigator.jetstack.io/test-hold"])
    );
    // Still there, and kubectl is still waiting for it to go.
    assert!(
        delete.running(),
        "delete returned early: {}",
        delete.stdout()
    );
    let out = s.kubectl_ok(&["get", "-n", ns, "cassandra", "-o", "name"]);
    assert_eq!(
        out.stdout.trim(),
        "cassandracluster.navigator.jetstack.io/demo"
    );
    // New finalizers can no longer be added.
    let out = s.kubectl(&[
        "patch",
        "-n",
        ns,
        "cassandra",
        "demo",
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/metadata/finalizers/-","value":"x.io/another"}]"#,
    ]);
    assert!(!out.success(), "{}", out.stdout);
    // Releasing the finalizer completes the deletion and the waiting kubectl returns.
    s.kubectl_ok(&[
        "patch",
        "-n",
        ns,
        "cassandra",
        "demo",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    assert!(
        delete.finish(Duration::from_secs(60)),
        "delete failed:\n{}\n{}",
        delete.stdout(),
        delete.stderr()
    );
    assert!(
        delete
            .stdout()
            .contains("cassandracluster.navigator.jetstack.io \"demo\" deleted"),
        "{}",
        delete.stdout()
    );
    // (kubectl 1.37 follows a NotFound with a look-up of the namespace, which the standalone
    // server does not serve, so only the code is checked here; the list shows it is gone.)
    let out = s.kubectl(&["get", "-n", ns, "cassandra", "demo"]);
    assert!(!out.success());
    assert!(out.stderr.contains("NotFound"), "{}", out.stderr);
    let out = s.kubectl_ok(&["get", "-n", ns, "cassandra", "-o", "name"]);
    assert_eq!(out.stdout.trim(), "");
}

fn wait_for_a_condition_and_a_jsonpath(backend: Backend) {
    let s = Server::start_on(backend);
    let ns = "kc-wait";
    let f = s.write_file("c.yaml", &cassandra_yaml(ns, "demo", 3));
    s.kubectl_ok(&["create", "-f", f.to_str().unwrap()]);
    let mut wait = Background::start(
        &s,
        "wait",
        &[
            "wait",
            "-n",
            ns,
            "--for=condition=Available",
            "cassandracluster/demo",
            "--timeout=60s",
        ],
        &[],
    );
    s.kubectl_ok(&[
        "patch",
        "-n",
        ns,
        "cassandra",
        "demo",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"observedGeneration":1,"conditions":[{"type":"Available","status":"True","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00Z","reason":"AllNodesReady","message":"3/3 nodes ready"}]}}"#,
    ]);
    assert!(
        wait.finish(Duration::from_secs(60)),
        "wait failed:\n{}\n{}",
        wait.stdout(),
        wait.stderr()
    );
    assert_eq!(
        wait.stdout().trim(),
        "cassandracluster.navigator.jetstack.io/demo condition met"
    );
    // The status write changed neither spec nor generation.
    let obj = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
    assert_eq!(obj["metadata"]["generation"], 1);
    assert_eq!(pools(&obj), [("a".to_owned(), 3)]);
    assert_eq!(obj["status"]["conditions"][0]["reason"], "AllNodesReady");
    // A spec change through the main endpoint leaves status alone.
    s.kubectl_ok(&[
        "patch",
        "-n",
        ns,
        "cassandra",
        "demo",
        "--type=merge",
        "-p",
        r#"{"status":{"observedGeneration":7}}"#,
    ]);
    let obj = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
    assert_eq!(obj["status"]["observedGeneration"], 1);

    // --for=jsonpath, already true and becoming true.
    let out = s.kubectl_ok(&[
        "wait",
        "-n",
        ns,
        "--for=jsonpath={.status.conditions[0].reason}=AllNodesReady",
        "cassandracluster/demo",
        "--timeout=30s",
    ]);
    assert!(out.stdout.contains("condition met"), "{}", out.stdout);
    let mut wait = Background::start(
        &s,
        "wait2",
        &[
            "wait",
            "-n",
            ns,
            "--for=jsonpath={.spec.nodePools[0].replicas}=6",
            "cassandra/demo",
            "--timeout=60s",
        ],
        &[],
    );
    s.kubectl_ok(&[
        "patch",
        "-n",
        ns,
        "cassandra",
        "demo",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/nodePools/0/replicas","value":6}]"#,
    ]);
    assert!(
        wait.finish(Duration::from_secs(60)),
        "{}\n{}",
        wait.stdout(),
        wait.stderr()
    );
    // A condition that never comes times out with an error.
    let out = s.kubectl(&[
        "wait",
        "-n",
        ns,
        "--for=condition=Degraded",
        "cassandra/demo",
        "--timeout=2s",
    ]);
    assert!(!out.success());
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);
}

fn explain_in_both_versions(backend: Backend) {
    let s = Server::start_on(backend);
    let out = s.kubectl_ok(&["explain", "cassandraclusters", "--recursive"]);
    assert!(out.stdout.contains("CassandraCluster"), "{}", out.stdout);
    for field in [
        "nodePools",
        "persistence",
        "pilotImage",
        "conditions",
        "observedGeneration",
    ] {
        assert!(
            out.stdout.contains(field),
            "{field} missing:\n{}",
            out.stdout
        );
    }
    let out = s.kubectl_ok(&[
        "explain",
        "cassandraclusters.spec.nodePools",
        "--api-version=navigator.jetstack.io/v1alpha1",
    ]);
    assert!(out.stdout.contains("v1alpha1"), "{}", out.stdout);
    assert!(out.stdout.contains("replicas"), "{}", out.stdout);
    let out = s.kubectl_ok(&[
        "explain",
        "cassandraclusters.spec.nodePools",
        "--api-version=navigator.jetstack.io/v1beta1",
    ]);
    assert!(out.stdout.contains("v1beta1"), "{}", out.stdout);
    // spec.flavor exists only in v1beta1.
    let out = s.kubectl_ok(&[
        "explain",
        "elasticsearchclusters.spec.flavor",
        "--api-version=navigator.jetstack.io/v1beta1",
    ]);
    assert!(out.stdout.contains("flavor"), "{}", out.stdout);
    let out = s.kubectl(&[
        "explain",
        "elasticsearchclusters.spec.flavor",
        "--api-version=navigator.jetstack.io/v1alpha1",
    ]);
    assert!(!out.success(), "{}", out.stdout);
    let out = s.kubectl_ok(&["explain", "pilots.spec", "--recursive"]);
    assert!(out.stdout.contains("requestedState"), "{}", out.stdout);
}

fn diff_is_a_dry_run(backend: Backend) {
    let s = Server::start_on(backend);
    let ns = "kc-diff";
    let f1 = s.write_file("c1.yaml", &cassandra_yaml(ns, "demo", 3));
    s.kubectl_ok(&["apply", "-f", f1.to_str().unwrap()]);
    let before = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
    let out = s.kubectl(&["diff", "-f", f1.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "");
    let f2 = s.write_file("c2.yaml", &cassandra_yaml(ns, "demo", 4));
    let out = s.kubectl(&["diff", "-f", f2.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("-    replicas: 3"), "{}", out.stdout);
    assert!(out.stdout.contains("+    replicas: 4"), "{}", out.stdout);
    // A new object diffs as an addition.
    let f3 = s.write_file("c3.yaml", &cassandra_yaml(ns, "new", 1));
    let out = s.kubectl(&["diff", "-f", f3.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("+  name: new"), "{}", out.stdout);
    // Nothing was written.
    let after = s.kubectl_json(&["get", "-n", ns, "cassandra", "demo"]);
    assert_eq!(
        after["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
    let out = s.kubectl_ok(&["get", "-n", ns, "cassandra", "-o", "name"]);
    assert_eq!(
        out.stdout.trim(),
        "cassandracluster.navigator.jetstack.io/demo"
    );
}

fn discovery_api_resources_api_versions_and_raw(backend: Backend) {
    let s = Server::start_on(backend);
    let out = s.kubectl_ok(&["api-versions"]);
    let versions = sorted_lines(&out.stdout);
    assert!(
        versions.contains(&"navigator.jetstack.io/v1alpha1".to_owned())
            && versions.contains(&"navigator.jetstack.io/v1beta1".to_owned()),
        "{}",
        out.stdout
    );

    let out = s.kubectl_ok(&[
        "api-resources",
        "--api-group=navigator.jetstack.io",
        "-o",
        "wide",
        "--no-headers",
    ]);
    let t = rows(&out.stdout);
    let find = |name: &str| {
        t.iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("{name} missing:\n{}", out.stdout))
            .join(" ")
    };
    let cass = find("cassandraclusters");
    assert!(
        cass.starts_with(
            "cassandraclusters cassandra,cass navigator.jetstack.io/v1beta1 true CassandraCluster"
        ),
        "{cass}"
    );
    assert!(cass.contains("navigator"), "{cass}");
    for verb in [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ] {
        assert!(cass.contains(verb), "{verb} missing: {cass}");
    }
    let esc = find("elasticsearchclusters");
    assert!(
        esc.starts_with(
            "elasticsearchclusters esc,elasticsearch navigator.jetstack.io/v1beta1 true ElasticsearchCluster"
        ),
        "{esc}"
    );
    let pilots = find("pilots");
    assert!(
        pilots.starts_with("pilots navigator.jetstack.io/v1beta1 true Pilot"),
        "{pilots}"
    );
    assert_eq!(t.len(), 3, "{}", out.stdout);
    let out = s.kubectl_ok(&["api-resources", "--categories=navigator", "-o", "name"]);
    assert_eq!(
        sorted_lines(&out.stdout),
        [
            "cassandraclusters.navigator.jetstack.io",
            "elasticsearchclusters.navigator.jetstack.io",
            "pilots.navigator.jetstack.io"
        ]
    );

    let raw = |path: &str| -> Value {
        let out = s.kubectl_ok(&["get", "--raw", path]);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{path}: {e}\n{}", out.stdout))
    };
    let apis = raw("/apis");
    assert_eq!(apis["kind"], "APIGroupList");
    let group = apis["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "navigator.jetstack.io")
        .unwrap();
    assert_eq!(
        group["preferredVersion"]["groupVersion"],
        "navigator.jetstack.io/v1beta1"
    );
    let gvs: Vec<&str> = group["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["groupVersion"].as_str().unwrap())
        .collect();
    assert!(gvs.contains(&"navigator.jetstack.io/v1alpha1"), "{gvs:?}");
    let list = raw("/apis/navigator.jetstack.io/v1beta1");
    assert_eq!(list["kind"], "APIResourceList");
    assert_eq!(list["groupVersion"], "navigator.jetstack.io/v1beta1");
    let names: Vec<&str> = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for n in [
        "cassandraclusters",
        "cassandraclusters/status",
        "elasticsearchclusters",
        "elasticsearchclusters/status",
        "pilots",
        "pilots/status",
    ] {
        assert!(names.contains(&n), "{n} missing: {names:?}");
    }
    let cass = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "cassandraclusters")
        .unwrap();
    assert_eq!(cass["shortNames"], json!(["cassandra", "cass"]));
    assert_eq!(cass["categories"], json!(["navigator"]));
    assert_eq!(cass["namespaced"], true);
    assert_eq!(cass["kind"], "CassandraCluster");
    let v3 = raw("/openapi/v3");
    let path = "apis/navigator.jetstack.io/v1beta1";
    let url = v3["paths"][path]["serverRelativeURL"]
        .as_str()
        .unwrap_or_else(|| panic!("{path} missing: {v3:#}"));
    let doc = raw(url);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert!(
        doc["components"]["schemas"]
            .get("io.jetstack.navigator.v1beta1.CassandraCluster")
            .is_some()
    );
    assert!(v3["paths"]["apis/navigator.jetstack.io/v1alpha1"].is_object());
}

support::on_both_backends!(
    create_in_both_versions_and_every_get_output,
    client_side_apply_sends_a_strategic_merge_patch_merging_pools_by_name,
    server_side_apply_reports_conflicts_and_force_takes_ownership,
    get_watch_sees_a_later_change,
    describe_edit_patch_label_annotate,
    delete_waits_for_a_held_finalizer,
    wait_for_a_condition_and_a_jsonpath,
    explain_in_both_versions,
    diff_is_a_dry_run,
    discovery_api_resources_api_versions_and_raw
);
