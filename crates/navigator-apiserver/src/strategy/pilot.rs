//! The strategy of `Pilot`.

use apimachinery::managed_fields::FieldSchema;
use apimachinery::patch::PatchSchema;
use apimachinery::registry::{Decoded, ResourceDescriptor, Strategy, TableColumn};
use apimachinery::status::{ApiError, FieldError};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use navigator_api::internal::Pilot;
use navigator_api::scheme::{HubObject, Kind};
use navigator_api::validation;
use serde_json::Value;

use super::{KindInfo, field_names};

/// Fields `fieldSelector` accepts beyond `metadata.name` and `metadata.namespace`.
const SELECTABLE_FIELDS: &[&str] = &[
    "spec.cluster.kind",
    "spec.cluster.name",
    "spec.nodePool",
    "spec.requestedState",
];

/// The policy of `pilots`: objects are hub [`Pilot`]s.
#[derive(Debug)]
pub struct PilotStrategy {
    info: KindInfo,
}

impl PilotStrategy {
    /// The strategy, with the schemas of every served version.
    pub fn new() -> Self {
        Self {
            info: KindInfo::new(Kind::Pilot),
        }
    }
}

impl Default for PilotStrategy {
    fn default() -> Self {
        Self::new()
    }
}

/// This kind's object out of the hub enum.
fn take(object: HubObject) -> Option<Pilot> {
    match object {
        HubObject::Pilot(o) => Some(o),
        HubObject::CassandraCluster(_) | HubObject::ElasticsearchCluster(_) => None,
    }
}

impl Strategy for PilotStrategy {
    type Object = Pilot;

    fn descriptor(&self) -> &ResourceDescriptor {
        self.info.descriptor()
    }

    fn decode(&self, version: &str, value: Value) -> Result<Decoded<Pilot>, ApiError> {
        self.info.decode(version, value, take)
    }

    fn encode(&self, object: &Pilot, version: &str) -> Result<Value, ApiError> {
        self.info.encode(HubObject::Pilot(object.clone()), version)
    }

    fn metadata<'a>(&self, object: &'a Pilot) -> &'a ObjectMeta {
        &object.metadata
    }

    fn metadata_mut<'a>(&self, object: &'a mut Pilot) -> &'a mut ObjectMeta {
        &mut object.metadata
    }

    fn spec_equal(&self, a: &Pilot, b: &Pilot) -> bool {
        a.spec == b.spec
    }

    fn prepare_for_create(&self, object: &mut Pilot) {
        object.status = Default::default();
    }

    fn prepare_for_update(&self, new: &mut Pilot, old: &Pilot) {
        new.status = old.status.clone();
    }

    fn prepare_for_status_update(&self, new: &mut Pilot, old: &Pilot) {
        new.spec = old.spec.clone();
    }

    fn validate_create(&self, object: &Pilot) -> Vec<FieldError> {
        validation::validate_pilot(object)
    }

    fn validate_update(&self, new: &Pilot, old: &Pilot) -> Vec<FieldError> {
        validation::validate_pilot_update(new, old)
    }

    fn validate_status_update(&self, new: &Pilot, _old: &Pilot) -> Vec<FieldError> {
        validation::validate_pilot_status(new)
    }

    fn warnings(&self, _object: &Pilot) -> Vec<String> {
        Vec::new()
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        self.info.table_columns()
    }

    fn table_cells(&self, object: &Pilot) -> Vec<Value> {
        self.info.table_cells(&HubObject::Pilot(object.clone()))
    }

    fn field_value(&self, object: &Pilot, field: &str) -> Option<String> {
        match field {
            "spec.cluster.kind" => Some(
                object
                    .spec
                    .cluster
                    .as_ref()
                    .map(|c| c.kind.clone())
                    .unwrap_or_default(),
            ),
            "spec.cluster.name" => Some(
                object
                    .spec
                    .cluster
                    .as_ref()
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
            ),
            "spec.nodePool" => Some(object.spec.node_pool.clone().unwrap_or_default()),
            "spec.requestedState" => Some(object.spec.requested_state.clone().unwrap_or_default()),
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
