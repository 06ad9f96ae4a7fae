//! The original project's example manifests (fixtures with the same fields and values under
//! `tests/fixtures/original/`, see its README) still work as `navigator.jetstack.io/v1alpha1`:
//! each decodes through `scheme::decode`, gets the original defaults (pull policy
//! `IfNotPresent`, pool `replicas: 1`, `nodeSelector: {}`, Cassandra `rack` = pool name and
//! `datacenter: navigator-default-datacenter`), has its deprecated `persistence.enabled` accepted
//! and dropped, and validates on create with the outcome the current rules give:
//!
//! * the Cassandra manifests (3.11.1) and the Pilot manifest are valid;
//! * the Elasticsearch manifests (5.6.2) are rejected with exactly one error, `Forbidden` on
//!   `spec.version`, whose message names the supported range; with the version raised to a
//!   supported one they validate clean.
//!
//! Each object also re-encodes sensibly: as `v1alpha1` it is the manifest plus its defaults
//! (and without the `v1beta1-fields` annotation), as `v1beta1` it gains the implied `v1beta1`
//! values (flavour `elasticsearch`, requested state `Running`).

// Helpers outside `#[test]` functions panic on purpose too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use navigator_api::field::{ErrorType, FieldError, FieldPath, StatusCause, aggregate_message};
use navigator_api::internal as hub;
use navigator_api::scheme::{self, ApiVersion, HubObject, Kind};
use navigator_api::v1alpha1::V1BETA1_FIELDS_ANNOTATION;
use navigator_api::validation;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// A fixture, parsed from YAML.
fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/original")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What the API server does on create: decode as v1alpha1 (defaults included), take the
/// namespace from the URL, validate.
fn create(kind: Kind, manifest: &Value, namespace: &str) -> (HubObject, Vec<FieldError>) {
    assert_eq!(
        manifest["apiVersion"],
        json!("navigator.jetstack.io/v1alpha1")
    );
    assert_eq!(manifest["kind"], json!(kind.as_str()));
    let mut obj = scheme::decode(ApiVersion::V1alpha1, kind, manifest.clone())
        .unwrap_or_else(|e| panic!("{kind} does not decode: {e}"));
    obj.metadata_mut().namespace = Some(namespace.to_owned());
    let errs = validation::validate_create(&obj);
    (obj, errs)
}

fn assert_valid(errs: &[FieldError]) {
    assert!(errs.is_empty(), "{}", aggregate_message(errs));
}

fn encode(obj: &HubObject, version: ApiVersion) -> Value {
    scheme::encode(obj.clone(), version).unwrap()
}

/// The manifest as the API server serves it back in v1alpha1: the manifest in the namespace,
/// with the empty `status` every object has.
fn served(manifest: &Value, namespace: &str) -> Value {
    let mut out = manifest.clone();
    out["metadata"]["namespace"] = json!(namespace);
    out["status"] = json!({});
    out
}

fn remove(value: &mut Value, field: &str) {
    value.as_object_mut().unwrap().remove(field).unwrap();
}

fn cassandra(obj: &HubObject) -> &hub::CassandraCluster {
    match obj {
        HubObject::CassandraCluster(c) => c,
        other => panic!("not a CassandraCluster: {other:?}"),
    }
}

fn elasticsearch(obj: &HubObject) -> &hub::ElasticsearchCluster {
    match obj {
        HubObject::ElasticsearchCluster(c) => c,
        other => panic!("not an ElasticsearchCluster: {other:?}"),
    }
}

fn no_conversion_annotation(v1alpha1: &Value) {
    assert_eq!(
        v1alpha1["metadata"]["annotations"].get(V1BETA1_FIELDS_ANNOTATION),
        None
    );
}

// ---- Cassandra ----

