//! Non-resource paths: the index, discovery (`/api`, `/apis[/<g>[/<v>]]`), `/version`, health
//! (`/healthz`, `/livez`, `/readyz`), `/metrics` and OpenAPI (`/openapi/v2`, `/openapi/v3`).

use apimachinery::status::ApiError;
use axum::body::Body;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, LOCATION, VARY};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use serde_json::Value;

use super::Incoming;
use super::response::{
    conditional, encoded, error_response, header, json_ok, method_not_allowed, not_found_text,
    status_response, text,
};
use crate::discovery;
use crate::health::Endpoint;
use crate::negotiation::{self, DiscoveryFormat, Format};
use crate::query::Query;
use crate::server::State;

pub(super) async fn serve_non_resource(state: &State, incoming: Incoming) -> Response<Body> {
    let path = incoming.path.trim_end_matches('/');
    let path = if path.is_empty() { "/" } else { path };
    if !matches!(incoming.method, Method::GET | Method::HEAD) {
        return if is_known_path(state, path) {
            status_response(&method_not_allowed(), Format::Json)
        } else {
            not_found_text()
        };
    }
    let accept = header(&incoming.headers, ACCEPT);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let result: Result<Response<Body>, ApiError> = match segments.as_slice() {
        [""] => Ok(index(state)),
        ["api"] => api_root(accept),
        ["apis"] => apis(state, accept, &incoming.headers),
        ["apis", group] => match state.discovery.group(group) {
            Some(v) => negotiation::negotiate_json(accept).map(|()| json_ok(&v)),
            None => Ok(not_found_text()),
        },
        ["apis", group, version] => match state.discovery.resource_list(group, version) {
            Some(v) => negotiation::negotiate_json(accept).map(|()| json_ok(&v)),
            None => Ok(not_found_text()),
        },
        ["version"] => negotiation::negotiate_json(accept)
            .map(|()| json_ok(&serde_json::to_value(&state.version).unwrap_or(Value::Null))),
        [ep] | [ep, _] if Endpoint::from_segment(ep).is_some() => {
            let endpoint = Endpoint::from_segment(ep).unwrap_or(Endpoint::Healthz);
            let check = segments.get(1).copied();
            let h = state.health.respond(endpoint, check, &incoming.query).await;
            Ok(text(
                StatusCode::from_u16(h.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                h.body,
            ))
        }
        ["metrics"] => Ok(match state.metrics.encode() {
            Ok(body) => {
                let mut r = Response::new(Body::from(body));
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static(
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    ),
                );
                r
            }
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
        }),
        ["api", "v1", "namespaces"] if state.serve_namespaces => {
            crate::namespaces::list(state.resources.values(), &incoming.user)
                .await
                .map(|v| json_ok(&v))
        }
        ["api", "v1", "namespaces", name] if state.serve_namespaces => {
            crate::namespaces::namespace(name).map(|v| json_ok(&v))
        }
        ["openapi", "v2"] => openapi_v2(state, accept, &incoming.headers),
        ["openapi", "v3"] => Ok(conditional(
            &state.openapi.v3_index().body,
            &state.openapi.v3_index().etag,
            "application/json",
            &incoming.headers,
        )),
        ["openapi", "v3", "apis", group, version] => openapi_v3(
            state,
            group,
            version,
            &incoming.query,
            &incoming.headers,
            accept,
        ),
        _ => Ok(not_found_text()),
    };
    result.unwrap_or_else(|e| error_response(&e, Format::Json))
}

fn is_known_path(state: &State, path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        [""] | ["api"] | ["apis"] | ["version"] | ["metrics"] | ["openapi", "v2" | "v3"] => true,
        ["apis", g] => state.discovery.group(g).is_some(),
        ["apis", g, v] => state.discovery.serves(g, v),
        [ep] | [ep, _] => Endpoint::from_segment(ep).is_some(),
        _ => false,
    }
}

fn index(state: &State) -> Response<Body> {
    let mut paths = vec![
        "/api".to_owned(),
        "/apis".to_owned(),
        "/healthz".to_owned(),
        "/livez".to_owned(),
        "/metrics".to_owned(),
        "/openapi/v2".to_owned(),
        "/openapi/v3".to_owned(),
        "/readyz".to_owned(),
        "/version".to_owned(),
    ];
    for g in state.discovery.groups() {
        paths.push(format!("/apis/{}", g.name));
        for v in &g.versions {
            paths.push(format!("/apis/{}/{v}", g.name));
        }
    }
    paths.sort();
    json_ok(&serde_json::json!({ "paths": paths }))
}

