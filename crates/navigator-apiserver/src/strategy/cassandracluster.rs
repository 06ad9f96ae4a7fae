//! The strategy of `CassandraCluster`.

use apimachinery::managed_fields::FieldSchema;
use apimachinery::patch::PatchSchema;
use apimachinery::registry::{Decoded, ResourceDescriptor, Strategy, TableColumn};
use apimachinery::status::{ApiError, FieldError};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use navigator_api::internal::CassandraCluster;
use navigator_api::scheme::{HubObject, Kind};
use navigator_api::validation;
use serde_json::Value;

use super::{KindInfo, field_names};

/// Fields `fieldSelector` accepts beyond `metadata.name` and `metadata.namespace`.
const SELECTABLE_FIELDS: &[&str] = &["spec.version", "spec.paused"];

/// The policy of `cassandraclusters`: objects are hub [`CassandraCluster`]s.
#[derive(Debug)]
pub struct CassandraClusterStrategy {
    info: KindInfo,
}

impl CassandraClusterStrategy {
    /// The strategy, with the schemas of every served version.
    pub fn new() -> Self {
        Self {
            info: KindInfo::new(Kind::CassandraCluster),
        }
    }
}

impl Default for CassandraClusterStrategy {
    fn default() -> Self {
        Self::new()
    }
}

/// This kind's object out of the hub enum.
fn take(object: HubObject) -> Option<CassandraCluster> {
    match object {
        HubObject::CassandraCluster(o) => Some(o),
        HubObject::ElasticsearchCluster(_) | HubObject::Pilot(_) => None,
    }
}

impl Strategy for CassandraClusterStrategy {
    type Object = CassandraCluster;

    fn descriptor(&self) -> &ResourceDescriptor {
        self.info.descriptor()
    }

    fn decode(&self, version: &str, value: Value) -> Result<Decoded<CassandraCluster>, ApiError> {
        self.info.decode(version, value, take)
    }

    fn encode(&self, object: &CassandraCluster, version: &str) -> Result<Value, ApiError> {
        self.info
            .encode(HubObject::CassandraCluster(object.clone()), version)
    }

    fn metadata<'a>(&self, object: &'a CassandraCluster) -> &'a ObjectMeta {
        &object.metadata
    }

    fn metadata_mut<'a>(&self, object: &'a mut CassandraCluster) -> &'a mut ObjectMeta {
        &mut object.metadata
    }

    fn spec_equal(&self, a: &CassandraCluster, b: &CassandraCluster) -> bool {
        a.spec == b.spec
    }

    fn prepare_for_create(&self, object: &mut CassandraCluster) {
        object.status = Default::default();
    }

    fn prepare_for_update(&self, new: &mut CassandraCluster, old: &CassandraCluster) {
        new.status = old.status.clone();
    }

    fn prepare_for_status_update(&self, new: &mut CassandraCluster, old: &CassandraCluster) {
        new.spec = old.spec.clone();
    }

    fn validate_create(&self, object: &CassandraCluster) -> Vec<FieldError> {
        validation::validate_cassandra_cluster(object)
    }

    fn validate_update(&self, new: &CassandraCluster, old: &CassandraCluster) -> Vec<FieldError> {
        validation::validate_cassandra_cluster_update(new, old)
    }

    fn validate_status_update(
        &self,
        new: &CassandraCluster,
        _old: &CassandraCluster,
    ) -> Vec<FieldError> {
        validation::validate_cassandra_cluster_status(new)
    }

    fn warnings(&self, _object: &CassandraCluster) -> Vec<String> {
        Vec::new()
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        self.info.table_columns()
    }

    fn table_cells(&self, object: &CassandraCluster) -> Vec<Value> {
        self.info
            .table_cells(&HubObject::CassandraCluster(object.clone()))
    }

    fn field_value(&self, object: &CassandraCluster, field: &str) -> Option<String> {
        match field {
            "spec.version" => Some(
                object
                    .spec
                    .version
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            "spec.paused" => Some(object.spec.config.paused.to_string()),
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
