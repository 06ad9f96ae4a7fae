use apimachinery::patch::PatchMeta;
use apimachinery::registry::Strategy;
use navigator_api::field::aggregate_message;
use navigator_api::scheme::Kind;
use serde_json::json;

use super::*;

#[test]
fn descriptors_follow_the_api() {
    let s = CassandraClusterStrategy::new();
    let d = s.descriptor();
    assert_eq!(d.plural, "cassandraclusters");
    assert_eq!(d.short_names, ["cassandra", "cass"]);
    assert_eq!(d.categories, ["navigator"]);
    assert_eq!(d.versions, ["v1beta1", "v1alpha1"]);
    assert_eq!(d.storage_version, "v1beta1");
    assert_eq!(
        ElasticsearchClusterStrategy::new().descriptor().kind,
        "ElasticsearchCluster"
    );
    assert_eq!(PilotStrategy::new().descriptor().plural, "pilots");
}

#[test]
fn decode_errors_become_api_errors() {
    let s = CassandraClusterStrategy::new();
    let err = s
        .decode("v1alpha1", json!({"spec": {"version": "x.y"}}))
        .unwrap_err();
    assert_eq!(err.code(), 400);
    let err = s.decode("v2", json!({})).unwrap_err();
    assert_eq!(err.code(), 400);
    let err = s
        .decode(
            "v1alpha1",
            json!({"metadata": {"annotations": {"navigator.jetstack.io/v1beta1-fields": "["}}}),
        )
        .unwrap_err();
    assert_eq!(err.code(), 422);
}

#[test]
fn validation_errors_reach_the_status_unconverted() {
    let s = ElasticsearchClusterStrategy::new();
    let obj = s
        .decode(
            "v1beta1",
            json!({"metadata": {"name": "e", "namespace": "n"}, "spec": {"version": "8.15.0",
              "pilotImage": {"repository": "p", "tag": "t"},
              "nodePools": [{"name": "m", "roles": ["master", "boss"]}]}}),
        )
        .unwrap()
        .object;
    let errs = s.validate_create(&obj);
    assert_eq!(
        errs,
        navigator_api::validation::validate_elasticsearch_cluster(&obj)
    );
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "spec.nodePools[0].roles[1]");
    assert_eq!(errs[0].kind.cause_type(), "FieldValueNotSupported");
    let status = ApiError::Invalid {
        kind: GroupKind::new(GROUP, "ElasticsearchCluster"),
        name: "e".into(),
        errors: errs.clone(),
    }
    .to_status();
    let causes = status.details.map(|d| d.causes).unwrap_or_default();
    assert_eq!(causes, [errs[0].to_cause()]);
    assert_eq!(
        causes[0].message,
        "Unsupported value: \"boss\": supported values: \"data\", \"ingest\", \"master\""
    );
}

/// The errors a strategy reports are the same values navigator-api's validation returns, with
/// Go's messages: the annotation size limit and a too-long list keep their numbers (the old
/// converter replaced them).
#[test]
fn metadata_errors_keep_go_messages() {
    let s = PilotStrategy::new();
    let obj = s
        .decode(
            "v1beta1",
            json!({"metadata": {"name": "Bad_Name", "namespace": "n",
              "annotations": {"big": "x".repeat(256 * 1024)}},
              "spec": {"cluster": {"kind": "CassandraCluster", "name": "demo"}, "nodePool": "a"}}),
        )
        .unwrap()
        .object;
    let errs = s.validate_create(&obj);
    assert_eq!(
        aggregate_message(&errs),
        "[metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'), metadata.annotations: Too long: may not be more than 262144 bytes]"
    );
}

#[test]
fn status_and_spec_are_kept_apart() {
    let s = PilotStrategy::new();
    let old = s
        .decode(
            "v1beta1",
            json!({"spec": {"nodePool": "a"}, "status": {"observedGeneration": 1}}),
        )
        .unwrap()
        .object;
    let mut new = s
        .decode(
            "v1beta1",
            json!({"spec": {"nodePool": "b"}, "status": {"observedGeneration": 9}}),
        )
        .unwrap()
        .object;
    let mut status_write = new.clone();
    s.prepare_for_update(&mut new, &old);
    assert_eq!(
        (
            new.spec.node_pool.as_deref(),
            new.status.observed_generation
        ),
        (Some("b"), Some(1))
    );
    s.prepare_for_status_update(&mut status_write, &old);
    assert_eq!(
        (
            status_write.spec.node_pool.as_deref(),
            status_write.status.observed_generation
        ),
        (Some("a"), Some(9))
    );
    assert!(!s.spec_equal(&new, &old));
    s.prepare_for_create(&mut new);
    assert_eq!(new.status, Default::default());
}

