//! The request pipeline, in Go's filter order: request info → authentication → authorization
//! → timeout (non-watch) → routing to discovery, OpenAPI, health, metrics, `/version` or a
//! [`RestResource`] → response (JSON/YAML, `Warning` headers, `Status` errors) → metrics and
//! one log line.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use apimachinery::registry::{RequestContext, RestResource, Subresource, UserInfo};
use apimachinery::status::{ApiError, Status, StatusDetails};
use axum::body::Body;
use bytes::Bytes;
use http::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION, USER_AGENT, VARY,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use rustls::pki_types::CertificateDer;
use serde_json::Value;

use crate::admission::{AdmissionRequest, Operation};
use crate::auth::{Attributes, AuthRequest, Decision};
use crate::discovery;
use crate::health::Endpoint;
use crate::metrics::RequestKindLabels;
use crate::negotiation::{self, DiscoveryFormat, Format, MAX_BODY_BYTES, Output, Target};
use crate::query::{self, Query, WriteOptionsKind};
use crate::request_info::{ParsedRequest, RequestInfo, ResourceRequest, Verb, parse_request_info};
use crate::server::State;
use crate::watch;

/// Facts about the connection a request came on.
#[derive(Debug, Clone, Default)]
pub struct ConnInfo {
    /// The peer address.
    pub remote_addr: Option<SocketAddr>,
    /// The client certificate chain, if one was presented.
    pub peer_certificates: Option<Arc<Vec<CertificateDer<'static>>>>,
}

/// Go's `404 page not found` (text/plain) for unknown non-resource paths.
fn not_found_text() -> Response<Body> {
    text(StatusCode::NOT_FOUND, "404 page not found\n")
}

