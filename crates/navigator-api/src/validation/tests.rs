//! Table-driven tests: every validation rule, each case asserting the exact field paths and
//! reasons of every error it produces (and nothing else).

use serde_json::{Value, json};

use super::*;
use crate::field::ErrorType::{self, *};
use crate::scheme::{ApiVersion, HubObject, Kind, decode};

fn cassandra() -> Value {
    json!({
        "metadata": {"name": "demo", "namespace": "db"},
        "spec": {
            "version": "5.0.2",
            "pilotImage": {"repository": "navigator/pilot-cassandra", "tag": "v1"},
            "nodePools": [{"name": "a", "replicas": 3, "persistence": {"size": "5Gi"}}]
        }
    })
}

fn elasticsearch() -> Value {
    json!({
        "metadata": {"name": "logs", "namespace": "db"},
        "spec": {
            "version": "8.15.0",
            "pilotImage": {"repository": "navigator/pilot-elasticsearch", "tag": "v1"},
            "nodePools": [
                {"name": "master", "replicas": 3, "roles": ["master"]},
                {"name": "data", "replicas": 2, "roles": ["data", "ingest"], "persistence": {"size": "10Gi"}}
            ]
        }
    })
}

fn pilot() -> Value {
    json!({
        "metadata": {"name": "cass-demo-a-0", "namespace": "db"},
        "spec": {"cluster": {"kind": "CassandraCluster", "name": "demo"}, "nodePool": "a"}
    })
}

fn base(kind: Kind) -> Value {
    match kind {
        Kind::CassandraCluster => cassandra(),
        Kind::ElasticsearchCluster => elasticsearch(),
        Kind::Pilot => pilot(),
    }
}

fn hub(kind: Kind, value: Value) -> HubObject {
    decode(ApiVersion::V1beta1, kind, value).unwrap()
}

fn found(errs: &[crate::field::FieldError]) -> Vec<(String, ErrorType)> {
    errs.iter()
        .map(|e| (e.field.clone(), e.error_type()))
        .collect()
}

fn expected(list: &[(&str, ErrorType)]) -> Vec<(String, ErrorType)> {
    list.iter().map(|(p, k)| ((*p).to_owned(), *k)).collect()
}

type Edit = fn(&mut Value);

/// A create case: `edit` the valid base object of `kind`; expect exactly these errors.
struct Create {
    name: &'static str,
    kind: Kind,
    edit: Edit,
    errors: &'static [(&'static str, ErrorType)],
}

#[test]
fn the_base_objects_are_valid() {
    for kind in Kind::ALL {
        assert_eq!(
            found(&validate_create(&hub(kind, base(kind)))),
            vec![],
            "{kind}"
        );
    }
}