#[test]
fn quick_start_cassandra_cluster_is_valid() {
    let manifest = fixture("quick-start-cassandra-cluster.yaml");
    let (obj, errs) = create(Kind::CassandraCluster, &manifest, "default");
    assert_valid(&errs);

    let c = cassandra(&obj);
    assert_eq!(c.spec.version.as_ref().unwrap().as_str(), "3.11.1");
    assert_eq!(
        c.spec.config.pilot_image.pull_policy, "IfNotPresent",
        "defaulted"
    );
    assert_eq!(c.spec.image.as_ref().unwrap().pull_policy, "IfNotPresent");
    let pool = &c.spec.node_pools[0];
    assert_eq!(pool.replicas, Some(3));
    assert_eq!(pool.rack.as_deref(), Some("zone-a"));
    assert_eq!(pool.datacenter.as_deref(), Some("region-1"));
    assert_eq!(
        pool.persistence,
        Some(hub::PersistenceConfig {
            size: k8s_openapi::apimachinery::pkg::api::resource::Quantity("5Gi".into()),
            storage_class: Some("default".into()),
        }),
        "persistence.enabled is accepted and dropped"
    );

    // The user is told that `enabled` means nothing.
    let (_, warnings) = scheme::decode_with_warnings(
        ApiVersion::V1alpha1,
        Kind::CassandraCluster,
        manifest.clone(),
    )
    .unwrap();
    assert_eq!(
        warnings,
        [
            "spec.nodePools[0].persistence.enabled is deprecated and ignored: persistence is enabled by setting size"
        ]
    );

    // v1alpha1: the manifest, with the pilot image's defaulted pull policy and without the
    // dropped `enabled`.
    let mut expected = served(&manifest, "default");
    expected["spec"]["pilotImage"]["pullPolicy"] = json!("IfNotPresent");
    expected["spec"]["securityContext"] = json!({});
    remove(
        &mut expected["spec"]["nodePools"][0]["persistence"],
        "enabled",
    );
    let v1alpha1 = encode(&obj, ApiVersion::V1alpha1);
    assert_eq!(v1alpha1, expected);
    no_conversion_annotation(&v1alpha1);

    // v1beta1: the same object; Cassandra has nothing v1beta1 adds by default.
    let mut expected = expected;
    expected["apiVersion"] = json!("navigator.jetstack.io/v1beta1");
    assert_eq!(encode(&obj, ApiVersion::V1beta1), expected);
}

#[test]
fn e2e_cassandra_cluster_is_valid() {
    let manifest = fixture("e2e-cass-cluster-test.yaml");
    let namespace = "test-cassandra-1528381714-4242";
    let (obj, errs) = create(Kind::CassandraCluster, &manifest, namespace);
    assert_valid(&errs);

    let c = cassandra(&obj);
    assert_eq!(c.spec.config.pilot_image.pull_policy, "Never");
    assert_eq!(
        c.spec.image, None,
        "derived from the version by the controller"
    );
    let pool = &c.spec.node_pools[0];
    assert_eq!(pool.name, "np-region-1-zone-a");
    assert_eq!(pool.replicas, Some(1));
    assert_eq!(pool.rack.as_deref(), Some("zone-a"));
    assert_eq!(pool.datacenter.as_deref(), Some("region-1"));

    let mut expected = served(&manifest, namespace);
    expected["spec"]["securityContext"] = json!({});
    let v1alpha1 = encode(&obj, ApiVersion::V1alpha1);
    assert_eq!(v1alpha1, expected);
    no_conversion_annotation(&v1alpha1);
    expected["apiVersion"] = json!("navigator.jetstack.io/v1beta1");
    assert_eq!(encode(&obj, ApiVersion::V1beta1), expected);

    // The e2e test then scales the pool to 2 replicas: a valid update.
    let mut scaled = manifest.clone();
    scaled["spec"]["nodePools"][0]["replicas"] = json!(2);
    let (new, errs) = create(Kind::CassandraCluster, &scaled, namespace);
    assert_valid(&errs);
    assert_valid(&validation::validate_update(&new, &obj));
}

