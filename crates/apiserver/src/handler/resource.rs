//! Resource requests: routing checks (served version, scope, subresource, path segments), then
//! the verb on the [`RestResource`] with its query options and body, then the encoded
//! response or watch stream.

use std::sync::Arc;

use apimachinery::registry::{RequestContext, RestResource, Subresource};
use apimachinery::status::ApiError;
use axum::body::Body;
use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Response};
use http_body_util::BodyExt as _;

use super::Incoming;
use super::response::{
    encoded, error_response, header, method_not_allowed, not_found_text, resource_not_found,
    status_response, warning_header,
};
use crate::metrics::RequestKindLabels;
use crate::negotiation::{self, Format, MAX_BODY_BYTES, Output, Target};
use crate::query::{self, WriteOptionsKind};
use crate::request_info::{ResourceRequest, Verb};
use crate::server::State;
use crate::watch;

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

pub(super) async fn serve_resource(
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
        admission: state.admission.clone(),
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
}
