//! Objects an existing Go Navigator stored in etcd are served. The Go server (k8s.io/apiserver
//! 1.9) wrote v1alpha1 JSON with `kind`/`apiVersion` and without `resourceVersion` under
//! `<etcd-prefix>/navigator.jetstack.io/<resource>/<namespace>/<name>` (its REST options used
//! `<group>/<resource>` as the resource prefix, so with the default `--etcd-prefix` the group
//! appears twice). The test writes such JSON straight into a real etcd through etcd's own v3 JSON
//! gateway (no code of ours in between), starts navigator-apiserver on that etcd with the Go
//! layout's prefix, and drives the objects with kubectl: get and list in both versions, watch,
//! update; the updated object is rewritten in place (same key, now in the storage version) and
//! resourceVersion is etcd's revision throughout.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read as _, Write as _};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use support::{Etcd, Server, wait_until};

/// The Go layout: `--etcd-prefix` (`/registry/navigator.jetstack.io`) + `/navigator.jetstack.io`.
const GO_PREFIX: &str = "/registry/navigator.jetstack.io/navigator.jetstack.io";
const NS: &str = "legacy";

/// A CassandraCluster as the Go server encoded it (v1alpha1 legacy codec, defaults applied,
/// Go 1.9's `selfLink` kept, no `resourceVersion`).
fn go_cassandra() -> Value {
    json!({
        "kind": "CassandraCluster",
        "apiVersion": "navigator.jetstack.io/v1alpha1",
        "metadata": {
            "name": "cass", "namespace": NS,
            "selfLink": "/apis/navigator.jetstack.io/v1alpha1/namespaces/legacy/cassandraclusters/cass",
            "uid": "0a4b6bc4-1f2e-11e8-9d3f-42010a840002",
            "creationTimestamp": "2018-03-03T10:00:00Z",
            "labels": {"app": "legacy"}
        },
        "spec": {
            "version": "3.11.1",
            "nodePools": [{
                "name": "np-region-1-zone-a", "replicas": 3,
                "datacenter": "region-1", "rack": "zone-a",
                "persistence": {"enabled": true, "size": "5Gi", "storageClass": "default"},
                "nodeSelector": {},
                "resources": {"requests": {"cpu": "500m", "memory": "2Gi"},
                              "limits": {"cpu": "500m", "memory": "2Gi"}}
            }],
            "image": {"repository": "cassandra", "tag": "3.11.1", "pullPolicy": "IfNotPresent"},
            "pilotImage": {"repository": "quay.io/jetstack/navigator-pilot-cassandra",
                           "tag": "v0.1.0", "pullPolicy": "IfNotPresent"}
        },
        "status": {"nodePools": {"np-region-1-zone-a": {"readyReplicas": 3}}}
    })
}

/// An ElasticsearchCluster as the Go server encoded it.
fn go_elasticsearch() -> Value {
    json!({
        "kind": "ElasticsearchCluster",
        "apiVersion": "navigator.jetstack.io/v1alpha1",
        "metadata": {
            "name": "es", "namespace": NS,
            "selfLink": "/apis/navigator.jetstack.io/v1alpha1/namespaces/legacy/elasticsearchclusters/es",
            "uid": "1b5c7cd5-1f2e-11e8-9d3f-42010a840002",
            "creationTimestamp": "2018-03-03T10:01:00Z"
        },
        "spec": {
            "minimumMasters": 2,
            "version": "6.2.4",
            "securityContext": {"runAsUser": 1000},
            "pilotImage": {"repository": "quay.io/jetstack/navigator-pilot-elasticsearch",
                           "tag": "v0.1.0", "pullPolicy": "IfNotPresent"},
            "nodePools": [{
                "name": "mixed", "replicas": 3, "roles": ["master", "ingest", "data"],
                "resources": {"requests": {"cpu": "500m", "memory": "2Gi"},
                              "limits": {"cpu": "500m", "memory": "2Gi"}},
                "persistence": {"enabled": true, "size": "10Gi"}
            }]
        },
        "status": {"nodePools": {"mixed": {"readyReplicas": 3}}, "health": "Green"}
    })
}

