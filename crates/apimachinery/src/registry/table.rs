//! Response representations: the objects themselves, `meta.k8s.io/v1` `Table`, and
//! `PartialObjectMetadata[List]`. Pure functions of encoded objects.

use serde_json::{Map, Value, json};

use super::rest::{IncludeObject, Representation};
use super::strategy::TableColumn;

/// `meta.k8s.io/v1`.
pub const META_V1: &str = "meta.k8s.io/v1";

/// List-level metadata (`resourceVersion`, `continue`, `remainingItemCount`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListMeta {
    /// The list's resourceVersion.
    pub resource_version: String,
    /// The continue token, if more items remain.
    pub continue_token: Option<String>,
    /// How many items remain after this page, when known.
    pub remaining_item_count: Option<u64>,
}

impl ListMeta {
    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "resourceVersion".to_owned(),
            Value::String(self.resource_version.clone()),
        );
        if let Some(c) = &self.continue_token {
            m.insert("continue".to_owned(), Value::String(c.clone()));
        }
        if let Some(n) = self.remaining_item_count {
            m.insert("remainingItemCount".to_owned(), Value::from(n));
        }
        Value::Object(m)
    }
}

/// `PartialObjectMetadata` of an encoded object.
pub fn partial_object_metadata(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": META_V1,
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// The column definitions of a Table.
pub fn column_definitions(columns: &[TableColumn]) -> Value {
    Value::Array(
        columns
            .iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "type": c.type_,
                    "format": c.format,
                    "description": c.description,
                    "priority": c.priority,
                })
            })
            .collect(),
    )
}

/// One Table row for an encoded object and its cells.
pub fn row(object: &Value, cells: Vec<Value>, include: IncludeObject) -> Value {
    let obj = match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Metadata => partial_object_metadata(object),
        IncludeObject::Object => object.clone(),
    };
    json!({"cells": cells, "object": obj})
}

/// A Table from rows (`"rows": null` when empty, as Go writes it).
pub fn table(columns: Option<Value>, rows: Vec<Value>, meta: &ListMeta) -> Value {
    json!({
        "kind": "Table",
        "apiVersion": META_V1,
        "metadata": meta.to_value(),
        "columnDefinitions": columns.unwrap_or(Value::Null),
        "rows": if rows.is_empty() { Value::Null } else { Value::Array(rows) },
    })
}

/// A single object in the requested representation. `cells` is only called for tables.
pub fn single(
    object: Value,
    repr: Representation,
    columns: &[TableColumn],
    cells: impl FnOnce() -> Vec<Value>,
) -> Value {
    match repr {
        Representation::Object => object,
        Representation::PartialObjectMetadata => partial_object_metadata(&object),
        Representation::Table { include_object } => {
            let rv = object
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let r = row(&object, cells(), include_object);
            table(
                Some(column_definitions(columns)),
                vec![r],
                &ListMeta {
                    resource_version: rv,
                    ..ListMeta::default()
                },
            )
        }
    }
}

/// A list of encoded objects (each with its cells) in the requested representation.
pub fn list(
    objects: Vec<(Value, Vec<Value>)>,
    repr: Representation,
    api_version: &str,
    list_kind: &str,
    columns: &[TableColumn],
    meta: &ListMeta,
) -> Value {
    match repr {
        Representation::Object => {
            let items: Vec<Value> = objects
                .into_iter()
                .map(|(mut o, _)| {
                    // Typed Go servers encode list items without kind/apiVersion.
                    if let Value::Object(m) = &mut o {
                        m.remove("kind");
                        m.remove("apiVersion");
                    }
                    o
                })
                .collect();
            json!({"kind": list_kind, "apiVersion": api_version, "metadata": meta.to_value(), "items": items})
        }
        Representation::PartialObjectMetadata => {
            let items: Vec<Value> = objects
                .iter()
                .map(|(o, _)| partial_object_metadata(o))
                .collect();
            json!({"kind": "PartialObjectMetadataList", "apiVersion": META_V1, "metadata": meta.to_value(), "items": items})
        }
        Representation::Table { include_object } => {
            let rows = objects
                .into_iter()
                .map(|(o, c)| row(&o, c, include_object))
                .collect();
            table(Some(column_definitions(columns)), rows, meta)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<TableColumn> {
        vec![TableColumn {
            name: "Name".into(),
            type_: "string".into(),
            format: "name".into(),
            description: "d".into(),
            priority: 0,
        }]
    }

    #[test]
    fn table_rows_carry_metadata_by_default_and_null_rows_when_empty() {
        let obj = json!({"kind": "T", "apiVersion": "g/v1", "metadata": {"name": "a", "resourceVersion": "5"}, "spec": {}});
        let t = single(
            obj.clone(),
            Representation::Table {
                include_object: IncludeObject::Metadata,
            },
            &cols(),
            || vec![json!("a")],
        );
        assert_eq!(t["metadata"]["resourceVersion"], "5");
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["columnDefinitions"][0]["format"], "name");
        let empty = list(
            vec![],
            Representation::Table {
                include_object: IncludeObject::None,
            },
            "g/v1",
            "TList",
            &cols(),
            &ListMeta::default(),
        );
        assert_eq!(empty["rows"], Value::Null);
        let l = list(
            vec![(obj, vec![])],
            Representation::Object,
            "g/v1",
            "TList",
            &cols(),
            &ListMeta {
                resource_version: "9".into(),
                continue_token: Some("c".into()),
                remaining_item_count: Some(2),
            },
        );
        assert_eq!(l["items"][0].get("kind"), None);
        assert_eq!(
            l["metadata"],
            json!({"resourceVersion": "9", "continue": "c", "remainingItemCount": 2})
        );
    }
}
