//! The request pipeline, in Go's filter order: request info → authentication → impersonation
//! and the in-flight limit ([`crate::filters`]) → authorization (`access.rs`) → in-flight
//! accounting and timeout (non-watch) → routing to discovery, OpenAPI,
//! health, metrics, `/version` (`non_resource.rs`) or a
//! [`RestResource`](apimachinery::registry::RestResource) (`resource.rs`) → response
//! (JSON/YAML, `Warning` headers, `Status` errors: `response.rs`) → metrics (`labels.rs`) and
//! one log line.
//!
//! `pipeline` is the list of filters: each step is a function that either hands the request on
//! or answers it (`Err(response)`).

mod access;
mod labels;
mod non_resource;
mod resource;
mod response;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use apimachinery::registry::UserInfo;
use apimachinery::status::ApiError;
use axum::body::Body;
use http::header::USER_AGENT;
use http::{HeaderMap, HeaderValue, Method, Request, Response};
use rustls::pki_types::CertificateDer;

use crate::metrics::RequestKindLabels;
use crate::negotiation::Format;
use crate::query::{self, Query};
use crate::request_info::{ParsedRequest, RequestInfo, Verb, parse_request_info};
use crate::server::State;

pub use response::warning_header;

/// Facts about the connection a request came on.
#[derive(Debug, Clone, Default)]
pub struct ConnInfo {
    /// The peer address.
    pub remote_addr: Option<SocketAddr>,
    /// The client certificate chain, if one was presented.
    pub peer_certificates: Option<Arc<Vec<CertificateDer<'static>>>>,
}

/// Everything about the request the pipeline carries along.
struct Incoming {
    method: Method,
    path: String,
    query: Query,
    headers: HeaderMap,
    body: Body,
    user: UserInfo,
}

/// What the request's log line and metrics need; `user` is filled in once authenticated.
struct Facts {
    method: Method,
    path: String,
    user_agent: String,
    labels: RequestKindLabels,
    user: String,
    /// The authenticated user when the request impersonates `user`.
    impersonated_by: Option<String>,
}

/// Handles one request end to end; every response carries an `Audit-ID` (the client's, or a
/// new UUID), as Go's servers send.
pub(crate) async fn handle(
    state: Arc<State>,
    req: Request<Body>,
    conn: ConnInfo,
) -> Response<Body> {
    let audit_id = req
        .headers()
        .get("audit-id")
        .filter(|v| !v.is_empty())
        .cloned()
        .or_else(|| HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).ok());
    let mut resp = handle_inner(state, req, conn).await;
    if let Some(id) = audit_id {
        resp.headers_mut().insert("audit-id", id);
    }
    resp
}

async fn handle_inner(state: Arc<State>, req: Request<Body>, conn: ConnInfo) -> Response<Body> {
    let start = Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let query = Query::parse(parts.uri.query().unwrap_or(""));
    let parsed = parse_request_info(&parts.method, &path, &query);
    let info = match &parsed {
        ParsedRequest::Ok(i) => i.clone(),
        ParsedRequest::MethodNotSupported(r) => RequestInfo::Resource(r.clone()),
    };
    let mut facts = Facts {
        labels: labels::metric_labels(&info, &parts.method, &query, &parts.headers),
        user_agent: response::header(&parts.headers, USER_AGENT)
            .unwrap_or("")
            .to_owned(),
        method: parts.method.clone(),
        path: path.clone(),
        user: String::new(),
        impersonated_by: None,
    };
    let incoming = Incoming {
        method: parts.method,
        path,
        query,
        headers: parts.headers,
        body,
        user: UserInfo::default(),
    };
    let resp = match pipeline(&state, &conn, &info, parsed, incoming, &mut facts).await {
        Ok(resp) | Err(resp) => resp,
    };
    finish(&state, &facts, start, resp)
}

/// The filters in order; a filter that stops the request returns its answer as `Err`.
async fn pipeline(
    state: &State,
    conn: &ConnInfo,
    info: &RequestInfo,
    parsed: ParsedRequest,
    mut incoming: Incoming,
    facts: &mut Facts,
) -> Result<Response<Body>, Response<Body>> {
    let user = access::authenticate(state, &incoming.headers, conn).await?;
    facts.user.clone_from(&user.name);
    // Impersonation, then the in-flight limit (its slot held until the response is built).
    let admitted = crate::filters::run(state, &parsed, user, &mut incoming.headers)
        .await
        .map_err(|e| response::error_response(&e, Format::Json))?;
    let (user, _slot) = (admitted.user, admitted.slot);
    facts.user.clone_from(&user.name);
    facts.impersonated_by = admitted.impersonated_by;
    access::authorize(state, info, &user, &incoming.path, &incoming.method).await?;
    incoming.user = user;
    Ok(serve(state, parsed, incoming, &facts.labels).await)
}

/// Routes an authorized request; everything but watches counts as in flight and is bounded by
/// the request timeout (`?timeout=` may shorten it, never lengthen it).
async fn serve(
    state: &State,
    parsed: ParsedRequest,
    incoming: Incoming,
    labels: &RequestKindLabels,
) -> Response<Body> {
    match parsed {
        ParsedRequest::MethodNotSupported(_) => {
            response::status_response(&response::method_not_allowed(), Format::Json)
        }
        ParsedRequest::Ok(RequestInfo::Resource(r)) if r.verb == Verb::Watch => {
            resource::serve_resource(state, r, incoming, labels).await
        }
        ParsedRequest::Ok(RequestInfo::Resource(r)) => {
            let _inflight = state.metrics.inflight(r.verb.is_mutating());
            let timeout = incoming
                .query
                .get("timeout")
                .and_then(query::parse_go_duration)
                .map_or(state.request_timeout, |t| t.min(state.request_timeout));
            match tokio::time::timeout(
                timeout,
                resource::serve_resource(state, r, incoming, labels),
            )
            .await
            {
                Ok(resp) => resp,
                Err(_) => response::error_response(&request_timeout(), Format::Json),
            }
        }
        ParsedRequest::Ok(RequestInfo::NonResource { .. }) => {
            let _inflight = state.metrics.inflight(false);
            match tokio::time::timeout(
                state.request_timeout,
                non_resource::serve_non_resource(state, incoming),
            )
            .await
            {
                Ok(resp) => resp,
                Err(_) => response::error_response(&request_timeout(), Format::Json),
            }
        }
    }
}

fn request_timeout() -> ApiError {
    ApiError::Timeout {
        message: "request did not complete within the allotted timeout".to_owned(),
        retry_after_seconds: 0,
    }
}

/// Records the request's metrics and writes its log line.
fn finish(state: &State, facts: &Facts, start: Instant, resp: Response<Body>) -> Response<Body> {
    let elapsed = start.elapsed();
    let code = resp.status().as_u16();
    state.metrics.observe_request(&facts.labels, code, elapsed);
    tracing::info!(
        verb = %facts.labels.verb,
        method = %facts.method,
        path = %facts.path,
        code,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        user_agent = %facts.user_agent,
        user = %facts.user,
        impersonated_by = facts.impersonated_by.as_deref(),
        "request"
    );
    resp
}
