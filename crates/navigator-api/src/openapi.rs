//! OpenAPI v3 and v2 documents generated from the types, with descriptions from the doc
//! comments, `x-kubernetes-group-version-kind` on every kind and list, the list and
//! strategic-merge extensions on lists (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`,
//! `x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`), and quantities, times and
//! int-or-strings in Kubernetes' formats.
//!
//! Definitions are named as Kubernetes names them: `io.jetstack.navigator.<version>.<Kind>` for
//! ours and `io.k8s.…` for Kubernetes' own. The documents carry no paths: the API server adds the
//! paths it serves.

use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use crate::scheme::{ApiVersion, Kind};
use crate::{GROUP, v1alpha1, v1beta1};

/// Where OpenAPI v3 definitions live.
const V3_PREFIX: &str = "#/components/schemas/";
/// Where OpenAPI v2 definitions live.
const V2_PREFIX: &str = "#/definitions/";

/// The definition name of a kind in a version, e.g. `io.jetstack.navigator.v1beta1.Pilot`.
pub fn definition_name(version: ApiVersion, kind: Kind) -> String {
    format!(
        "io.jetstack.navigator.{}.{}",
        version.as_str(),
        kind.as_str()
    )
}

/// The definition name of a kind's list, e.g. `io.jetstack.navigator.v1beta1.PilotList`.
pub fn list_definition_name(version: ApiVersion, kind: Kind) -> String {
    format!(
        "io.jetstack.navigator.{}.{}",
        version.as_str(),
        kind.list_kind()
    )
}

/// Every definition one version needs (its kinds, their lists and everything they reference),
/// in OpenAPI v3 form, by name.
pub fn definitions(version: ApiVersion) -> Map<String, Value> {
    let mut settings = SchemaSettings::openapi3();
    settings.transforms.clear();
    settings.meta_schema = None;
    let mut generator = SchemaGenerator::new(settings);
    match version {
        ApiVersion::V1alpha1 => {
            generator.subschema_for::<v1alpha1::CassandraCluster>();
            generator.subschema_for::<v1alpha1::ElasticsearchCluster>();
            generator.subschema_for::<v1alpha1::Pilot>();
        }
        ApiVersion::V1beta1 => {
            generator.subschema_for::<v1beta1::CassandraCluster>();
            generator.subschema_for::<v1beta1::ElasticsearchCluster>();
            generator.subschema_for::<v1beta1::Pilot>();
        }
    }
    list_meta_schema(&mut generator);
    let mut defs = generator.take_definitions(false);
    for kind in Kind::ALL {
        defs.insert(
            list_definition_name(version, kind),
            list_schema(version, kind),
        );
    }
    for (name, schema) in defs.iter_mut() {
        if let Some(replacement) = kubernetes_scalar(name, schema) {
            *schema = replacement;
        }
        kubernetes_list_extensions(name, schema);
        normalize(schema);
    }
    defs
}

/// The list extensions Kubernetes publishes on its own types (its Go struct tags), which the
/// generated schemas of `k8s-openapi` do not carry.
fn kubernetes_list_extensions(name: &str, schema: &mut Value) {
    let fields: &[(&str, Value)] = match name {
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" => &[
            (
                "finalizers",
                json!({"x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"}),
            ),
            (
                "ownerReferences",
                json!({
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["uid"],
                    "x-kubernetes-patch-strategy": "merge",
                    "x-kubernetes-patch-merge-key": "uid",
                }),
            ),
            ("managedFields", json!({"x-kubernetes-list-type": "atomic"})),
        ],
        "io.k8s.api.core.v1.ResourceRequirements" => &[(
            "claims",
            json!({"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}),
        )],
        _ => return,
    };
    for (field, extensions) in fields {
        if let (Some(Value::Object(property)), Value::Object(extensions)) = (
            schema.pointer_mut(&format!("/properties/{field}")),
            extensions,
        ) {
            property.extend(extensions.clone());
        }
    }
}

fn list_meta_schema(generator: &mut SchemaGenerator) {
    generator.subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta>();
}

fn list_schema(version: ApiVersion, kind: Kind) -> Value {
    json!({
        "description": format!("{} is a list of {}.", kind.list_kind(), kind.as_str()),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": crate::object::API_VERSION_DESCRIPTION, "type": "string"},
            "kind": {"description": crate::object::KIND_DESCRIPTION, "type": "string"},
            "metadata": {
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                "$ref": format!("{V3_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"),
            },
            "items": {
                "description": format!("List of {}.", kind.as_str()),
                "type": "array",
                "items": {"$ref": format!("{V3_PREFIX}{}", definition_name(version, kind))},
            },
        },
        "x-kubernetes-group-version-kind": [{
            "group": GROUP,
            "kind": kind.list_kind(),
            "version": version.as_str(),
        }],
    })
}

