//! Server-side apply: create-on-apply, conflicts, force, pruning, status scope.

use super::*;
use pretty_assertions::assert_eq;

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