#[test]
fn create_rules() {
    use Kind::{CassandraCluster as C, ElasticsearchCluster as E, Pilot as P};
    let cases: &[Create] = &[
        // ---- metadata ----
        Create {
            name: "name missing",
            kind: C,
            edit: |v| {
                v["metadata"]["name"].take();
            },
            errors: &[("metadata.name", Required)],
        },
        Create {
            name: "name not a DNS subdomain",
            kind: E,
            edit: |v| v["metadata"]["name"] = json!("Logs_1"),
            errors: &[("metadata.name", Invalid)],
        },
        Create {
            name: "namespace missing",
            kind: P,
            edit: |v| {
                v["metadata"]["namespace"].take();
            },
            errors: &[("metadata.namespace", Required)],
        },
        Create {
            name: "namespace not a DNS label",
            kind: C,
            edit: |v| v["metadata"]["namespace"] = json!("a.b"),
            errors: &[("metadata.namespace", Invalid)],
        },
        Create {
            name: "label key invalid",
            kind: C,
            edit: |v| v["metadata"]["labels"] = json!({"-bad": "x"}),
            errors: &[("metadata.labels", Invalid)],
        },
        Create {
            // Go's ValidateLabels reports values at the map's path, not the key's.
            name: "label value invalid",
            kind: C,
            edit: |v| v["metadata"]["labels"] = json!({"app": "a b"}),
            errors: &[("metadata.labels", Invalid)],
        },
        Create {
            name: "annotation key invalid",
            kind: P,
            edit: |v| v["metadata"]["annotations"] = json!({"a/b/c": "x"}),
            errors: &[("metadata.annotations", Invalid)],
        },
        Create {
            name: "annotations too large",
            kind: P,
            edit: |v| v["metadata"]["annotations"] = json!({"big": "x".repeat(256 * 1024)}),
            errors: &[("metadata.annotations", TooLong)],
        },
        // Go's ValidateObjectMetaAccessor checks these too; navigator-api's own copy did not.
        Create {
            name: "generateName not a DNS subdomain",
            kind: C,
            edit: |v| v["metadata"]["generateName"] = json!("Demo_-"),
            errors: &[("metadata.generateName", Invalid)],
        },
        Create {
            name: "generation negative",
            kind: E,
            edit: |v| v["metadata"]["generation"] = json!(-1),
            errors: &[("metadata.generation", Invalid)],
        },
        Create {
            name: "owner reference incomplete",
            kind: P,
            edit: |v| {
                v["metadata"]["ownerReferences"] =
                    json!([{"apiVersion": "a/b/c", "kind": "K", "name": "n", "uid": ""}]);
            },
            errors: &[
                ("metadata.ownerReferences[0].apiVersion", Invalid),
                ("metadata.ownerReferences[0].uid", Required),
            ],
        },
        Create {
            name: "finalizers orphan and foreground together",
            kind: C,
            edit: |v| v["metadata"]["finalizers"] = json!(["orphan", "foregroundDeletion"]),
            errors: &[("metadata.finalizers", Invalid)],
        },
        // ---- images and security context ----
        Create {
            name: "pilot image repository missing",
            kind: C,
            edit: |v| v["spec"]["pilotImage"]["repository"] = json!(""),
            errors: &[("spec.pilotImage.repository", Required)],
        },
        Create {
            name: "pilot image tag missing",
            kind: E,
            edit: |v| {
                v["spec"]["pilotImage"]["tag"].take();
            },
            errors: &[("spec.pilotImage.tag", Required)],
        },
        Create {
            name: "pilot image missing",
            kind: E,
            edit: |v| {
                v["spec"]["pilotImage"].take();
            },
            errors: &[
                ("spec.pilotImage.repository", Required),
                ("spec.pilotImage.tag", Required),
            ],
        },
        Create {
            name: "pull policy unsupported",
            kind: C,
            edit: |v| v["spec"]["pilotImage"]["pullPolicy"] = json!("Sometimes"),
            errors: &[("spec.pilotImage.pullPolicy", NotSupported)],
        },
        Create {
            name: "database image incomplete",
            kind: C,
            edit: |v| {
                v["spec"]["image"] = json!({"repository": "cassandra", "pullPolicy": "Later"})
            },
            errors: &[
                ("spec.image.tag", Required),
                ("spec.image.pullPolicy", NotSupported),
            ],
        },
        Create {
            name: "runAsUser negative",
            kind: E,
            edit: |v| v["spec"]["securityContext"] = json!({"runAsUser": -1}),
            errors: &[("spec.securityContext.runAsUser", Invalid)],
        },
        // ---- disruption budget ----
        Create {
            name: "pdb both fields",
            kind: C,
            edit: |v| {
                v["spec"]["podDisruptionBudget"] = json!({"maxUnavailable": 1, "minAvailable": 1})
            },
            errors: &[("spec.podDisruptionBudget.minAvailable", Invalid)],
        },
        Create {
            name: "pdb negative",
            kind: E,
            edit: |v| v["spec"]["podDisruptionBudget"] = json!({"maxUnavailable": -1}),
            errors: &[("spec.podDisruptionBudget.maxUnavailable", Invalid)],
        },
        Create {
            name: "pdb percentage over 100",
            kind: E,
            edit: |v| v["spec"]["podDisruptionBudget"] = json!({"minAvailable": "150%"}),
            errors: &[("spec.podDisruptionBudget.minAvailable", Invalid)],
        },
        Create {
            name: "pdb not a percentage",
            kind: C,
            edit: |v| v["spec"]["podDisruptionBudget"] = json!({"maxUnavailable": "one"}),
            errors: &[("spec.podDisruptionBudget.maxUnavailable", Invalid)],
        },
        Create {
            name: "pdb percentage ok",
            kind: C,
            edit: |v| v["spec"]["podDisruptionBudget"] = json!({"maxUnavailable": "34%"}),
            errors: &[],
        },
        // ---- node pools, both kinds ----
        Create {
            name: "pool name missing",
            kind: C,
            edit: |v| v["spec"]["nodePools"][0]["name"] = json!(""),
            errors: &[("spec.nodePools[0].name", Required)],
        },
        Create {
            name: "pool name not a DNS label (C* pools were unchecked in the original)",
            kind: C,
            edit: |v| v["spec"]["nodePools"][0]["name"] = json!("Zone_A"),
            errors: &[("spec.nodePools[0].name", Invalid)],
        },
        Create {
            name: "pool name with a dot",
            kind: E,
            edit: |v| v["spec"]["nodePools"][1]["name"] = json!("data.hot"),
            errors: &[("spec.nodePools[1].name", Invalid)],
        },
        Create {
            name: "pool names duplicate",
            kind: E,
            edit: |v| v["spec"]["nodePools"][1]["name"] = json!("master"),
            errors: &[("spec.nodePools[1].name", Duplicate)],
        },
        Create {
            name: "statefulset name too long",
            kind: C,
            edit: |v| v["spec"]["nodePools"][0]["name"] = json!("a".repeat(45)),
            errors: &[("spec.nodePools[0].name", Invalid)],
        },
        Create {
            name: "replicas negative (accepted by the original for C*)",
            kind: C,
            edit: |v| v["spec"]["nodePools"][0]["replicas"] = json!(-1),
            errors: &[("spec.nodePools[0].replicas", Invalid)],
        },
        Create {
            name: "replicas zero allowed",
            kind: C,
            edit: |v| v["spec"]["nodePools"][0]["replicas"] = json!(0),
            errors: &[],
        },
        Create {
            name: "persistence size zero (unchecked for C* in the original)",
            kind: C,
            edit: |v| v["spec"]["nodePools"][0]["persistence"]["size"] = json!("0"),
            errors: &[("spec.nodePools[0].persistence.size", Required)],
        },
        Create {
            name: "persistence size negative",
            kind: E,
            edit: |v| v["spec"]["nodePools"][1]["persistence"]["size"] = json!("-10Gi"),
            errors: &[("spec.nodePools[1].persistence.size", Invalid)],
        },
        Create {
            name: "persistence size malformed",
            kind: C,
            edit: |v| v["spec"]["nodePools"][0]["persistence"]["size"] = json!("5GB"),
            errors: &[("spec.nodePools[0].persistence.size", Invalid)],
        },
        Create {
            name: "storage class invalid",
            kind: C,
            edit: |v| v["spec"]["nodePools"][0]["persistence"]["storageClass"] = json!("Fast SSD"),
            errors: &[("spec.nodePools[0].persistence.storageClass", Invalid)],
        },
        Create {
            name: "node selector key invalid",
            kind: E,
            edit: |v| v["spec"]["nodePools"][0]["nodeSelector"] = json!({"bad key": "x"}),
            errors: &[("spec.nodePools[0].nodeSelector", Invalid)],
        },
        Create {
            name: "node selector value invalid",
            kind: C,
            edit: |v| v["spec"]["nodePools"][0]["nodeSelector"] = json!({"zone": "-a"}),
            errors: &[("spec.nodePools[0].nodeSelector", Invalid)],
        },
        Create {
            name: "request above limit",
            kind: C,
            edit: |v| {
                v["spec"]["nodePools"][0]["resources"] =
                    json!({"requests": {"memory": "4Gi"}, "limits": {"memory": "3Gi"}})
            },
            errors: &[("spec.nodePools[0].resources.requests[memory]", Invalid)],
        },
        Create {
            name: "resource quantity malformed and negative",
            kind: E,
            edit: |v| {
                v["spec"]["nodePools"][0]["resources"] =
                    json!({"requests": {"cpu": "lots"}, "limits": {"memory": "-1"}})
            },
            errors: &[
                ("spec.nodePools[0].resources.limits[memory]", Invalid),
                ("spec.nodePools[0].resources.requests[cpu]", Invalid),
            ],
        },
        Create {
            name: "resources within limits",
            kind: C,
            edit: |v| v["spec"]["nodePools"][0]["resources"] = json!({"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "3Gi"}}),
            errors: &[],
        },
        Create {
            name: "scheduler name invalid",
            kind: E,
            edit: |v| v["spec"]["nodePools"][0]["schedulerName"] = json!("My Scheduler"),
            errors: &[("spec.nodePools[0].schedulerName", Invalid)],
        },
        // ---- Cassandra ----
        Create {
            name: "cassandra version missing",
            kind: C,
            edit: |v| {
                v["spec"]["version"].take();
            },
            errors: &[("spec.version", Required)],
        },
        Create {
            name: "cassandra 3.9 unsupported",
            kind: C,
            edit: |v| v["spec"]["version"] = json!("3.9"),
            errors: &[("spec.version", Forbidden)],
        },
        Create {
            name: "cassandra 2.2 unsupported",
            kind: C,
            edit: |v| v["spec"]["version"] = json!("2.2.19"),
            errors: &[("spec.version", Forbidden)],
        },
        Create {
            name: "cassandra 5.1 unsupported",
            kind: C,
            edit: |v| v["spec"]["version"] = json!("5.1"),
            errors: &[("spec.version", Forbidden)],
        },
        Create {
            name: "cassandra pre-release unsupported",
            kind: C,
            edit: |v| v["spec"]["version"] = json!("5.0-beta1"),
            errors: &[("spec.version", Forbidden)],
        },
        Create {
            name: "cassandra 3.11 supported",
            kind: C,
            edit: |v| v["spec"]["version"] = json!("3.11"),
            errors: &[],
        },
        Create {
            name: "cassandra 4.1.7 supported",
            kind: C,
            edit: |v| v["spec"]["version"] = json!("4.1.7"),
            errors: &[],
        },
        Create {
            name: "rack empty",
            kind: C,
            edit: |v| v["spec"]["nodePools"][0]["rack"] = json!(""),
            errors: &[("spec.nodePools[0].rack", Required)],
        },
        Create {
            name: "datacenter invalid",
            kind: C,
            edit: |v| v["spec"]["nodePools"][0]["datacenter"] = json!("dc 1"),
            errors: &[("spec.nodePools[0].datacenter", Invalid)],
        },
        // ---- Elasticsearch ----
        Create {
            name: "flavor unsupported",
            kind: E,
            edit: |v| v["spec"]["flavor"] = json!("solr"),
            errors: &[("spec.flavor", NotSupported)],
        },
        Create {
            name: "version missing",
            kind: E,
            edit: |v| {
                v["spec"]["version"].take();
            },
            errors: &[("spec.version", Required)],
        },
        Create {
            name: "version zero",
            kind: E,
            edit: |v| v["spec"]["version"] = json!("0.0.0"),
            errors: &[("spec.version", Required)],
        },
        Create {
            name: "elasticsearch 5 unsupported",
            kind: E,
            edit: |v| v["spec"]["version"] = json!("5.6.2"),
            errors: &[("spec.version", Forbidden)],
        },
        Create {
            name: "elasticsearch 9 unsupported",
            kind: E,
            edit: |v| v["spec"]["version"] = json!("9.0.0"),
            errors: &[("spec.version", Forbidden)],
        },
        Create {
            name: "elasticsearch pre-release unsupported",
            kind: E,
            edit: |v| v["spec"]["version"] = json!("8.0.0-rc1"),
            errors: &[("spec.version", Forbidden)],
        },
        Create {
            name: "elasticsearch 6.8 supported",
            kind: E,
            edit: |v| v["spec"]["version"] = json!("6.8.23"),
            errors: &[],
        },
        Create {
            name: "opensearch 2 supported",
            kind: E,
            edit: |v| {
                v["spec"]["flavor"] = json!("opensearch");
                v["spec"]["version"] = json!("2.19.1");
            },
            errors: &[],
        },
        Create {
            name: "opensearch 8 unsupported",
            kind: E,
            edit: |v| v["spec"]["flavor"] = json!("opensearch"),
            errors: &[("spec.version", Forbidden)],
        },
        Create {
            name: "plugin empty",
            kind: E,
            edit: |v| v["spec"]["plugins"] = json!(["analysis-icu", ""]),
            errors: &[("spec.plugins[1]", Required)],
        },
        Create {
            name: "plugin duplicate",
            kind: E,
            edit: |v| v["spec"]["plugins"] = json!(["analysis-icu", "analysis-icu"]),
            errors: &[("spec.plugins[1]", Duplicate)],
        },
        Create {
            name: "roles missing",
            kind: E,
            edit: |v| {
                v["spec"]["nodePools"][1]["roles"].take();
            },
            errors: &[("spec.nodePools[1].roles", Required)],
        },
        Create {
            name: "role unsupported",
            kind: E,
            edit: |v| v["spec"]["nodePools"][1]["roles"] = json!(["data", "ml"]),
            errors: &[("spec.nodePools[1].roles[1]", NotSupported)],
        },
        Create {
            name: "role duplicate",
            kind: E,
            edit: |v| v["spec"]["nodePools"][1]["roles"] = json!(["data", "data"]),
            errors: &[("spec.nodePools[1].roles[1]", Duplicate)],
        },
        Create {
            name: "no master",
            kind: E,
            edit: |v| v["spec"]["nodePools"][0]["replicas"] = json!(0),
            errors: &[("spec.nodePools", Invalid)],
        },
        Create {
            name: "minimumMasters zero",
            kind: E,
            edit: |v| v["spec"]["minimumMasters"] = json!(0),
            errors: &[("spec.minimumMasters", Invalid)],
        },
        Create {
            name: "minimumMasters below quorum",
            kind: E,
            edit: |v| v["spec"]["minimumMasters"] = json!(1),
            errors: &[("spec.minimumMasters", Invalid)],
        },
        Create {
            name: "minimumMasters above masters",
            kind: E,
            edit: |v| v["spec"]["minimumMasters"] = json!(4),
            errors: &[("spec.minimumMasters", Invalid)],
        },
        Create {
            name: "minimumMasters at quorum",
            kind: E,
            edit: |v| v["spec"]["minimumMasters"] = json!(2),
            errors: &[],
        },
        // ---- Pilot ----
        Create {
            name: "pilot cluster kind unsupported",
            kind: P,
            edit: |v| v["spec"]["cluster"]["kind"] = json!("Pod"),
            errors: &[("spec.cluster.kind", NotSupported)],
        },
        Create {
            name: "pilot cluster name missing",
            kind: P,
            edit: |v| v["spec"]["cluster"]["name"] = json!(""),
            errors: &[("spec.cluster.name", Required)],
        },
        Create {
            name: "pilot cluster name invalid",
            kind: P,
            edit: |v| v["spec"]["cluster"]["name"] = json!("Demo"),
            errors: &[("spec.cluster.name", Invalid)],
        },
        Create {
            name: "pilot node pool invalid",
            kind: P,
            edit: |v| v["spec"]["nodePool"] = json!("a.b"),
            errors: &[("spec.nodePool", Invalid)],
        },
        Create {
            name: "pilot requested state unsupported",
            kind: P,
            edit: |v| v["spec"]["requestedState"] = json!("Deleted"),
            errors: &[("spec.requestedState", NotSupported)],
        },
        Create {
            name: "pilot decommission request ok",
            kind: P,
            edit: |v| v["spec"]["requestedState"] = json!("Decommissioned"),
            errors: &[],
        },
        Create {
            name: "pilot as the original created it (empty spec)",
            kind: P,
            edit: |v| v["spec"] = json!({}),
            errors: &[],
        },
    ];
    for case in cases {
        let mut value = base(case.kind);
        (case.edit)(&mut value);
        let errs = validate_create(&hub(case.kind, value));
        assert_eq!(
            found(&errs),
            expected(case.errors),
            "{}: {errs:?}",
            case.name
        );
    }
}

#[test]
fn every_error_is_collected_at_once() {
    let mut v = elasticsearch();
    v["metadata"]["name"].take();
    v["spec"]["version"] = json!("5.6.2");
    v["spec"]["pilotImage"] = json!({});
    v["spec"]["nodePools"][1]["roles"] = json!(["ml"]);
    v["spec"]["nodePools"][1]["replicas"] = json!(-2);
    let errs = validate_create(&hub(Kind::ElasticsearchCluster, v));
    assert_eq!(
        found(&errs),
        expected(&[
            ("metadata.name", Required),
            ("spec.pilotImage.repository", Required),
            ("spec.pilotImage.tag", Required),
            ("spec.version", Forbidden),
            ("spec.nodePools[1].replicas", Invalid),
            ("spec.nodePools[1].roles[0]", NotSupported),
        ])
    );
}

#[test]
fn messages_tell_the_user_what_to_do() {
    let mut v = cassandra();
    v["spec"]["version"] = json!("3.9");
    let errs = validate_create(&hub(Kind::CassandraCluster, v));
    assert_eq!(
        errs[0].to_string(),
        "spec.version: Forbidden: 3.9 is not supported. Supported versions are: >= 3.11, < 5.1, without a pre-release suffix"
    );
    let mut v = elasticsearch();
    v["spec"]["minimumMasters"] = json!(1);
    let errs = validate_create(&hub(Kind::ElasticsearchCluster, v));
    assert_eq!(
        errs[0].to_string(),
        "spec.minimumMasters: Invalid value: 1: must be a minimum of 2 to avoid a split brain scenario"
    );
    let mut v = elasticsearch();
    v["spec"]["nodePools"][0]["roles"] = json!(["boss"]);
    let errs = validate_create(&hub(Kind::ElasticsearchCluster, v));
    assert_eq!(
        errs[0].to_cause().message,
        "Unsupported value: \"boss\": supported values: \"data\", \"ingest\", \"master\""
    );
}

#[test]
fn an_empty_pull_policy_is_required() {
    // Defaulting fills it on decode, so only a hub built by code can lack it.
    let HubObject::CassandraCluster(mut c) = hub(Kind::CassandraCluster, cassandra()) else {
        unreachable!()
    };
    c.spec.config.pilot_image.pull_policy.clear();
    assert_eq!(
        found(&validate_cassandra_cluster(&c)),
        expected(&[("spec.pilotImage.pullPolicy", Required)])
    );
}

/// An update case: `old` and `new` are edits of the valid base object of `kind`.
struct Update {
    name: &'static str,
    kind: Kind,
    old: Edit,
    new: Edit,
    errors: &'static [(&'static str, ErrorType)],
}