/// A Pilot as the Go server encoded it (v1alpha1 has an empty spec).
fn go_pilot() -> Value {
    json!({
        "kind": "Pilot",
        "apiVersion": "navigator.jetstack.io/v1alpha1",
        "metadata": {
            "name": "cass-cass-np-region-1-zone-a-0", "namespace": NS,
            "selfLink": "/apis/navigator.jetstack.io/v1alpha1/namespaces/legacy/pilots/cass-cass-np-region-1-zone-a-0",
            "uid": "2c6d8de6-1f2e-11e8-9d3f-42010a840002",
            "creationTimestamp": "2018-03-03T10:02:00Z",
            "labels": {"navigator.jetstack.io/cassandra-cluster-name": "cass"}
        },
        "spec": {},
        "status": {
            "conditions": [{"type": "Ready", "status": "True",
                            "lastTransitionTime": "2018-03-03T10:05:00Z",
                            "reason": "", "message": ""}],
            "cassandra": {"version": "3.11.1"}
        }
    })
}

/// One call to etcd's v3 JSON gateway (`POST /v3/<path>`), over plain HTTP/1.0.
fn gateway(etcd: &Etcd, path: &str, body: &Value) -> Value {
    let body = body.to_string();
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", etcd.client_port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        conn,
        "POST /v3/{path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let (head, json) = answer.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// Writes `object` under its Go key; returns the key and etcd's revision of the write.
fn put_as_go(etcd: &Etcd, resource: &str, object: &Value) -> (String, u64) {
    let name = object["metadata"]["name"].as_str().unwrap();
    let key = format!("{GO_PREFIX}/{resource}/{NS}/{name}");
    let put = gateway(
        etcd,
        "kv/put",
        &json!({"key": STANDARD.encode(&key), "value": STANDARD.encode(object.to_string())}),
    );
    let revision = put["header"]["revision"].as_str().unwrap().parse().unwrap();
    (key, revision)
}

/// The raw value and mod revision of `key`, read from etcd.
fn get_raw(etcd: &Etcd, key: &str) -> (Value, u64) {
    let range = gateway(etcd, "kv/range", &json!({"key": STANDARD.encode(key)}));
    let kv = &range["kvs"][0];
    let value = STANDARD.decode(kv["value"].as_str().unwrap()).unwrap();
    (
        serde_json::from_slice(&value).unwrap(),
        kv["mod_revision"].as_str().unwrap().parse().unwrap(),
    )
}

#[test]
fn objects_a_go_navigator_stored_are_served_watched_and_updated() {
    let etcd = Etcd::start();
    let stored = [
        ("cassandraclusters", go_cassandra()),
        ("elasticsearchclusters", go_elasticsearch()),
        ("pilots", go_pilot()),
    ];
    let written: Vec<(String, u64)> = stored
        .iter()
        .map(|(resource, object)| put_as_go(&etcd, resource, object))
        .collect();
    let server = Server::start_on_etcd(etcd, &["--etcd-prefix", GO_PREFIX]);

    // get in v1alpha1: the stored spec and status come back as written, resourceVersion is the
    // revision etcd gave the put.
    for ((resource, original), (_, revision)) in stored.iter().zip(&written) {
        let name = original["metadata"]["name"].as_str().unwrap();
        let got = server.kubectl_json(&[
            "get",
            &format!("{resource}.v1alpha1.navigator.jetstack.io"),
            name,
            "-n",
            NS,
        ]);
        assert_eq!(got["apiVersion"], "navigator.jetstack.io/v1alpha1");
        assert_eq!(got["metadata"]["uid"], original["metadata"]["uid"]);
        assert_eq!(
            got["metadata"]["creationTimestamp"],
            original["metadata"]["creationTimestamp"]
        );
        assert_eq!(got["metadata"]["resourceVersion"], revision.to_string());
        assert_eq!(got["status"], original["status"], "{resource}");
        if *resource == "cassandraclusters" {
            let pool = &got["spec"]["nodePools"][0];
            assert_eq!(pool["replicas"], 3);
            assert_eq!(pool["rack"], "zone-a");
            assert_eq!(pool["persistence"]["size"], "5Gi");
        }
    }

    // get in v1beta1 (the preferred version): converted.
    let cass = server.kubectl_json(&["get", "cassandraclusters", "cass", "-n", NS]);
    assert_eq!(cass["apiVersion"], "navigator.jetstack.io/v1beta1");
    assert_eq!(cass["spec"]["nodePools"][0]["replicas"], 3);
    assert_eq!(cass["spec"]["nodePools"][0]["datacenter"], "region-1");
    let es = server.kubectl_json(&["get", "elasticsearchclusters", "es", "-n", NS]);
    assert_eq!(es["apiVersion"], "navigator.jetstack.io/v1beta1");
    assert_eq!(es["spec"]["nodePools"][0]["replicas"], 3);
    assert_eq!(es["status"]["health"], "Green");

    // list across namespaces, both versions, and the table kubectl prints.
    for version in ["v1alpha1", "v1beta1"] {
        for (resource, original) in &stored {
            let list = server.kubectl_json(&[
                "get",
                &format!("{resource}.{version}.navigator.jetstack.io"),
                "-A",
            ]);
            let names: Vec<&str> = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["metadata"]["name"].as_str().unwrap())
                .collect();
            assert_eq!(names, [original["metadata"]["name"].as_str().unwrap()]);
        }
    }
    let table = server.kubectl_ok(&["get", "pilots", "-n", NS]);
    assert!(
        table.stdout.contains("cass-cass-np-region-1-zone-a-0"),
        "{}",
        table.stdout
    );

    // watch (from the list's resourceVersion) sees an update made through kubectl.
    let mut watch = server
        .kubectl_command(&[
            "get",
            "cassandraclusters.v1alpha1.navigator.jetstack.io",
            "-n",
            NS,
            "--watch-only",
            "--output-watch-events",
            "-o",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut watch_out = watch.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = watch_out.read_to_string(&mut s);
        s
    });
    // kubectl's watch is established once it has listed; wait until a label change shows up.
    std::thread::sleep(Duration::from_secs(2));
    server.kubectl_ok(&[
        "label",
        "cassandraclusters",
        "cass",
        "-n",
        NS,
        "migrated=yes",
    ]);
    let updated = server.kubectl_json(&["get", "cassandraclusters", "cass", "-n", NS]);
    assert_eq!(updated["metadata"]["labels"]["migrated"], "yes");
    std::thread::sleep(Duration::from_secs(2));
    let _ = watch.kill();
    let _ = watch.wait();
    let events = reader.join().unwrap();
    let seen: Vec<Value> = serde_json::Deserializer::from_str(&events)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect();
    assert!(
        seen.iter().any(|e| e["type"] == "MODIFIED"
            && e["object"]["apiVersion"] == "navigator.jetstack.io/v1alpha1"
            && e["object"]["metadata"]["labels"]["migrated"] == "yes"),
        "the watch did not see the update: {events}"
    );

    // update through kubectl in v1alpha1 (a replace of the whole object) and in v1beta1 (a
    // strategic merge patch, pools merged by name).
    let mut pilot = server.kubectl_json(&[
        "get",
        "pilots.v1alpha1.navigator.jetstack.io",
        "cass-cass-np-region-1-zone-a-0",
        "-n",
        NS,
    ]);
    pilot["metadata"]["annotations"] = json!({"note": "replaced"});
    let file = server.write_file("pilot.json", &pilot.to_string());
    server.kubectl_ok(&["replace", "-f", file.to_str().unwrap()]);
    server.kubectl_ok(&[
        "patch",
        "elasticsearchclusters",
        "es",
        "-n",
        NS,
        "-p",
        r#"{"spec":{"minimumMasters":3,"nodePools":[{"name":"mixed","replicas":5}]}}"#,
    ]);

    // Written back in place: the Go keys, now in the storage version, resourceVersion = the
    // key's etcd mod revision; the stored identity is kept.
    let etcd = server.etcd().unwrap();
    for (resource, name) in [
        ("cassandraclusters", "cass"),
        ("elasticsearchclusters", "es"),
        ("pilots", "cass-cass-np-region-1-zone-a-0"),
    ] {
        let key = format!("{GO_PREFIX}/{resource}/{NS}/{name}");
        let (raw, mod_revision) = get_raw(etcd, &key);
        assert_eq!(raw["apiVersion"], "navigator.jetstack.io/v1beta1", "{key}");
        assert!(raw["metadata"].get("resourceVersion").is_none(), "{raw}");
        let served = server.kubectl_json(&["get", resource, name, "-n", NS]);
        assert_eq!(
            served["metadata"]["resourceVersion"],
            mod_revision.to_string()
        );
        assert_eq!(served["metadata"]["uid"], raw["metadata"]["uid"]);
    }
    let es = server.kubectl_json(&[
        "get",
        "elasticsearchclusters.v1alpha1.navigator.jetstack.io",
        "es",
        "-n",
        NS,
    ]);
    assert_eq!(es["spec"]["nodePools"][0]["replicas"], 5);
    let pilot = server.kubectl_json(&["get", "pilots", "cass-cass-np-region-1-zone-a-0", "-n", NS]);
    assert_eq!(pilot["metadata"]["annotations"]["note"], "replaced");
    assert_eq!(pilot["status"]["cassandra"]["version"], "3.11.1");

    wait_until(Duration::from_secs(10), "server log names etcd", || {
        std::fs::read_to_string(server.log_path())
            .ok()
            .filter(|l| l.contains("storing in etcd"))
    });
}