fn text(code: StatusCode, body: impl Into<String>) -> Response<Body> {
    let mut r = Response::new(Body::from(body.into()));
    *r.status_mut() = code;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// A `Status` that is not one of [`ApiError`]'s shapes: Go's generic router answers, with
/// empty `details`.
fn generic_status(code: u16, reason: &str, message: &str) -> Status {
    Status {
        kind: "Status".to_owned(),
        api_version: "v1".to_owned(),
        metadata: serde_json::Map::new(),
        status: "Failure".to_owned(),
        message: message.to_owned(),
        reason: reason.to_owned(),
        details: Some(StatusDetails::default()),
        code: i32::from(code),
    }
}

/// 404 for an unknown resource or subresource in a served group-version.
fn resource_not_found() -> Status {
    generic_status(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

/// 405 for a route that exists with other methods.
fn method_not_allowed() -> Status {
    generic_status(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
    )
}

fn status_response(status: &Status, format: Format) -> Response<Body> {
    let value = serde_json::to_value(status).unwrap_or(Value::Null);
    let code = u16::try_from(status.code).unwrap_or(500);
    let mut r = encoded(code, &value, format, false, None);
    r.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn error_response(err: &ApiError, format: Format) -> Response<Body> {
    let mut r = status_response(&err.to_status(), format);
    if let ApiError::TooManyRequests {
        retry_after_seconds,
        ..
    }
    | ApiError::Timeout {
        retry_after_seconds,
        ..
    } = err
        && *retry_after_seconds > 0
        && let Ok(v) = HeaderValue::from_str(&retry_after_seconds.to_string())
    {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

fn encoded(
    code: u16,
    value: &Value,
    format: Format,
    pretty: bool,
    content_type: Option<&str>,
) -> Response<Body> {
    let bytes = match negotiation::encode(value, format, pretty) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "encoding a response failed");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n");
        }
    };
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let ct = content_type.unwrap_or(format.media_type());
    if let Ok(v) = HeaderValue::from_str(ct) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    r
}

fn json_bytes(code: StatusCode, body: Vec<u8>, content_type: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = code;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

fn header(headers: &HeaderMap, name: http::header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
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
    let labels = metric_labels(&info, &parts.method, &query, &parts.headers);
    let user_agent = header(&parts.headers, USER_AGENT).unwrap_or("").to_owned();

    let auth_req = AuthRequest {
        headers: &parts.headers,
        peer_certificates: conn.peer_certificates.as_deref().map(Vec::as_slice),
        remote_addr: conn.remote_addr,
    };
    let user = match state.authenticator.authenticate(&auth_req).await {
        Ok(u) => u,
        Err(e) => {
            tracing::info!(reason = %e.message, "authentication failed");
            let resp = error_response(
                &ApiError::Unauthorized {
                    message: "Unauthorized".to_owned(),
                },
                Format::Json,
            );
            return finish(
                &state,
                &labels,
                &parts.method,
                &path,
                &user_agent,
                "",
                start,
                resp,
            );
        }
    };
    let attrs = attributes(&info, &user, &path, &parts.method);
    let decision = if state.always_allow.allows(&attrs) {
        Decision::Allow
    } else {
        state.authorizer.authorize(&attrs).await
    };
    let refusal = match decision {
        Decision::Allow => None,
        Decision::Deny { reason } => {
            let mut message = attrs.forbidden_message();
            if !reason.is_empty() {
                message = format!("{message}: {reason}");
            }
            Some(ApiError::Forbidden {
                resource: match &info {
                    RequestInfo::Resource(r) => {
                        apimachinery::status::GroupResource::new(&r.group, &r.resource)
                    }
                    RequestInfo::NonResource { .. } => {
                        apimachinery::status::GroupResource::new("", "")
                    }
                },
                name: attrs.name.clone(),
                reason: message,
            })
        }
        Decision::Error { message } => {
            tracing::warn!(error = %message, user = %user.name, "authorization failed");
            Some(ApiError::internal(message))
        }
    };
    if let Some(err) = refusal {
        let resp = error_response(&err, Format::Json);
        return finish(
            &state,
            &labels,
            &parts.method,
            &path,
            &user_agent,
            &user.name,
            start,
            resp,
        );
    }

    let user_name = user.name.clone();
    let incoming = Incoming {
        method: parts.method.clone(),
        path: path.clone(),
        query,
        headers: parts.headers,
        body,
        user,
    };
    let resp = match parsed {
        ParsedRequest::MethodNotSupported(_) => {
            status_response(&method_not_allowed(), Format::Json)
        }
        ParsedRequest::Ok(RequestInfo::Resource(r)) if r.verb == Verb::Watch => {
            serve_resource(&state, r, incoming, &labels).await
        }
        ParsedRequest::Ok(RequestInfo::Resource(r)) => {
            let _inflight = state.metrics.inflight(r.verb.is_mutating());
            // `?timeout=` may shorten the server's request timeout, never lengthen it.
            let timeout = incoming
                .query
                .get("timeout")
                .and_then(query::parse_go_duration)
                .map_or(state.request_timeout, |t| t.min(state.request_timeout));
            match tokio::time::timeout(timeout, serve_resource(&state, r, incoming, &labels)).await
            {
                Ok(resp) => resp,
                Err(_) => error_response(&request_timeout(), Format::Json),
            }
        }
        ParsedRequest::Ok(RequestInfo::NonResource { .. }) => {
            let _inflight = state.metrics.inflight(false);
            match tokio::time::timeout(state.request_timeout, serve_non_resource(&state, incoming))
                .await
            {
                Ok(resp) => resp,
                Err(_) => error_response(&request_timeout(), Format::Json),
            }
        }
    };
    finish(
        &state,
        &labels,
        &parts.method,
        &path,
        &user_agent,
        &user_name,
        start,
        resp,
    )
}

fn request_timeout() -> ApiError {
    ApiError::Timeout {
        message: "request did not complete within the allotted timeout".to_owned(),
        retry_after_seconds: 0,
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    state: &State,
    labels: &RequestKindLabels,
    method: &Method,
    path: &str,
    user_agent: &str,
    user: &str,
    start: Instant,
    resp: Response<Body>,
) -> Response<Body> {
    let elapsed = start.elapsed();
    let code = resp.status().as_u16();
    state.metrics.observe_request(labels, code, elapsed);
    tracing::info!(
        verb = %labels.verb,
        method = %method,
        path = %path,
        code,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        user_agent = %user_agent,
        user = %user,
        "request"
    );
    resp
}

/// Go's reported verb (`metrics.CleanVerb`): the HTTP method, with `LIST`/`WATCH` for
/// collection reads and `APPLY` for server-side apply.
fn reported_verb(verb: Verb, headers: &HeaderMap) -> &'static str {
    match verb {
        Verb::Get => "GET",
        Verb::List => "LIST",
        Verb::Watch => "WATCH",
        Verb::Create => "POST",
        Verb::Update => "PUT",
        Verb::Patch
            if header(headers, CONTENT_TYPE)
                .is_some_and(|c| c.starts_with("application/apply-patch")) =>
        {
            "APPLY"
        }
        Verb::Patch => "PATCH",
        Verb::Delete | Verb::DeleteCollection => "DELETE",
    }
}

fn metric_labels(
    info: &RequestInfo,
    method: &Method,
    query: &Query,
    headers: &HeaderMap,
) -> RequestKindLabels {
    let dry_run = if query.get("dryRun").is_some() {
        "All"
    } else {
        ""
    };
    match info {
        RequestInfo::Resource(r) => RequestKindLabels {
            verb: reported_verb(r.verb, headers).to_owned(),
            dry_run: dry_run.to_owned(),
            group: r.group.clone(),
            version: r.version.clone(),
            resource: r.resource.clone(),
            subresource: r.subresource.clone().unwrap_or_default(),
            scope: if r.name.is_some() {
                "resource"
            } else if r.namespace.is_some() {
                "namespace"
            } else {
                "cluster"
            }
            .to_owned(),
            component: "apiserver".to_owned(),
        },
        RequestInfo::NonResource { .. } => RequestKindLabels {
            verb: method.as_str().to_owned(),
            dry_run: String::new(),
            group: String::new(),
            version: String::new(),
            resource: String::new(),
            subresource: String::new(),
            scope: String::new(),
            component: "apiserver".to_owned(),
        },
    }
}

fn attributes(info: &RequestInfo, user: &UserInfo, path: &str, method: &Method) -> Attributes {
    match info {
        RequestInfo::Resource(r) => Attributes {
            user: user.clone(),
            verb: r.verb.as_str().to_owned(),
            resource_request: true,
            group: r.group.clone(),
            version: r.version.clone(),
            resource: r.resource.clone(),
            subresource: r.subresource.clone().unwrap_or_default(),
            namespace: r.namespace.clone().unwrap_or_default(),
            name: r.name.clone().unwrap_or_default(),
            path: path.to_owned(),
        },
        RequestInfo::NonResource { verb, .. } => Attributes {
            user: user.clone(),
            verb: if method == Method::HEAD {
                "get".to_owned()
            } else {
                verb.clone()
            },
            resource_request: false,
            group: String::new(),
            version: String::new(),
            resource: String::new(),
            subresource: String::new(),
            namespace: String::new(),
            name: String::new(),
            path: path.to_owned(),
        },
    }
}

/// Reads a body up to [`MAX_BODY_BYTES`]. It reads rather than rejecting on `Content-Length`,
/// so an HTTP/1.1 client that is still writing sees the 413 instead of a broken pipe; reading
/// stops one frame past the limit.
async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::body_too_large(MAX_BODY_BYTES as u64);
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(ApiError::bad_request(format!(
            "error reading request body: {e}"
        ))),
    }
}

/// Name and namespace must be usable path segments (Go's `IsValidPathSegmentName`).
fn check_path_segment(what: &str, value: &str) -> Result<(), ApiError> {
    let mut errs = Vec::new();
    if value == "." || value == ".." {
        errs.push(format!("may not be '{value}'"));
    }
    for c in ['/', '%'] {
        if value.contains(c) {
            errs.push(format!("may not contain '{c}'"));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{what} parameter invalid: {}: {}",
            apimachinery::status::go_quote(value),
            errs.join(";")
        )))
    }
}

