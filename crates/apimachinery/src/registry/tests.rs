//! Integration tests of the registry against the real embedded store in a temp dir, with a
//! small test strategy over a `Widget` kind.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use pretty_assertions::assert_eq;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;
use crate::managed_fields::{FieldSchema, Shape};
use crate::patch::{PatchMeta, PatchSchema, StaticPatchSchema};
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

struct WidgetStrategy {
    descriptor: ResourceDescriptor,
    patch: StaticPatchSchema,
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
            patch: StaticPatchSchema::default().with("spec.nodePools", PatchMeta::merge_by("name")),
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

#[tokio::test]
async fn create_fills_system_fields_and_managed_fields() {
    let f = fixture();
    let r = f
        .reg
        .create(&ctx(), widget("a", json!({"replicas": 1})))
        .await
        .expect("create");
    assert_eq!(r.code, 201);
    let b = r.body;
    assert_eq!(b["metadata"]["namespace"], "ns");
    assert_eq!(b["metadata"]["generation"], 1);
    assert_eq!(b["metadata"]["uid"].as_str().map(str::len), Some(36));
    assert!(
        b["metadata"]["creationTimestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(b["status"], json!({}));
    let mf = &b["metadata"]["managedFields"][0];
    assert_eq!(mf["manager"], "kubectl-create");
    assert_eq!(mf["operation"], "Update");
    assert_eq!(mf["apiVersion"], "test.io/v1");
    assert_eq!(mf["fieldsType"], "FieldsV1");
    assert_eq!(mf["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
    assert_eq!(get(&f, "a").await.expect("get"), b);
    // The stored value carries no resourceVersion; the key follows the layout.
    let kv = f
        .store
        .get("/registry/test.io/widgets/ns/a", None)
        .await
        .expect("get")
        .expect("present");
    let stored: Value = serde_json::from_slice(&kv.value).expect("json");
    assert_eq!(stored["metadata"].get("resourceVersion"), None);
    assert_eq!(kv.mod_revision, rv(&b));
}

#[tokio::test]
async fn create_rejects_bad_requests_like_go() {
    let f = fixture();
    create(&f, "a", json!({})).await;
    let e = f
        .reg
        .create(&ctx(), widget("a", json!({})))
        .await
        .expect_err("exists");
    assert_eq!(e.code(), 409);
    assert_eq!(e.message(), "widgets.test.io \"a\" already exists");
    let mut other_ns = widget("b", json!({}));
    other_ns["metadata"]["namespace"] = json!("other");
    let e = f.reg.create(&ctx(), other_ns).await.expect_err("ns");
    assert_eq!(
        e.message(),
        "the namespace of the provided object does not match the namespace sent on the request"
    );
    let mut with_rv = widget("b", json!({}));
    with_rv["metadata"]["resourceVersion"] = json!("5");
    let e = f.reg.create(&ctx(), with_rv).await.expect_err("rv");
    assert_eq!(
        e.message(),
        "resourceVersion should not be set on objects to be created"
    );
    let mut bad_av = widget("b", json!({}));
    bad_av["apiVersion"] = json!("test.io/v2");
    assert_eq!(
        f.reg.create(&ctx(), bad_av).await.expect_err("av").code(),
        400
    );
    let e = f
        .reg
        .create(
            &ctx(),
            widget("b", json!({"replicas": -1, "version": "bad"})),
        )
        .await
        .expect_err("invalid");
    assert_eq!(e.code(), 422);
    assert_eq!(
        e.message(),
        "Widget.test.io \"b\" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.version: Invalid value: \"bad\": is bad]"
    );
    let e = f
        .reg
        .create(&ctx(), widget("", json!({})))
        .await
        .expect_err("no name");
    assert_eq!(
        e.message(),
        "Widget.test.io \"\" is invalid: metadata.name: Required value: name or generateName is required"
    );
    assert!(get(&f, "b").await.is_err(), "nothing stored");
}

#[tokio::test]
async fn generate_name_and_dry_run() {
    let f = fixture();
    let mut body = widget("", json!({}));
    body["metadata"] = json!({"generateName": "w-"});
    let b = f.reg.create(&ctx(), body).await.expect("create").body;
    let name = b["metadata"]["name"].as_str().expect("name");
    assert!(name.starts_with("w-") && name.len() == 7, "{name}");
    let dry = RequestContext {
        dry_run: true,
        ..ctx()
    };
    let r = f
        .reg
        .create(&dry, widget("d", json!({})))
        .await
        .expect("dry");
    assert_eq!(r.code, 201);
    assert!(r.body["metadata"]["uid"].is_string());
    assert_eq!(r.body["metadata"].get("resourceVersion"), None);
    assert_eq!(get(&f, "d").await.expect_err("not written").code(), 404);
}

#[tokio::test]
async fn field_validation_strict_warn_ignore() {
    let f = fixture();
    let body = widget("a", json!({"replicas": 1, "foo": 1, "bar": {"x": 1}}));
    let e = f
        .reg
        .create(&ctx(), body.clone())
        .await
        .expect_err("strict");
    assert_eq!(e.code(), 400);
    assert_eq!(
        e.message(),
        "Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.foo\", unknown field \"spec.bar\""
    );
    let warn = RequestContext {
        field_validation: FieldValidation::Warn,
        ..ctx()
    };
    let r = f.reg.create(&warn, body.clone()).await.expect("warn");
    assert_eq!(
        r.warnings,
        ["unknown field \"spec.foo\"", "unknown field \"spec.bar\""]
    );
    let ignore = RequestContext {
        field_validation: FieldValidation::Ignore,
        ..ctx()
    };
    let mut b2 = body;
    b2["metadata"]["name"] = json!("b");
    assert!(
        f.reg
            .create(&ignore, b2)
            .await
            .expect("ignore")
            .warnings
            .is_empty()
    );
}

#[tokio::test]
async fn update_rules() {
    let f = fixture();
    let created = create(&f, "a", json!({"replicas": 1})).await;
    let mut body = created.clone();
    body["spec"]["replicas"] = json!(2);
    body["metadata"]["resourceVersion"] = json!(null);
    let e = f
        .reg
        .update(&ctx(), "a", Subresource::Main, body.clone())
        .await
        .expect_err("no rv");
    assert_eq!(e.code(), 422);
    assert_eq!(
        e.message(),
        "Widget.test.io \"a\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
    );
    body["metadata"]["resourceVersion"] = json!("999");
    let e = f
        .reg
        .update(&ctx(), "a", Subresource::Main, body.clone())
        .await
        .expect_err("stale");
    assert_eq!(e.code(), 409);
    assert_eq!(
        e.message(),
        "Operation cannot be fulfilled on widgets.test.io \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );
    let e = f
        .reg
        .update(&ctx(), "zz", Subresource::Main, widget("zz", json!({})))
        .await
        .expect_err("404");
    assert_eq!(e.code(), 404);
    let e = f
        .reg
        .update(&ctx(), "b", Subresource::Main, body.clone())
        .await
        .expect_err("name");
    assert_eq!(
        e.message(),
        "the name of the object (a) does not match the name on the URL (b)"
    );

    // Spec change bumps generation; status sent to the main resource is ignored.
    body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"].clone();
    body["status"] = json!({"ready": 5});
    let edit = RequestContext {
        user_agent: Some("kubectl-edit/v1".into()),
        ..ctx()
    };
    let updated = f
        .reg
        .update(&edit, "a", Subresource::Main, body)
        .await
        .expect("update")
        .body;
    assert_eq!(updated["metadata"]["generation"], 2);
    assert_eq!(updated["status"], json!({}));
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
    assert!(rv(&updated) > rv(&created));
    let managers: Vec<&str> = updated["metadata"]["managedFields"]
        .as_array()
        .expect("mf")
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["kubectl-edit"], "the edit took the only field");

    // A no-op update keeps the resourceVersion.
    let same = f
        .reg
        .update(&edit, "a", Subresource::Main, updated.clone())
        .await
        .expect("noop")
        .body;
    assert_eq!(same, updated);

    // Label change: no generation bump.
    let mut labelled = updated.clone();
    labelled["metadata"]["labels"] = json!({"x": "y"});
    let l = f
        .reg
        .update(&ctx(), "a", Subresource::Main, labelled)
        .await
        .expect("labels")
        .body;
    assert_eq!(l["metadata"]["generation"], 2);

    // /status keeps spec and metadata, takes status.
    let mut st = l.clone();
    st["spec"]["replicas"] = json!(100);
    st["status"] = json!({"ready": 3});
    st["metadata"]["labels"] = json!({"x": "changed"});
    let s = f
        .reg
        .update(&ctx(), "a", Subresource::Status, st)
        .await
        .expect("status")
        .body;
    assert_eq!(s["spec"]["replicas"], 2);
    assert_eq!(s["status"]["ready"], 3);
    assert_eq!(s["metadata"]["labels"], json!({"x": "y"}));
    assert_eq!(s["metadata"]["generation"], 2);
    let status_mgr = s["metadata"]["managedFields"]
        .as_array()
        .expect("mf")
        .iter()
        .find(|m| m["subresource"] == "status")
        .expect("status manager");
    assert_eq!(status_mgr["fieldsV1"], json!({"f:status": {"f:ready": {}}}));
}

#[tokio::test]
async fn patches_merge_json_strategic() {
    let f = fixture();
    create(&f, "a", json!({"replicas": 1, "nodePools": [{"name": "x", "replicas": 1}, {"name": "y", "replicas": 1}]})).await;
    let p = f
        .reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::Merge,
            br#"{"spec":{"replicas":3}}"#,
        )
        .await
        .expect("merge")
        .body;
    assert_eq!(p["spec"]["replicas"], 3);
    assert_eq!(p["metadata"]["generation"], 2);
    let p = f
        .reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::StrategicMerge,
            br#"{"spec":{"nodePools":[{"name":"y","replicas":7}]}}"#,
        )
        .await
        .expect("smp")
        .body;
    assert_eq!(
        p["spec"]["nodePools"],
        json!([{"name": "x", "replicas": 1}, {"name": "y", "replicas": 7}])
    );
    let p = f
        .reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::Json,
            br#"[{"op":"add","path":"/spec/version","value":"2"}]"#,
        )
        .await
        .expect("json")
        .body;
    assert_eq!(p["spec"]["version"], "2");
    let e = f
        .reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::Json,
            br#"[{"op":"test","path":"/spec/version","value":"9"}]"#,
        )
        .await
        .expect_err("test op");
    assert_eq!(e.code(), 422);
    let e = f
        .reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::Merge,
            br#"{"metadata":{"resourceVersion":"1"}}"#,
        )
        .await
        .expect_err("precondition");
    assert_eq!(e.code(), 409);
    let e = f
        .reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::Merge,
            b"{not json",
        )
        .await
        .expect_err("bad");
    assert_eq!(e.code(), 400);
    let e = f
        .reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::Merge,
            br#"{"spec":{"foo":1}}"#,
        )
        .await
        .expect_err("strict");
    assert_eq!(e.code(), 422);
    let e = f
        .reg
        .patch(&ctx(), "nope", Subresource::Main, PatchType::Merge, b"{}")
        .await
        .expect_err("404");
    assert_eq!(e.code(), 404);
}

