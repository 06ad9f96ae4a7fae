//! Bad input over HTTPS: a table of malformed or invalid requests (malformed JSON and YAML, wrong
//! apiVersion/kind, name/namespace mismatches with the URL, invalid names, unknown fields under
//! `fieldValidation=Strict`, invalid JSON and merge patches, unsupported media types, an oversized
//! body, bad label/field selectors, bad resourceVersion and continue token, unknown resource and
//! subresource, wrong method). Each gets the exact 4xx code and `Status` reason a Go server gives
//! (and, where Go's wording is fixed, its message); none gets a 5xx; afterwards the namespace holds
//! only the one object the patch cases target, unchanged. `Warn`/`Ignore` field validation
//! accept the same body, with and without a `Warning` header.
#![allow(clippy::unwrap_used)]

mod support;

use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Server, collection};

const NS: &str = "bad";

struct Case {
    what: &'static str,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    code: u16,
    reason: &'static str,
    message: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn case(
    what: &'static str,
    method: Method,
    path: impl Into<String>,
    content_type: Option<&'static str>,
    body: impl Into<Vec<u8>>,
    code: u16,
    reason: &'static str,
    message: Option<&str>,
) -> Case {
    Case {
        what,
        method,
        path: path.into(),
        content_type,
        body: body.into(),
        code,
        reason,
        message: message.map(str::to_owned),
    }
}

fn with(edit: impl FnOnce(&mut Value)) -> String {
    let mut v = support::cassandra(NS, "demo");
    edit(&mut v);
    v.to_string()
}

const JSON: Option<&str> = Some("application/json");

#[allow(clippy::too_many_lines)]
fn cases() -> Vec<Case> {
    let base = collection(NS, "cassandraclusters");
    let target = format!("{base}/target");
    let big = "x".repeat(3 * 1024 * 1024 + 16);
    vec![
        case(
            "malformed JSON",
            Method::POST,
            &base,
            JSON,
            r#"{"apiVersion": "navigator"#,
            400,
            "BadRequest",
            None,
        ),
        case(
            "JSON that is not an object",
            Method::POST,
            &base,
            JSON,
            "[1,2]",
            400,
            "BadRequest",
            None,
        ),
        case(
            "malformed YAML",
            Method::POST,
            &base,
            Some("application/yaml"),
            "apiVersion: navigator.jetstack.io/v1beta1\nkind: CassandraCluster\nmetadata: [name: : x\n  - }\n",
            400,
            "BadRequest",
            None,
        ),
        case(
            "wrong apiVersion",
            Method::POST,
            &base,
            JSON,
            with(|v| v["apiVersion"] = json!("navigator.jetstack.io/v1alpha1")),
            400,
            "BadRequest",
            Some(
                "the API version in the data (navigator.jetstack.io/v1alpha1) does not match the expected API version (navigator.jetstack.io/v1beta1)",
            ),
        ),
        case(
            "foreign apiVersion",
            Method::POST,
            &base,
            JSON,
            with(|v| v["apiVersion"] = json!("apps/v1")),
            400,
            "BadRequest",
            Some(
                "the API version in the data (apps/v1) does not match the expected API version (navigator.jetstack.io/v1beta1)",
            ),
        ),
        case(
            "wrong kind",
            Method::POST,
            &base,
            JSON,
            with(|v| v["kind"] = json!("Pilot")),
            400,
            "BadRequest",
            None,
        ),
        case(
            "namespace mismatch",
            Method::POST,
            &base,
            JSON,
            with(|v| v["metadata"]["namespace"] = json!("other")),
            400,
            "BadRequest",
            Some(
                "the namespace of the provided object does not match the namespace sent on the request",
            ),
        ),
        case(
            "name mismatch on PUT",
            Method::PUT,
            format!("{base}/demo"),
            JSON,
            with(|v| v["metadata"]["name"] = json!("other")),
            400,
            "BadRequest",
            Some("the name of the object (other) does not match the name on the URL (demo)"),
        ),
        case(
            "invalid name",
            Method::POST,
            &base,
            JSON,
            with(|v| v["metadata"]["name"] = json!("Bad_Name")),
            422,
            "Invalid",
            None,
        ),
        case(
            "name too long",
            Method::POST,
            &base,
            JSON,
            with(|v| v["metadata"]["name"] = json!("a".repeat(254))),
            422,
            "Invalid",
            None,
        ),
        case(
            "no name",
            Method::POST,
            &base,
            JSON,
            with(|v| {
                v["metadata"].as_object_mut().unwrap().remove("name");
            }),
            422,
            "Invalid",
            None,
        ),
        case(
            "invalid spec",
            Method::POST,
            &base,
            JSON,
            with(|v| v["spec"]["nodePools"][0]["replicas"] = json!(-1)),
            422,
            "Invalid",
            None,
        ),
        case(
            "unknown field, Strict",
            Method::POST,
            format!("{base}?fieldValidation=Strict"),
            JSON,
            with(|v| v["spec"]["foo"] = json!(1)),
            400,
            "BadRequest",
            Some(
                r#"CassandraCluster in version "v1beta1" cannot be handled as a CassandraCluster: strict decoding error: unknown field "spec.foo""#,
            ),
        ),
        case(
            "duplicate field, Strict",
            Method::POST,
            format!("{base}?fieldValidation=Strict"),
            JSON,
            with(|_| ()).replacen(r#""spec":{"#, r#""spec":{"paused":true,"paused":false,"#, 1),
            400,
            "BadRequest",
            Some(
                r#"CassandraCluster in version "v1beta1" cannot be handled as a CassandraCluster: strict decoding error: duplicate field "spec.paused""#,
            ),
        ),
        case(
            "bad fieldValidation value",
            Method::POST,
            format!("{base}?fieldValidation=Sometimes"),
            JSON,
            with(|_| ()),
            422,
            "Invalid",
            None,
        ),
        case(
            "unsupported media type",
            Method::POST,
            &base,
            Some("text/plain"),
            with(|_| ()),
            415,
            "UnsupportedMediaType",
            None,
        ),
        case(
            "oversized body",
            Method::POST,
            &base,
            JSON,
            with(|v| v["metadata"]["annotations"] = json!({"big": big})),
            413,
            "RequestEntityTooLarge",
            Some("Request entity too large: limit is 3145728"),
        ),
        case(
            "JSON patch that is not a list",
            Method::PATCH,
            &target,
            Some("application/json-patch+json"),
            r#"{"op":"add","path":"/spec/paused","value":true}"#,
            400,
            "BadRequest",
            None,
        ),
        case(
            "JSON patch with a failing test op",
            Method::PATCH,
            &target,
            Some("application/json-patch+json"),
            r#"[{"op":"test","path":"/spec/version","value":"4.0.0"},{"op":"add","path":"/spec/paused","value":true}]"#,
            422,
            "Invalid",
            None,
        ),
        case(
            "JSON patch on a missing path",
            Method::PATCH,
            &target,
            Some("application/json-patch+json"),
            r#"[{"op":"replace","path":"/spec/nope/deeper","value":1}]"#,
            422,
            "Invalid",
            None,
        ),
        case(
            "malformed merge patch",
            Method::PATCH,
            &target,
            Some("application/merge-patch+json"),
            r#"{"spec": "#,
            400,
            "BadRequest",
            None,
        ),
        case(
            "malformed strategic merge patch",
            Method::PATCH,
            &target,
            Some("application/strategic-merge-patch+json"),
            "not json",
            400,
            "BadRequest",
            None,
        ),
        case(
            "merge patch making the object invalid",
            Method::PATCH,
            &target,
            Some("application/merge-patch+json"),
            r#"{"spec":{"version":"1.0.0"}}"#,
            422,
            "Invalid",
            None,
        ),
        case(
            "unknown patch type",
            Method::PATCH,
            &target,
            Some("application/x-patch"),
            "{}",
            415,
            "UnsupportedMediaType",
            Some(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml",
            ),
        ),
        case(
            "apply without fieldManager",
            Method::PATCH,
            &target,
            Some("application/apply-patch+yaml"),
            "apiVersion: navigator.jetstack.io/v1beta1\nkind: CassandraCluster\n",
            422,
            "Invalid",
            None,
        ),
        case(
            "force on a non-apply patch",
            Method::PATCH,
            format!("{target}?force=true"),
            Some("application/merge-patch+json"),
            "{}",
            422,
            "Invalid",
            None,
        ),
        case(
            "stale resourceVersion in a patch",
            Method::PATCH,
            &target,
            Some("application/merge-patch+json"),
            r#"{"metadata":{"resourceVersion":"1"},"spec":{"paused":true}}"#,
            409,
            "Conflict",
            None,
        ),
        case(
            "bad label selector",
            Method::GET,
            format!("{base}?labelSelector=x%20y"),
            None,
            "",
            400,
            "BadRequest",
            None,
        ),
        case(
            "bad label selector value",
            Method::GET,
            format!("{base}?labelSelector=a%3D-b"),
            None,
            "",
            400,
            "BadRequest",
            None,
        ),
        case(
            "unknown field selector",
            Method::GET,
            format!("{base}?fieldSelector=spec.foo%3Dx"),
            None,
            "",
            400,
            "BadRequest",
            None,
        ),
        case(
            "malformed field selector",
            Method::GET,
            format!("{base}?fieldSelector=nooperator"),
            None,
            "",
            400,
            "BadRequest",
            None,
        ),
        case(
            "bad resourceVersion on list",
            Method::GET,
            format!("{base}?resourceVersion=abc"),
            None,
            "",
            400,
            "BadRequest",
            None,
        ),
        case(
            "bad resourceVersion on get",
            Method::GET,
            format!("{target}?resourceVersion=abc"),
            None,
            "",
            400,
            "BadRequest",
            None,
        ),
        case(
            "resourceVersionMatch without resourceVersion",
            Method::GET,
            format!("{base}?resourceVersionMatch=Exact"),
            None,
            "",
            422,
            "Invalid",
            None,
        ),
        case(
            "sendInitialEvents on a list",
            Method::GET,
            format!("{base}?sendInitialEvents=true&resourceVersionMatch=NotOlderThan"),
            None,
            "",
            422,
            "Invalid",
            None,
        ),
        case(
            "bad continue token",
            Method::GET,
            format!("{base}?limit=1&continue=garbage"),
            None,
            "",
            400,
            "BadRequest",
            None,
        ),
        case(
            "continue with resourceVersion",
            Method::GET,
            format!(
                "{base}?limit=1&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOiJiYWQvYVx1MDAwMCJ9&resourceVersion=5"
            ),
            None,
            "",
            400,
            "BadRequest",
            Some("specifying resource version is not allowed when using continue"),
        ),
        case(
            "unknown resource",
            Method::GET,
            format!("/apis/navigator.jetstack.io/v1beta1/namespaces/{NS}/widgets"),
            None,
            "",
            404,
            "NotFound",
            None,
        ),
        case(
            "unknown subresource",
            Method::GET,
            format!("{target}/scale"),
            None,
            "",
            404,
            "NotFound",
            None,
        ),
        case(
            "missing object",
            Method::GET,
            format!("{base}/missing"),
            None,
            "",
            404,
            "NotFound",
            Some(r#"cassandraclusters.navigator.jetstack.io "missing" not found"#),
        ),
        case(
            "POST on an object",
            Method::POST,
            &target,
            JSON,
            with(|_| ()),
            405,
            "MethodNotAllowed",
            None,
        ),
        case(
            "PUT on a collection",
            Method::PUT,
            &base,
            JSON,
            with(|_| ()),
            405,
            "MethodNotAllowed",
            None,
        ),
        case(
            "DELETE on status",
            Method::DELETE,
            format!("{target}/status"),
            None,
            "",
            405,
            "MethodNotAllowed",
            None,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_go_status_and_store_nothing() {
    let server = Server::start();
    let http = server.http().await;
    let base = collection(NS, "cassandraclusters");
    let created = http
        .post_json(&base, &support::cassandra(NS, "target"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let target_rv = created.json()["metadata"]["resourceVersion"].clone();

    let mut failures = Vec::new();
    for c in cases() {
        let r = http
            .send(c.method.clone(), &c.path, c.content_type, c.body.clone())
            .await;
        let path: String = c.path.chars().take(120).collect();
        if r.status.is_server_error() {
            failures.push(format!(
                "{}: {} {path}: 5xx {} {}",
                c.what,
                c.method,
                r.status,
                r.text()
            ));
            continue;
        }
        let Ok(status) = serde_json::from_slice::<Value>(&r.body) else {
            failures.push(format!(
                "{}: {} not a JSON Status: {}",
                c.what,
                r.status,
                r.text()
            ));
            continue;
        };
        let got = (
            r.status.as_u16(),
            status["kind"].clone(),
            status["code"].clone(),
            status["reason"].clone(),
        );
        let want = (c.code, json!("Status"), json!(c.code), json!(c.reason));
        if got != want {
            failures.push(format!(
                "{}: {} {path}: got {got:?}, want {want:?}: {status}",
                c.what, c.method
            ));
            continue;
        }
        if status["status"] != "Failure" || status["apiVersion"] != "v1" {
            failures.push(format!("{}: not a Failure Status: {status}", c.what));
        }
        if let Some(m) = &c.message
            && status["message"] != json!(m)
        {
            failures.push(format!(
                "{}: message {}, want {m:?}",
                c.what, status["message"]
            ));
        }
    }

    // An unknown group version is outside every API route: Go's generic server answers from its
    // plain mux ("404 page not found"); a Status NotFound is as good for clients.
    let r = http
        .get("/apis/navigator.jetstack.io/v9/cassandraclusters")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let plain = r.text().trim() == "404 page not found";
    let status = serde_json::from_slice::<Value>(&r.body).ok();
    assert!(
        plain || status.is_some_and(|s| s["reason"] == "NotFound"),
        "{}",
        r.text()
    );

    // fieldValidation Warn and Ignore accept the same unknown field (dry run: nothing stored).
    let body = with(|v| v["spec"]["foo"] = json!(1));
    let warn = http
        .send(
            Method::POST,
            &format!("{base}?fieldValidation=Warn&dryRun=All"),
            JSON,
            body.clone(),
        )
        .await;
    assert_eq!(warn.status, StatusCode::CREATED, "{}", warn.text());
    assert!(
        warn.warnings()
            .iter()
            .any(|w| w.contains(r#"unknown field \"spec.foo\""#)
                || w.contains(r#"unknown field "spec.foo""#)),
        "{:?}",
        warn.warnings()
    );
    let default = http
        .send(
            Method::POST,
            &format!("{base}?dryRun=All"),
            JSON,
            body.clone(),
        )
        .await;
    assert_eq!(default.status, StatusCode::CREATED, "{}", default.text());
    assert!(!default.warnings().is_empty(), "Warn is the default");
    let ignore = http
        .send(
            Method::POST,
            &format!("{base}?fieldValidation=Ignore&dryRun=All"),
            JSON,
            body,
        )
        .await;
    assert_eq!(ignore.status, StatusCode::CREATED, "{}", ignore.text());
    assert!(
        !ignore
            .warnings()
            .iter()
            .any(|w| w.contains("unknown field")),
        "{:?}",
        ignore.warnings()
    );
    assert!(
        ignore.json()["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "a dry-run create has no resourceVersion"
    );

    // Nothing was stored and the patch target is unchanged.
    let list = http.get(&base).await.json();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["target"], "bad requests stored objects");
    assert_eq!(list["items"][0]["metadata"]["resourceVersion"], target_rv);
    let everywhere = http
        .get("/apis/navigator.jetstack.io/v1beta1/cassandraclusters")
        .await
        .json();
    assert_eq!(everywhere["items"].as_array().unwrap().len(), 1);

    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        cases().len(),
        failures.join("\n")
    );
}

/// A valid v1beta1 ElasticsearchCluster.
fn elasticsearch(name: &str) -> Value {
    json!({
        "apiVersion": "navigator.jetstack.io/v1beta1",
        "kind": "ElasticsearchCluster",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "version": "8.15.0",
            "pilotImage": {"repository": "navigator/pilot-elasticsearch", "tag": "v1"},
            "nodePools": [{"name": "master", "replicas": 3, "roles": ["master", "data"]}]
        }
    })
}

/// The `details.causes` of a 422 Invalid answer, checked to be one `FieldValueInvalid` at
/// `metadata.labels`, and the message to name the problem once.
fn assert_one_label_cause(what: &str, r: &support::Response) {
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{what}: {}",
        r.text()
    );
    let status = r.json();
    assert_eq!(status["reason"], "Invalid", "{what}: {status}");
    let causes = status["details"]["causes"].as_array().unwrap();
    assert_eq!(causes.len(), 1, "{what}: causes {causes:?}");
    assert_eq!(causes[0]["field"], "metadata.labels", "{what}: {status}");
    assert_eq!(causes[0]["reason"], "FieldValueInvalid", "{what}: {status}");
    let message = status["message"].as_str().unwrap();
    assert_eq!(
        message.matches("metadata.labels").count(),
        1,
        "{what}: {message}"
    );
}

/// An update of each navigator kind with one bad label value reports that label once in
/// `details.causes`: the registry's `ValidateObjectMetaAccessorUpdate` checks labels, the kind's
/// update validation does not repeat it. PUT and merge patch alike; nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_with_one_bad_label_reports_one_cause() {
    let server = Server::start();
    let http = server.http().await;
    let objects = [
        ("cassandraclusters", support::cassandra(NS, "demo")),
        ("elasticsearchclusters", elasticsearch("logs")),
        ("pilots", support::pilot(NS, "cass-demo-a-0", "a")),
    ];
    for (resource, object) in objects {
        let base = collection(NS, resource);
        let created = http.post_json(&base, &object).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let stored = created.json();
        let name = stored["metadata"]["name"].as_str().unwrap().to_owned();
        let path = format!("{base}/{name}");

        let mut bad = stored.clone();
        bad["metadata"]["labels"] = json!({"app": "a b"});
        let put = http.put_json(&path, &bad).await;
        assert_one_label_cause(&format!("PUT {resource}"), &put);

        let patch = http
            .send(
                Method::PATCH,
                &path,
                Some("application/merge-patch+json"),
                json!({"metadata": {"labels": {"app": "a b"}}}).to_string(),
            )
            .await;
        assert_one_label_cause(&format!("merge patch {resource}"), &patch);

        let now = http.get(&path).await.json();
        assert_eq!(
            now["metadata"]["resourceVersion"], stored["metadata"]["resourceVersion"],
            "{resource}: a rejected update changed the object"
        );
    }
}