async fn serve_resource(
    state: &State,
    r: ResourceRequest,
    incoming: Incoming,
    labels: &RequestKindLabels,
) -> Response<Body> {
    if !state.discovery.serves(&r.group, &r.version) {
        return not_found_text();
    }
    let Some(resource) = state
        .resources
        .get(&(r.group.clone(), r.resource.clone()))
        .cloned()
    else {
        return status_response(&resource_not_found(), Format::Json);
    };
    let d = resource.descriptor();
    if !d.versions.contains(&r.version) || r.extra_segments > 0 {
        return status_response(&resource_not_found(), Format::Json);
    }
    // Scope: namespaced resources live under namespaces/<ns>/ except for the cluster-wide
    // list/watch; cluster-scoped resources never do.
    match (d.namespaced, r.namespace.is_some()) {
        (false, true) => return status_response(&resource_not_found(), Format::Json),
        (true, false) => match r.verb {
            Verb::List | Verb::Watch if r.name.is_none() => {}
            Verb::Create | Verb::DeleteCollection => {
                return status_response(&method_not_allowed(), Format::Json);
            }
            _ => return status_response(&resource_not_found(), Format::Json),
        },
        _ => {}
    }
    // POST to an object, PUT or PATCH to a collection: routes Go does not install (405).
    if (r.verb == Verb::Create && r.name.is_some())
        || (matches!(r.verb, Verb::Update | Verb::Patch) && r.name.is_none())
    {
        return status_response(&method_not_allowed(), Format::Json);
    }
    let subresource = match r.subresource.as_deref() {
        None => Subresource::Main,
        Some(s) if d.subresources.iter().any(|x| x == s) => {
            if s != "status" {
                return status_response(&resource_not_found(), Format::Json);
            }
            if !matches!(r.verb, Verb::Get | Verb::Update | Verb::Patch) {
                return status_response(&method_not_allowed(), Format::Json);
            }
            Subresource::Status
        }
        Some(_) => return status_response(&resource_not_found(), Format::Json),
    };
    for (what, value) in [
        ("Name", r.name.as_deref()),
        ("Namespace", r.namespace.as_deref()),
    ] {
        if let Some(v) = value
            && let Err(e) = check_path_segment(what, v)
        {
            return error_response(&e, Format::Json);
        }
    }
    match run_verb(state, &resource, &r, subresource, incoming, labels).await {
        Ok(resp) => resp,
        Err((e, format)) => error_response(&e, format),
    }
}