fn apply_ctx(manager: &str) -> RequestContext {
    RequestContext {
        field_manager: Some(manager.into()),
        ..ctx()
    }
}

#[tokio::test]
async fn server_side_apply_create_conflict_force_prune() {
    let f = fixture();
    let cfg = br#"{"apiVersion":"test.io/v1","kind":"Widget","metadata":{"name":"a"},"spec":{"replicas":1,"nodePools":[{"name":"x","replicas":2}],"tags":["t1"]}}"#;
    let e = f
        .reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::Apply { force: false },
            cfg,
        )
        .await
        .expect_err("manager required");
    assert_eq!(e.code(), 422);
    let r = f
        .reg
        .patch(
            &apply_ctx("kubectl"),
            "a",
            Subresource::Main,
            PatchType::Apply { force: false },
            cfg,
        )
        .await
        .expect("create on apply");
    assert_eq!(r.code, 201);
    assert_eq!(r.body["metadata"]["managedFields"][0]["operation"], "Apply");
    // Re-applying the same configuration is a no-op.
    let again = f
        .reg
        .patch(
            &apply_ctx("kubectl"),
            "a",
            Subresource::Main,
            PatchType::Apply { force: false },
            cfg,
        )
        .await
        .expect("noop");
    assert_eq!(rv(&again.body), rv(&r.body));
    // Another applier changing an owned field conflicts.
    let other = b"apiVersion: test.io/v1\nkind: Widget\nmetadata:\n  name: a\nspec:\n  nodePools:\n  - name: x\n    replicas: 5\n";
    let e = f
        .reg
        .patch(
            &apply_ctx("other"),
            "a",
            Subresource::Main,
            PatchType::Apply { force: false },
            other,
        )
        .await
        .expect_err("conflict");
    assert_eq!(e.code(), 409);
    assert_eq!(
        e.message(),
        "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.nodePools[name=\"x\"].replicas"
    );
    let status = e.to_status();
    let cause = &status.details.expect("details").causes[0];
    assert_eq!(cause.reason, "FieldManagerConflict");
    assert_eq!(cause.field, ".spec.nodePools[name=\"x\"].replicas");
    let forced = f
        .reg
        .patch(
            &apply_ctx("other"),
            "a",
            Subresource::Main,
            PatchType::Apply { force: true },
            other,
        )
        .await
        .expect("force")
        .body;
    assert_eq!(forced["spec"]["nodePools"][0]["replicas"], 5);
    // kubectl stops applying tags and replicas: both are pruned; the pool stays (other owns a field in it).
    let less = br#"{"apiVersion":"test.io/v1","kind":"Widget","metadata":{"name":"a"},"spec":{}}"#;
    let pruned = f
        .reg
        .patch(
            &apply_ctx("kubectl"),
            "a",
            Subresource::Main,
            PatchType::Apply { force: false },
            less,
        )
        .await
        .expect("prune")
        .body;
    assert_eq!(
        pruned["spec"],
        json!({"nodePools": [{"name": "x", "replicas": 5}]})
    );
}

