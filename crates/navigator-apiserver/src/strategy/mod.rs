//! The per-kind policy of the navigator resources.

use std::collections::BTreeMap;

use apimachinery::managed_fields::FieldSchema;
use apimachinery::openapi_schema::OpenApiSchema;
use apimachinery::patch::PatchSchema;
use apimachinery::registry::{Decoded, ResourceDescriptor, Strategy, TableColumn};
use apimachinery::status::{self, ApiError, FieldErrorKind, GroupKind};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use navigator_api::field::{ErrorType, FieldError};
use navigator_api::scheme::{self, ApiVersion, HubObject, Kind, SchemeError};
use navigator_api::{GROUP, openapi, printer, resources, validation};
use serde_json::Value;

/// The strategy of one navigator kind. Objects are hub objects ([`HubObject`]) of that kind.
#[derive(Debug)]
pub struct NavigatorStrategy {
    kind: Kind,
    descriptor: ResourceDescriptor,
    schemas: BTreeMap<ApiVersion, OpenApiSchema>,
    fallback_schema: OpenApiSchema,
}

impl NavigatorStrategy {
    /// The strategy of `kind`.
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
        let fallback_schema = OpenApiSchema::new(serde_json::Map::new(), "");
        Self {
            kind,
            descriptor,
            schemas,
            fallback_schema,
        }
    }

    /// The strategies of every navigator kind.
    pub fn all() -> Vec<Self> {
        Kind::ALL.into_iter().map(Self::new).collect()
    }

    /// The kind this strategy serves.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    fn version(&self, version: &str) -> Result<ApiVersion, ApiError> {
        ApiVersion::parse(version).ok_or_else(|| {
            ApiError::bad_request(format!("unsupported version {version:?} of {GROUP}"))
        })
    }

    fn group_kind(&self) -> GroupKind {
        GroupKind::new(GROUP, self.kind.as_str())
    }

    fn schema(&self, version: &str) -> &OpenApiSchema {
        ApiVersion::parse(version)
            .and_then(|v| self.schemas.get(&v))
            .unwrap_or(&self.fallback_schema)
    }

    fn invalid(&self, object: Option<&HubObject>, errors: Vec<FieldError>) -> ApiError {
        ApiError::Invalid {
            kind: self.group_kind(),
            name: object
                .and_then(|o| o.metadata().name.clone())
                .unwrap_or_default(),
            errors: errors.iter().map(to_status_field_error).collect(),
        }
    }
}

/// Maps a navigator-api field error to the generic one, keeping path, reason and message.
pub fn to_status_field_error(err: &FieldError) -> status::FieldError {
    let field = err.path.to_string();
    let kind = match err.kind {
        ErrorType::Required => FieldErrorKind::Required {
            detail: err.detail.clone(),
        },
        ErrorType::Invalid => FieldErrorKind::Invalid {
            value: err.value.clone(),
            detail: err.detail.clone(),
        },
        ErrorType::NotSupported => FieldErrorKind::NotSupported {
            value: err.value.clone(),
            supported: err.supported.clone(),
        },
        ErrorType::Duplicate => FieldErrorKind::Duplicate {
            value: err.value.clone(),
        },
        ErrorType::Forbidden => FieldErrorKind::Forbidden {
            detail: err.detail.clone(),
        },
        ErrorType::TooLong => FieldErrorKind::TooLong {
            max_bytes: i64::try_from(validation::TOTAL_ANNOTATION_SIZE_LIMIT).unwrap_or(-1),
        },
        ErrorType::TooMany => FieldErrorKind::TooMany {
            actual: None,
            max: -1,
        },
    };
    status::FieldError::new(field, kind)
}

fn scheme_error(strategy: &NavigatorStrategy, err: SchemeError) -> ApiError {
    match err {
        SchemeError::Decode { message } => ApiError::bad_request(message),
        SchemeError::Conversion(e) => strategy.invalid(None, vec![e.to_field_error()]),
        SchemeError::Encode(e) => ApiError::internal(e),
    }
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

/// The current time, for ages in tables (the only clock the strategy reads).
fn now() -> k8s_openapi::jiff::Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    k8s_openapi::jiff::Timestamp::from_second(secs)
        .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
}

