//! A CustomResourceDefinition equivalent to one navigator kind, generated from navigator-api's
//! published OpenAPI v3 document, so that kube-apiserver can serve the same group, version, kind
//! and structural schema for the side-by-side benchmark.
//!
//! The conversion (pure): every `$ref` is inlined (an `allOf` holding one `$ref` is merged into the
//! property that carries it, keeping the property's own description); what CRD schemas forbid is
//! removed (`x-kubernetes-group-version-kind`, the strategic-merge markers, `format:
//! int-or-string`); `x-kubernetes-list-type`/`x-kubernetes-list-map-keys` are kept; the root
//! `metadata` becomes `{type: object}` as every CRD's; the keys of a `map` list are made
//! `required` in its items (CRD validation requires keys to be required or defaulted).

use serde_json::{Map, Value, json};

/// Why a schema could not be converted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CrdError {
    /// The document has no `components.schemas.<name>`.
    #[error("the OpenAPI document has no schema {0:?}")]
    MissingDefinition(String),
    /// A `$ref` does not point into `#/components/schemas/`.
    #[error("unsupported $ref {0:?}")]
    UnsupportedRef(String),
    /// References nest deeper than any real schema (a cycle).
    #[error("schema references nest deeper than {0} levels (a cycle?)")]
    TooDeep(usize),
    /// The kind's schema has no `x-kubernetes-group-version-kind`.
    #[error("schema {0:?} has no x-kubernetes-group-version-kind")]
    NoGroupVersionKind(String),
}

const REF_PREFIX: &str = "#/components/schemas/";
const MAX_DEPTH: usize = 32;
/// Keys a CRD's JSONSchemaProps does not have (or rejects).
const DROPPED_KEYS: &[&str] = &[
    "x-kubernetes-group-version-kind",
    "x-kubernetes-patch-strategy",
    "x-kubernetes-patch-merge-key",
];

fn definition<'a>(doc: &'a Value, name: &str) -> Result<&'a Value, CrdError> {
    doc.pointer("/components/schemas")
        .and_then(|s| s.get(name))
        .ok_or_else(|| CrdError::MissingDefinition(name.to_owned()))
}

fn resolve_ref<'a>(doc: &'a Value, reference: &str) -> Result<&'a Value, CrdError> {
    let name = reference
        .strip_prefix(REF_PREFIX)
        .ok_or_else(|| CrdError::UnsupportedRef(reference.to_owned()))?;
    definition(doc, name)
}

/// The single `$ref` of `{"allOf": [{"$ref": …}]}` or `{"$ref": …}`.
fn lone_ref(schema: &Map<String, Value>) -> Option<&str> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return Some(r);
    }
    match schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([only]) => only.get("$ref").and_then(Value::as_str),
        _ => None,
    }
}