#[tokio::test]
async fn delete_with_finalizers_preconditions_and_collection() {
    let f = fixture();
    let mut body = widget("a", json!({}));
    body["metadata"]["finalizers"] = json!(["keep"]);
    let created = f.reg.create(&ctx(), body).await.expect("create").body;
    let e = f
        .reg
        .delete(
            &ctx(),
            "a",
            &DeleteOptions {
                precondition_uid: Some("other".into()),
                ..DeleteOptions::default()
            },
        )
        .await
        .expect_err("uid");
    assert_eq!(e.code(), 409);
    let r = f
        .reg
        .delete(&ctx(), "a", &DeleteOptions::default())
        .await
        .expect("delete");
    assert_eq!(r.code, 200);
    assert!(r.body["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(r.body["metadata"]["deletionGracePeriodSeconds"], 0);
    assert_eq!(r.body["metadata"]["generation"], 2);
    let again = f
        .reg
        .delete(&ctx(), "a", &DeleteOptions::default())
        .await
        .expect("again");
    assert_eq!(again.body, r.body, "a repeated delete changes nothing");
    // Adding a finalizer while deleting is forbidden.
    let e = f
        .reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::Merge,
            br#"{"metadata":{"finalizers":["keep","more"]}}"#,
        )
        .await
        .expect_err("new finalizer");
    assert_eq!(e.code(), 422);
    // Removing the last finalizer deletes the object.
    f.reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::Merge,
            br#"{"metadata":{"finalizers":null}}"#,
        )
        .await
        .expect("release");
    assert_eq!(get(&f, "a").await.expect_err("gone").code(), 404);
    let _ = created;

    // Immediate delete answers a Success Status.
    let b = create(&f, "b", json!({})).await;
    let r = f
        .reg
        .delete(&ctx(), "b", &DeleteOptions::default())
        .await
        .expect("delete");
    assert_eq!(r.body["status"], "Success");
    assert_eq!(
        r.body["details"],
        json!({"name": "b", "group": "test.io", "kind": "widgets", "uid": b["metadata"]["uid"]})
    );
    // Foreground adds the GC finalizer.
    create(&f, "c", json!({})).await;
    let r = f
        .reg
        .delete(
            &ctx(),
            "c",
            &DeleteOptions {
                propagation_policy: Some("Foreground".into()),
                ..DeleteOptions::default()
            },
        )
        .await
        .expect("fg");
    assert_eq!(
        r.body["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );

    // deletecollection with a selector.
    for (n, v) in [("d1", "1"), ("d2", "2"), ("d3", "1")] {
        create(&f, n, json!({"version": v})).await;
    }
    let r = f
        .reg
        .delete_collection(
            &ctx(),
            &ListOptions {
                field_selector: Some("spec.version=1".into()),
                ..ListOptions::default()
            },
            &DeleteOptions::default(),
        )
        .await
        .expect("collection");
    assert_eq!(r.body["kind"], "WidgetList");
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(2));
    assert!(get(&f, "d1").await.is_err() && get(&f, "d3").await.is_err());
    assert!(get(&f, "d2").await.is_ok());
}

#[tokio::test]
async fn list_pages_selectors_and_representations() {
    let f = fixture();
    for i in 0..5 {
        let mut b = widget(
            &format!("w{i}"),
            json!({"replicas": i, "version": if i % 2 == 0 { "even" } else { "odd" }}),
        );
        b["metadata"]["labels"] = json!({"parity": if i % 2 == 0 { "even" } else { "odd" }});
        f.reg.create(&ctx(), b).await.expect("create");
    }
    let all = f
        .reg
        .list(&ctx(), &ListOptions::default())
        .await
        .expect("list")
        .body;
    assert_eq!(all["kind"], "WidgetList");
    assert_eq!(all["apiVersion"], "test.io/v1");
    assert_eq!(all["items"].as_array().map(Vec::len), Some(5));
    assert_eq!(all["items"][0].get("kind"), None);
    let list_rv = all["metadata"]["resourceVersion"].clone();

    let mut names = vec![];
    let mut token = None;
    let mut first = true;
    loop {
        let page = f
            .reg
            .list(
                &ctx(),
                &ListOptions {
                    limit: Some(2),
                    continue_token: token.clone(),
                    ..ListOptions::default()
                },
            )
            .await
            .expect("page")
            .body;
        if first {
            assert_eq!(page["metadata"]["remainingItemCount"], 3);
            assert_eq!(page["metadata"]["resourceVersion"], list_rv);
            first = false;
        }
        names.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["metadata"]["name"].clone()),
        );
        match page["metadata"]["continue"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(names, ["w0", "w1", "w2", "w3", "w4"]);

    let sel = |l: Option<&str>, fs: Option<&str>| ListOptions {
        label_selector: l.map(Into::into),
        field_selector: fs.map(Into::into),
        ..ListOptions::default()
    };
    let odd = f
        .reg
        .list(&ctx(), &sel(Some("parity=odd"), None))
        .await
        .expect("label")
        .body;
    assert_eq!(odd["items"].as_array().map(Vec::len), Some(2));
    let one = f
        .reg
        .list(&ctx(), &sel(None, Some("metadata.name=w3")))
        .await
        .expect("field")
        .body;
    assert_eq!(one["items"][0]["metadata"]["name"], "w3");
    let even = f
        .reg
        .list(&ctx(), &sel(None, Some("spec.version=even")))
        .await
        .expect("custom")
        .body;
    assert_eq!(even["items"].as_array().map(Vec::len), Some(3));
    let e = f
        .reg
        .list(&ctx(), &sel(None, Some("spec.foo=1")))
        .await
        .expect_err("unknown");
    assert_eq!(
        e.message(),
        "\"spec.foo\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\", \"spec.version\""
    );
    assert_eq!(
        f.reg
            .list(&ctx(), &sel(Some("a in (b"), None))
            .await
            .expect_err("parse")
            .code(),
        400
    );
    // Paging with a selector still pages.
    let page = f
        .reg
        .list(
            &ctx(),
            &ListOptions {
                limit: Some(1),
                ..sel(Some("parity=odd"), None)
            },
        )
        .await
        .expect("sel page")
        .body;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    assert!(page["metadata"]["continue"].is_string());
    assert_eq!(page["metadata"].get("remainingItemCount"), None);

    let other_ns = RequestContext {
        namespace: Some("elsewhere".into()),
        ..ctx()
    };
    let none = f
        .reg
        .list(&other_ns, &ListOptions::default())
        .await
        .expect("ns")
        .body;
    assert_eq!(none["items"], json!([]));
    let cluster = RequestContext {
        namespace: None,
        ..ctx()
    };
    let everywhere = f
        .reg
        .list(&cluster, &ListOptions::default())
        .await
        .expect("all")
        .body;
    assert_eq!(everywhere["items"].as_array().map(Vec::len), Some(5));

    let table = RequestContext {
        representation: Representation::Table {
            include_object: IncludeObject::Metadata,
        },
        ..ctx()
    };
    let t = f
        .reg
        .list(&table, &ListOptions::default())
        .await
        .expect("table")
        .body;
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["columnDefinitions"][1]["name"], "Replicas");
    assert_eq!(t["rows"][4]["cells"], json!(["w4", 4]));
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    let pom = RequestContext {
        representation: Representation::PartialObjectMetadata,
        ..ctx()
    };
    let p = f
        .reg
        .list(&pom, &ListOptions::default())
        .await
        .expect("pom")
        .body;
    assert_eq!(p["kind"], "PartialObjectMetadataList");
    assert_eq!(p["items"][0]["apiVersion"], "meta.k8s.io/v1");
    let g = f
        .reg
        .get(&pom, "w1", &GetOptions::default())
        .await
        .expect("pom get")
        .body;
    assert_eq!(g["kind"], "PartialObjectMetadata");
    assert_eq!(g.get("spec"), None);
    // A resourceVersion from the future is a 504.
    let e = f
        .reg
        .get(
            &ctx(),
            "w1",
            &GetOptions {
                resource_version: Some("100000".into()),
            },
        )
        .await
        .expect_err("future");
    assert_eq!(e.code(), 504);
}