#[test]
fn cluster_kinds_keep_status_and_spec_apart() {
    let c = CassandraClusterStrategy::new();
    let old = c
        .decode("v1beta1", json!({"spec": {"version": "5.0.2"}, "status": {"nodePools": {"a": {"readyReplicas": 1}}}}))
        .unwrap()
        .object;
    let mut new = c
        .decode("v1beta1", json!({"spec": {"version": "4.1.0"}}))
        .unwrap()
        .object;
    c.prepare_for_update(&mut new, &old);
    assert_eq!(new.status, old.status);
    assert!(!c.spec_equal(&new, &old));
    let e = ElasticsearchClusterStrategy::new();
    let old = e
        .decode("v1beta1", json!({"spec": {"version": "8.15.0"}}))
        .unwrap()
        .object;
    let mut status_write = e
        .decode(
            "v1beta1",
            json!({"spec": {"version": "8.16.0"}, "status": {"health": "green"}}),
        )
        .unwrap()
        .object;
    e.prepare_for_status_update(&mut status_write, &old);
    assert_eq!(status_write.spec, old.spec);
    assert_eq!(status_write.status.health.as_deref(), Some("green"));
}

#[test]
fn patch_and_field_schemas_come_from_the_published_openapi() {
    let s = CassandraClusterStrategy::new();
    for version in ["v1alpha1", "v1beta1"] {
        assert_eq!(
            s.patch_schema(version).patch_meta(&["spec", "nodePools"]),
            PatchMeta::merge_by("name")
        );
        assert_eq!(
            s.patch_schema(version)
                .patch_meta(&["status", "conditions"]),
            PatchMeta::merge_by("type")
        );
        assert_eq!(
            s.patch_schema(version)
                .patch_meta(&["metadata", "ownerReferences"]),
            PatchMeta::merge_by("uid")
        );
        assert_eq!(
            s.field_schema(version).shape(&["spec", "nodePools"]),
            Some(apimachinery::managed_fields::Shape::MapList(vec![
                "name".into()
            ]))
        );
    }
}

#[test]
fn deprecated_persistence_enabled_is_dropped_knowingly() {
    let s = CassandraClusterStrategy::new();
    let body = json!({"spec": {"nodePools": [{"name": "a"}, {"name": "b", "persistence": {"enabled": true, "size": "1Gi"}}]}});
    let decoded = s.decode("v1alpha1", body.clone()).unwrap();
    assert_eq!(
        decoded.dropped_fields,
        ["spec.nodePools[1].persistence.enabled"]
    );
    assert_eq!(decoded.warnings.len(), 1);
    assert!(
        s.decode("v1beta1", body)
            .is_ok_and(|d| d.dropped_fields.is_empty())
    );
}

/// Every selectable field of every kind answers for a defaulted object, and nothing else does.
fn selectable_fields_answer<S: Strategy>(s: &S) {
    let obj = s.decode("v1beta1", json!({})).unwrap().object;
    for field in s.selectable_fields() {
        assert!(
            s.field_value(&obj, &field).is_some(),
            "{} {field}",
            s.descriptor().kind
        );
    }
    assert_eq!(s.field_value(&obj, "spec.other"), None);
}

#[test]
fn every_selectable_field_has_a_value() {
    selectable_fields_answer(&CassandraClusterStrategy::new());
    selectable_fields_answer(&ElasticsearchClusterStrategy::new());
    selectable_fields_answer(&PilotStrategy::new());
}

#[test]
fn selectable_fields() {
    let s = PilotStrategy::new();
    let obj = s
        .decode("v1beta1", json!({"spec": {"cluster": {"kind": "CassandraCluster", "name": "demo"}, "nodePool": "a"}}))
        .unwrap()
        .object;
    assert_eq!(
        s.field_value(&obj, "spec.cluster.name").as_deref(),
        Some("demo")
    );
    assert_eq!(
        s.field_value(&obj, "spec.requestedState").as_deref(),
        Some("Running")
    );
    let e = ElasticsearchClusterStrategy::new();
    let obj = e.decode("v1beta1", json!({})).unwrap().object;
    assert_eq!(
        e.field_value(&obj, "spec.flavor").as_deref(),
        Some("elasticsearch")
    );
}

#[test]
fn tables_and_encoding_use_the_kind() {
    let s = PilotStrategy::new();
    let obj = s
        .decode("v1alpha1", json!({"metadata": {"name": "p"}}))
        .unwrap()
        .object;
    let columns = s.table_columns();
    assert_eq!(columns[0].name, "Name");
    assert_eq!(s.table_cells(&obj).len(), columns.len());
    let wire = s.encode(&obj, "v1alpha1").unwrap();
    assert_eq!(
        (wire["apiVersion"].as_str(), wire["kind"].as_str()),
        (Some("navigator.jetstack.io/v1alpha1"), Some("Pilot"))
    );
    assert_eq!(s.encode(&obj, "v9").unwrap_err().code(), 400);
    assert_eq!(KindInfo::new(Kind::Pilot).kind(), Kind::Pilot);
}
