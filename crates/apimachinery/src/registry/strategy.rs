//! What differs per resource: the [`Strategy`] a resource's [`super::Registry`] is generic over,
//! and the [`ResourceDescriptor`] discovery publishes. This is the only code an API group
//! writes; everything else (verbs, watch, patches, managed fields, tables) is generic.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::managed_fields::FieldSchema;
use crate::patch::PatchSchema;
use crate::status::{ApiError, FieldError};

/// Static facts about one resource of an API group, as discovery publishes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceDescriptor {
    /// API group, e.g. `navigator.jetstack.io`.
    pub group: String,
    /// Plural resource name used in URLs, e.g. `cassandraclusters`.
    pub plural: String,
    /// Singular name, e.g. `cassandracluster`.
    pub singular: String,
    /// Kind, e.g. `CassandraCluster`.
    pub kind: String,
    /// List kind, e.g. `CassandraClusterList`.
    pub list_kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Short names for kubectl.
    pub short_names: Vec<String>,
    /// Categories, e.g. `navigator` (`kubectl get navigator`).
    pub categories: Vec<String>,
    /// Served versions, preferred first.
    pub versions: Vec<String>,
    /// The version objects are stored in.
    pub storage_version: String,
    /// Subresources, e.g. `status`.
    pub subresources: Vec<String>,
}

/// A column of `as=Table` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableColumn {
    /// Header.
    pub name: String,
    /// OpenAPI type: `string`, `integer`, `date` …
    pub type_: String,
    /// OpenAPI format, e.g. `name`.
    pub format: String,
    /// Description.
    pub description: String,
    /// 0 always shown, 1 with `-o wide`.
    pub priority: i32,
}

/// An object decoded from a request body, with the warnings decoding produced.
#[derive(Debug, Clone)]
pub struct Decoded<O> {
    /// The object, defaulted, in the internal representation.
    pub object: O,
    /// Warnings for `Warning` headers (deprecated fields …).
    pub warnings: Vec<String>,
    /// Fields of the body the decoder understood and dropped on purpose (deprecated fields with
    /// no meaning left), in Go's path notation (`spec.nodePools[0].persistence.enabled`): not
    /// reported as unknown under `fieldValidation`.
    pub dropped_fields: Vec<String>,
}

/// The per-resource policy of a generic registry: decoding, defaulting and conversion between
/// the wire and an internal object, the create/update/status rules, validation, printing,
/// selectable fields and the schema facts patches and managed fields need.
///
/// Implementations are pure: no I/O, no clock. The registry calls them in Kubernetes' order:
/// decode (defaults applied) → `prepare_for_*` → mutating admission (→ `prepare_for_*` again
/// if a plugin changed the object) → `validate_*` → validating admission → storage.
pub trait Strategy: Send + Sync + 'static {
    /// The internal object (a hub type).
    type Object: Clone + Send + Sync + 'static;

    /// The resource's static description.
    fn descriptor(&self) -> &ResourceDescriptor;

    /// Decodes a JSON object of a served `version` into the internal object, applying that
    /// version's defaults. `apiVersion`/`kind` have been checked by the caller.
    ///
    /// # Errors
    /// `BadRequest` for bodies that do not decode; `Invalid` for conversion failures on fields.
    fn decode(&self, version: &str, value: Value) -> Result<Decoded<Self::Object>, ApiError>;

    /// Encodes the internal object in a served `version`, with `apiVersion` and `kind`.
    ///
    /// # Errors
    /// `InternalError` if the object cannot be represented (a bug).
    fn encode(&self, object: &Self::Object, version: &str) -> Result<Value, ApiError>;

    /// The object's metadata.
    fn metadata<'a>(&self, object: &'a Self::Object) -> &'a ObjectMeta;

    /// The object's metadata, mutably.
    fn metadata_mut<'a>(&self, object: &'a mut Self::Object) -> &'a mut ObjectMeta;

    /// Whether two objects have the same spec (generation bumps only when they do not).
    fn spec_equal(&self, a: &Self::Object, b: &Self::Object) -> bool;

    /// Create: clears what clients may not set (status).
    fn prepare_for_create(&self, object: &mut Self::Object);

    /// Update of the main resource: keeps the old status (status changes only via `/status`).
    fn prepare_for_update(&self, new: &mut Self::Object, old: &Self::Object);

    /// Update of `/status`: keeps the old spec.
    fn prepare_for_status_update(&self, new: &mut Self::Object, old: &Self::Object);

    /// Validation on create: every error, with its field path.
    fn validate_create(&self, object: &Self::Object) -> Vec<FieldError>;

    /// Validation on update of the main resource.
    fn validate_update(&self, new: &Self::Object, old: &Self::Object) -> Vec<FieldError>;

    /// Validation on update of `/status`.
    fn validate_status_update(&self, new: &Self::Object, old: &Self::Object) -> Vec<FieldError>;

    /// Warnings for a write of `object` (never reject).
    fn warnings(&self, object: &Self::Object) -> Vec<String>;

    /// The columns of `as=Table`, `Name` first.
    fn table_columns(&self) -> Vec<TableColumn>;

    /// The cells of one object's row, in column order.
    fn table_cells(&self, object: &Self::Object) -> Vec<Value>;

    /// The value of a selectable field beyond `metadata.name`/`metadata.namespace` (which the
    /// registry handles), e.g. `spec.nodePool`; `None` if the field is not selectable.
    fn field_value(&self, object: &Self::Object, field: &str) -> Option<String>;

    /// The fields [`Strategy::field_value`] answers for, accepted in field selectors next to
    /// `metadata.name` and `metadata.namespace` (others are rejected with 400, as in Go).
    fn selectable_fields(&self) -> Vec<String> {
        Vec::new()
    }

    /// Patch strategies and merge keys of a served version, for strategic merge patch.
    fn patch_schema(&self, version: &str) -> &dyn PatchSchema;

    /// Field shapes (list types, map keys) of a served version, for managed fields and apply.
    fn field_schema(&self, version: &str) -> &dyn FieldSchema;
}
