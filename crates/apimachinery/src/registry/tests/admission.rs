//! Admission inside the registry: what plugins see for every write (decoded, prepared new
//! object; stored old object), mutating before validating, a mutation validated by the
//! strategy, refusals storing nothing.

use super::*;
use crate::registry::admission::{
    AdmissionChain, AdmissionPlugin, AdmissionRequest, Operation, Refusal,
};
use crate::registry::admission_recorder::{Phase, Recorder};
use crate::status::{Status, StatusCause};
use pretty_assertions::assert_eq;

/// Sets `spec.replicas` and a label, and tries to set `status.ready`.
struct Mutator {
    replicas: i64,
}

#[async_trait::async_trait]
impl AdmissionPlugin for Mutator {
    fn name(&self) -> &str {
        "Mutator"
    }
    async fn admit(&self, req: &mut AdmissionRequest) -> Result<(), Refusal> {
        if let Some(o) = req.object.as_mut() {
            o["spec"]["replicas"] = json!(self.replicas);
            o["metadata"]["labels"] = json!({"mutated": "yes"});
            o["status"] = json!({"ready": 99});
        }
        Ok(())
    }
}

/// Refuses every write of `operation` in the validating phase, with a cause (which only a
/// finished `Status` can carry).
struct Refuser {
    operation: Operation,
}

#[async_trait::async_trait]
impl AdmissionPlugin for Refuser {
    fn name(&self) -> &str {
        "Refuser"
    }
    async fn validate(&self, req: &AdmissionRequest) -> Result<(), Refusal> {
        if req.operation != self.operation {
            return Ok(());
        }
        let mut s = req.forbidden("refused by test");
        s.details
            .get_or_insert_with(Default::default)
            .causes
            .push(StatusCause {
                reason: "TestCause".into(),
                message: "because".into(),
                field: "metadata.name".into(),
            });
        Err(s)
    }
}

fn with(chain: AdmissionChain) -> RequestContext {
    RequestContext {
        admission: chain,
        field_manager: Some("tester".into()),
        ..ctx()
    }
}

fn recording() -> (Arc<Recorder>, RequestContext) {
    let rec = Arc::new(Recorder::default());
    let ctx = with(AdmissionChain::new().with(rec.clone()));
    (rec, ctx)
}

/// The two calls of one write: admit, then validate.
fn phases(seen: Vec<(Phase, AdmissionRequest)>) -> (AdmissionRequest, AdmissionRequest) {
    let got: Vec<Phase> = seen.iter().map(|(p, _)| *p).collect();
    assert_eq!(got, [Phase::Admit, Phase::Validate]);
    let mut it = seen.into_iter().map(|(_, r)| r);
    let admit = it.next().expect("admit");
    let validate = it.next().expect("validate");
    (admit, validate)
}

fn object(r: &AdmissionRequest) -> &Value {
    r.object.as_ref().expect("object")
}

fn old(r: &AdmissionRequest) -> &Value {
    r.old_object.as_ref().expect("old object")
}

#[tokio::test]
async fn create_admits_the_decoded_prepared_object() {
    let f = fixture();
    let (rec, ctx) = recording();
    let mut body = widget("a", json!({"replicas": 1}));
    body["status"] = json!({"ready": 3});
    f.reg.create(&ctx, body).await.expect("create");
    let (admit, validate) = phases(rec.take());
    assert_eq!(admit.operation, Operation::Create);
    assert_eq!(
        (
            admit.group.as_str(),
            admit.version.as_str(),
            admit.resource.as_str(),
            admit.subresource.as_str(),
            admit.namespace.as_str(),
            admit.name.as_str(),
        ),
        ("test.io", "v1", "widgets", "", "ns", "")
    );
    assert!(!admit.dry_run);
    assert!(admit.old_object.is_none());
    let o = object(&admit);
    assert_eq!(o["apiVersion"], "test.io/v1");
    assert_eq!(o["kind"], "Widget");
    assert_eq!(o["spec"]["replicas"], 1);
    assert_eq!(o["metadata"]["namespace"], "ns", "namespace filled in");
    assert_eq!(o["status"], json!({}), "prepare_for_create cleared status");
    assert_eq!(admit.object_name(), "a");
    // The validating phase sees the finished object: system fields set.
    let o = object(&validate);
    assert!(o["metadata"]["uid"].is_string(), "{o}");
    assert_eq!(o["metadata"]["generation"], 1);
    assert!(o["metadata"]["creationTimestamp"].is_string());
}