fn api_root(accept: Option<&str>) -> Result<Response<Body>, ApiError> {
    Ok(match negotiation::negotiate_discovery(accept)? {
        DiscoveryFormat::Legacy => json_ok(&discovery::legacy_api_versions()),
        f @ (DiscoveryFormat::AggregatedV2 | DiscoveryFormat::AggregatedV2Beta1) => {
            let api_version = if f == DiscoveryFormat::AggregatedV2 {
                "apidiscovery.k8s.io/v2"
            } else {
                "apidiscovery.k8s.io/v2beta1"
            };
            let mut r = encoded(
                200,
                &discovery::empty_aggregated(api_version),
                Format::Json,
                false,
                Some(f.content_type()),
            );
            r.headers_mut()
                .insert(VARY, HeaderValue::from_static("Accept"));
            r
        }
    })
}

fn apis(
    state: &State,
    accept: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response<Body>, ApiError> {
    let format = negotiation::negotiate_discovery(accept)?;
    let doc = match format {
        DiscoveryFormat::Legacy => {
            let mut r = json_ok(&state.discovery.group_list());
            r.headers_mut()
                .insert(VARY, HeaderValue::from_static("Accept"));
            return Ok(r);
        }
        DiscoveryFormat::AggregatedV2 => state.discovery.aggregated_v2(),
        DiscoveryFormat::AggregatedV2Beta1 => state.discovery.aggregated_v2beta1(),
    };
    let mut r = conditional(&doc.body, &doc.etag, format.content_type(), headers);
    r.headers_mut()
        .insert(VARY, HeaderValue::from_static("Accept"));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("public"));
    Ok(r)
}

fn openapi_v2(
    state: &State,
    accept: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response<Body>, ApiError> {
    // kube-openapi serves JSON and gnostic protobuf (what client-go's `OpenAPISchema` asks
    // for); the first acceptable range wins.
    let protobuf = match accept.filter(|a| !a.trim().is_empty()) {
        None => false,
        Some(a) => {
            let mut choice = None;
            for r in negotiation::parse_accept(a) {
                let full = format!("{}/{}", r.type_, r.subtype);
                if full == crate::openapi_proto::PROTOBUF_V2
                    || full == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
                {
                    choice = Some(true);
                    break;
                }
                if matches!(full.as_str(), "application/json" | "application/*" | "*/*") {
                    choice = Some(false);
                    break;
                }
            }
            choice.ok_or_else(|| {
                ApiError::not_acceptable(&["application/json", crate::openapi_proto::PROTOBUF_V2])
            })?
        }
    };
    let (doc, content_type) = if protobuf {
        // Go's mime parser (client-go) rejects the `@` of the requested media type in a
        // response Content-Type, so the bytes go out as an octet stream.
        (state.openapi.v2_protobuf(), "application/octet-stream")
    } else {
        (state.openapi.v2(), "application/json")
    };
    let mut r = conditional(&doc.body, &doc.etag, content_type, headers);
    r.headers_mut()
        .insert(VARY, HeaderValue::from_static("Accept"));
    Ok(r)
}

fn openapi_v3(
    state: &State,
    group: &str,
    version: &str,
    query: &Query,
    headers: &HeaderMap,
    accept: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    let Some(doc) = state.openapi.v3(&format!("{group}/{version}")) else {
        return Ok(not_found_text());
    };
    negotiation::negotiate_json(accept)?;
    if let Some(hash) = query.get("hash") {
        if hash != doc.hash() {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
            let location = format!("/openapi/v3/apis/{group}/{version}?hash={}", doc.hash());
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert(LOCATION, v);
            }
            return Ok(r);
        }
        let mut r = conditional(&doc.body, &doc.etag, "application/json", headers);
        r.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("public, immutable"));
        r.headers_mut()
            .insert(VARY, HeaderValue::from_static("Accept"));
        return Ok(r);
    }
    let mut r = conditional(&doc.body, &doc.etag, "application/json", headers);
    r.headers_mut()
        .insert(VARY, HeaderValue::from_static("Accept"));
    Ok(r)
}
