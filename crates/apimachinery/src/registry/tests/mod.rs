//! Integration tests of the registry against the real embedded store in a temp dir, with a
//! small test strategy over a `Widget` kind: the fixture here, one file per verb group.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;
use crate::managed_fields::{FieldSchema, Shape};
use crate::patch::{PatchMeta, PatchSchema};
use crate::status::FieldError;
use crate::store::embedded::EmbeddedStore;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pool {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replicas: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replicas: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node_pools: Option<Vec<Pool>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ready: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Widget {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    spec: Spec,
    #[serde(default)]
    status: WStatus,
}

struct Shapes;

impl FieldSchema for Shapes {
    fn shape(&self, path: &[&str]) -> Option<Shape> {
        match path {
            ["spec", "nodePools"] => Some(Shape::MapList(vec!["name".into()])),
            ["spec", "tags"] => Some(Shape::SetList),
            _ => None,
        }
    }
}

/// Patch metadata for `spec.nodePools` only: `ObjectMeta`'s come from the registry (see the GC
/// patch test).
struct PoolsOnly;

impl PatchSchema for PoolsOnly {
    fn patch_meta(&self, path: &[&str]) -> PatchMeta {
        match path {
            ["spec", "nodePools"] => PatchMeta::merge_by("name"),
            _ => PatchMeta::default(),
        }
    }
}

struct WidgetStrategy {
    descriptor: ResourceDescriptor,
    patch: PoolsOnly,
}

impl WidgetStrategy {
    fn new() -> Self {
        Self {
            descriptor: ResourceDescriptor {
                group: "test.io".into(),
                plural: "widgets".into(),
                singular: "widget".into(),
                kind: "Widget".into(),
                list_kind: "WidgetList".into(),
                namespaced: true,
                short_names: vec![],
                categories: vec![],
                versions: vec!["v1".into()],
                storage_version: "v1".into(),
                subresources: vec!["status".into()],
            },
            patch: PoolsOnly,
        }
    }
}

impl Strategy for WidgetStrategy {
    type Object = Widget;

    fn descriptor(&self) -> &ResourceDescriptor {
        &self.descriptor
    }

    fn decode(&self, _version: &str, value: Value) -> Result<Decoded<Widget>, ApiError> {
        let object: Widget = serde_json::from_value(value)
            .map_err(|e| ApiError::bad_request(format!("decoding: {e}")))?;
        Ok(Decoded {
            object,
            warnings: vec![],
            dropped_fields: vec![],
        })
    }

    fn encode(&self, object: &Widget, version: &str) -> Result<Value, ApiError> {
        let mut v = serde_json::to_value(object).map_err(ApiError::internal)?;
        let m = v
            .as_object_mut()
            .ok_or_else(|| ApiError::internal("not an object"))?;
        let mut out = serde_json::Map::new();
        out.insert("apiVersion".into(), json!(format!("test.io/{version}")));
        out.insert("kind".into(), json!("Widget"));
        out.append(m);
        Ok(Value::Object(out))
    }

    fn metadata<'a>(&self, object: &'a Widget) -> &'a ObjectMeta {
        &object.metadata
    }

    fn metadata_mut<'a>(&self, object: &'a mut Widget) -> &'a mut ObjectMeta {
        &mut object.metadata
    }

    fn spec_equal(&self, a: &Widget, b: &Widget) -> bool {
        a.spec == b.spec
    }

    fn prepare_for_create(&self, object: &mut Widget) {
        object.status = WStatus::default();
    }

    fn prepare_for_update(&self, new: &mut Widget, old: &Widget) {
        new.status = old.status.clone();
    }

    fn prepare_for_status_update(&self, new: &mut Widget, old: &Widget) {
        new.spec = old.spec.clone();
    }

    fn validate_create(&self, object: &Widget) -> Vec<FieldError> {
        let mut errs = vec![];
        if object.spec.replicas.is_some_and(|r| r < 0) {
            errs.push(FieldError::invalid(
                "spec.replicas",
                object.spec.replicas.unwrap_or(0),
                "must be greater than or equal to 0",
            ));
        }
        if object.spec.version.as_deref() == Some("bad") {
            errs.push(FieldError::invalid("spec.version", "bad", "is bad"));
        }
        errs
    }

    fn validate_update(&self, new: &Widget, _old: &Widget) -> Vec<FieldError> {
        self.validate_create(new)
    }

    fn validate_status_update(&self, _new: &Widget, _old: &Widget) -> Vec<FieldError> {
        vec![]
    }

    fn warnings(&self, _object: &Widget) -> Vec<String> {
        vec![]
    }

    fn table_columns(&self) -> Vec<TableColumn> {
        vec![
            TableColumn {
                name: "Name".into(),
                type_: "string".into(),
                format: "name".into(),
                description: "name".into(),
                priority: 0,
            },
            TableColumn {
                name: "Replicas".into(),
                type_: "integer".into(),
                format: String::new(),
                description: "replicas".into(),
                priority: 0,
            },
        ]
    }

    fn table_cells(&self, object: &Widget) -> Vec<Value> {
        vec![
            json!(object.metadata.name.clone().unwrap_or_default()),
            json!(object.spec.replicas),
        ]
    }

    fn field_value(&self, object: &Widget, field: &str) -> Option<String> {
        (field == "spec.version").then(|| object.spec.version.clone().unwrap_or_default())
    }

    fn selectable_fields(&self) -> Vec<String> {
        vec!["spec.version".into()]
    }

    fn patch_schema(&self, _version: &str) -> &dyn PatchSchema {
        &self.patch
    }

    fn field_schema(&self, _version: &str) -> &dyn FieldSchema {
        &Shapes
    }
}