fn same(_: &mut Value) {}

#[test]
fn update_rules() {
    use Kind::{CassandraCluster as C, ElasticsearchCluster as E, Pilot as P};
    let cases: &[Update] = &[
        Update {
            name: "scale a pool",
            kind: C,
            old: same,
            new: |v| v["spec"]["nodePools"][0]["replicas"] = json!(5),
            errors: &[],
        },
        Update {
            name: "add a pool",
            kind: C,
            old: same,
            new: |v| {
                v["spec"]["nodePools"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "b"}))
            },
            errors: &[],
        },
        Update {
            name: "remove a pool with nodes",
            kind: C,
            old: same,
            new: |v| v["spec"]["nodePools"] = json!([]),
            errors: &[("spec.nodePools", Forbidden)],
        },
        Update {
            name: "remove a pool scaled to zero",
            kind: E,
            old: |v| v["spec"]["nodePools"][1]["replicas"] = json!(0),
            new: |v| {
                v["spec"]["nodePools"].as_array_mut().unwrap().pop();
            },
            errors: &[],
        },
        Update {
            name: "change rack",
            kind: C,
            old: same,
            new: |v| v["spec"]["nodePools"][0]["rack"] = json!("r2"),
            errors: &[("spec.nodePools[0].rack", Forbidden)],
        },
        Update {
            name: "change datacenter",
            kind: C,
            old: same,
            new: |v| v["spec"]["nodePools"][0]["datacenter"] = json!("dc2"),
            errors: &[("spec.nodePools[0].datacenter", Forbidden)],
        },
        Update {
            name: "change node selector",
            kind: C,
            old: same,
            new: |v| v["spec"]["nodePools"][0]["nodeSelector"] = json!({"zone": "b"}),
            errors: &[("spec.nodePools[0].nodeSelector", Forbidden)],
        },
        Update {
            name: "change resources",
            kind: E,
            old: same,
            new: |v| v["spec"]["nodePools"][0]["resources"] = json!({"limits": {"cpu": "2"}}),
            errors: &[("spec.nodePools[0].resources", Forbidden)],
        },
        Update {
            name: "change scheduler",
            kind: E,
            old: same,
            new: |v| v["spec"]["nodePools"][1]["schedulerName"] = json!("other"),
            errors: &[("spec.nodePools[1].schedulerName", Forbidden)],
        },
        Update {
            name: "change roles",
            kind: E,
            old: same,
            new: |v| v["spec"]["nodePools"][1]["roles"] = json!(["data"]),
            errors: &[("spec.nodePools[1].roles", Forbidden)],
        },
        Update {
            name: "resize persistence",
            kind: C,
            old: same,
            new: |v| v["spec"]["nodePools"][0]["persistence"]["size"] = json!("10Gi"),
            errors: &[("spec.nodePools[0].persistence", Forbidden)],
        },
        Update {
            name: "disable persistence",
            kind: E,
            old: same,
            new: |v| {
                v["spec"]["nodePools"][1]["persistence"].take();
            },
            errors: &[("spec.nodePools[1].persistence", Forbidden)],
        },
        Update {
            name: "enable persistence",
            kind: E,
            old: same,
            new: |v| v["spec"]["nodePools"][0]["persistence"] = json!({"size": "1Gi"}),
            errors: &[],
        },
        Update {
            name: "cassandra upgrade one major",
            kind: C,
            old: |v| v["spec"]["version"] = json!("4.1.7"),
            new: same,
            errors: &[],
        },
        Update {
            name: "cassandra upgrade 3.11 to 4.0",
            kind: C,
            old: |v| v["spec"]["version"] = json!("3.11.17"),
            new: |v| v["spec"]["version"] = json!("4.0"),
            errors: &[],
        },
        Update {
            name: "cassandra upgrade skipping a major",
            kind: C,
            old: |v| v["spec"]["version"] = json!("3.11.17"),
            new: same,
            errors: &[("spec.version", Forbidden)],
        },
        Update {
            name: "cassandra patch downgrade",
            kind: C,
            old: |v| v["spec"]["version"] = json!("5.0.3"),
            new: same,
            errors: &[],
        },
        Update {
            name: "cassandra minor downgrade",
            kind: C,
            old: |v| v["spec"]["version"] = json!("4.1"),
            new: |v| v["spec"]["version"] = json!("4.0.13"),
            errors: &[("spec.version", Forbidden)],
        },
        Update {
            name: "same version written differently",
            kind: C,
            old: |v| v["spec"]["version"] = json!("5.0"),
            new: |v| v["spec"]["version"] = json!("5.0.0"),
            errors: &[],
        },
        Update {
            name: "elasticsearch upgrade",
            kind: E,
            old: |v| v["spec"]["version"] = json!("7.17.0"),
            new: same,
            errors: &[],
        },
        Update {
            name: "elasticsearch downgrade",
            kind: E,
            old: |v| v["spec"]["version"] = json!("8.15.1"),
            new: same,
            errors: &[("spec.version", Forbidden)],
        },
        Update {
            name: "elasticsearch upgrade skipping a major",
            kind: E,
            old: |v| v["spec"]["version"] = json!("6.8.23"),
            new: same,
            errors: &[("spec.version", Forbidden)],
        },
        Update {
            name: "change flavor",
            kind: E,
            old: same,
            new: |v| {
                v["spec"]["flavor"] = json!("opensearch");
                v["spec"]["version"] = json!("2.19.1");
            },
            errors: &[("spec.flavor", Forbidden), ("spec.version", Forbidden)],
        },
        Update {
            name: "new object is validated in full",
            kind: E,
            old: same,
            new: |v| v["spec"]["nodePools"][0]["replicas"] = json!(-1),
            errors: &[
                ("spec.nodePools[0].replicas", Invalid),
                ("spec.nodePools", Invalid),
            ],
        },
        Update {
            name: "pilot requested state changes",
            kind: P,
            old: same,
            new: |v| v["spec"]["requestedState"] = json!("Decommissioned"),
            errors: &[],
        },
        Update {
            name: "pilot cluster immutable",
            kind: P,
            old: same,
            new: |v| v["spec"]["cluster"]["name"] = json!("other"),
            errors: &[("spec.cluster", Forbidden)],
        },
        Update {
            name: "pilot node pool immutable",
            kind: P,
            old: same,
            new: |v| v["spec"]["nodePool"] = json!("b"),
            errors: &[("spec.nodePool", Forbidden)],
        },
        Update {
            name: "labels, annotations and owner references are the registry's (checked once there)",
            kind: C,
            old: same,
            new: |v| {
                v["metadata"]["labels"] = json!({"-bad": "x"});
                v["metadata"]["annotations"] = json!({"a/b/c": "x"});
                v["metadata"]["ownerReferences"] =
                    json!([{"apiVersion": "", "kind": "K", "name": "n", "uid": ""}]);
            },
            errors: &[],
        },
        Update {
            name: "finalizer names are checked on update",
            kind: E,
            old: same,
            new: |v| v["metadata"]["finalizers"] = json!(["a/b/c", "example.com/ok"]),
            errors: &[("metadata.finalizers", Invalid)],
        },
        Update {
            name: "generateName on update: a path-segment prefix",
            kind: P,
            old: same,
            new: |v| v["metadata"]["generateName"] = json!("a/b%-"),
            errors: &[
                ("metadata.generateName", Invalid),
                ("metadata.generateName", Invalid),
            ],
        },
        Update {
            name: "generateName on update need not be a DNS subdomain (as Go)",
            kind: P,
            old: same,
            new: |v| v["metadata"]["generateName"] = json!("Demo_-"),
            errors: &[],
        },
        Update {
            name: "pilot cluster may be set once",
            kind: P,
            old: |v| v["spec"] = json!({}),
            new: same,
            errors: &[],
        },
    ];
    for case in cases {
        let (mut old, mut new) = (base(case.kind), base(case.kind));
        (case.old)(&mut old);
        (case.new)(&mut new);
        let errs = validate_update(&hub(case.kind, new), &hub(case.kind, old));
        assert_eq!(
            found(&errs),
            expected(case.errors),
            "{}: {errs:?}",
            case.name
        );
    }
}

