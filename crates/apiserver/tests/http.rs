//! The HTTP layer end to end over real TLS connections, HTTP/1.1 and HTTP/2, against an
//! in-memory resource.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{Conn, Proto, start};
use http::StatusCode;
use http_body_util::BodyExt;
use serde_json::{Value, json};

const NS_WIDGETS: &str = "/apis/test.example.io/v1/namespaces/default/widgets";
const V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

fn widget(name: &str) -> String {
    json!({"apiVersion": "test.example.io/v1", "kind": "Widget",
        "metadata": {"name": name}, "spec": {"size": 1}})
    .to_string()
}

async fn both_protocols(f: impl AsyncFn(Conn, Proto)) {
    let s = start().await;
    for proto in [Proto::H1, Proto::H2] {
        f(Conn::tls(s.addr, &s.ca_pem, proto).await, proto).await;
    }
    s.shutdown.shutdown();
    s.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_over_h1_and_h2() {
    both_protocols(async |mut c, proto| {
        let (code, v) = c.get_json("/apis").await;
        assert_eq!(code, 200, "{proto:?}");
        assert_eq!(v["kind"], "APIGroupList");
        assert_eq!(v["groups"][0]["preferredVersion"]["version"], "v1");
        assert_eq!(v["groups"][0]["versions"][1]["version"], "v1beta1");

        let (code, v) = c.get_json("/apis/test.example.io").await;
        assert_eq!(
            (code, v["kind"].as_str()),
            (StatusCode::OK, Some("APIGroup"))
        );

        let (code, v) = c.get_json("/apis/test.example.io/v1").await;
        assert_eq!(code, 200);
        let names: Vec<&str> = v["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["widgets", "widgets/status", "gadgets"]);
        assert_eq!(v["resources"][0]["shortNames"], json!(["wd"]));
        assert_eq!(v["resources"][2]["namespaced"], false);
        assert_eq!(v["resources"][2]["categories"], json!(["all"]));

        let (code, _, body) = c
            .call("GET", "/apis/test.example.io/v9", &[], Bytes::new())
            .await;
        assert_eq!(
            (code, &body[..]),
            (StatusCode::NOT_FOUND, &b"404 page not found\n"[..])
        );

        // Aggregated discovery with ETag and 304.
        let (code, headers, body) = c
            .call("GET", "/apis", &[("accept", V2)], Bytes::new())
            .await;
        assert_eq!(code, 200);
        assert_eq!(
            headers["content-type"],
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        );
        let etag = headers["etag"].to_str().unwrap().to_owned();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["kind"], "APIGroupDiscoveryList");
        assert_eq!(
            v["items"][0]["versions"][0]["resources"][0]["resource"],
            "widgets"
        );
        let (code, _, body) = c
            .call(
                "GET",
                "/apis",
                &[("accept", V2), ("if-none-match", &etag)],
                Bytes::new(),
            )
            .await;
        assert_eq!(code, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());

        // /api: an empty APIVersions, or an empty aggregated list.
        let (code, v) = c.get_json("/api").await;
        assert_eq!(
            (code, v["kind"].as_str()),
            (StatusCode::OK, Some("APIVersions"))
        );
        assert_eq!(v["versions"], json!([]));
        let (_, headers, body) = c.call("GET", "/api", &[("accept", V2)], Bytes::new()).await;
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .contains("as=APIGroupDiscoveryList")
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["items"],
            json!([])
        );
        let (code, _, _) = c
            .call(
                "GET",
                "/apis",
                &[("accept", "application/vnd.kubernetes.protobuf")],
                Bytes::new(),
            )
            .await;
        assert_eq!(code, StatusCode::NOT_ACCEPTABLE);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crud_errors_and_negotiation() {
    both_protocols(async |mut c, proto| {
        let name = format!("w-{proto:?}").to_lowercase();
        let json_ct = [("content-type", "application/json")];
        let (code, headers, body) = c
            .call("POST", &format!("{NS_WIDGETS}?fieldManager=test&fieldValidation=Strict"), &json_ct, widget(&name))
            .await;
        assert_eq!(code, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
        assert_eq!(headers["content-type"], "application/json");
        assert!(body.ends_with(b"}\n"));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["metadata"]["namespace"], "default");

        // Warning headers.
        let warned = json!({"metadata": {"name": format!("{name}-warn")}, "spec": {"unknown": 1}}).to_string();
        let (code, headers, _) = c.call("POST", NS_WIDGETS, &json_ct, warned).await;
        assert_eq!(code, 201);
        assert_eq!(headers["warning"], r#"299 - "unknown field \"spec.unknown\"""#);

        // YAML in, YAML out.
        let yaml = format!("apiVersion: test.example.io/v1\nkind: Widget\nmetadata:\n  name: {name}-yaml\n");
        let (code, headers, body) = c
            .call("POST", NS_WIDGETS, &[("content-type", "application/yaml"), ("accept", "application/yaml")], yaml)
            .await;
        assert_eq!(code, 201);
        assert_eq!(headers["content-type"], "application/yaml");
        assert!(String::from_utf8_lossy(&body).contains(&format!("name: {name}-yaml")));

        let (code, v) = c.get_json(&format!("{NS_WIDGETS}/{name}")).await;
        assert_eq!((code, v["kind"].as_str()), (StatusCode::OK, Some("Widget")));

        // Table and PartialObjectMetadata.
        let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        let (code, headers, body) = c.call("GET", NS_WIDGETS, &[("accept", table)], Bytes::new()).await;
        assert_eq!(code, 200);
        assert_eq!(headers["content-type"], "application/json;as=Table;v=v1;g=meta.k8s.io");
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["kind"], "Table");
        let poml = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
        let (code, _, body) = c.call("GET", NS_WIDGETS, &[("accept", poml)], Bytes::new()).await;
        assert_eq!(code, 200);
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["kind"], "PartialObjectMetadataList");
        let (code, _, _) = c
            .call("GET", NS_WIDGETS, &[("accept", "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1")], Bytes::new())
            .await;
        assert_eq!(code, StatusCode::NOT_ACCEPTABLE);
        let (code, _, body) = c
            .call("GET", NS_WIDGETS, &[("accept", "application/vnd.kubernetes.protobuf")], Bytes::new())
            .await;
        assert_eq!(code, StatusCode::NOT_ACCEPTABLE);
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["reason"], "NotAcceptable");

        // Patch types.
        let (code, _, body) = c
            .call("PATCH", &format!("{NS_WIDGETS}/{name}"), &[("content-type", "application/merge-patch+json")], r#"{"spec":{"size":3}}"#)
            .await;
        assert_eq!(code, 200);
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["spec"]["size"], 3);
        let (code, _, body) = c
            .call("PATCH", &format!("{NS_WIDGETS}/{name}"), &[("content-type", "application/json")], "{}")
            .await;
        assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["message"],
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"
        );
        let (code, _, body) = c
            .call("PATCH", &format!("{NS_WIDGETS}/{name}"), &[("content-type", "application/apply-patch+yaml")], "{}")
            .await;
        assert_eq!(code, 422);
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["details"]["kind"], "PatchOptions");

        // Options reach the resource.
        let (code, _) = c
            .get_json("/apis/test.example.io/v1/widgets?labelSelector=a%3Db&limit=5&continue=x&resourceVersion=3&resourceVersionMatch=NotOlderThan")
            .await;
        assert_eq!(code, 200);
        // Bad options and bad bodies.
        let (code, _, body) = c.call("POST", &format!("{NS_WIDGETS}?dryRun=Maybe"), &json_ct, widget("x")).await;
        assert_eq!(code, 422);
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["message"],
            r#"CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: "Maybe": supported values: "All""#
        );
        let (code, _, _) = c.call("POST", NS_WIDGETS, &json_ct, "{not json").await;
        assert_eq!(code, 400);
        let (code, _, _) = c.call("POST", NS_WIDGETS, &[("content-type", "text/plain")], widget("x")).await;
        assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let (code, _) = c.get_json(&format!("{NS_WIDGETS}?labelSelector=bad%3D(")).await;
        assert_eq!(code, 400);
        let (code, _) = c.get_json(&format!("{NS_WIDGETS}?limit=many")).await;
        assert_eq!(code, 400);

        // Oversized body.
        let big = vec![b' '; 3 * 1024 * 1024 + 1];
        let (code, _, body) = c.call("POST", NS_WIDGETS, &json_ct, big).await;
        assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["message"],
            "Request entity too large: limit is 3145728"
        );

        // Unknown things.
        let (code, v) = c.get_json("/apis/test.example.io/v1/namespaces/default/sprockets").await;
        assert_eq!(code, 404);
        assert_eq!(v["message"], "the server could not find the requested resource");
        assert_eq!(v["reason"], "NotFound");
        let (code, _) = c.get_json(&format!("{NS_WIDGETS}/{name}/scale")).await;
        assert_eq!(code, 404);
        let (code, _) = c.get_json("/apis/test.example.io/v1/namespaces/default/gadgets").await;
        assert_eq!(code, 404);
        let (code, v) = c.get_json(&format!("{NS_WIDGETS}/nope")).await;
        assert_eq!(code, 404);
        assert_eq!(v["message"], r#"widgets.test.example.io "nope" not found"#);
        assert_eq!(v["details"], json!({"name": "nope", "group": "test.example.io", "kind": "widgets"}));
        let (code, _, _) = c.call("DELETE", &format!("{NS_WIDGETS}/{name}/status"), &[], Bytes::new()).await;
        assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
        let (code, _, _) = c.call("OPTIONS", NS_WIDGETS, &[], Bytes::new()).await;
        assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
        let (code, _, _) = c.call("POST", "/apis/test.example.io/v1/widgets", &json_ct, widget("x")).await;
        assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
        let (code, _, body) = c.call("GET", "/nothing/here", &[], Bytes::new()).await;
        assert_eq!((code, &body[..]), (StatusCode::NOT_FOUND, &b"404 page not found\n"[..]));
        let (code, v) = c.get_json(&format!("{NS_WIDGETS}/..")).await;
        assert_eq!(code, 400, "{v}");

        // Delete with a DeleteOptions body, then dry-run delete-collection.
        let (code, _, body) = c
            .call("DELETE", &format!("{NS_WIDGETS}/{name}"), &json_ct,
                r#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}"#)
            .await;
        assert_eq!(code, 200);
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["status"], "Success");
        let (code, _, body) = c.call("DELETE", NS_WIDGETS, &[], Bytes::new()).await;
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_reach_the_resource() {
    let s = start().await;
    let mut c = Conn::tls(s.addr, &s.ca_pem, Proto::H2).await;
    let (code, _) = c
        .get_json("/apis/test.example.io/v1beta1/widgets?labelSelector=a%3Db&fieldSelector=metadata.name%3Dx&limit=5&continue=tok&resourceVersion=3&resourceVersionMatch=NotOlderThan")
        .await;
    assert_eq!(code, 200);
    let (ctx, list, _) = s.widgets.last.lock().unwrap().clone().unwrap();
    assert_eq!(ctx.namespace, None);
    assert_eq!(ctx.version, "v1beta1");
    assert_eq!(ctx.user.name, "system:anonymous-admin");
    let list = list.unwrap();
    assert_eq!(list.label_selector.as_deref(), Some("a=b"));
    assert_eq!(list.field_selector.as_deref(), Some("metadata.name=x"));
    assert_eq!(
        (list.limit, list.continue_token.as_deref()),
        (Some(5), Some("tok"))
    );

    let (code, _, _) = c
        .call(
            "POST",
            &format!("{NS_WIDGETS}?dryRun=All&fieldManager=m&fieldValidation=Ignore"),
            &[
                ("content-type", "application/json"),
                ("user-agent", "kubectl/v1.33"),
            ],
            widget("d"),
        )
        .await;
    assert_eq!(code, 201);
    let (ctx, _, _) = s.widgets.last.lock().unwrap().clone().unwrap();
    assert!(ctx.dry_run);
    assert_eq!(ctx.field_manager.as_deref(), Some("m"));
    assert_eq!(
        ctx.field_validation,
        apimachinery::registry::FieldValidation::Ignore
    );
    assert_eq!(ctx.user_agent.as_deref(), Some("kubectl/v1.33"));
    s.shutdown.shutdown();
    s.task.await.unwrap();
}

async fn next_line(body: &mut hyper::body::Incoming, buf: &mut Vec<u8>) -> Option<Value> {
    loop {
        if let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            return Some(serde_json::from_slice(&line).unwrap());
        }
        match tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .unwrap()
        {
            Some(Ok(f)) => {
                if let Ok(d) = f.into_data() {
                    buf.extend_from_slice(&d);
                }
            }
            _ => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_lines_and_ends() {
    let s = start().await;
    for proto in [Proto::H1, Proto::H2] {
        let mut c = Conn::tls(s.addr, &s.ca_pem, proto).await;
        let name = format!("watched-{proto:?}").to_lowercase();
        c.call(
            "POST",
            NS_WIDGETS,
            &[("content-type", "application/json")],
            widget(&name),
        )
        .await;
        let mut watcher = Conn::tls(s.addr, &s.ca_pem, proto).await;
        let req = http::Request::get(format!("{NS_WIDGETS}?watch=true&timeoutSeconds=4"))
            .header("host", "localhost")
            .body(http_body_util::Full::new(Bytes::new()))
            .unwrap();
        let resp = watcher.send(req).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/json");
        let mut body = resp.into_body();
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        // Initial ADDED events for existing objects.
        while let Some(ev) = next_line(&mut body, &mut buf).await {
            seen.push(ev.clone());
            if ev["object"]["metadata"]["name"] == json!(name) {
                break;
            }
        }
        assert_eq!(seen.last().unwrap()["type"], "ADDED");
        // A later change arrives as its own line.
        c.call(
            "PATCH",
            &format!("{NS_WIDGETS}/{name}"),
            &[("content-type", "application/merge-patch+json")],
            r#"{"spec":{"size":9}}"#,
        )
        .await;
        let sent = std::time::Instant::now();
        let ev = next_line(&mut body, &mut buf).await.unwrap();
        // Flushed per event, not at the end of the stream.
        assert!(sent.elapsed() < Duration::from_millis(1500), "{proto:?}");
        assert_eq!(ev["type"], "MODIFIED");
        assert_eq!(ev["object"]["spec"]["size"], 9);
        // timeoutSeconds ends the stream cleanly.
        assert!(next_line(&mut body, &mut buf).await.is_none());
        assert!(buf.is_empty());
    }
    // Errors inside the stream arrive as an ERROR event.
    let mut c = Conn::tls(s.addr, &s.ca_pem, Proto::H1).await;
    let (code, _, body) = c
        .call(
            "GET",
            &format!("{NS_WIDGETS}?watch=1&resourceVersion=1"),
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(code, 200);
    let line: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(line["type"], "ERROR");
    assert_eq!(line["object"]["code"], 410);
    assert!(body.ends_with(b"\n"));
    s.shutdown.shutdown();
    s.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_watches_and_stops_listening() {
    for proto in [Proto::H1, Proto::H2] {
        shutdown_ends_watch(proto).await;
    }
}

async fn shutdown_ends_watch(proto: Proto) {
    let s = start().await;
    let mut watcher = Conn::tls(s.addr, &s.ca_pem, proto).await;
    let req = http::Request::get("/apis/test.example.io/v1/watch/namespaces/default/widgets")
        .header("host", "localhost")
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    let resp = watcher.send(req).await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    s.shutdown.shutdown();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(f) = body.frame().await {
            if f.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the watch did not end on shutdown");
    tokio::time::timeout(Duration::from_secs(10), s.task)
        .await
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(s.addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_version_metrics_openapi_and_insecure_port() {
    let s = start().await;
    let mut c = Conn::tls(s.addr, &s.ca_pem, Proto::H1).await;
    let (code, headers, body) = c.call("GET", "/readyz?verbose", &[], Bytes::new()).await;
    assert_eq!(code, 200);
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        &body[..],
        b"[+]ping ok\n[+]shutdown ok\nreadyz check passed\n"
    );
    let (_, _, body) = c.call("GET", "/healthz", &[], Bytes::new()).await;
    assert_eq!(&body[..], b"ok");
    let (code, _, body) = c.call("GET", "/livez/ping", &[], Bytes::new()).await;
    assert_eq!((code, &body[..]), (StatusCode::OK, &b"ok"[..]));
    let (code, _, _) = c.call("GET", "/livez/nope", &[], Bytes::new()).await;
    assert_eq!(code, 404);

    let (_, headers, _) = c
        .call("GET", "/version", &[("audit-id", "abc")], Bytes::new())
        .await;
    assert_eq!(headers["audit-id"], "abc");
    let (_, headers, _) = c.call("GET", "/version", &[], Bytes::new()).await;
    assert_eq!(headers["audit-id"].len(), 36);
    // `?timeout=` shortens the request timeout.
    let (code, _) = c
        .get_json(&format!("{NS_WIDGETS}/slow-2000?timeout=200ms"))
        .await;
    assert_eq!(code, StatusCode::GATEWAY_TIMEOUT);
    let (code, v) = c.get_json("/version").await;
    assert_eq!(code, 200);
    assert_eq!(v["gitVersion"], format!("v{}", env!("CARGO_PKG_VERSION")));
    assert!(v["platform"].as_str().unwrap().contains('/'));

    let (code, v) = c.get_json("/").await;
    assert_eq!(code, 200);
    assert!(
        v["paths"]
            .as_array()
            .unwrap()
            .contains(&json!("/apis/test.example.io/v1"))
    );

    // OpenAPI v2: JSON with ETag and 304, gnostic protobuf; anything else is 406.
    let (code, headers, body) = c
        .call(
            "GET",
            "/openapi/v2",
            &[("accept", "application/json")],
            Bytes::new(),
        )
        .await;
    assert_eq!(code, 200);
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let v2: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        v2["paths"]["/apis/test.example.io/v1/namespaces/{namespace}/widgets/{name}"]["patch"]["x-kubernetes-action"]
            == "patch"
    );
    let (code, _, _) = c
        .call(
            "GET",
            "/openapi/v2",
            &[("if-none-match", &etag)],
            Bytes::new(),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_MODIFIED);
    let (code, _, _) = c
        .call(
            "GET",
            "/openapi/v2",
            &[(
                "accept",
                "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
            )],
            Bytes::new(),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _, _) = c
        .call(
            "GET",
            "/openapi/v2",
            &[("accept", "application/vnd.kubernetes.protobuf")],
            Bytes::new(),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_ACCEPTABLE);
    // OpenAPI v3 index and per-GV documents with hash handling.
    let (code, index) = c.get_json("/openapi/v3").await;
    assert_eq!(code, 200);
    let url = index["paths"]["apis/test.example.io/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, headers, body) = c.call("GET", &url, &[], Bytes::new()).await;
    assert_eq!(code, 200);
    assert_eq!(headers["cache-control"], "public, immutable");
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["components"]["schemas"]["io.example.test.v1.Widget"].is_object());
    let (code, headers, _) = c
        .call(
            "GET",
            "/openapi/v3/apis/test.example.io/v1?hash=stale",
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(code, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(headers["location"], url.as_str());
    let (code, _, _) = c
        .call("GET", "/openapi/v3/apis/other.io/v1", &[], Bytes::new())
        .await;
    assert_eq!(code, 404);

    // Metrics count the requests above.
    c.get_json(&format!("{NS_WIDGETS}/missing")).await;
    let (code, headers, body) = c.call("GET", "/metrics", &[], Bytes::new()).await;
    assert_eq!(code, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains(r#"apiserver_request_total{verb="GET",dry_run="",group="test.example.io",version="v1",resource="widgets",subresource="",scope="resource",component="apiserver",code="404"} 1"#), "{text}");
    assert!(text.contains("apiserver_request_duration_seconds_bucket"));

    // The plain-HTTP loopback listener serves the same handler.
    let mut plain = Conn::plain(s.insecure.unwrap()).await;
    let (code, v) = plain.get_json("/apis/test.example.io/v1").await;
    assert_eq!(
        (code, v["kind"].as_str()),
        (StatusCode::OK, Some("APIResourceList"))
    );
    s.shutdown.shutdown();
    s.task.await.unwrap();
}

struct DenyAll;

#[async_trait::async_trait]
impl apiserver::Authorizer for DenyAll {
    async fn authorize(&self, _attrs: &apiserver::Attributes) -> apiserver::Decision {
        apiserver::Decision::Deny {
            reason: "no RBAC policy matched".into(),
        }
    }
}

struct Alice;

#[async_trait::async_trait]
impl apiserver::Authenticator for Alice {
    async fn authenticate(
        &self,
        req: &apiserver::AuthRequest<'_>,
    ) -> Result<apimachinery::registry::UserInfo, apiserver::auth::Unauthenticated> {
        if req
            .headers
            .get("authorization")
            .is_some_and(|v| v == "Bearer bad")
        {
            return Err(apiserver::auth::Unauthenticated {
                message: "bad token".into(),
            });
        }
        Ok(apimachinery::registry::UserInfo {
            name: "alice".into(),
            groups: vec!["system:authenticated".into()],
            uid: None,
            extra: Default::default(),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_and_authorization_hooks() {
    let s = common::start_with(|b| {
        b.authenticator(std::sync::Arc::new(Alice))
            .authorizer(std::sync::Arc::new(DenyAll))
    })
    .await;
    let mut c = Conn::tls(s.addr, &s.ca_pem, Proto::H1).await;
    let (code, v) = c.get_json(&format!("{NS_WIDGETS}/w")).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert_eq!(
        v["message"],
        r#"widgets.test.example.io "w" is forbidden: User "alice" cannot get resource "widgets" in API group "test.example.io" in the namespace "default": no RBAC policy matched"#
    );
    let (code, v) = c.get_json("/metrics").await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert_eq!(
        v["message"],
        r#"forbidden: User "alice" cannot get path "/metrics": no RBAC policy matched"#
    );
    let (code, _, _) = c.call("GET", "/readyz", &[], Bytes::new()).await;
    assert_eq!(code, 200, "health is always allowed");
    let (code, v) = {
        let (code, _, body) = c
            .call(
                "GET",
                "/apis",
                &[("authorization", "Bearer bad")],
                Bytes::new(),
            )
            .await;
        (code, serde_json::from_slice::<Value>(&body).unwrap())
    };
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert_eq!(v["reason"], "Unauthorized");
    s.shutdown.shutdown();
    s.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_timeout_and_in_flight_requests_at_shutdown() {
    let s = common::start_with(|b| b.request_timeout(Duration::from_millis(500))).await;
    let mut c = Conn::tls(s.addr, &s.ca_pem, Proto::H2).await;
    let (code, v) = c.get_json(&format!("{NS_WIDGETS}/slow-3000")).await;
    assert_eq!(code, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(
        v["message"],
        "Timeout: request did not complete within the allotted timeout"
    );
    assert_eq!(v["reason"], "Timeout");

    // A request in flight when shutdown begins still completes.
    let mut c = Conn::tls(s.addr, &s.ca_pem, Proto::H1).await;
    let in_flight =
        tokio::spawn(async move { c.get_json(&format!("{NS_WIDGETS}/slow-300")).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.shutdown.shutdown();
    let (code, v) = in_flight.await.unwrap();
    assert_eq!(
        (code, v["metadata"]["name"].as_str()),
        (StatusCode::OK, Some("slow-300"))
    );
    tokio::time::timeout(Duration::from_secs(10), s.task)
        .await
        .unwrap()
        .unwrap();
}

/// Names the user after whether a client certificate came with the connection.
struct ByCertificate;

#[async_trait::async_trait]
impl apiserver::Authenticator for ByCertificate {
    async fn authenticate(
        &self,
        req: &apiserver::AuthRequest<'_>,
    ) -> Result<apimachinery::registry::UserInfo, apiserver::auth::Unauthenticated> {
        let name = match req.peer_certificates {
            Some([leaf, ..]) => format!("cert-{}", !leaf.is_empty()),
            _ => "no-cert".to_owned(),
        };
        Ok(apimachinery::registry::UserInfo {
            name,
            groups: vec!["system:masters".into()],
            uid: None,
            extra: Default::default(),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_requested_not_required() {
    let s = common::start_with(|b| b.authenticator(std::sync::Arc::new(ByCertificate))).await;
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.self_signed(&key).unwrap();
    for proto in [Proto::H1, Proto::H2] {
        let mut c = Conn::tls_with(
            s.addr,
            &s.ca_pem,
            proto,
            Some((&cert.pem(), &key.serialize_pem())),
        )
        .await;
        c.get_json(NS_WIDGETS).await;
        let (ctx, _, _) = s.widgets.last.lock().unwrap().clone().unwrap();
        assert_eq!(ctx.user.name, "cert-true");
        let mut c = Conn::tls(s.addr, &s.ca_pem, proto).await;
        c.get_json(NS_WIDGETS).await;
        let (ctx, _, _) = s.widgets.last.lock().unwrap().clone().unwrap();
        assert_eq!(ctx.user.name, "no-cert");
    }
    s.shutdown.shutdown();
    s.task.await.unwrap();
}
