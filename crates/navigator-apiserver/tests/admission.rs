//! Admission through the whole pipeline, in process: HTTP request → handler → the navigator
//! registries over an embedded store → admission plugins on the decoded objects. Plugins see
//! the decoded, prepared object for create, update, every patch type and apply, the stored
//! object on updates, patches and deletes; a mutation is validated by the kind's validation; a
//! refusal is answered with the plugin's `Status` and stores nothing.

use std::sync::Arc;

use apimachinery::registry::admission::{
    AdmissionChain, AdmissionPlugin, AdmissionRequest, Operation, Refusal,
};
use apimachinery::registry::admission_recorder::{Phase, Recorder};
use apimachinery::status::StatusCause;
use apimachinery::store::embedded::EmbeddedStore;
use apiserver::ApiServer;
use http::{Method, Request};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};

const CLUSTERS: &str = "/apis/navigator.jetstack.io/v1beta1/namespaces/ns/cassandraclusters";

/// A server over a fresh embedded store with `chain`; the temp dir lives as long as it.
fn serve(chain: AdmissionChain) -> (ApiServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EmbeddedStore::open(dir.path().join("db")).expect("open store"));
    let mut builder = ApiServer::builder()
        .openapi(navigator_apiserver::run::openapi_input())
        .admission(chain);
    for r in navigator_apiserver::run::registries(&store, "/registry/navigator.jetstack.io") {
        builder = builder.resource(r);
    }
    (builder.build().expect("build"), dir)
}

struct Reply {
    code: u16,
    body: Value,
}

async fn call(
    server: &ApiServer,
    method: Method,
    uri: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .body(body.into())
        .expect("request");
    let resp = server.handle(req).await;
    let code = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { code, body }
}

async fn post(server: &ApiServer, object: &Value) -> Reply {
    call(
        server,
        Method::POST,
        CLUSTERS,
        "application/json",
        object.to_string().into_bytes(),
    )
    .await
}

async fn get(server: &ApiServer, name: &str) -> Reply {
    call(
        server,
        Method::GET,
        &format!("{CLUSTERS}/{name}"),
        "",
        Vec::new(),
    )
    .await
}

fn cluster(name: &str) -> Value {
    json!({
        "apiVersion": "navigator.jetstack.io/v1beta1",
        "kind": "CassandraCluster",
        "metadata": {"name": name},
        "spec": {
            "version": "5.0.2",
            "pilotImage": {"repository": "quay.io/jetstack/navigator-pilot-cassandra", "tag": "v0.2.0"},
            "nodePools": [{
                "name": "a",
                "replicas": 3,
                "datacenter": "dc",
                "rack": "r",
                "persistence": {"size": "5Gi"}
            }]
        }
    })
}

/// The mutating-phase request of the one write since the last call.
fn take_admitted(rec: &Recorder) -> AdmissionRequest {
    let seen = rec.take();
    let phases: Vec<Phase> = seen.iter().map(|(p, _)| *p).collect();
    assert_eq!(phases, [Phase::Admit, Phase::Validate]);
    seen.into_iter().next().expect("admit").1
}

/// Sets the first node pool's replicas.
struct SetReplicas(i64);

#[async_trait::async_trait]
impl AdmissionPlugin for SetReplicas {
    fn name(&self) -> &str {
        "SetReplicas"
    }
    async fn admit(&self, req: &mut AdmissionRequest) -> Result<(), Refusal> {
        if let Some(pool) = req
            .object
            .as_mut()
            .and_then(|o| o.pointer_mut("/spec/nodePools/0"))
        {
            pool["replicas"] = json!(self.0);
        }
        Ok(())
    }
}

/// Refuses creates in the validating phase, with a cause.
struct RefuseCreates;

#[async_trait::async_trait]
impl AdmissionPlugin for RefuseCreates {
    fn name(&self) -> &str {
        "RefuseCreates"
    }
    async fn validate(&self, req: &AdmissionRequest) -> Result<(), Refusal> {
        if req.operation != Operation::Create {
            return Ok(());
        }
        let mut s = req.forbidden("no new clusters today");
        s.details
            .get_or_insert_with(Default::default)
            .causes
            .push(StatusCause {
                reason: "TestRefusal".into(),
                message: "closed".into(),
                field: "metadata.name".into(),
            });
        Err(s)
    }
}

fn label(object: Option<&Value>) -> Option<&str> {
    object.and_then(|o| o.pointer("/metadata/labels/step")?.as_str())
}