/// What a server reports for an update: the registry's `ValidateObjectMetaAccessorUpdate` (as
/// `apimachinery::registry` runs it) followed by the kind's update validation.
fn update_causes(kind: Kind, new: Value, old: Value) -> Vec<crate::field::FieldError> {
    let (new, old) = (hub(kind, new), hub(kind, old));
    let mut errs =
        apimachinery_core::object_meta::validate_object_meta_update(new.metadata(), old.metadata());
    errs.extend(validate_update(&new, &old));
    errs
}

#[test]
fn an_update_with_one_bad_label_has_exactly_one_cause() {
    for kind in [
        Kind::CassandraCluster,
        Kind::ElasticsearchCluster,
        Kind::Pilot,
    ] {
        let mut old = base(kind);
        old["metadata"]["resourceVersion"] = json!("7");
        let mut new = old.clone();
        new["metadata"]["labels"] = json!({"app": "a b"});
        let errs = update_causes(kind, new, old);
        assert_eq!(
            found(&errs),
            expected(&[("metadata.labels", Invalid)]),
            "{kind:?}: {errs:?}"
        );
    }
}

#[test]
fn an_update_with_one_bad_finalizer_has_exactly_one_cause() {
    for kind in [
        Kind::CassandraCluster,
        Kind::ElasticsearchCluster,
        Kind::Pilot,
    ] {
        let mut old = base(kind);
        old["metadata"]["resourceVersion"] = json!("7");
        let mut new = old.clone();
        new["metadata"]["finalizers"] = json!(["-bad"]);
        let errs = update_causes(kind, new, old);
        assert_eq!(
            found(&errs),
            expected(&[("metadata.finalizers", Invalid)]),
            "{kind:?}: {errs:?}"
        );
    }
}