type VerbResult = Result<Response<Body>, (ApiError, Format)>;

async fn run_verb(
    state: &State,
    resource: &Arc<dyn RestResource>,
    r: &ResourceRequest,
    subresource: Subresource,
    incoming: Incoming,
    labels: &RequestKindLabels,
) -> VerbResult {
    let Incoming {
        query,
        headers,
        body,
        user,
        ..
    } = incoming;
    let target = match r.verb {
        Verb::List | Verb::DeleteCollection => Target::List,
        Verb::Watch => Target::Watch,
        _ => Target::Object,
    };
    let output = negotiation::negotiate_output(header(&headers, ACCEPT), target)
        .map_err(|e| (e, Format::Json))?;
    let fail = |e: ApiError| (e, output.format);
    let include = negotiation::include_object(query.get("includeObject")).map_err(fail)?;
    let pretty =
        output.pretty || negotiation::is_pretty(query.get("pretty"), header(&headers, USER_AGENT));
    let mut ctx = RequestContext {
        namespace: r.namespace.clone(),
        version: r.version.clone(),
        user,
        dry_run: false,
        field_manager: None,
        user_agent: header(&headers, USER_AGENT).map(str::to_owned),
        field_validation: apimachinery::registry::FieldValidation::Warn,
        representation: output.representation(include),
        duplicate_fields: Vec::new(),
    };
    let name = r.name.clone().unwrap_or_default();
    let result = match r.verb {
        Verb::Get => {
            let opts = query::get_options(&query);
            resource.get(&ctx, &name, &opts).await
        }
        Verb::List => {
            let opts = query::list_options(&query, false).map_err(fail)?;
            resource.list(&ctx, &opts).await
        }
        Verb::Watch => {
            let mut opts = query::list_options(&query, true).map_err(fail)?;
            if let Some(n) = &r.name {
                query::restrict_to_name(&mut opts, n);
            }
            let events = resource.watch(&ctx, &opts).await.map_err(fail)?;
            return Ok(watch_response(
                state,
                r,
                events,
                opts.timeout_seconds,
                &output,
                labels,
            ));
        }
        Verb::Create | Verb::Update => {
            let bytes = read_body(body).await.map_err(fail)?;
            let kind = if r.verb == Verb::Create {
                WriteOptionsKind::Create
            } else {
                WriteOptionsKind::Update
            };
            let w = query::write_options(&query, kind).map_err(fail)?;
            let format = negotiation::body_format(header(&headers, CONTENT_TYPE)).map_err(fail)?;
            let value = negotiation::decode_body(&bytes, format).map_err(fail)?;
            if format == Format::Json {
                ctx.duplicate_fields =
                    apimachinery::registry::unknown_fields::duplicate_fields(&bytes);
            }
            ctx.dry_run = w.dry_run;
            ctx.field_manager = w.field_manager;
            ctx.field_validation = w.field_validation;
            let operation = if r.verb == Verb::Create {
                Operation::Create
            } else {
                Operation::Update
            };
            let value = match admit(state, r, &ctx, operation, Some(value)).await {
                Ok(v) => v.unwrap_or(Value::Null),
                Err(s) => return Ok(status_response(&s, output.format)),
            };
            if r.verb == Verb::Create {
                resource.create(&ctx, value).await
            } else {
                resource.update(&ctx, &name, subresource, value).await
            }
        }
        Verb::Patch => {
            let bytes = read_body(body).await.map_err(fail)?;
            let w = query::write_options(&query, WriteOptionsKind::Patch).map_err(fail)?;
            let patch_type =
                negotiation::patch_type(header(&headers, CONTENT_TYPE), w.force.unwrap_or(false))
                    .map_err(fail)?;
            let is_apply = matches!(patch_type, apimachinery::registry::PatchType::Apply { .. });
            query::validate_patch_options(&w, is_apply).map_err(fail)?;
            ctx.dry_run = w.dry_run;
            ctx.field_manager = w.field_manager;
            ctx.field_validation = w.field_validation;
            if let Err(s) = admit(state, r, &ctx, Operation::Update, None).await {
                return Ok(status_response(&s, output.format));
            }
            resource
                .patch(&ctx, &name, subresource, patch_type, &bytes)
                .await
        }
        Verb::Delete | Verb::DeleteCollection => {
            let bytes = read_body(body).await.map_err(fail)?;
            let body_value = if bytes.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                let format =
                    negotiation::body_format(header(&headers, CONTENT_TYPE)).map_err(fail)?;
                Some(negotiation::decode_body(&bytes, format).map_err(fail)?)
            };
            let (opts, dry_run) = query::delete_options(&query, body_value).map_err(fail)?;
            ctx.dry_run = dry_run;
            if let Err(s) = admit(state, r, &ctx, Operation::Delete, None).await {
                return Ok(status_response(&s, output.format));
            }
            if r.verb == Verb::Delete {
                resource.delete(&ctx, &name, &opts).await
            } else {
                let list = query::list_options(&query, false).map_err(fail)?;
                resource.delete_collection(&ctx, &list, &opts).await
            }
        }
    };
    let response = result.map_err(fail)?;
    let mut resp = encoded(
        response.code,
        &response.body,
        output.format,
        pretty,
        Some(&output.content_type()),
    );
    for w in &response.warnings {
        if let Ok(v) = HeaderValue::from_str(&warning_header(w)) {
            resp.headers_mut().append("warning", v);
        }
    }
    Ok(resp)
}

