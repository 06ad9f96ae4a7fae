//! Building responses: plain text, `metav1.Status` errors, encoded objects (JSON/YAML), ETag
//! bodies and the `Warning` header.

use apimachinery::status::{ApiError, Status, StatusDetails};
use axum::body::Body;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::Value;

use crate::negotiation::{self, Format};

/// Go's `404 page not found` (text/plain) for unknown non-resource paths.
pub(super) fn not_found_text() -> Response<Body> {
    text(StatusCode::NOT_FOUND, "404 page not found\n")
}

pub(super) fn text(code: StatusCode, body: impl Into<String>) -> Response<Body> {
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
pub(super) fn generic_status(code: u16, reason: &str, message: &str) -> Status {
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
pub(super) fn resource_not_found() -> Status {
    generic_status(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

/// 405 for a route that exists with other methods.
pub(super) fn method_not_allowed() -> Status {
    generic_status(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
    )
}

pub(super) fn status_response(status: &Status, format: Format) -> Response<Body> {
    let value = serde_json::to_value(status).unwrap_or(Value::Null);
    let code = u16::try_from(status.code).unwrap_or(500);
    let mut r = encoded(code, &value, format, false, None);
    r.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

pub(super) fn error_response(err: &ApiError, format: Format) -> Response<Body> {
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

pub(super) fn encoded(
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

pub(super) fn json_bytes(code: StatusCode, body: Vec<u8>, content_type: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = code;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

pub(super) fn header(headers: &HeaderMap, name: http::header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
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

pub(super) fn json_ok(v: &Value) -> Response<Body> {
    encoded(200, v, Format::Json, false, None)
}

/// A body with an ETag; `304 Not Modified` when `If-None-Match` matches.
pub(super) fn conditional(
    body: &[u8],
    etag: &str,
    content_type: &str,
    headers: &HeaderMap,
) -> Response<Body> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_quoted() {
        assert_eq!(
            warning_header(r#"unknown field "spec.foo""#),
            r#"299 - "unknown field \"spec.foo\"""#
        );
    }
}