#[test]
fn cassandra_pool_defaults_fill_what_the_manifest_leaves_out() {
    // The quick-start pool without the fields the original defaulted.
    let mut manifest = fixture("quick-start-cassandra-cluster.yaml");
    let pool = &mut manifest["spec"]["nodePools"][0];
    for field in ["replicas", "rack", "datacenter", "nodeSelector"] {
        remove(pool, field);
    }
    remove(&mut manifest["spec"]["image"], "pullPolicy");
    let (obj, errs) = create(Kind::CassandraCluster, &manifest, "default");
    assert_valid(&errs);

    let c = cassandra(&obj);
    let pool = &c.spec.node_pools[0];
    assert_eq!(pool.replicas, Some(1));
    assert_eq!(
        pool.rack.as_deref(),
        Some("region-1-zone-a"),
        "the pool name"
    );
    assert_eq!(
        pool.datacenter.as_deref(),
        Some("navigator-default-datacenter")
    );
    assert_eq!(pool.node_selector, Some(Default::default()));
    assert_eq!(c.spec.config.pilot_image.pull_policy, "IfNotPresent");
    assert_eq!(c.spec.image.as_ref().unwrap().pull_policy, "IfNotPresent");

    let v1alpha1 = encode(&obj, ApiVersion::V1alpha1);
    assert_eq!(
        v1alpha1["spec"]["nodePools"][0],
        json!({
            "name": "region-1-zone-a",
            "replicas": 1,
            "persistence": {"size": "5Gi", "storageClass": "default"},
            "nodeSelector": {},
            "rack": "region-1-zone-a",
            "datacenter": "navigator-default-datacenter",
            "resources": {
                "limits": {"cpu": "1", "memory": "3Gi"},
                "requests": {"cpu": "500m", "memory": "2Gi"},
            },
        })
    );
}

// ---- Elasticsearch ----

/// The one error Elasticsearch 5.6.2 gets under the current rules.
fn unsupported_es_version() -> StatusCause {
    StatusCause {
        reason: "FieldValueForbidden".into(),
        message: "Forbidden: elasticsearch 5.6.2 is not supported. Supported versions are: >= 6.0.0, < 9.0.0, without a pre-release suffix".into(),
        field: "spec.version".into(),
    }
}

fn assert_only_unsupported_version(errs: &[FieldError]) {
    assert_eq!(errs.len(), 1, "{}", aggregate_message(errs));
    assert_eq!(
        errs[0].field,
        FieldPath::new("spec").child("version").as_str()
    );
    assert_eq!(errs[0].error_type(), ErrorType::Forbidden);
    assert_eq!(errs[0].to_cause(), unsupported_es_version());
    assert_eq!(
        aggregate_message(errs),
        "spec.version: Forbidden: elasticsearch 5.6.2 is not supported. Supported versions are: >= 6.0.0, < 9.0.0, without a pre-release suffix"
    );
}

#[test]
fn quick_start_es_cluster_is_rejected_for_its_version_only() {
    let manifest = fixture("quick-start-es-cluster-demo.yaml");
    let (obj, errs) = create(Kind::ElasticsearchCluster, &manifest, "default");
    assert_only_unsupported_version(&errs);

    // Everything else decoded and defaulted as the original did.
    let es = elasticsearch(&obj);
    assert_eq!(es.spec.flavor.as_deref(), Some("elasticsearch"));
    assert_eq!(es.spec.config.pilot_image.pull_policy, "Always");
    assert_eq!(es.spec.config.security_context.run_as_user, Some(1000));
    assert_eq!(es.spec.minimum_masters, None);
    assert_eq!(es.spec.master_count(), 3);
    for pool in &es.spec.node_pools {
        assert_eq!(
            pool.node_selector,
            Some(Default::default()),
            "{}",
            pool.name
        );
        let persistence = pool.persistence.as_ref().unwrap();
        assert_eq!(persistence.size.0, "10Gi");
        assert_eq!(persistence.storage_class.as_deref(), Some("standard"));
    }

    let mut expected = served(&manifest, "default");
    for pool in expected["spec"]["nodePools"].as_array_mut().unwrap() {
        pool["nodeSelector"] = json!({});
        remove(&mut pool["persistence"], "enabled");
    }
    let v1alpha1 = encode(&obj, ApiVersion::V1alpha1);
    assert_eq!(v1alpha1, expected);
    no_conversion_annotation(&v1alpha1);
    expected["apiVersion"] = json!("navigator.jetstack.io/v1beta1");
    expected["spec"]["flavor"] = json!("elasticsearch");
    assert_eq!(encode(&obj, ApiVersion::V1beta1), expected);
}

