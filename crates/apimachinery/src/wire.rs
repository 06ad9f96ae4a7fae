//! Response bodies whose shape Kubernetes fixes, independent of any kind: lists, watch
//! frames, bookmarks and `PartialObjectMetadata`.
//!
//! Field order follows Go's structs (`kind`, `apiVersion`, `metadata`, …) so responses read
//! the same as a Go server's.

use crate::status::{ApiError, Status};
use serde_json::{Map, Value, json};

/// The annotation on the bookmark that ends a watch-list's initial events.
pub const INITIAL_EVENTS_END_ANNOTATION: &str = "k8s.io/initial-events-end";

/// `metav1.ListMeta` as a list response carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListMeta {
    /// The revision the list was read at.
    pub resource_version: u64,
    /// The continue token, if more items remain.
    pub continue_token: Option<String>,
    /// How many items remain after this page (only for unfiltered lists).
    pub remaining_item_count: Option<u64>,
}

impl ListMeta {
    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "resourceVersion".into(),
            Value::String(self.resource_version.to_string()),
        );
        if let Some(c) = self.continue_token.as_ref().filter(|c| !c.is_empty()) {
            m.insert("continue".into(), Value::String(c.clone()));
        }
        if let Some(n) = self.remaining_item_count {
            m.insert("remainingItemCount".into(), Value::from(n));
        }
        Value::Object(m)
    }
}

/// A list response: `{"kind":"<Kind>List","apiVersion":…,"metadata":{…},"items":[…]}`. An
/// empty list has `"items":[]`, never `null`.
pub fn list(api_version: &str, list_kind: &str, meta: &ListMeta, items: Vec<Value>) -> Value {
    json!({
        "kind": list_kind,
        "apiVersion": api_version,
        "metadata": meta.to_value(),
        "items": items,
    })
}

/// One watch event as sent on the wire: compact JSON plus a newline.
pub fn watch_frame(event_type: &str, object: &Value) -> Vec<u8> {
    let mut out = json!({"type": event_type, "object": object})
        .to_string()
        .into_bytes();
    out.push(b'\n');
    out
}

/// The `ERROR` event that ends a watch (e.g. 410 when its revision is compacted).
pub fn error_frame(err: &ApiError) -> Vec<u8> {
    let status: Status = err.to_status();
    watch_frame(
        "ERROR",
        &serde_json::to_value(status).unwrap_or(Value::Null),
    )
}

/// The object of a `BOOKMARK` event: the kind with only `metadata.resourceVersion` set, and
/// for the end of a watch-list's initial events the `k8s.io/initial-events-end` annotation.
pub fn bookmark(
    api_version: &str,
    kind: &str,
    resource_version: u64,
    initial_events_end: bool,
) -> Value {
    let mut metadata = Map::new();
    metadata.insert(
        "resourceVersion".into(),
        Value::String(resource_version.to_string()),
    );
    if initial_events_end {
        metadata.insert(
            "annotations".into(),
            json!({INITIAL_EVENTS_END_ANNOTATION: "true"}),
        );
    }
    json!({"kind": kind, "apiVersion": api_version, "metadata": metadata})
}

/// Sets `metadata.resourceVersion` (the store does not keep it inside the stored bytes).
pub fn set_resource_version(obj: &mut Value, resource_version: u64) {
    if let Some(m) = obj.as_object_mut() {
        let meta = m
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(
                "resourceVersion".into(),
                Value::String(resource_version.to_string()),
            );
        }
    }
}

fn meta_api_version(version: &str) -> Result<String, ApiError> {
    match version {
        "v1" | "v1beta1" => Ok(format!("meta.k8s.io/{version}")),
        other => Err(ApiError::NotAcceptable {
            message: format!(
                "no PartialObjectMetadataList exists in group version meta.k8s.io/{other}"
            ),
        }),
    }
}

/// An object reduced to its metadata (`as=PartialObjectMetadata;g=meta.k8s.io;v=<version>`).
///
/// # Errors
/// 406 for a version other than `v1`/`v1beta1` (Go's message).
pub fn partial_object_metadata(obj: &Value, meta_version: &str) -> Result<Value, ApiError> {
    let api_version = meta_api_version(meta_version)?;
    let metadata = obj
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    Ok(json!({"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": metadata}))
}

/// A list reduced to its items' metadata (`as=PartialObjectMetadataList`): each item is a
/// `PartialObjectMetadata`, the list keeps its `ListMeta`.
///
/// # Errors
/// 406 for a version other than `v1`/`v1beta1`.
pub fn partial_object_metadata_list(
    items: &[Value],
    meta: &ListMeta,
    meta_version: &str,
) -> Result<Value, ApiError> {
    let api_version = meta_api_version(meta_version)?;
    let items = items
        .iter()
        .map(|i| partial_object_metadata(i, meta_version))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(list(&api_version, "PartialObjectMetadataList", meta, items))
}

/// What a `Table` row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object.
    None,
    /// The object's metadata as `PartialObjectMetadata` (the default).
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// Parses the `includeObject` query parameter (empty or absent means `Metadata`).
    ///
    /// # Errors
    /// 400 `unrecognized includeObject value: "<v>"`, as Go.
    pub fn parse(v: Option<&str>) -> Result<Self, ApiError> {
        match v.unwrap_or("") {
            "" | "Metadata" => Ok(Self::Metadata),
            "None" => Ok(Self::None),
            "Object" => Ok(Self::Object),
            other => Err(ApiError::bad_request(format!(
                "unrecognized includeObject value: {}",
                crate::status::go_quote(other)
            ))),
        }
    }
}

/// One `Table` row: its cells (in column order) and the object it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// Cell values, one per column definition.
    pub cells: Vec<Value>,
    /// The object the row was computed from.
    pub object: Value,
}

/// A `meta.k8s.io` `Table` (`as=Table`), as Go's `asTable` shapes it: column definitions, rows
/// with their objects reduced per `include`, and the list's `ListMeta`.
///
/// # Errors
/// 406 for a version other than `v1`/`v1beta1` (`no Table exists in group version …`).
pub fn table(
    column_definitions: Vec<Value>,
    rows: Vec<TableRow>,
    meta: &ListMeta,
    include: IncludeObject,
    meta_version: &str,
) -> Result<Value, ApiError> {
    let api_version = match meta_version {
        "v1" | "v1beta1" => format!("meta.k8s.io/{meta_version}"),
        other => {
            return Err(ApiError::NotAcceptable {
                message: format!("no Table exists in group version meta.k8s.io/{other}"),
            });
        }
    };
    let rows = rows
        .into_iter()
        .map(|r| {
            let object = match include {
                IncludeObject::None => Value::Null,
                IncludeObject::Metadata => partial_object_metadata(&r.object, meta_version)?,
                IncludeObject::Object => r.object,
            };
            Ok(json!({"cells": r.cells, "object": object}))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(json!({
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": meta.to_value(),
        "columnDefinitions": column_definitions,
        "rows": rows,
    }))
}

#[cfg(test)]
mod tests;