/// Kubernetes publishes these as plain strings with a format, whatever their Go type.
fn kubernetes_scalar(name: &str, schema: &Value) -> Option<Value> {
    let format = match name {
        "io.k8s.apimachinery.pkg.api.resource.Quantity" => None,
        "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
        | "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime" => Some("date-time"),
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => Some("int-or-string"),
        _ => return None,
    };
    let mut out = Map::new();
    if let Some(description) = schema.get("description") {
        out.insert("description".into(), description.clone());
    }
    out.insert("type".into(), json!("string"));
    if let Some(format) = format {
        out.insert("format".into(), json!(format));
    }
    Some(Value::Object(out))
}

/// Makes a generated schema OpenAPI-3.0 shaped the way Kubernetes publishes it: optional fields
/// are simply not `required` (no `null` types), a `$ref` with siblings is wrapped in `allOf`,
/// `const` becomes a one-value `enum`, and JSON-Schema-only keywords go.
fn normalize(schema: &mut Value) {
    let Value::Object(obj) = schema else {
        return;
    };
    obj.remove("$schema");
    // `type: [T, "null"]` → `type: T`.
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            obj.insert("type".into(), only);
        }
    }
    // `anyOf: [X, {type: null}]` → X merged in.
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = obj.get_mut(key) {
            options.retain(|o| o.get("type") != Some(&json!("null")));
            if options.len() == 1 {
                let only = options.remove(0);
                obj.remove(key);
                if let Value::Object(inner) = only {
                    for (k, v) in inner {
                        obj.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
    // The generator records serde's empty defaults; the API server applies the real ones.
    obj.remove("default");
    if let Some(Value::String(description)) = obj.get_mut("description") {
        *description = unwrap_lines(description);
    }
    if let Some(constant) = obj.remove("const") {
        obj.insert("enum".into(), json!([constant]));
    }
    for value in obj.values_mut() {
        match value {
            Value::Object(_) => normalize(value),
            Value::Array(items) => items.iter_mut().for_each(normalize),
            _ => {}
        }
    }
    // Re-borrow: children may have changed.
    let Value::Object(obj) = schema else {
        return;
    };
    if obj.len() > 1
        && let Some(reference) = obj.remove("$ref")
    {
        obj.insert("allOf".into(), json!([{ "$ref": reference }]));
    }
}

/// Joins the lines of a wrapped doc comment into paragraphs, keeping blank-line paragraph breaks.
fn unwrap_lines(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            paragraph
                .split('\n')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The OpenAPI v3 document for one group-version, as served at
/// `/openapi/v3/apis/navigator.jetstack.io/<version>` (without paths).
pub fn v3_document(version: ApiVersion) -> Value {
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Navigator", "version": env!("CARGO_PKG_VERSION")},
        "paths": {},
        "components": {"schemas": Value::Object(definitions(version))},
    })
}

/// The OpenAPI v2 document for every served version, as merged into `/openapi/v2`
/// (without paths).
pub fn v2_document() -> Value {
    let mut all = Map::new();
    for version in crate::resources::SERVED_VERSIONS {
        for (name, mut schema) in definitions(*version) {
            to_v2(&mut schema);
            all.insert(name, schema);
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Navigator", "version": env!("CARGO_PKG_VERSION")},
        "paths": {},
        "definitions": Value::Object(all),
    })
}

/// Rewrites a v3 schema to v2: references point into `definitions`, and an `allOf` that only
/// wraps one reference becomes that reference with its siblings, as Kubernetes' v2 has it.
fn to_v2(schema: &mut Value) {
    let Value::Object(obj) = schema else {
        return;
    };
    if let Some(Value::Array(all_of)) = obj.get("allOf")
        && let [Value::Object(only)] = all_of.as_slice()
        && only.len() == 1
        && let Some(reference) = only.get("$ref").cloned()
    {
        obj.remove("allOf");
        obj.insert("$ref".into(), reference);
    }
    if let Some(Value::String(reference)) = obj.get_mut("$ref")
        && let Some(name) = reference.strip_prefix(V3_PREFIX)
    {
        *reference = format!("{V2_PREFIX}{name}");
    }
    obj.remove("nullable");
    for value in obj.values_mut() {
        match value {
            Value::Object(_) => to_v2(value),
            Value::Array(items) => items.iter_mut().for_each(to_v2),
            _ => {}
        }
    }
}

/// The schema of one type, for tests and tooling: generated like the documents' definitions.
pub fn schema_for<T: JsonSchema>() -> Value {
    let mut settings = SchemaSettings::openapi3();
    settings.transforms.clear();
    settings.meta_schema = None;
    let mut schema = SchemaGenerator::new(settings)
        .into_root_schema_for::<T>()
        .to_value();
    normalize(&mut schema);
    schema
}