fn spec_equal(a: &HubObject, b: &HubObject) -> bool {
    match (a, b) {
        (HubObject::CassandraCluster(a), HubObject::CassandraCluster(b)) => a.spec == b.spec,
        (HubObject::ElasticsearchCluster(a), HubObject::ElasticsearchCluster(b)) => {
            a.spec == b.spec
        }
        (HubObject::Pilot(a), HubObject::Pilot(b)) => a.spec == b.spec,
        _ => false,
    }
}

impl Strategy for NavigatorStrategy {
    type Object = HubObject;

    fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    fn decode(&self, version: &str, value: Value) -> Result<Decoded<HubObject>, ApiError> {
        let version = self.version(version)?;
        let dropped_fields = dropped_fields(version, &value);
        let (object, warnings) = scheme::decode_with_warnings(version, self.kind, value)
            .map_err(|e| scheme_error(self, e))?;
        Ok(Decoded {
            object,
            warnings,
            dropped_fields,
        })
    }

    fn encode(&self, object: &HubObject, version: &str) -> Result<Value, ApiError> {
        let version = self.version(version)?;
        scheme::encode(object.clone(), version).map_err(|e| scheme_error(self, e))
    }

    fn metadata<'a>(&self, object: &'a HubObject) -> &'a ObjectMeta {
        object.metadata()
    }

    fn metadata_mut<'a>(&self, object: &'a mut HubObject) -> &'a mut ObjectMeta {
        object.metadata_mut()
    }

    fn spec_equal(&self, a: &HubObject, b: &HubObject) -> bool {
        spec_equal(a, b)
    }

    fn prepare_for_create(&self, object: &mut HubObject) {
        match object {
            HubObject::CassandraCluster(o) => o.status = Default::default(),
            HubObject::ElasticsearchCluster(o) => o.status = Default::default(),
            HubObject::Pilot(o) => o.status = Default::default(),
        }
    }

    fn prepare_for_update(&self, new: &mut HubObject, old: &HubObject) {
        match (new, old) {
            (HubObject::CassandraCluster(n), HubObject::CassandraCluster(o)) => {
                n.status = o.status.clone()
            }
            (HubObject::ElasticsearchCluster(n), HubObject::ElasticsearchCluster(o)) => {
                n.status = o.status.clone();
            }
            (HubObject::Pilot(n), HubObject::Pilot(o)) => n.status = o.status.clone(),
            _ => {}
        }
    }

    fn prepare_for_status_update(&self, new: &mut HubObject, old: &HubObject) {
        match (new, old) {
            (HubObject::CassandraCluster(n), HubObject::CassandraCluster(o)) => {
                n.spec = o.spec.clone()
            }
            (HubObject::ElasticsearchCluster(n), HubObject::ElasticsearchCluster(o)) => {
                n.spec = o.spec.clone();
            }
            (HubObject::Pilot(n), HubObject::Pilot(o)) => n.spec = o.spec.clone(),
            _ => {}
        }
    }

    fn validate_create(&self, object: &HubObject) -> Vec<status::FieldError> {
        validation::validate_create(object)
            .iter()
            .map(to_status_field_error)
            .collect()
    }

    fn validate_update(&self, new: &HubObject, old: &HubObject) -> Vec<status::FieldError> {
        validation::validate_update(new, old)
            .iter()
            .map(to_status_field_error)
            .collect()
    }

    fn validate_status_update(&self, new: &HubObject, old: &HubObject) -> Vec<status::FieldError> {
        validation::validate_status_update(new, old)
            .iter()
            .map(to_status_field_error)
            .collect()
    }

    fn warnings(&self, object: &HubObject) -> Vec<String> {
        validation::warnings(object)
    }

    fn table_columns(&self) -> Vec<TableColumn> {
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

    fn table_cells(&self, object: &HubObject) -> Vec<Value> {
        printer::cells(object, now())
    }

    fn field_value(&self, object: &HubObject, field: &str) -> Option<String> {
        match object {
            HubObject::CassandraCluster(o) => match field {
                "spec.version" => Some(
                    o.spec
                        .version
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                ),
                "spec.paused" => Some(o.spec.config.paused.to_string()),
                _ => None,
            },
            HubObject::ElasticsearchCluster(o) => match field {
                "spec.version" => Some(
                    o.spec
                        .version
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                ),
                "spec.flavor" => Some(o.spec.flavor().to_owned()),
                "spec.paused" => Some(o.spec.config.paused.to_string()),
                "status.health" => Some(o.status.health.clone().unwrap_or_default()),
                _ => None,
            },
            HubObject::Pilot(o) => match field {
                "spec.cluster.kind" => Some(
                    o.spec
                        .cluster
                        .as_ref()
                        .map(|c| c.kind.clone())
                        .unwrap_or_default(),
                ),
                "spec.cluster.name" => Some(
                    o.spec
                        .cluster
                        .as_ref()
                        .map(|c| c.name.clone())
                        .unwrap_or_default(),
                ),
                "spec.nodePool" => Some(o.spec.node_pool.clone().unwrap_or_default()),
                "spec.requestedState" => Some(o.spec.requested_state.clone().unwrap_or_default()),
                _ => None,
            },
        }
    }

    fn selectable_fields(&self) -> Vec<String> {
        let fields: &[&str] = match self.kind {
            Kind::CassandraCluster => &["spec.version", "spec.paused"],
            Kind::ElasticsearchCluster => &[
                "spec.version",
                "spec.flavor",
                "spec.paused",
                "status.health",
            ],
            Kind::Pilot => &[
                "spec.cluster.kind",
                "spec.cluster.name",
                "spec.nodePool",
                "spec.requestedState",
            ],
        };
        fields.iter().map(|f| (*f).to_owned()).collect()
    }

    fn patch_schema(&self, version: &str) -> &dyn PatchSchema {
        self.schema(version)
    }

    fn field_schema(&self, version: &str) -> &dyn FieldSchema {
        self.schema(version)
    }
}

