//! update and non-apply patches: resourceVersion rules, generation, status, patch types.

use super::*;
use pretty_assertions::assert_eq;

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

#[tokio::test]
async fn a_uid_in_the_body_is_a_precondition() {
    let f = fixture();
    let created = create(&f, "a", json!({})).await;
    let mut body = created.clone();
    body["metadata"]["uid"] = json!("other");
    let e = f
        .reg
        .update(&ctx(), "a", Subresource::Main, body)
        .await
        .expect_err("uid");
    assert_eq!(e.code(), 409);
    let uid = created["metadata"]["uid"].as_str().expect("uid");
    assert_eq!(
        e.message(),
        format!(
            "Operation cannot be fulfilled on widgets.test.io \"a\": StorageError: invalid object, Code: 4, Key: /registry/test.io/widgets/ns/a, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: other, UID in object meta: {uid}"
        )
    );
    let e = f
        .reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::Merge,
            br#"{"metadata":{"uid":"other"}}"#,
        )
        .await
        .expect_err("uid");
    assert_eq!(e.code(), 409);
}

/// The garbage collector's strategic merge patch removing one owner reference by uid.
#[tokio::test]
async fn gc_strategic_patch_deletes_an_owner_reference() {
    let f = fixture();
    let mut body = widget("a", json!({}));
    body["metadata"]["ownerReferences"] = json!([
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "o1", "uid": "u1"},
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "o2", "uid": "u2"}
    ]);
    let created = f.reg.create(&ctx(), body).await.expect("create").body;
    let patch = format!(
        r#"{{"metadata":{{"ownerReferences":[{{"$patch":"delete","uid":"u1"}}],"uid":{}}}}}"#,
        created["metadata"]["uid"]
    );
    let p = f
        .reg
        .patch(
            &ctx(),
            "a",
            Subresource::Main,
            PatchType::StrategicMerge,
            patch.as_bytes(),
        )
        .await
        .expect("gc patch")
        .body;
    assert_eq!(
        p["metadata"]["ownerReferences"],
        json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "o2", "uid": "u2"}])
    );
}