async fn next(s: &mut WatchStream) -> Value {
    tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .expect("event in time")
        .expect("stream open")
}

#[tokio::test]
async fn watch_initial_events_changes_transitions_and_bookmarks() {
    let f = fixture_with(|c| c.bookmark_interval = Duration::from_millis(300));
    let mut b = widget("a", json!({}));
    b["metadata"]["labels"] = json!({"app": "x"});
    f.reg.create(&ctx(), b).await.expect("a");
    create(&f, "other", json!({})).await;
    let mut w = f
        .reg
        .watch(
            &ctx(),
            &ListOptions {
                label_selector: Some("app=x".into()),
                send_initial_events: Some(true),
                resource_version_match: Some("NotOlderThan".into()),
                allow_watch_bookmarks: true,
                ..ListOptions::default()
            },
        )
        .await
        .expect("watch");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "ADDED");
    assert_eq!(e["object"]["metadata"]["name"], "a");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "BOOKMARK");
    assert_eq!(
        e["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    // A change that makes the object stop matching is a DELETED.
    f.reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::Merge,
            br#"{"metadata":{"labels":{"app":"y"}}}"#,
        )
        .await
        .expect("relabel");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "DELETED");
    f.reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::Merge,
            br#"{"metadata":{"labels":{"app":"x"}}}"#,
        )
        .await
        .expect("relabel back");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "ADDED");
    let rv_added = rv(&e["object"]);
    // Non-matching objects are never sent; bookmarks come periodically.
    f.reg
        .patch(
            &ctx(),
            "other",
            Subresource::Main,
            PatchType::Merge,
            br#"{"spec":{"replicas":4}}"#,
        )
        .await
        .expect("other");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "BOOKMARK");
    assert!(rv(&e["object"]) > rv_added);
    f.reg
        .delete(&ctx(), "a", &DeleteOptions::default())
        .await
        .expect("delete");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "DELETED");
    assert!(rv(&e["object"]) > rv_added);
}