#[cfg(test)]
mod tests {
    use apimachinery::patch::PatchMeta;
    use serde_json::json;

    use super::*;

    #[test]
    fn descriptors_follow_the_api() {
        let s = NavigatorStrategy::new(Kind::CassandraCluster);
        let d = s.descriptor();
        assert_eq!(d.plural, "cassandraclusters");
        assert_eq!(d.short_names, ["cassandra", "cass"]);
        assert_eq!(d.categories, ["navigator"]);
        assert_eq!(d.versions, ["v1beta1", "v1alpha1"]);
        assert_eq!(d.storage_version, "v1beta1");
        assert_eq!(NavigatorStrategy::all().len(), 3);
    }

    #[test]
    fn decode_errors_become_api_errors() {
        let s = NavigatorStrategy::new(Kind::CassandraCluster);
        let err = s
            .decode("v1alpha1", json!({"spec": {"version": "x.y"}}))
            .unwrap_err();
        assert_eq!(err.code(), 400);
        let err = s.decode("v2", json!({})).unwrap_err();
        assert_eq!(err.code(), 400);
        let err = s
            .decode(
                "v1alpha1",
                json!({"metadata": {"annotations": {"navigator.jetstack.io/v1beta1-fields": "["}}}),
            )
            .unwrap_err();
        assert_eq!(err.code(), 422);
    }

    #[test]
    fn validation_errors_keep_path_reason_and_message() {
        let s = NavigatorStrategy::new(Kind::ElasticsearchCluster);
        let obj = s
            .decode(
                "v1beta1",
                json!({"metadata": {"name": "e", "namespace": "n"}, "spec": {"version": "8.15.0",
                  "pilotImage": {"repository": "p", "tag": "t"},
                  "nodePools": [{"name": "m", "roles": ["master", "boss"]}]}}),
            )
            .unwrap()
            .object;
        let errs = s.validate_create(&obj);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec.nodePools[0].roles[1]");
        assert_eq!(errs[0].kind.cause_type(), "FieldValueNotSupported");
        let native = validation::validate_create(&obj);
        assert_eq!(errs[0].body(), native[0].cause_message());
    }

