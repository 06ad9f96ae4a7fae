//! The strategy of `ElasticsearchCluster`.

use apimachinery::managed_fields::FieldSchema;
use apimachinery::patch::PatchSchema;
use apimachinery::registry::{Decoded, ResourceDescriptor, Strategy, TableColumn};
use apimachinery::status::{ApiError, FieldError};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use navigator_api::internal::ElasticsearchCluster;
use navigator_api::scheme::{HubObject, Kind};
use navigator_api::validation;
use serde_json::Value;

use super::{KindInfo, field_names};

/// Fields `fieldSelector` accepts beyond `metadata.name` and `metadata.namespace`.
const SELECTABLE_FIELDS: &[&str] = &[
    "spec.version",
    "spec.flavor",
    "spec.paused",
    "status.health",
];

/// The policy of `elasticsearchclusters`: objects are hub [`ElasticsearchCluster`]s.
#[derive(Debug)]
pub struct ElasticsearchClusterStrategy {
    info: KindInfo,
}

impl ElasticsearchClusterStrategy {
    /// The strategy, with the schemas of every served version.
    pub fn new() -> Self {
        Self {
            info: KindInfo::new(Kind::ElasticsearchCluster),
        }
    }
}

impl Default for ElasticsearchClusterStrategy {
    fn default() -> Self {
        Self::new()
    }
}

/// This kind's object out of the hub enum.
fn take(object: HubObject) -> Option<ElasticsearchCluster> {
    match object {
        HubObject::ElasticsearchCluster(o) => Some(o),
        HubObject::CassandraCluster(_) | HubObject::Pilot(_) => None,
    }
}

impl Strategy for ElasticsearchClusterStrategy {
    type Object = ElasticsearchCluster;

    fn descriptor(&self) -> &ResourceDescriptor {
        self.info.descriptor()
    }

    fn decode(
        &self,
        version: &str,
        value: Value,
    ) -> Result<Decoded<ElasticsearchCluster>, ApiError> {
        self.info.decode(version, value, take)
    }

    fn encode(&self, object: &ElasticsearchCluster, version: &str) -> Result<Value, ApiError> {
        self.info
            .encode(HubObject::ElasticsearchCluster(object.clone()), version)
    }

    fn metadata<'a>(&self, object: &'a ElasticsearchCluster) -> &'a ObjectMeta {
        &object.metadata
    }

    fn metadata_mut<'a>(&self, object: &'a mut ElasticsearchCluster) -> &'a mut ObjectMeta {
        &mut object.metadata
    }

    fn spec_equal(&self, a: &ElasticsearchCluster, b: &ElasticsearchCluster) -> bool {
        a.spec == b.spec
    }

    fn prepare_for_create(&self, object: &mut ElasticsearchCluster) {
        object.status = Default::default();
    }

    fn prepare_for_update(&self, new: &mut ElasticsearchCluster, old: &ElasticsearchCluster) {
        new.status = old.status.clone();
    }

    fn prepare_for_status_update(
        &self,
        new: &mut ElasticsearchCluster,
        old: &ElasticsearchCluster,
    ) {
        new.spec = old.spec.clone();
    }

    fn validate_create(&self, object: &ElasticsearchCluster) -> Vec<FieldError> {
        validation::validate_elasticsearch_cluster(object)
    }

    fn validate_update(
        &self,
        new: &ElasticsearchCluster,
        old: &ElasticsearchCluster,
    ) -> Vec<FieldError> {
        validation::validate_elasticsearch_cluster_update(new, old)
    }

    fn validate_status_update(
        &self,
        new: &ElasticsearchCluster,
        _old: &ElasticsearchCluster,
    ) -> Vec<FieldError> {
        validation::validate_elasticsearch_cluster_status(new)
    }

    fn warnings(&self, object: &ElasticsearchCluster) -> Vec<String> {
        validation::elasticsearch_cluster_warnings(object)
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        self.info.table_columns()
    }

    fn table_cells(&self, object: &ElasticsearchCluster) -> Vec<Value> {
        self.info
            .table_cells(&HubObject::ElasticsearchCluster(object.clone()))
    }

    fn field_value(&self, object: &ElasticsearchCluster, field: &str) -> Option<String> {
        match field {
            "spec.version" => Some(
                object
                    .spec
                    .version
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            "spec.flavor" => Some(object.spec.flavor().to_owned()),
            "spec.paused" => Some(object.spec.config.paused.to_string()),
            "status.health" => Some(object.status.health.clone().unwrap_or_default()),
            _ => None,
        }
    }

    fn selectable_fields(&self) -> Vec<String> {
        field_names(SELECTABLE_FIELDS)
    }

    fn patch_schema(&self, version: &str) -> &dyn PatchSchema {
        self.info.schema(version)
    }

    fn field_schema(&self, version: &str) -> &dyn FieldSchema {
        self.info.schema(version)
    }
}