#[test]
fn quick_start_es_cluster_on_a_supported_version_is_valid() {
    let mut manifest = fixture("quick-start-es-cluster-demo.yaml");
    manifest["spec"]["version"] = json!("7.17.22");
    let (obj, errs) = create(Kind::ElasticsearchCluster, &manifest, "default");
    assert_valid(&errs);
    assert_eq!(validation::warnings(&obj), Vec::<String>::new());
    assert_eq!(
        encode(&obj, ApiVersion::V1beta1)["spec"]["version"],
        json!("7.17.22")
    );
}

#[test]
fn e2e_es_cluster_is_rejected_for_its_version_only() {
    let manifest = fixture("e2e-es-cluster-test.yaml");
    let namespace = "test-elasticsearchcluster-1528381714-4242";
    let (obj, errs) = create(Kind::ElasticsearchCluster, &manifest, namespace);
    assert_only_unsupported_version(&errs);

    let es = elasticsearch(&obj);
    assert_eq!(es.spec.config.pilot_image.pull_policy, "Never");
    assert_eq!(es.spec.minimum_masters, Some(1));
    let pool = &es.spec.node_pools[0];
    assert_eq!(pool.replicas, Some(1));
    assert_eq!(pool.roles, ["master", "ingest", "data"]);
    assert_eq!(pool.node_selector, Some(Default::default()));
    assert_eq!(pool.persistence, None, "emptyDir");

    let mut expected = served(&manifest, namespace);
    expected["spec"]["nodePools"][0]["nodeSelector"] = json!({});
    let v1alpha1 = encode(&obj, ApiVersion::V1alpha1);
    assert_eq!(v1alpha1, expected);
    no_conversion_annotation(&v1alpha1);
    expected["apiVersion"] = json!("navigator.jetstack.io/v1beta1");
    expected["spec"]["flavor"] = json!("elasticsearch");
    assert_eq!(encode(&obj, ApiVersion::V1beta1), expected);
}

#[test]
fn e2e_es_cluster_on_a_supported_version_is_valid() {
    let mut manifest = fixture("e2e-es-cluster-test.yaml");
    let namespace = "test-elasticsearchcluster-1528381714-4242";

    // Elasticsearch 6 still uses minimumMasters (minimum_master_nodes).
    manifest["spec"]["version"] = json!("6.8.23");
    let (obj, errs) = create(Kind::ElasticsearchCluster, &manifest, namespace);
    assert_valid(&errs);
    assert_eq!(validation::warnings(&obj), Vec::<String>::new());

    // From 7 on it is accepted but has no effect, and the user is told.
    manifest["spec"]["version"] = json!("7.17.22");
    let (obj, errs) = create(Kind::ElasticsearchCluster, &manifest, namespace);
    assert_valid(&errs);
    assert_eq!(
        validation::warnings(&obj),
        [
            "spec.minimumMasters is ignored: Elasticsearch 7 and later and OpenSearch choose the master quorum themselves"
        ]
    );
}

// ---- Pilot ----

#[test]
fn e2e_pilot_is_valid() {
    let manifest = fixture("e2e-testpilot.yaml");
    let namespace = "test-general-1528381714-4242";
    let (obj, errs) = create(Kind::Pilot, &manifest, namespace);
    assert_valid(&errs);

    let HubObject::Pilot(pilot) = &obj else {
        panic!("not a Pilot: {obj:?}");
    };
    let owner = &pilot.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(owner.uid, "23c88696-cf7b-11e7-9ec9-0a580a200927");
    assert_eq!(owner.controller, Some(true));
    assert_eq!(pilot.spec.requested_state.as_deref(), Some("Running"));

    let mut expected = served(&manifest, namespace);
    expected["spec"] = json!({});
    let v1alpha1 = encode(&obj, ApiVersion::V1alpha1);
    assert_eq!(v1alpha1, expected);
    no_conversion_annotation(&v1alpha1);
    expected["apiVersion"] = json!("navigator.jetstack.io/v1beta1");
    expected["spec"] = json!({"requestedState": "Running"});
    assert_eq!(encode(&obj, ApiVersion::V1beta1), expected);
}

#[test]
fn every_original_manifest_has_a_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/original");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "e2e-cass-cluster-test.yaml",
            "e2e-es-cluster-test.yaml",
            "e2e-testpilot.yaml",
            "quick-start-cassandra-cluster.yaml",
            "quick-start-es-cluster-demo.yaml",
        ]
    );
}