#[tokio::test]
async fn plugins_see_decoded_objects_for_every_write() {
    let rec = Arc::new(Recorder::default());
    let (server, _dir) = serve(AdmissionChain::new().with(rec.clone()));

    let created = post(&server, &cluster("demo")).await;
    assert_eq!(created.code, 201, "{}", created.body);
    let a = take_admitted(&rec);
    assert_eq!(a.operation, Operation::Create);
    assert_eq!(
        (
            a.version.as_str(),
            a.resource.as_str(),
            a.namespace.as_str()
        ),
        ("v1beta1", "cassandraclusters", "ns")
    );
    let o = a.object.as_ref().expect("object");
    assert_eq!(
        o["metadata"]["namespace"], "ns",
        "decoded and prepared: {o}"
    );
    assert_eq!(o["spec"]["nodePools"][0]["replicas"], 3);
    assert!(a.old_object.is_none());

    // Every patch type and apply: the patched object, and the stored one.
    let patches: [(&str, &str, String); 4] = [
        (
            "application/json-patch+json",
            "",
            json!([{"op": "add", "path": "/metadata/labels", "value": {"step": "json"}}])
                .to_string(),
        ),
        (
            "application/merge-patch+json",
            "",
            json!({"metadata": {"labels": {"step": "merge"}}}).to_string(),
        ),
        (
            "application/strategic-merge-patch+json",
            "",
            json!({"metadata": {"labels": {"step": "strategic"}}}).to_string(),
        ),
        (
            "application/apply-patch+yaml",
            "?fieldManager=tester&force=true",
            json!({"apiVersion": "navigator.jetstack.io/v1beta1", "kind": "CassandraCluster",
                   "metadata": {"name": "demo", "labels": {"step": "apply"}}})
            .to_string(),
        ),
    ];
    let mut previous: Option<String> = None;
    for (content_type, query, body) in patches {
        let r = call(
            &server,
            Method::PATCH,
            &format!("{CLUSTERS}/demo{query}"),
            content_type,
            body.into_bytes(),
        )
        .await;
        assert_eq!(r.code, 200, "{content_type}: {}", r.body);
        let a = take_admitted(&rec);
        assert_eq!((a.operation, a.name.as_str()), (Operation::Update, "demo"));
        let step = label(a.object.as_ref()).expect("patched object");
        assert!(content_type.contains(step), "{content_type}: {step}");
        assert_eq!(
            label(a.old_object.as_ref()),
            previous.as_deref(),
            "{content_type}"
        );
        assert_eq!(
            a.old_object.as_ref().expect("old")["spec"]["nodePools"][0]["replicas"],
            3
        );
        previous = Some(step.to_owned());
    }

    // PUT: the body, prepared, and the stored object.
    let mut body = get(&server, "demo").await.body;
    body["spec"]["nodePools"][0]["replicas"] = json!(4);
    let r = call(
        &server,
        Method::PUT,
        &format!("{CLUSTERS}/demo"),
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let a = take_admitted(&rec);
    assert_eq!(a.operation, Operation::Update);
    assert_eq!(
        a.object.expect("object")["spec"]["nodePools"][0]["replicas"],
        4
    );
    assert_eq!(
        a.old_object.expect("old")["spec"]["nodePools"][0]["replicas"],
        3
    );

    // DELETE: no new object, the stored one as the old object.
    let r = call(
        &server,
        Method::DELETE,
        &format!("{CLUSTERS}/demo"),
        "",
        Vec::new(),
    )
    .await;
    assert_eq!(r.code, 200, "{}", r.body);
    let a = take_admitted(&rec);
    assert_eq!(a.operation, Operation::Delete);
    assert!(a.object.is_none());
    assert_eq!(
        a.old_object.expect("old")["spec"]["nodePools"][0]["replicas"],
        4
    );
}

#[tokio::test]
async fn a_mutation_is_validated_by_the_kind() {
    let (server, _dir) = serve(AdmissionChain::new().with(Arc::new(SetReplicas(-1))));
    let r = post(&server, &cluster("demo")).await;
    assert_eq!(r.code, 422, "{}", r.body);
    assert_eq!(r.body["reason"], "Invalid");
    assert_eq!(
        r.body["details"]["causes"][0]["field"],
        "spec.nodePools[0].replicas"
    );
    assert_eq!(get(&server, "demo").await.code, 404, "nothing stored");

    let (server, _dir) = serve(AdmissionChain::new().with(Arc::new(SetReplicas(5))));
    let r = post(&server, &cluster("demo")).await;
    assert_eq!(r.code, 201, "{}", r.body);
    assert_eq!(
        get(&server, "demo").await.body["spec"]["nodePools"][0]["replicas"],
        5
    );
}

#[tokio::test]
async fn a_refusal_is_the_plugins_status_and_stores_nothing() {
    let (server, _dir) = serve(AdmissionChain::new().with(Arc::new(RefuseCreates)));
    let r = post(&server, &cluster("demo")).await;
    assert_eq!(r.code, 403, "{}", r.body);
    assert_eq!(
        r.body["message"],
        r#"cassandraclusters.navigator.jetstack.io "demo" is forbidden: no new clusters today"#
    );
    assert_eq!(r.body["details"]["causes"][0]["reason"], "TestRefusal");
    assert_eq!(get(&server, "demo").await.code, 404, "nothing stored");
}
