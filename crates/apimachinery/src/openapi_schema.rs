//! Patch strategies and field shapes read from a published OpenAPI schema: one
//! [`OpenApiSchema`] per kind and version drives strategic merge patch ([`PatchSchema`]) and
//! managed fields ([`FieldSchema`]) from the same `x-kubernetes-*` extensions clients see.

use serde_json::{Map, Value};

use crate::managed_fields::{FieldSchema, Shape};
use crate::patch::{PatchMeta, PatchSchema, PatchStrategy};

/// A kind's schema: the definitions of an OpenAPI document (v3 `components.schemas` or v2
/// `definitions`) and the name of the kind's definition.
#[derive(Debug, Clone)]
pub struct OpenApiSchema {
    definitions: Map<String, Value>,
    root: String,
}

impl OpenApiSchema {
    /// A schema rooted at definition `root` of `definitions`.
    pub fn new(definitions: Map<String, Value>, root: impl Into<String>) -> Self {
        Self {
            definitions,
            root: root.into(),
        }
    }

    /// Follows `$ref` (also wrapped in a one-element `allOf`) to the schema it names.
    fn deref<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..32 {
            let reference = schema.get("$ref").or_else(|| {
                schema
                    .get("allOf")
                    .and_then(Value::as_array)
                    .filter(|all| all.len() == 1)
                    .and_then(|all| all[0].get("$ref"))
            });
            let Some(name) = reference
                .and_then(Value::as_str)
                .and_then(|r| r.rsplit('/').next())
            else {
                return schema;
            };
            match self.definitions.get(name) {
                Some(target) => schema = target,
                None => return schema,
            }
        }
        schema
    }

    /// The schema of the field at `path` (list items transparent, map values addressed by key),
    /// with its own extensions (the property's, not the referenced type's).
    fn field(&self, path: &[&str]) -> Option<&Value> {
        let mut current = self.definitions.get(&self.root)?;
        for segment in path {
            let mut node = self.deref(current);
            if let Some(items) = node.get("items") {
                node = self.deref(items);
            }
            current = match node.get("properties").and_then(|p| p.get(*segment)) {
                Some(property) => property,
                None => node.get("additionalProperties").filter(|a| a.is_object())?,
            };
        }
        Some(current)
    }
}

fn extension<'a>(schema: &'a Value, name: &str) -> Option<&'a str> {
    schema.get(name).and_then(Value::as_str)
}

impl PatchSchema for OpenApiSchema {
    fn patch_meta(&self, path: &[&str]) -> PatchMeta {
        let Some(field) = self.field(path) else {
            return PatchMeta::default();
        };
        let strategy = extension(field, "x-kubernetes-patch-strategy").unwrap_or_default();
        let merge_key = extension(field, "x-kubernetes-patch-merge-key").map(str::to_owned);
        let strategy = if strategy.split(',').any(|s| s == "merge") {
            PatchStrategy::Merge
        } else if strategy.split(',').any(|s| s == "replace") {
            PatchStrategy::Replace
        } else {
            PatchStrategy::Default
        };
        PatchMeta {
            strategy,
            merge_key,
        }
    }
}

impl FieldSchema for OpenApiSchema {
    fn shape(&self, path: &[&str]) -> Option<Shape> {
        let field = self.field(path)?;
        let resolved = self.deref(field);
        let list_type = extension(field, "x-kubernetes-list-type");
        let is_array = resolved.get("type").and_then(Value::as_str) == Some("array");
        if is_array {
            return Some(match list_type {
                Some("set") => Shape::SetList,
                Some("map") => Shape::MapList(
                    field
                        .get("x-kubernetes-list-map-keys")
                        .and_then(Value::as_array)
                        .map(|keys| {
                            keys.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                _ => Shape::AtomicList,
            });
        }
        if extension(field, "x-kubernetes-map-type") == Some("atomic")
            || extension(resolved, "x-kubernetes-map-type") == Some("atomic")
        {
            return Some(Shape::AtomicMap);
        }
        if resolved.get("properties").is_some() {
            return Some(Shape::Struct);
        }
        if resolved
            .get("additionalProperties")
            .is_some_and(Value::is_object)
        {
            return Some(Shape::Map);
        }
        match resolved.get("type").and_then(Value::as_str) {
            Some("object") => None,
            Some(_) => Some(Shape::Scalar),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> OpenApiSchema {
        let defs = json!({
            "Root": {"type": "object", "properties": {
                "metadata": {"allOf": [{"$ref": "#/components/schemas/Meta"}], "description": "m"},
                "spec": {"$ref": "#/definitions/Spec"},
            }},
            "Meta": {"type": "object", "properties": {
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "finalizers": {"type": "array", "items": {"type": "string"},
                               "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"},
            }},
            "Spec": {"type": "object", "properties": {
                "pools": {"type": "array", "items": {"$ref": "#/definitions/Pool"},
                          "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                          "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "selector": {"type": "object", "additionalProperties": {"type": "string"},
                             "x-kubernetes-map-type": "atomic"},
                "status": {"type": "object", "additionalProperties": {"$ref": "#/definitions/PoolStatus"}},
            }},
            "Pool": {"type": "object", "properties": {"name": {"type": "string"}, "replicas": {"type": "integer"}}},
            "PoolStatus": {"type": "object", "properties": {"ready": {"type": "integer"}}},
        });
        OpenApiSchema::new(defs.as_object().unwrap().clone(), "Root")
    }

    #[test]
    fn patch_meta_follows_references_items_and_maps() {
        let s = schema();
        assert_eq!(
            s.patch_meta(&["spec", "pools"]),
            PatchMeta::merge_by("name")
        );
        assert_eq!(
            s.patch_meta(&["metadata", "finalizers"]),
            PatchMeta::merge_set()
        );
        assert_eq!(s.patch_meta(&["spec", "tags"]), PatchMeta::default());
        assert_eq!(
            s.patch_meta(&["spec", "pools", "replicas"]),
            PatchMeta::default()
        );
        assert_eq!(s.patch_meta(&["nope", "x"]), PatchMeta::default());
    }

    #[test]
    fn shapes_come_from_list_and_map_types() {
        let s = schema();
        assert_eq!(s.shape(&["spec"]), Some(Shape::Struct));
        assert_eq!(
            s.shape(&["spec", "pools"]),
            Some(Shape::MapList(vec!["name".into()]))
        );
        assert_eq!(s.shape(&["spec", "pools", "replicas"]), Some(Shape::Scalar));
        assert_eq!(s.shape(&["spec", "tags"]), Some(Shape::AtomicList));
        assert_eq!(s.shape(&["metadata", "finalizers"]), Some(Shape::SetList));
        assert_eq!(s.shape(&["metadata", "labels"]), Some(Shape::Map));
        assert_eq!(s.shape(&["metadata", "labels", "app"]), Some(Shape::Scalar));
        assert_eq!(s.shape(&["spec", "selector"]), Some(Shape::AtomicMap));
        assert_eq!(s.shape(&["spec", "status", "a"]), Some(Shape::Struct));
        assert_eq!(
            s.shape(&["spec", "status", "a", "ready"]),
            Some(Shape::Scalar)
        );
        assert_eq!(s.shape(&["spec", "missing"]), None);
    }
}