type Reg = Registry<WidgetStrategy, EmbeddedStore>;

struct Fixture {
    reg: Reg,
    store: Arc<EmbeddedStore>,
    _dir: tempfile::TempDir,
}

fn fixture_with(f: impl FnOnce(&mut RegistryConfig)) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EmbeddedStore::open(dir.path().join("db")).expect("open"));
    let mut config = RegistryConfig::new("/registry/test.io");
    f(&mut config);
    Fixture {
        reg: Registry::new(WidgetStrategy::new(), Arc::clone(&store), config),
        store,
        _dir: dir,
    }
}

fn fixture() -> Fixture {
    fixture_with(|_| {})
}

fn ctx() -> RequestContext {
    RequestContext {
        namespace: Some("ns".into()),
        version: "v1".into(),
        user_agent: Some("kubectl-create/v1.33.0 (linux/amd64)".into()),
        field_validation: FieldValidation::Strict,
        ..RequestContext::default()
    }
}

fn widget(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "test.io/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec})
}

fn rv(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("resourceVersion")
}

async fn create(f: &Fixture, name: &str, spec: Value) -> Value {
    f.reg
        .create(&ctx(), widget(name, spec))
        .await
        .expect("create")
        .body
}

async fn get(f: &Fixture, name: &str) -> Result<Value, ApiError> {
    f.reg
        .get(&ctx(), name, &GetOptions::default())
        .await
        .map(|r| r.body)
}

mod admission;
mod apply;
mod concurrency;
mod create;
mod delete;
mod list;
mod update;
mod watch;

#[test]
fn stored_objects_are_read_in_their_own_served_version() {
    let mut d = WidgetStrategy::new().descriptor;
    d.versions = vec!["v1".into(), "v1alpha1".into()];
    let cases = [
        (json!({"apiVersion": "test.io/v1alpha1"}), "v1alpha1"),
        (json!({"apiVersion": "test.io/v1"}), "v1"),
        // Not a served version, another group, no group, none at all: the storage version.
        (json!({"apiVersion": "test.io/v2"}), "v1"),
        (json!({"apiVersion": "other.io/v1alpha1"}), "v1"),
        (json!({"apiVersion": "v1alpha1"}), "v1"),
        (json!({"kind": "Widget"}), "v1"),
    ];
    for (object, expected) in cases {
        assert_eq!(super::stored_version(&d, &object), expected, "{object}");
    }
}