#[tokio::test]
async fn watch_from_resource_version_timeout_and_gone() {
    let f = fixture();
    let a = create(&f, "a", json!({})).await;
    let table = RequestContext {
        representation: Representation::Table {
            include_object: IncludeObject::None,
        },
        ..ctx()
    };
    let mut w = f
        .reg
        .watch(
            &table,
            &ListOptions {
                resource_version: Some(rv(&a).to_string()),
                timeout_seconds: Some(1),
                ..ListOptions::default()
            },
        )
        .await
        .expect("watch");
    create(&f, "b", json!({"replicas": 2})).await;
    create(&f, "c", json!({"replicas": 3})).await;
    let e = next(&mut w).await;
    assert_eq!(e["type"], "ADDED");
    assert_eq!(e["object"]["kind"], "Table");
    assert_eq!(e["object"]["rows"][0]["cells"], json!(["b", 2]));
    assert!(e["object"]["columnDefinitions"].is_array());
    let e = next(&mut w).await;
    assert_eq!(e["object"]["columnDefinitions"], Value::Null);
    // timeoutSeconds ends the stream.
    let end = tokio::time::timeout(Duration::from_secs(5), w.next())
        .await
        .expect("ends");
    assert!(end.is_none());

    // A compacted start is an ERROR event with 410 Expired.
    let current = f.store.current_revision().await.expect("rev");
    f.store.compact(current).await.expect("compact");
    let mut w = f
        .reg
        .watch(
            &ctx(),
            &ListOptions {
                resource_version: Some(rv(&a).to_string()),
                ..ListOptions::default()
            },
        )
        .await
        .expect("watch");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "ERROR");
    assert_eq!(e["object"]["code"], 410);
    assert_eq!(e["object"]["reason"], "Expired");
    assert!(
        e["object"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("too old resource version"))
    );
}

