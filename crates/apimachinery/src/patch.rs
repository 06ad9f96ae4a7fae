//! The three JSON patch formats a Kubernetes API server accepts on `PATCH`.
//!
//! * [`apply_json_patch`] — RFC 6902 (`application/json-patch+json`), atomic, at most
//!   [`MAX_JSON_PATCH_OPERATIONS`] operations (Go's `maxJSONPatchOperations`).
//! * [`apply_merge_patch`] — RFC 7386 (`application/merge-patch+json`).
//! * [`apply_strategic_merge_patch`] — Kubernetes' strategic merge patch
//!   (`application/strategic-merge-patch+json`), a port of the *apply* half of Go's
//!   `k8s.io/apimachinery/pkg/util/strategicpatch` with `MergeParallelList` and
//!   `IgnoreUnmatchedNulls` on (what the API server uses), driven by a [`PatchSchema`].
//!
//! All appliers are pure functions of `(document, patch)`; none panics on any input (proptested).
//! Failures are [`PatchError`]s that map to the `Status` a Go server sends
//! ([`PatchError::into_api_error`]); see there for the one deliberate deviation.

use crate::status::ApiError;
use serde_json::{Map, Value};

mod strategic;

pub use strategic::apply_strategic_merge_patch;

/// Go's `maxJSONPatchOperations`.
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// How a field is patched by a strategic merge patch (Go's `patchStrategy` struct tag, or
/// `x-kubernetes-patch-strategy` in OpenAPI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatchStrategy {
    /// No strategy: maps merge key by key, lists are replaced wholesale.
    #[default]
    Default,
    /// `merge`: lists are merged (lists of maps by merge key, lists of primitives as sets).
    Merge,
    /// `replace`: the patch value replaces the field, maps included (an atomic map).
    Replace,
}

/// Patch metadata for one field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatchMeta {
    /// The strategy (`retainKeys`, which only affects patch *generation*, is not modelled).
    pub strategy: PatchStrategy,
    /// For `merge` lists of maps: the key identifying an item (`x-kubernetes-patch-merge-key`).
    pub merge_key: Option<String>,
}

impl PatchMeta {
    /// A `merge` list of maps identified by `key`.
    pub fn merge_by(key: impl Into<String>) -> Self {
        Self {
            strategy: PatchStrategy::Merge,
            merge_key: Some(key.into()),
        }
    }

    /// A `merge` list of primitives (a set).
    pub fn merge_set() -> Self {
        Self {
            strategy: PatchStrategy::Merge,
            merge_key: None,
        }
    }

    /// A field replaced wholesale (atomic map).
    pub fn replace() -> Self {
        Self {
            strategy: PatchStrategy::Replace,
            merge_key: None,
        }
    }
}

/// Where strategic merge patch learns how each field merges.
///
/// `path` is the chain of JSON field names from the document root to the field; list items are
/// transparent (the fields of an item of `spec.nodePools` are at `["spec", "nodePools", …]`).
/// Implementations typically walk an OpenAPI schema or a static table ([`StaticPatchSchema`]).
pub trait PatchSchema {
    /// The metadata of the field at `path`; [`PatchMeta::default`] when it has none.
    fn patch_meta(&self, path: &[&str]) -> PatchMeta;
}

/// A [`PatchSchema`] from a table of dotted paths, `*` matching any one segment (map values).
///
/// `metadata.finalizers` (merge set) and `metadata.ownerReferences` (merge by `uid`) are
/// pre-registered, as in `ObjectMeta`'s Go struct tags.
#[derive(Debug, Clone)]
pub struct StaticPatchSchema {
    entries: Vec<(Vec<String>, PatchMeta)>,
}

impl Default for StaticPatchSchema {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
        .with("metadata.finalizers", PatchMeta::merge_set())
        .with("metadata.ownerReferences", PatchMeta::merge_by("uid"))
    }
}

impl StaticPatchSchema {
    /// Registers the metadata of a dotted path such as `spec.nodePools` or `spec.config.*`.
    #[must_use]
    pub fn with(mut self, path: &str, meta: PatchMeta) -> Self {
        self.entries
            .push((path.split('.').map(str::to_owned).collect(), meta));
        self
    }
}