/// `schema` with every reference inlined and CRD-incompatible keys removed.
fn convert(doc: &Value, schema: &Value, depth: usize) -> Result<Value, CrdError> {
    if depth > MAX_DEPTH {
        return Err(CrdError::TooDeep(MAX_DEPTH));
    }
    let Some(obj) = schema.as_object() else {
        return Ok(schema.clone());
    };
    let mut out = Map::new();
    if let Some(reference) = lone_ref(obj) {
        // The referenced schema, then the referring property's own keys (its description) win.
        if let Value::Object(resolved) = convert(doc, resolve_ref(doc, reference)?, depth + 1)? {
            out = resolved;
        }
    }
    for (key, value) in obj {
        if key == "$ref" || (key == "allOf" && lone_ref(obj).is_some()) {
            continue;
        }
        if DROPPED_KEYS.contains(&key.as_str()) {
            continue;
        }
        let converted = match key.as_str() {
            "properties" => {
                let mut props = Map::new();
                if let Some(p) = value.as_object() {
                    for (name, prop) in p {
                        props.insert(name.clone(), convert(doc, prop, depth + 1)?);
                    }
                }
                Value::Object(props)
            }
            "items" | "additionalProperties" if value.is_object() => {
                convert(doc, value, depth + 1)?
            }
            "allOf" | "anyOf" | "oneOf" => match value.as_array() {
                Some(list) => Value::Array(
                    list.iter()
                        .map(|s| convert(doc, s, depth + 1))
                        .collect::<Result<_, _>>()?,
                ),
                None => value.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if out.get("format").and_then(Value::as_str) == Some("int-or-string") {
        out.remove("format");
        out.remove("type");
        out.insert("x-kubernetes-int-or-string".to_owned(), Value::Bool(true));
    }
    require_map_keys(&mut out);
    Ok(Value::Object(out))
}

/// A `map` list's keys must be required (or defaulted) in its items for a CRD.
fn require_map_keys(schema: &mut Map<String, Value>) {
    let keys: Vec<String> = match schema.get("x-kubernetes-list-map-keys") {
        Some(Value::Array(keys)) => keys
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => return,
    };
    let Some(Value::Object(items)) = schema.get_mut("items") else {
        return;
    };
    let required = items
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(required) = required {
        for key in keys {
            if !required.iter().any(|r| r.as_str() == Some(key.as_str())) {
                required.push(Value::String(key));
            }
        }
    }
}

/// The `openAPIV3Schema` of the kind whose definition is `definition_name` (e.g.
/// `io.jetstack.navigator.v1beta1.Pilot`) in the OpenAPI v3 document `doc`.
///
/// # Errors
/// [`CrdError`] when the definition or a reference is missing, or references cycle.
pub fn crd_schema(doc: &Value, definition_name: &str) -> Result<Value, CrdError> {
    let mut schema = convert(doc, definition(doc, definition_name)?, 0)?;
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("metadata".to_owned(), json!({"type": "object"}));
    }
    Ok(schema)
}

/// A complete `apiextensions.k8s.io/v1` CustomResourceDefinition serving the kind of
/// `definition_name` under `plural` (namespaced, one version that is served and stored, the
/// status subresource on).
///
/// # Errors
/// [`CrdError`] as [`crd_schema`], or when the definition names no group/version/kind.
pub fn crd_manifest(doc: &Value, definition_name: &str, plural: &str) -> Result<Value, CrdError> {
    let gvk = definition(doc, definition_name)?
        .pointer("/x-kubernetes-group-version-kind/0")
        .ok_or_else(|| CrdError::NoGroupVersionKind(definition_name.to_owned()))?;
    let field = |k: &str| {
        gvk.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| CrdError::NoGroupVersionKind(definition_name.to_owned()))
    };
    let (group, version, kind) = (field("group")?, field("version")?, field("kind")?);
    let schema = crd_schema(doc, definition_name)?;
    Ok(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {
                "plural": plural,
                "singular": kind.to_lowercase(),
                "kind": kind,
                "listKind": format!("{kind}List"),
            },
            "versions": [{
                "name": version,
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": schema},
            }],
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk<'a>(v: &'a Value, path: &mut Vec<String>, out: &mut Vec<(String, &'a Value)>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    out.push((format!("{}/{k}", path.join("/")), x));
                    path.push(k.clone());
                    walk(x, path, out);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for x in a {
                    walk(x, path, out);
                }
            }
            _ => {}
        }
    }

    fn keys(v: &Value) -> Vec<(String, &Value)> {
        let mut out = Vec::new();
        walk(v, &mut Vec::new(), &mut out);
        out
    }

    fn navigator_doc() -> Value {
        navigator_api::openapi::v3_document(navigator_api::scheme::ApiVersion::V1beta1)
    }

    #[test]
    fn pilot_schema_is_inlined_and_stripped() {
        let schema =
            crd_schema(&navigator_doc(), "io.jetstack.navigator.v1beta1.Pilot").expect("converts");
        for (path, _) in keys(&schema) {
            let last = path.rsplit('/').next().unwrap_or_default().to_owned();
            assert!(last != "$ref", "{path}");
            assert!(!DROPPED_KEYS.contains(&last.as_str()), "{path}");
        }
        assert_eq!(schema["properties"]["metadata"], json!({"type": "object"}));
        let spec = &schema["properties"]["spec"];
        assert_eq!(spec["type"], "object");
        // allOf [$ref] merged, the property's own description kept.
        let cluster = &spec["properties"]["cluster"];
        assert_eq!(cluster["type"], "object");
        assert!(cluster.get("allOf").is_none());
        assert!(
            cluster["description"]
                .as_str()
                .is_some_and(|d| d.contains("Immutable")),
            "{cluster}"
        );
        let conditions = &schema["properties"]["status"]["properties"]["conditions"];
        assert_eq!(conditions["x-kubernetes-list-type"], "map");
        assert_eq!(conditions["x-kubernetes-list-map-keys"], json!(["type"]));
        assert_eq!(conditions["items"]["required"], json!(["type"]));
    }

    #[test]
    fn every_field_has_a_type_or_int_or_string() {
        let doc = navigator_doc();
        for def in [
            "io.jetstack.navigator.v1beta1.Pilot",
            "io.jetstack.navigator.v1beta1.CassandraCluster",
        ] {
            let schema = crd_schema(&doc, def).expect("converts");
            for (path, v) in keys(&schema) {
                let parent_is_properties =
                    path.rsplit('/').nth(1).is_some_and(|p| p == "properties");
                if parent_is_properties {
                    assert!(
                        v.get("type").is_some() || v.get("x-kubernetes-int-or-string").is_some(),
                        "{def}: {path} has no type: {v}"
                    );
                    assert_ne!(v.get("format"), Some(&json!("int-or-string")), "{path}");
                }
            }
        }
    }

    #[test]
    fn manifest_names_group_version_kind() {
        let crd = crd_manifest(
            &navigator_doc(),
            "io.jetstack.navigator.v1beta1.Pilot",
            "pilots",
        )
        .expect("manifest");
        assert_eq!(crd["metadata"]["name"], "pilots.navigator.jetstack.io");
        assert_eq!(crd["spec"]["group"], "navigator.jetstack.io");
        assert_eq!(crd["spec"]["names"]["kind"], "Pilot");
        assert_eq!(crd["spec"]["names"]["listKind"], "PilotList");
        assert_eq!(crd["spec"]["versions"][0]["name"], "v1beta1");
        assert_eq!(
            crd["spec"]["versions"][0]["subresources"]["status"],
            json!({})
        );
    }

    #[test]
    fn int_or_string_and_errors() {
        let doc = json!({"components": {"schemas": {
            "A": {"type": "object", "properties": {
                "n": {"allOf": [{"$ref": "#/components/schemas/IOS"}], "description": "mine"},
                "loop": {"$ref": "#/components/schemas/Loop"},
            }},
            "IOS": {"type": "string", "format": "int-or-string", "description": "theirs"},
            "Loop": {"type": "object", "properties": {"x": {"$ref": "#/components/schemas/Loop"}}},
            "Bad": {"$ref": "http://elsewhere/x"},
        }}});
        let err = crd_schema(&doc, "A").expect_err("cycle");
        assert_eq!(err, CrdError::TooDeep(MAX_DEPTH));
        let mut doc2 = doc.clone();
        if let Some(p) = doc2
            .pointer_mut("/components/schemas/A/properties")
            .and_then(Value::as_object_mut)
        {
            p.remove("loop");
        }
        let s = crd_schema(&doc2, "A").expect("converts");
        assert_eq!(
            s["properties"]["n"],
            json!({"description": "mine", "x-kubernetes-int-or-string": true})
        );
        assert_eq!(
            crd_schema(&doc, "Bad"),
            Err(CrdError::UnsupportedRef("http://elsewhere/x".into()))
        );
        assert_eq!(
            crd_schema(&doc, "Nope"),
            Err(CrdError::MissingDefinition("Nope".into()))
        );
        assert_eq!(
            crd_manifest(&doc2, "A", "as"),
            Err(CrdError::NoGroupVersionKind("A".into()))
        );
    }
}