#[test]
fn an_update_cannot_change_kind() {
    let errs = validate_update(
        &hub(Kind::Pilot, pilot()),
        &hub(Kind::CassandraCluster, cassandra()),
    );
    assert_eq!(found(&errs), expected(&[("kind", Forbidden)]));
}

/// A status case: the status to write on the base object of `kind`.
struct Status {
    name: &'static str,
    kind: Kind,
    status: fn() -> Value,
    errors: &'static [(&'static str, ErrorType)],
}

#[test]
fn status_rules() {
    use Kind::{CassandraCluster as C, ElasticsearchCluster as E, Pilot as P};
    let cases: &[Status] = &[
        Status {
            name: "conditions fine",
            kind: C,
            status: || json!({"observedGeneration": 2, "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "False", "reason": "ClusterPaused"}], "nodePools": {"a": {"readyReplicas": 3, "replicas": 3, "updatedReplicas": 3}}}),
            errors: &[],
        },
        Status {
            name: "condition type missing",
            kind: C,
            status: || json!({"conditions": [{"status": "True"}]}),
            errors: &[("status.conditions[0].type", Required)],
        },
        Status {
            name: "condition type duplicate (the original's helper could not append)",
            kind: E,
            status: || json!({"conditions": [{"type": "Available", "status": "True"}, {"type": "Available", "status": "False"}]}),
            errors: &[("status.conditions[1].type", Duplicate)],
        },
        Status {
            name: "condition status unsupported",
            kind: P,
            status: || json!({"conditions": [{"type": "Ready", "status": "yes"}]}),
            errors: &[("status.conditions[0].status", NotSupported)],
        },
        Status {
            name: "observed generation negative",
            kind: C,
            status: || json!({"observedGeneration": -1, "conditions": [{"type": "Available", "status": "True", "observedGeneration": -3}]}),
            errors: &[
                ("status.conditions[0].observedGeneration", Invalid),
                ("status.observedGeneration", Invalid),
            ],
        },
        Status {
            name: "pool status negative",
            kind: E,
            status: || json!({"nodePools": {"data": {"readyReplicas": -1, "updatedReplicas": -2}}}),
            errors: &[
                ("status.nodePools[data].readyReplicas", Invalid),
                ("status.nodePools[data].updatedReplicas", Invalid),
            ],
        },
        Status {
            name: "health unsupported",
            kind: E,
            status: || json!({"health": "green"}),
            errors: &[("status.health", NotSupported)],
        },
        Status {
            name: "pilot facts fine",
            kind: P,
            status: || json!({"lastHeartbeatTime": "2026-01-01T00:00:00Z", "operation": {"state": "Decommissioned", "phase": "Complete"}, "cassandra": {"version": "5.0.2", "hostId": "h", "tokens": 16, "loadBytes": 1024, "peers": {"live": ["10.0.0.1"]}}}),
            errors: &[],
        },
        Status {
            name: "operation unknown",
            kind: P,
            status: || json!({"operation": {"state": "Gone", "phase": "Soon"}}),
            errors: &[
                ("status.operation.state", NotSupported),
                ("status.operation.phase", NotSupported),
            ],
        },
        Status {
            name: "elasticsearch facts negative",
            kind: P,
            status: || json!({"elasticsearch": {"documents": -1, "shards": -1, "relocatingShards": -1, "clusterHealth": "Blue"}}),
            errors: &[
                ("status.elasticsearch.documents", Invalid),
                ("status.elasticsearch.shards", Invalid),
                ("status.elasticsearch.relocatingShards", Invalid),
                ("status.elasticsearch.clusterHealth", NotSupported),
            ],
        },
        Status {
            name: "cassandra facts negative",
            kind: P,
            status: || json!({"cassandra": {"tokens": -1, "loadBytes": -5}}),
            errors: &[
                ("status.cassandra.tokens", Invalid),
                ("status.cassandra.loadBytes", Invalid),
            ],
        },
    ];
    for case in cases {
        let old = base(case.kind);
        let mut new = base(case.kind);
        new["status"] = (case.status)();
        let errs = validate_status_update(&hub(case.kind, new), &hub(case.kind, old));
        assert_eq!(
            found(&errs),
            expected(case.errors),
            "{}: {errs:?}",
            case.name
        );
    }
}

#[test]
fn minimum_masters_is_a_warning_where_the_database_ignores_it() {
    let with = |version: &str| {
        let mut v = elasticsearch();
        v["spec"]["version"] = json!(version);
        v["spec"]["minimumMasters"] = json!(2);
        warnings(&hub(Kind::ElasticsearchCluster, v))
    };
    assert_eq!(with("6.8.23"), Vec::<String>::new());
    assert_eq!(with("7.17.0").len(), 1);
    assert!(with("8.15.0")[0].starts_with("spec.minimumMasters is ignored"));
}

#[test]
fn quorum_table() {
    for (n, q) in [
        (-1, 0),
        (0, 0),
        (1, 1),
        (2, 2),
        (3, 2),
        (4, 3),
        (5, 3),
        (6, 4),
        (7, 4),
    ] {
        assert_eq!(quorum(n), q, "quorum({n})");
    }
}
