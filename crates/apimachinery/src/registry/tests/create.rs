//! create: system fields, managed fields, Go's errors, generateName, dry-run, fieldValidation.

use super::*;
use pretty_assertions::assert_eq;

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