/// Runs the admission chain on a write; returns the (possibly mutated) object.
async fn admit(
    state: &State,
    r: &ResourceRequest,
    ctx: &RequestContext,
    operation: Operation,
    object: Option<Value>,
) -> Result<Option<Value>, crate::admission::Refusal> {
    if state.admission.is_empty() {
        return Ok(object);
    }
    let mut req = AdmissionRequest {
        operation,
        group: r.group.clone(),
        version: r.version.clone(),
        resource: r.resource.clone(),
        subresource: r.subresource.clone().unwrap_or_default(),
        namespace: r.namespace.clone().unwrap_or_default(),
        name: r.name.clone().unwrap_or_default(),
        object,
        old_object: None,
        user: ctx.user.clone(),
        dry_run: ctx.dry_run,
    };
    state.admission.run(&mut req).await?;
    Ok(req.object)
}

/// `299 - "<text>"`, with the text escaped like Go's `strconv.Quote` (but keeping it ASCII,
/// since header values must be).
pub fn warning_header(text: &str) -> String {
    let quoted = apimachinery::status::go_quote(text);
    let ascii: String = quoted
        .chars()
        .map(|c| if c.is_ascii() { c } else { '?' })
        .collect();
    format!("299 - {ascii}")
}

fn watch_response(
    state: &State,
    r: &ResourceRequest,
    events: apimachinery::registry::WatchStream,
    timeout_seconds: Option<u64>,
    output: &Output,
    labels: &RequestKindLabels,
) -> Response<Body> {
    let duration = watch::watch_duration(timeout_seconds, state.min_watch_timeout);
    let guard = state.metrics.longrunning(labels);
    let metrics = state.metrics.clone();
    let (g, v, res) = (r.group.clone(), r.version.clone(), r.resource.clone());
    let stream = watch::watch_stream(
        events,
        duration,
        state.shutdown.clone(),
        move || metrics.watch_event(&g, &v, &res),
        guard,
    );
    let mut resp = Response::new(Body::from_stream(stream));
    if let Ok(v) = HeaderValue::from_str(&output.content_type()) {
        resp.headers_mut().insert(CONTENT_TYPE, v);
    }
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    resp
}

