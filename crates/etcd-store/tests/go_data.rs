//! Objects the Go Navigator stored in etcd read back through `EtcdStore`.
//!
//! The Go server (k8s.io/apiserver 1.9 generic registry) stored each object as the v1alpha1
//! JSON of the legacy codec under `<etcd-prefix>/navigator.jetstack.io/<resource>/<ns>/<name>`
//! — the reference (`original-navigator.md` §2.2) quotes: "Objects are encoded with the
//! v1alpha1 legacy codec (JSON). The etcd key is
//! `<etcd-prefix>/navigator.jetstack.io/<resource>/<namespace>/<name>`, because the 1.9 REST
//! options factory uses `<group>/<resource>` as the resource prefix", with
//! `--etcd-prefix` defaulting to `/registry/navigator.jetstack.io`. So the group appears twice:
//! `/registry/navigator.jetstack.io/navigator.jetstack.io/cassandraclusters/ns1/demo`, and a
//! registry reading Go's data uses the storage prefix
//! `/registry/navigator.jetstack.io/navigator.jetstack.io`. The stored JSON has no
//! `resourceVersion` (Go clears it before writing; it is the etcd revision).
#![allow(clippy::unwrap_used)]

use apimachinery::store::{ListRequest, Storage, list_prefix, object_key};
use etcd_store::testing::{EtcdServer, EtcdServerOptions};
use navigator_api::scheme::{self, ApiVersion, HubObject, Kind};
use std::time::Duration;

/// The storage prefix under which Go's registry kept navigator objects.
const GO_PREFIX: &str = "/registry/navigator.jetstack.io/navigator.jetstack.io";

/// A CassandraCluster as Go's `json.Marshal` of the v1alpha1 type wrote it (field order of the
/// Go structs, `kind`/`apiVersion` first, no `resourceVersion`).
fn go_cassandra_cluster(ns: &str, name: &str) -> Vec<u8> {
    format!(
        concat!(
            r#"{{"kind":"CassandraCluster","apiVersion":"navigator.jetstack.io/v1alpha1","#,
            r#""metadata":{{"name":"{name}","namespace":"{ns}","#,
            r#""selfLink":"/apis/navigator.jetstack.io/v1alpha1/namespaces/{ns}/cassandraclusters/{name}","#,
            r#""uid":"3f1c1e52-1d6f-11e8-9c2b-42010a840017","generation":0,"#,
            r#""creationTimestamp":"2018-03-01T10:00:00Z"}},"#,
            r#""spec":{{"pilotImage":{{"repository":"quay.io/jetstack/navigator-pilot-cassandra","tag":"v0.1.0","pullPolicy":"IfNotPresent"}},"#,
            r#""nodePools":[{{"name":"region-1-zone-a","replicas":3,"#,
            r#""persistence":{{"enabled":true,"size":"5Gi","storageClass":"default"}},"#,
            r#""nodeSelector":{{}},"rack":"zone-a","datacenter":"region-1","#,
            r#""resources":{{"limits":{{"cpu":"1","memory":"3Gi"}},"requests":{{"cpu":"500m","memory":"2Gi"}}}}}}],"#,
            r#""version":"3.11.1","#,
            r#""image":{{"repository":"cassandra","tag":"3","pullPolicy":"IfNotPresent"}}}},"#,
            r#""status":{{"nodePools":{{"region-1-zone-a":{{"readyReplicas":3}}}}}}}}"#,
            "\n"
        ),
        ns = ns,
        name = name
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_written_by_go_navigator_read_back() {
    let etcd = EtcdServer::start_with(EtcdServerOptions {
        tls: false,
        unsafe_no_fsync: true,
    })
    .await
    .unwrap();
    let store = etcd.store().await.unwrap();
    let prefix = list_prefix(GO_PREFIX, "cassandraclusters", Some("ns1"));
    let mut watch = store.watch(&prefix, 1).await.unwrap();

    // Written as the Go server would: a plain etcd put of the JSON bytes.
    let mut raw = store.client().clone();
    let mut revisions = Vec::new();
    for name in ["demo", "demo2"] {
        let key = object_key(GO_PREFIX, "cassandraclusters", Some("ns1"), name);
        assert_eq!(
            key,
            format!(
                "/registry/navigator.jetstack.io/navigator.jetstack.io/cassandraclusters/ns1/{name}"
            )
        );
        let resp = raw
            .put(key, go_cassandra_cluster("ns1", name), None)
            .await
            .unwrap();
        revisions.push(u64::try_from(resp.header().unwrap().revision()).unwrap());
    }

    let key = object_key(GO_PREFIX, "cassandraclusters", Some("ns1"), "demo");
    let got = store.get(&key, None).await.unwrap().unwrap();
    assert_eq!(
        got.value,
        go_cassandra_cluster("ns1", "demo"),
        "bytes unchanged"
    );
    assert_eq!(
        got.mod_revision, revisions[0],
        "resourceVersion = etcd revision"
    );

    let page = store
        .list(ListRequest {
            prefix: prefix.clone(),
            ..ListRequest::default()
        })
        .await
        .unwrap();
    let names: Vec<&str> = page.items.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        names,
        [
            "/registry/navigator.jetstack.io/navigator.jetstack.io/cassandraclusters/ns1/demo",
            "/registry/navigator.jetstack.io/navigator.jetstack.io/cassandraclusters/ns1/demo2"
        ]
    );

    for rev in &revisions {
        let ev = tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!((ev.revision, ev.watch_type()), (*rev, "ADDED"));
    }

    // And the bytes decode as the v1alpha1 object they are.
    let value: serde_json::Value = serde_json::from_slice(&got.value).unwrap();
    let HubObject::CassandraCluster(cluster) =
        scheme::decode(ApiVersion::V1alpha1, Kind::CassandraCluster, value).unwrap()
    else {
        panic!("a CassandraCluster")
    };
    let encoded =
        scheme::encode(HubObject::CassandraCluster(cluster), ApiVersion::V1alpha1).unwrap();
    assert_eq!(encoded["metadata"]["name"], "demo");
    assert_eq!(encoded["spec"]["version"], "3.11.1");
    assert_eq!(encoded["spec"]["nodePools"][0]["replicas"], 3);
    assert_eq!(encoded["spec"]["nodePools"][0]["datacenter"], "region-1");
    assert_eq!(
        encoded["status"]["nodePools"]["region-1-zone-a"]["readyReplicas"],
        3
    );
}