impl PatchSchema for StaticPatchSchema {
    fn patch_meta(&self, path: &[&str]) -> PatchMeta {
        self.entries
            .iter()
            .find(|(p, _)| {
                p.len() == path.len() && p.iter().zip(path).all(|(a, b)| a == "*" || a == b)
            })
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
}

/// Why a patch could not be applied. `Display` is Go's message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    /// The patch body is not JSON of the right shape (400 `error decoding patch: …`).
    #[error("error decoding patch: {0}")]
    Decode(String),
    /// The document being patched is not a JSON object (Go's `ErrBadJSONDoc`, 400).
    #[error("invalid JSON document")]
    BadJsonDoc,
    /// A JSON patch with more than [`MAX_JSON_PATCH_OPERATIONS`] operations (413).
    #[error("The allowed maximum operations in a JSON patch is {max}, got {got}")]
    TooManyOperations {
        /// The limit.
        max: usize,
        /// How many operations the patch had.
        got: usize,
    },
    /// A JSON patch operation that is malformed or failed (422, message hidden as in Go).
    #[error("{0}")]
    JsonPatchApply(String),
    /// `$deleteFromPrimitiveList` without a field name (Go's `ErrBadPatchFormatForPrimitiveList`, 400).
    #[error("invalid patch format of primitive list")]
    BadPrimitiveList,
    /// `$retainKeys` not a list, or a patched key missing from it (400).
    #[error("invalid patch format of retainKeys")]
    BadRetainKeys,
    /// A malformed `$setElementOrder` directive (400).
    #[error("invalid patch format of setElementOrder list")]
    BadSetElementOrder,
    /// A list whose items are lists (Go's `ErrNoListOfLists`, 422, message hidden).
    #[error("lists of lists are not supported")]
    ListOfLists,
    /// A `$patch` directive with an unknown value.
    #[error("unknown patch type: {directive} in map: {map}")]
    BadPatchType {
        /// The directive's value.
        directive: String,
        /// The map it was in, as JSON.
        map: String,
    },
    /// An item of a merge list without its merge key.
    #[error("map: {map} does not contain declared merge key: {key}")]
    NoMergeKey {
        /// The item, as JSON.
        map: String,
        /// The merge key.
        key: String,
    },
    /// Any other structural problem, with Go's message (e.g. `cannot merge lists without merge
    /// key for …`, `list element types are not identical: …`, `The order in patch list: …`).
    #[error("{0}")]
    Invalid(String),
}

impl PatchError {
    /// The `Status` a Go server sends for this failure.
    ///
    /// Go answers 400 for decode errors and the directive-format errors, 413 for too many JSON
    /// patch operations, and an opaque 422 (`the server rejected our request due to an error in
    /// our request`) for failed JSON patch operations and lists of lists. Go returns the
    /// remaining strategic-merge errors unwrapped, which become a 500 with reason `Unknown`;
    /// those are client errors, so here they are 400 `BadRequest` with Go's message instead.
    pub fn into_api_error(self) -> ApiError {
        match self {
            Self::TooManyOperations { .. } => ApiError::RequestEntityTooLarge {
                message: self.to_string(),
            },
            Self::JsonPatchApply(_) | Self::ListOfLists => ApiError::UnprocessableEntity {
                detail: self.to_string(),
            },
            Self::Decode(_)
            | Self::BadJsonDoc
            | Self::BadPrimitiveList
            | Self::BadRetainKeys
            | Self::BadSetElementOrder
            | Self::BadPatchType { .. }
            | Self::NoMergeKey { .. }
            | Self::Invalid(_) => ApiError::bad_request(self.to_string()),
        }
    }
}

/// Applies an RFC 6902 JSON patch. The patch is all-or-nothing.
///
/// # Errors
/// [`PatchError::Decode`] if `patch` is not a JSON array of objects,
/// [`PatchError::TooManyOperations`], or [`PatchError::JsonPatchApply`] for an unknown or
/// malformed operation or one that fails (including a failed `test`).
pub fn apply_json_patch(doc: &Value, patch: &[u8]) -> Result<Value, PatchError> {
    let ops: Vec<Map<String, Value>> =
        serde_json::from_slice(patch).map_err(|e| PatchError::Decode(e.to_string()))?;
    if ops.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooManyOperations {
            max: MAX_JSON_PATCH_OPERATIONS,
            got: ops.len(),
        });
    }
    // Like Go, an operation that is well-formed JSON but not a valid operation fails at apply
    // time (422), not at decode time (400).
    let ops: json_patch::Patch =
        serde_json::from_value(Value::Array(ops.into_iter().map(Value::Object).collect()))
            .map_err(|e| PatchError::JsonPatchApply(e.to_string()))?;
    let mut out = doc.clone();
    json_patch::patch(&mut out, &ops).map_err(|e| PatchError::JsonPatchApply(e.to_string()))?;
    Ok(out)
}

/// Applies an RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything
/// else (arrays included) replaces.
///
/// # Errors
/// [`PatchError::Decode`] if `patch` is not JSON.
pub fn apply_merge_patch(doc: &Value, patch: &[u8]) -> Result<Value, PatchError> {
    let patch: Value =
        serde_json::from_slice(patch).map_err(|e| PatchError::Decode(e.to_string()))?;
    Ok(merge_patch_value(doc.clone(), &patch))
}

/// RFC 7386 `MergePatch(target, patch)` on values.
pub fn merge_patch_value(target: Value, patch: &Value) -> Value {
    let Value::Object(patch) = patch else {
        return patch.clone();
    };
    let mut target = match target {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for (k, v) in patch {
        if v.is_null() {
            target.remove(k);
        } else {
            let slot = target.entry(k.clone()).or_insert(Value::Null);
            *slot = merge_patch_value(slot.take(), v);
        }
    }
    Value::Object(target)
}

#[cfg(test)]
mod tests;
