//! The generated OpenAPI documents are valid OpenAPI (checked by a real validator,
//! `openapi-spec-validator` from PyPI, installed by `hack/install-prereqs`), carry the Kubernetes
//! extensions clients rely on, and match the checked-in copies under `openapi/` (regenerate with
//! `NAVIGATOR_UPDATE_OPENAPI=1 cargo test -p navigator-api --test openapi_documents`), so any
//! change to the published API shows up in review.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use navigator_api::openapi;
use navigator_api::scheme::{ApiVersion, Kind};
use serde_json::{Value, json};

fn validator() -> PathBuf {
    let path = std::env::var_os("NAVIGATOR_OPENAPI_VALIDATOR")
        .map(PathBuf::from)
        .or_else(|| {
            let cache = std::env::var_os("NAVIGATOR_CACHE")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/navigator"))
                });
            cache.map(|c| c.join("venv/bin/openapi-spec-validator"))
        })
        .expect("NAVIGATOR_OPENAPI_VALIDATOR, NAVIGATOR_CACHE or HOME must be set");
    assert!(
        path.exists(),
        "the OpenAPI validator {} is missing: run hack/install-prereqs",
        path.display()
    );
    path
}

/// Runs the validator on a document; returns whether it accepted it, and its output.
fn validate(doc: &Value) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    let out = Command::new(validator()).arg(&file).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn documents() -> Vec<(&'static str, Value)> {
    vec![
        ("v2.json", openapi::v2_document()),
        (
            "v3-v1alpha1.json",
            openapi::v3_document(ApiVersion::V1alpha1),
        ),
        ("v3-v1beta1.json", openapi::v3_document(ApiVersion::V1beta1)),
    ]
}

#[test]
fn documents_are_valid_openapi() {
    for (name, doc) in documents() {
        let (ok, output) = validate(&doc);
        assert!(ok, "{name} is not valid OpenAPI:\n{output}");
    }
}

#[test]
fn the_validator_rejects_what_kubernetes_clients_could_not_read() {
    // A negative control: a `null` type (as a naive JSON Schema generator emits for Option<T>)
    // is not OpenAPI 3.0, and the validator must say so.
    let mut doc = openapi::v3_document(ApiVersion::V1beta1);
    doc["components"]["schemas"]["io.jetstack.navigator.v1beta1.ImageSpec"]["properties"]["tag"]
        ["type"] = json!(["string", "null"]);
    assert!(!validate(&doc).0);
}

fn schemas(doc: &Value) -> &serde_json::Map<String, Value> {
    doc.get("components")
        .and_then(|c| c.get("schemas"))
        .or_else(|| doc.get("definitions"))
        .and_then(Value::as_object)
        .unwrap()
}

#[test]
fn every_kind_and_list_carries_its_group_version_kind() {
    for version in [ApiVersion::V1alpha1, ApiVersion::V1beta1] {
        let doc = openapi::v3_document(version);
        for kind in Kind::ALL {
            for (name, kind_name) in [
                (openapi::definition_name(version, kind), kind.as_str()),
                (
                    openapi::list_definition_name(version, kind),
                    kind.list_kind(),
                ),
            ] {
                let schema = &schemas(&doc)[&name];
                assert_eq!(
                    schema["x-kubernetes-group-version-kind"],
                    json!([{"group": "navigator.jetstack.io", "kind": kind_name, "version": version.as_str()}]),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn lists_carry_their_merge_keys_and_patch_strategies() {
    let doc = openapi::v3_document(ApiVersion::V1beta1);
    let s = schemas(&doc);
    for spec in ["CassandraClusterSpec", "ElasticsearchClusterSpec"] {
        let pools = &s[&format!("io.jetstack.navigator.v1beta1.{spec}")]["properties"]["nodePools"];
        assert_eq!(pools["x-kubernetes-list-type"], json!("map"), "{spec}");
        assert_eq!(
            pools["x-kubernetes-list-map-keys"],
            json!(["name"]),
            "{spec}"
        );
        assert_eq!(
            pools["x-kubernetes-patch-strategy"],
            json!("merge"),
            "{spec}"
        );
        assert_eq!(
            pools["x-kubernetes-patch-merge-key"],
            json!("name"),
            "{spec}"
        );
    }
    for status in [
        "CassandraClusterStatus",
        "ElasticsearchClusterStatus",
        "PilotStatus",
    ] {
        let conditions =
            &s[&format!("io.jetstack.navigator.v1beta1.{status}")]["properties"]["conditions"];
        assert_eq!(
            conditions["x-kubernetes-list-map-keys"],
            json!(["type"]),
            "{status}"
        );
        assert_eq!(
            conditions["x-kubernetes-patch-merge-key"],
            json!("type"),
            "{status}"
        );
    }
    let meta = &s["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"];
    assert_eq!(
        meta["ownerReferences"]["x-kubernetes-list-map-keys"],
        json!(["uid"])
    );
    assert_eq!(meta["finalizers"]["x-kubernetes-list-type"], json!("set"));
    let roles =
        &s["io.jetstack.navigator.v1beta1.ElasticsearchClusterNodePool"]["properties"]["roles"];
    assert_eq!(roles["x-kubernetes-list-type"], json!("set"));
    // The same extensions survive into v2.
    let v2 = openapi::v2_document();
    let pools = &schemas(&v2)["io.jetstack.navigator.v1alpha1.CassandraClusterSpec"]["properties"]
        ["nodePools"];
    assert_eq!(pools["x-kubernetes-patch-merge-key"], json!("name"));
    assert_eq!(
        pools["items"]["$ref"],
        json!("#/definitions/io.jetstack.navigator.v1alpha1.CassandraClusterNodePool")
    );
}

#[test]
fn quantities_times_and_int_or_strings_use_kubernetes_formats() {
    for doc in [
        openapi::v3_document(ApiVersion::V1beta1),
        openapi::v2_document(),
    ] {
        let s = schemas(&doc);
        assert_eq!(
            s["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"],
            json!("string")
        );
        assert_eq!(
            s["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"],
            json!("date-time")
        );
        assert_eq!(
            s["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"],
            json!("int-or-string")
        );
    }
}

#[test]
fn descriptions_come_from_doc_comments_and_every_reference_resolves() {
    for (name, doc) in documents() {
        let s = schemas(&doc);
        for version in ["v1alpha1", "v1beta1"] {
            let Some(pool) = s.get(&format!(
                "io.jetstack.navigator.{version}.CassandraClusterNodePool"
            )) else {
                continue;
            };
            let description = pool["properties"]["rack"]["description"].as_str().unwrap();
            assert!(
                description.contains("Defaults to the pool name"),
                "{name}: {description}"
            );
        }
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let target = r.rsplit('/').next().unwrap();
            assert!(s.contains_key(target), "{name}: dangling reference {r}");
        }
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(obj) => {
            if let Some(Value::String(r)) = obj.get("$ref") {
                out.push(r.clone());
            }
            obj.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn checked_in_documents_match_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi");
    let update = std::env::var_os("NAVIGATOR_UPDATE_OPENAPI").is_some();
    for (name, doc) in documents() {
        let path = dir.join(name);
        let generated = format!("{}\n", serde_json::to_string_pretty(&doc).unwrap());
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &generated).unwrap();
            continue;
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored == generated,
            "{} is out of date with the types: regenerate with NAVIGATOR_UPDATE_OPENAPI=1 cargo test -p navigator-api --test openapi_documents, and review the API change",
            path.display()
        );
    }
}