#[tokio::test]
async fn generated_names_are_made_after_mutating_admission() {
    let f = fixture();
    let (rec, ctx) = recording();
    let body = json!({"apiVersion": "test.io/v1", "kind": "Widget",
                      "metadata": {"generateName": "w-"}, "spec": {}});
    f.reg.create(&ctx, body).await.expect("create");
    let (admit, validate) = phases(rec.take());
    assert_eq!(admit.object_name(), "w-");
    assert!(
        object(&validate)["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("w-") && n.len() > 2)
    );
}

#[tokio::test]
async fn update_admits_new_and_stored_objects() {
    let f = fixture();
    let mut created = create(&f, "a", json!({"replicas": 1})).await;
    f.reg
        .update(&ctx(), "a", Subresource::Status, {
            let mut b = created.clone();
            b["status"] = json!({"ready": 4});
            b
        })
        .await
        .expect("status");
    let stored = get(&f, "a").await.expect("get");
    created["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"].clone();
    created["spec"]["replicas"] = json!(2);
    created["status"] = json!({"ready": 0});
    let (rec, ctx) = recording();
    f.reg
        .update(&ctx, "a", Subresource::Main, created)
        .await
        .expect("update");
    let (admit, validate) = phases(rec.take());
    assert_eq!(
        (
            admit.operation,
            admit.name.as_str(),
            admit.subresource.as_str()
        ),
        (Operation::Update, "a", "")
    );
    assert_eq!(object(&admit)["spec"]["replicas"], 2);
    assert_eq!(
        object(&admit)["status"]["ready"],
        4,
        "prepare_for_update kept the stored status"
    );
    assert_eq!(old(&admit)["spec"]["replicas"], 1);
    assert_eq!(
        old(&admit)["metadata"]["resourceVersion"],
        stored["metadata"]["resourceVersion"]
    );
    assert_eq!(object(&validate)["metadata"]["generation"], 2);
    assert_eq!(old(&validate), old(&admit));
}

#[tokio::test]
async fn status_updates_are_admitted_as_the_status_subresource() {
    let f = fixture();
    let mut created = create(&f, "a", json!({"replicas": 1})).await;
    created["status"] = json!({"ready": 2});
    let (rec, ctx) = recording();
    f.reg
        .update(&ctx, "a", Subresource::Status, created)
        .await
        .expect("status");
    let (admit, _) = phases(rec.take());
    assert_eq!(
        (admit.operation, admit.subresource.as_str()),
        (Operation::Update, "status")
    );
    assert_eq!(object(&admit)["status"]["ready"], 2);
    assert_eq!(old(&admit)["status"], json!({}));
}

#[tokio::test]
async fn every_patch_type_admits_the_patched_object() {
    let cases: [(PatchType, &[u8]); 4] = [
        (
            PatchType::Json,
            br#"[{"op": "replace", "path": "/spec/version", "value": "v2"}]"#,
        ),
        (PatchType::Merge, br#"{"spec": {"version": "v2"}}"#),
        (PatchType::StrategicMerge, br#"{"spec": {"version": "v2"}}"#),
        (
            PatchType::Apply { force: true },
            br#"{"apiVersion": "test.io/v1", "kind": "Widget", "metadata": {"name": "a"}, "spec": {"version": "v2"}}"#,
        ),
    ];
    for (patch_type, body) in cases {
        let f = fixture();
        create(&f, "a", json!({"replicas": 1, "version": "v1"})).await;
        let (rec, ctx) = recording();
        f.reg
            .patch(&ctx, "a", Subresource::Main, patch_type, body)
            .await
            .expect("patch");
        let (admit, validate) = phases(rec.take());
        assert_eq!(admit.operation, Operation::Update, "{patch_type:?}");
        assert_eq!(admit.name, "a");
        assert_eq!(object(&admit)["spec"]["version"], "v2", "{patch_type:?}");
        assert_eq!(old(&admit)["spec"]["version"], "v1", "{patch_type:?}");
        assert_eq!(object(&validate)["spec"]["version"], "v2");
        assert_eq!(old(&validate)["spec"]["version"], "v1");
    }
}

#[tokio::test]
async fn apply_that_creates_is_admitted_as_a_create() {
    let f = fixture();
    let (rec, ctx) = recording();
    let cfg = br#"{"apiVersion": "test.io/v1", "kind": "Widget", "metadata": {"name": "n"}, "spec": {"replicas": 3}}"#;
    let r = f
        .reg
        .patch(
            &ctx,
            "n",
            Subresource::Main,
            PatchType::Apply { force: false },
            cfg,
        )
        .await
        .expect("apply");
    assert_eq!(r.code, 201);
    let (admit, validate) = phases(rec.take());
    assert_eq!(
        (admit.operation, admit.name.as_str()),
        (Operation::Create, "n")
    );
    assert!(admit.old_object.is_none());
    assert_eq!(object(&admit)["spec"]["replicas"], 3);
    assert!(object(&validate)["metadata"]["managedFields"].is_array());
}

#[tokio::test]
async fn a_mutation_is_stored_and_prepared_again() {
    let f = fixture();
    let ctx = with(AdmissionChain::new().with(Arc::new(Mutator { replicas: 7 })));
    let r = f
        .reg
        .create(&ctx, widget("a", json!({"replicas": 1})))
        .await
        .expect("create");
    assert_eq!(r.body["spec"]["replicas"], 7);
    let stored = get(&f, "a").await.expect("get");
    assert_eq!(stored["spec"]["replicas"], 7);
    assert_eq!(stored["metadata"]["labels"]["mutated"], "yes");
    assert_eq!(
        stored["status"],
        json!({}),
        "status cleared after the mutation"
    );

    // On update the mutation counts as a spec change.
    let mut body = stored.clone();
    body["spec"]["version"] = json!("v9");
    let ctx = with(AdmissionChain::new().with(Arc::new(Mutator { replicas: 8 })));
    let r = f
        .reg
        .update(&ctx, "a", Subresource::Main, body)
        .await
        .expect("update");
    assert_eq!(r.body["spec"]["replicas"], 8);
    assert_eq!(r.body["metadata"]["generation"], 2);
    assert_eq!(get(&f, "a").await.expect("get")["spec"]["replicas"], 8);
}

#[tokio::test]
async fn an_invalid_mutation_is_rejected_by_validation_and_not_stored() {
    let f = fixture();
    let bad = with(AdmissionChain::new().with(Arc::new(Mutator { replicas: -1 })));
    let e = f
        .reg
        .create(&bad, widget("a", json!({"replicas": 1})))
        .await
        .expect_err("invalid");
    assert_eq!(e.code(), 422);
    assert_eq!(
        e.message(),
        r#"Widget.test.io "a" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"#
    );
    assert_eq!(get(&f, "a").await.expect_err("not stored").code(), 404);

    create(&f, "a", json!({"replicas": 1})).await;
    for patch_type in [PatchType::Merge, PatchType::Apply { force: true }] {
        let body: &[u8] = match patch_type {
            PatchType::Merge => br#"{"spec": {"version": "v2"}}"#,
            _ => br#"{"apiVersion": "test.io/v1", "kind": "Widget", "metadata": {"name": "a"}, "spec": {"version": "v2"}}"#,
        };
        let e = f
            .reg
            .patch(&bad, "a", Subresource::Main, patch_type, body)
            .await
            .expect_err("invalid");
        assert_eq!(e.code(), 422, "{patch_type:?}");
        let stored = get(&f, "a").await.expect("get");
        assert_eq!(stored["spec"], json!({"replicas": 1}), "{patch_type:?}");
    }
}

#[tokio::test]
async fn a_refusal_stores_nothing_and_keeps_its_status() {
    let f = fixture();
    let refuse = |operation| with(AdmissionChain::new().with(Arc::new(Refuser { operation })));
    let e = f
        .reg
        .create(&refuse(Operation::Create), widget("a", json!({})))
        .await
        .expect_err("refused");
    let status: Status = e.to_status();
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        status.message,
        r#"widgets.test.io "a" is forbidden: refused by test"#
    );
    let details = status.details.expect("details");
    assert_eq!(details.causes[0].reason, "TestCause");
    assert_eq!((e.code(), e.reason()), (403, "Forbidden"));
    assert_eq!(get(&f, "a").await.expect_err("not stored").code(), 404);

    let created = create(&f, "a", json!({"replicas": 1})).await;
    let mut body = created.clone();
    body["spec"]["replicas"] = json!(5);
    let e = f
        .reg
        .update(&refuse(Operation::Update), "a", Subresource::Main, body)
        .await
        .expect_err("refused");
    assert_eq!(e.code(), 403);
    let e = f
        .reg
        .patch(
            &refuse(Operation::Update),
            "a",
            Subresource::Main,
            PatchType::Merge,
            br#"{"spec": {"replicas": 6}}"#,
        )
        .await
        .expect_err("refused");
    assert_eq!(e.code(), 403);
    let stored = get(&f, "a").await.expect("get");
    assert_eq!(stored["spec"]["replicas"], 1);
    assert_eq!(
        stored["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    let e = f
        .reg
        .delete(&refuse(Operation::Delete), "a", &DeleteOptions::default())
        .await
        .expect_err("refused");
    assert_eq!(e.code(), 403);
    get(&f, "a").await.expect("still there");
}

#[tokio::test]
async fn deletes_admit_the_stored_object() {
    let f = fixture();
    create(&f, "a", json!({"replicas": 1})).await;
    create(&f, "b", json!({"replicas": 2})).await;
    let (rec, ctx) = recording();
    f.reg
        .delete(&ctx, "a", &DeleteOptions::default())
        .await
        .expect("delete");
    let (admit, validate) = phases(rec.take());
    assert_eq!(
        (
            admit.operation,
            admit.name.as_str(),
            admit.namespace.as_str()
        ),
        (Operation::Delete, "a", "ns")
    );
    assert!(admit.object.is_none());
    assert_eq!(old(&admit)["spec"]["replicas"], 1);
    assert_eq!(old(&validate), old(&admit));

    f.reg
        .delete_collection(&ctx, &ListOptions::default(), &DeleteOptions::default())
        .await
        .expect("deletecollection");
    let (admit, _) = phases(rec.take());
    assert_eq!(
        (admit.operation, admit.name.as_str()),
        (Operation::Delete, "b")
    );
}

#[tokio::test]
async fn dry_run_is_passed_to_plugins() {
    let f = fixture();
    let (rec, ctx) = recording();
    let dry = RequestContext {
        dry_run: true,
        ..ctx
    };
    f.reg
        .create(&dry, widget("a", json!({})))
        .await
        .expect("dry-run create");
    let (admit, validate) = phases(rec.take());
    assert!(admit.dry_run && validate.dry_run);
    assert_eq!(get(&f, "a").await.expect_err("not stored").code(), 404);
}

#[tokio::test]
async fn without_plugins_nothing_changes() {
    let f = fixture();
    let r = f
        .reg
        .create(
            &with(AdmissionChain::new()),
            widget("a", json!({"replicas": 1})),
        )
        .await
        .expect("create");
    assert_eq!(r.body["spec"], json!({"replicas": 1}));
}