/// 16 writers, 1,000 read-modify-write attempts on one object: every attempt lands or gets a
/// 409, and the final counter equals the landed ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_read_modify_write_loses_no_update() {
    let f = fixture();
    create(&f, "counter", json!({"replicas": 0})).await;
    let reg = f.reg.clone();
    let mut tasks = vec![];
    for t in 0..16 {
        let reg = reg.clone();
        let attempts = 1000 / 16 + usize::from(t < 1000 % 16);
        tasks.push(tokio::spawn(async move {
            let (mut landed, mut conflicts) = (0u64, 0u64);
            for _ in 0..attempts {
                let cur = reg
                    .get(&ctx(), "counter", &GetOptions::default())
                    .await
                    .expect("get")
                    .body;
                let mut next = cur.clone();
                next["spec"]["replicas"] = json!(cur["spec"]["replicas"].as_i64().unwrap_or(0) + 1);
                match reg.update(&ctx(), "counter", Subresource::Main, next).await {
                    Ok(_) => landed += 1,
                    Err(e) if e.code() == 409 => conflicts += 1,
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
            (landed, conflicts)
        }));
    }
    let (mut landed, mut conflicts) = (0, 0);
    for t in tasks {
        let (l, c) = t.await.expect("task");
        landed += l;
        conflicts += c;
    }
    assert_eq!(landed + conflicts, 1000);
    assert!(landed > 0);
    let last = get(&f, "counter").await.expect("get");
    assert_eq!(last["spec"]["replicas"].as_u64(), Some(landed));
    assert_eq!(last["metadata"]["generation"].as_u64(), Some(landed + 1));
}

#[tokio::test]
async fn watch_representations_table_and_metadata() {
    let f = fixture();
    create(&f, "a", json!({"replicas": 1})).await;
    let table_none = RequestContext {
        representation: Representation::Table {
            include_object: IncludeObject::None,
        },
        ..ctx()
    };
    // A legacy watch from "" with bookmarks gets the watch-list end bookmark (WatchList on).
    let mut w = f
        .reg
        .watch(
            &table_none,
            &ListOptions {
                allow_watch_bookmarks: true,
                ..ListOptions::default()
            },
        )
        .await
        .expect("watch");
    let e = next(&mut w).await;
    assert_eq!(e["type"], "ADDED");
    assert_eq!(e["object"]["rows"][0]["object"], Value::Null);
    assert_eq!(e["object"]["rows"][0]["cells"], json!(["a", 1]));
    let e = next(&mut w).await;
    assert_eq!(e["type"], "BOOKMARK");
    assert_eq!(e["object"]["kind"], "Table");
    assert_eq!(e["object"]["columnDefinitions"], Value::Null);
    assert_eq!(
        e["object"]["rows"][0]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    let pom = RequestContext {
        representation: Representation::PartialObjectMetadata,
        ..ctx()
    };
    let mut w = f
        .reg
        .watch(&pom, &ListOptions::default())
        .await
        .expect("watch");
    let e = next(&mut w).await;
    assert_eq!(e["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(e["object"]["metadata"]["name"], "a");
    // sendInitialEvents without resourceVersionMatch is 422.
    let err = f
        .reg
        .watch(
            &ctx(),
            &ListOptions {
                send_initial_events: Some(true),
                ..ListOptions::default()
            },
        )
        .await
        .err()
        .expect("invalid");
    assert_eq!(err.code(), 422);
}

#[tokio::test]
async fn apply_field_validation_and_status_scope() {
    let f = fixture();
    let bad = br#"{"apiVersion":"test.io/v1","kind":"Widget","metadata":{"name":"a"},"spec":{"replicas":1,"foo":2}}"#;
    let e = f
        .reg
        .patch(
            &apply_ctx("m"),
            "a",
            Subresource::Main,
            PatchType::Apply { force: false },
            bad,
        )
        .await
        .expect_err("strict");
    assert_eq!(e.code(), 400);
    assert_eq!(
        e.message(),
        "error strict decoding patch: strict decoding error: unknown field \"spec.foo\""
    );
    // Status in a main-resource apply is ignored, not an unknown field.
    let with_status = br#"{"apiVersion":"test.io/v1","kind":"Widget","metadata":{"name":"a"},"spec":{"replicas":1},"status":{"ready":4}}"#;
    let r = f
        .reg
        .patch(
            &apply_ctx("m"),
            "a",
            Subresource::Main,
            PatchType::Apply { force: false },
            with_status,
        )
        .await
        .expect("apply");
    assert_eq!(r.body["status"], json!({}));
    assert!(r.warnings.is_empty());
    // Applying status through /status owns status only.
    let r = f
        .reg
        .patch(
            &apply_ctx("ctl"),
            "a",
            Subresource::Status,
            PatchType::Apply { force: false },
            with_status,
        )
        .await
        .expect("status apply")
        .body;
    assert_eq!(r["status"]["ready"], 4);
    assert_eq!(r["spec"]["replicas"], 1);
    let entry = r["metadata"]["managedFields"]
        .as_array()
        .expect("mf")
        .iter()
        .find(|m| m["manager"] == "ctl")
        .expect("ctl");
    assert_eq!(entry["subresource"], "status");
    assert_eq!(entry["fieldsV1"], json!({"f:status": {"f:ready": {}}}));
    let e = f
        .reg
        .patch(
            &apply_ctx("ctl"),
            "zz",
            Subresource::Status,
            PatchType::Apply { force: false },
            b"{\"metadata\":{\"name\":\"zz\"}}",
        )
        .await
        .expect_err("no create through status");
    assert_eq!(e.code(), 404);
}

mod watch_filter_props {
    use crate::selector::LabelSelector;
    use crate::store::{EventKind, WatchEvent};
    use proptest::prelude::*;
    use serde_json::json;

    fn bytes(label: Option<&str>) -> Vec<u8> {
        let labels = label.map_or(json!({}), |l| json!({"app": l}));
        serde_json::to_vec(&json!({"metadata": {"name": "a", "labels": labels}})).expect("json")
    }

    proptest! {
        /// Whatever the sequence of label values an object goes through (then deletion), a
        /// selector-filtered watcher sees a consistent stream: ADDED only while it does not
        /// see the object, MODIFIED/DELETED only while it does, and ends seeing nothing.
        #[test]
        fn selector_transitions_are_consistent(labels in proptest::collection::vec(proptest::option::of("[xy]"), 1..12)) {
            let sel = LabelSelector::parse("app=x").expect("selector");
            let matches = |b: &[u8]| {
                let v: serde_json::Value = serde_json::from_slice(b).expect("json");
                let l: std::collections::BTreeMap<String, String> =
                    serde_json::from_value(v["metadata"]["labels"].clone()).unwrap_or_default();
                sel.matches(&l)
            };
            let mut prev: Option<Vec<u8>> = None;
            let mut visible = false;
            let n = labels.len() as u64;
            for (i, l) in labels.iter().enumerate() {
                let value = bytes(l.as_deref());
                let ev = WatchEvent { kind: EventKind::Put, key: "k".into(), revision: i as u64 + 2, create_revision: 2, value: Some(value.clone()), prev_value: prev.clone() };
                if let Some(d) = ev.filter(matches) {
                    match d.event_type {
                        "ADDED" => prop_assert!(!visible),
                        "MODIFIED" | "DELETED" => prop_assert!(visible),
                        other => prop_assert!(false, "unexpected {}", other),
                    }
                    visible = d.event_type != "DELETED";
                }
                prop_assert_eq!(visible, l.as_deref() == Some("x"));
                prev = Some(value);
            }
            let del = WatchEvent { kind: EventKind::Delete, key: "k".into(), revision: n + 2, create_revision: 2, value: None, prev_value: prev };
            let d = del.filter(matches);
            prop_assert_eq!(d.is_some(), visible);
        }
    }
}

#[tokio::test]
async fn delete_can_return_the_deleted_object_like_crds() {
    let f = fixture_with(|c| c.return_deleted_object = true);
    let a = create(&f, "a", json!({"replicas": 2})).await;
    let r = f
        .reg
        .delete(&ctx(), "a", &DeleteOptions::default())
        .await
        .expect("delete");
    assert_eq!(r.body["spec"]["replicas"], 2);
    assert!(rv(&r.body) > rv(&a));
    let dry = RequestContext {
        dry_run: true,
        ..ctx()
    };
    create(&f, "b", json!({})).await;
    f.reg
        .delete(&dry, "b", &DeleteOptions::default())
        .await
        .expect("dry");
    assert!(get(&f, "b").await.is_ok(), "dry-run deletes nothing");
    let e = f
        .reg
        .delete(
            &ctx(),
            "b",
            &DeleteOptions {
                propagation_policy: Some("Sideways".into()),
                ..DeleteOptions::default()
            },
        )
        .await
        .expect_err("bad policy");
    assert_eq!(e.code(), 422);
}

/// Patches without a resourceVersion retry on a lost race (Go's GuaranteedUpdate): 16 writers
/// each adding their own labels all land.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_retry_and_all_land() {
    let f = fixture();
    create(&f, "shared", json!({})).await;
    let mut tasks = vec![];
    for t in 0..16 {
        let reg = f.reg.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..5 {
                let body = format!(r#"{{"metadata":{{"labels":{{"t{t}-{i}":"x"}}}}}}"#);
                reg.patch(
                    &ctx(),
                    "shared",
                    Subresource::Main,
                    PatchType::Merge,
                    body.as_bytes(),
                )
                .await
                .expect("patch lands");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let last = get(&f, "shared").await.expect("get");
    assert_eq!(
        last["metadata"]["labels"].as_object().map(|m| m.len()),
        Some(80)
    );
    assert_eq!(
        last["metadata"]["generation"], 1,
        "labels do not bump generation"
    );
}