    #[test]
    fn status_and_spec_are_kept_apart() {
        let s = NavigatorStrategy::new(Kind::Pilot);
        let old = s
            .decode(
                "v1beta1",
                json!({"spec": {"nodePool": "a"}, "status": {"observedGeneration": 1}}),
            )
            .unwrap()
            .object;
        let mut new = s
            .decode(
                "v1beta1",
                json!({"spec": {"nodePool": "b"}, "status": {"observedGeneration": 9}}),
            )
            .unwrap()
            .object;
        let mut status_write = new.clone();
        s.prepare_for_update(&mut new, &old);
        let HubObject::Pilot(p) = &new else { panic!() };
        assert_eq!(
            (p.spec.node_pool.as_deref(), p.status.observed_generation),
            (Some("b"), Some(1))
        );
        s.prepare_for_status_update(&mut status_write, &old);
        let HubObject::Pilot(p) = &status_write else {
            panic!()
        };
        assert_eq!(
            (p.spec.node_pool.as_deref(), p.status.observed_generation),
            (Some("a"), Some(9))
        );
        assert!(!s.spec_equal(&new, &old));
        s.prepare_for_create(&mut new);
        let HubObject::Pilot(p) = &new else { panic!() };
        assert_eq!(p.status, Default::default());
    }

    #[test]
    fn patch_and_field_schemas_come_from_the_published_openapi() {
        let s = NavigatorStrategy::new(Kind::CassandraCluster);
        for version in ["v1alpha1", "v1beta1"] {
            assert_eq!(
                s.patch_schema(version).patch_meta(&["spec", "nodePools"]),
                PatchMeta::merge_by("name")
            );
            assert_eq!(
                s.patch_schema(version)
                    .patch_meta(&["status", "conditions"]),
                PatchMeta::merge_by("type")
            );
            assert_eq!(
                s.patch_schema(version)
                    .patch_meta(&["metadata", "ownerReferences"]),
                PatchMeta::merge_by("uid")
            );
            assert_eq!(
                s.field_schema(version).shape(&["spec", "nodePools"]),
                Some(apimachinery::managed_fields::Shape::MapList(vec![
                    "name".into()
                ]))
            );
        }
    }

    #[test]
    fn deprecated_persistence_enabled_is_dropped_knowingly() {
        let s = NavigatorStrategy::new(Kind::CassandraCluster);
        let body = json!({"spec": {"nodePools": [{"name": "a"}, {"name": "b", "persistence": {"enabled": true, "size": "1Gi"}}]}});
        let decoded = s.decode("v1alpha1", body.clone()).unwrap();
        assert_eq!(
            decoded.dropped_fields,
            ["spec.nodePools[1].persistence.enabled"]
        );
        assert_eq!(decoded.warnings.len(), 1);
        assert!(
            s.decode("v1beta1", body)
                .is_ok_and(|d| d.dropped_fields.is_empty())
        );
    }

    #[test]
    fn every_selectable_field_has_a_value() {
        for kind in Kind::ALL {
            let s = NavigatorStrategy::new(kind);
            let obj = s.decode("v1beta1", json!({})).unwrap().object;
            for field in s.selectable_fields() {
                assert!(s.field_value(&obj, &field).is_some(), "{kind} {field}");
            }
        }
    }

    #[test]
    fn selectable_fields() {
        let s = NavigatorStrategy::new(Kind::Pilot);
        let obj = s
            .decode("v1beta1", json!({"spec": {"cluster": {"kind": "CassandraCluster", "name": "demo"}, "nodePool": "a"}}))
            .unwrap()
            .object;
        assert_eq!(
            s.field_value(&obj, "spec.cluster.name").as_deref(),
            Some("demo")
        );
        assert_eq!(
            s.field_value(&obj, "spec.requestedState").as_deref(),
            Some("Running")
        );
        assert_eq!(s.field_value(&obj, "spec.other"), None);
    }
}
