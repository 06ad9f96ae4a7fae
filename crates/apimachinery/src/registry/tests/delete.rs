//! delete and deletecollection: preconditions, finalizers, propagation, responses.

use super::*;
use pretty_assertions::assert_eq;

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