async fn serve_non_resource(state: &State, incoming: Incoming) -> Response<Body> {
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

fn json_ok(v: &Value) -> Response<Body> {
    encoded(200, v, Format::Json, false, None)
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

/// A body with an ETag; `304 Not Modified` when `If-None-Match` matches.
fn conditional(body: &[u8], etag: &str, content_type: &str, headers: &HeaderMap) -> Response<Body> {
    let matches = header(headers, IF_NONE_MATCH)
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut r = if matches {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        json_bytes(StatusCode::OK, body.to_vec(), content_type)
    };
    if let Ok(v) = HeaderValue::from_str(etag) {
        r.headers_mut().insert(ETAG, v);
    }
    r
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments() {
        assert!(check_path_segment("Name", "ok-name").is_ok());
        let e = check_path_segment("Name", "..").unwrap_err();
        assert_eq!(
            e.message(),
            r#"Name parameter invalid: "..": may not be '..'"#
        );
        let e = check_path_segment("Name", "a%2Fb").unwrap_err();
        assert_eq!(
            e.message(),
            r#"Name parameter invalid: "a%2Fb": may not contain '%'"#
        );
    }

    #[test]
    fn warnings_are_quoted() {
        assert_eq!(
            warning_header(r#"unknown field "spec.foo""#),
            r#"299 - "unknown field \"spec.foo\"""#
        );
    }
}
