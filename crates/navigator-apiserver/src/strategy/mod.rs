//! The per-kind policy of the navigator resources: one [`Strategy`] per kind, each in its own
//! module, over that kind's hub type ([`CassandraClusterStrategy`] over
//! `internal::CassandraCluster`, …), as sample-apiserver keeps a strategy beside each kind.
//!
//! What the kinds share lives here: [`KindInfo`] (discovery facts, the OpenAPI-derived patch and
//! field schemas of each served version, decoding and encoding through `navigator_api::scheme`),
//! the deprecated fields v1alpha1 drops on purpose, printer columns and the clock for ages.
//! Validation errors are `navigator_api::field::FieldError`s, the same type the registry
//! reports, so they reach the `Status` unconverted.

mod cassandracluster;
mod elasticsearchcluster;
mod pilot;

pub use cassandracluster::CassandraClusterStrategy;
pub use elasticsearchcluster::ElasticsearchClusterStrategy;
pub use pilot::PilotStrategy;

use std::collections::BTreeMap;

use apimachinery::openapi_schema::OpenApiSchema;
use apimachinery::registry::{Decoded, ResourceDescriptor, TableColumn};
use apimachinery::status::{ApiError, FieldError, GroupKind};
use navigator_api::scheme::{self, ApiVersion, HubObject, Kind, SchemeError};
use navigator_api::{GROUP, openapi, printer, resources};
use serde_json::Value;

/// What every navigator kind's strategy knows about its kind: discovery facts and the patch and
/// field schemas of each served version, read from the published OpenAPI documents.
#[derive(Debug)]
pub struct KindInfo {
    kind: Kind,
    descriptor: ResourceDescriptor,
    schemas: BTreeMap<ApiVersion, OpenApiSchema>,
    fallback_schema: OpenApiSchema,
}

impl KindInfo {
    /// The facts of `kind`.
    pub fn new(kind: Kind) -> Self {
        let info = resources::by_kind(kind);
        let descriptor = ResourceDescriptor {
            group: GROUP.to_owned(),
            plural: info.plural.to_owned(),
            singular: info.singular.to_owned(),
            kind: kind.as_str().to_owned(),
            list_kind: kind.list_kind().to_owned(),
            namespaced: info.namespaced,
            short_names: info.short_names.iter().map(|s| (*s).to_owned()).collect(),
            categories: info.categories.iter().map(|s| (*s).to_owned()).collect(),
            versions: resources::SERVED_VERSIONS
                .iter()
                .map(|v| v.as_str().to_owned())
                .collect(),
            storage_version: resources::STORAGE_VERSION.as_str().to_owned(),
            subresources: info.subresources.iter().map(|s| (*s).to_owned()).collect(),
        };
        let schemas = resources::SERVED_VERSIONS
            .iter()
            .map(|v| {
                (
                    *v,
                    OpenApiSchema::new(
                        openapi::definitions(*v),
                        openapi::definition_name(*v, kind),
                    ),
                )
            })
            .collect();
        Self {
            kind,
            descriptor,
            schemas,
            fallback_schema: OpenApiSchema::new(serde_json::Map::new(), ""),
        }
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The resource as discovery publishes it.
    pub fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    /// The patch and field schema of a served version (empty for an unknown version).
    pub fn schema(&self, version: &str) -> &OpenApiSchema {
        ApiVersion::parse(version)
            .and_then(|v| self.schemas.get(&v))
            .unwrap_or(&self.fallback_schema)
    }

    fn version(&self, version: &str) -> Result<ApiVersion, ApiError> {
        ApiVersion::parse(version).ok_or_else(|| {
            ApiError::bad_request(format!("unsupported version {version:?} of {GROUP}"))
        })
    }

    /// A 422 `Invalid` for an object of this kind.
    fn invalid(&self, name: &str, errors: Vec<FieldError>) -> ApiError {
        ApiError::Invalid {
            kind: GroupKind::new(GROUP, self.kind.as_str()),
            name: name.to_owned(),
            errors,
        }
    }

    fn scheme_error(&self, err: SchemeError) -> ApiError {
        match err {
            SchemeError::Decode { message } => ApiError::bad_request(message),
            SchemeError::Conversion(e) => self.invalid("", vec![e.to_field_error()]),
            SchemeError::Encode(e) => ApiError::internal(e),
        }
    }

    /// Decodes a body of a served `version` (defaults applied, converted to the hub) and takes
    /// this kind's object out of the hub enum with `take`.
    ///
    /// # Errors
    /// `BadRequest` for an unknown version or a body that does not decode; `Invalid` for a
    /// conversion failure on a field; `InternalError` if the scheme returned another kind.
    pub fn decode<O>(
        &self,
        version: &str,
        value: Value,
        take: fn(HubObject) -> Option<O>,
    ) -> Result<Decoded<O>, ApiError> {
        let version = self.version(version)?;
        let dropped_fields = dropped_fields(version, &value);
        let (object, warnings) = scheme::decode_with_warnings(version, self.kind, value)
            .map_err(|e| self.scheme_error(e))?;
        let object = take(object).ok_or_else(|| {
            ApiError::internal(format!(
                "the scheme decoded another kind than {}",
                self.kind
            ))
        })?;
        Ok(Decoded {
            object,
            warnings,
            dropped_fields,
        })
    }

    /// Encodes a hub object in a served `version`, with `apiVersion` and `kind`.
    ///
    /// # Errors
    /// `BadRequest` for an unknown version, `InternalError` if the object cannot be encoded.
    pub fn encode(&self, object: HubObject, version: &str) -> Result<Value, ApiError> {
        let version = self.version(version)?;
        scheme::encode(object, version).map_err(|e| self.scheme_error(e))
    }

    /// The columns of `as=Table`.
    pub fn table_columns(&self) -> Vec<TableColumn> {
        printer::columns(self.kind)
            .iter()
            .map(|c| TableColumn {
                name: c.name.to_owned(),
                type_: c.type_.to_owned(),
                format: c.format.to_owned(),
                description: c.description.to_owned(),
                priority: c.priority,
            })
            .collect()
    }

    /// The cells of one object's row, ages relative to now.
    pub fn table_cells(&self, object: &HubObject) -> Vec<Value> {
        printer::cells(object, now())
    }
}

/// The names of a kind's selectable fields, as the registry wants them.
fn field_names(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

/// Fields v1alpha1 accepts for old manifests and drops on purpose: `persistence.enabled` of each
/// node pool (removed from the original API in 2018, still in its quick-start).
fn dropped_fields(version: ApiVersion, body: &Value) -> Vec<String> {
    if version != ApiVersion::V1alpha1 {
        return Vec::new();
    }
    let pools = body.pointer("/spec/nodePools").and_then(Value::as_array);
    pools
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, pool)| {
            pool.pointer("/persistence/enabled")
                .is_some_and(|v| !v.is_null())
        })
        .map(|(i, _)| format!("spec.nodePools[{i}].persistence.enabled"))
        .collect()
}

/// The current time, for ages in tables (the only clock the strategies read).
fn now() -> k8s_openapi::jiff::Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    k8s_openapi::jiff::Timestamp::from_second(secs)
        .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests;
