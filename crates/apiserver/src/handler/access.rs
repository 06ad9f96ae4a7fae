//! Authentication and authorization, the pipeline's first filters: each answers the request
//! itself (401, 403, 500) when it stops it.

use apimachinery::registry::UserInfo;
use apimachinery::status::{ApiError, GroupResource};
use axum::body::Body;
use http::{HeaderMap, Method, Response};

use super::ConnInfo;
use super::response::error_response;
use crate::auth::{Attributes, AuthRequest, Decision};
use crate::negotiation::Format;
use crate::request_info::RequestInfo;
use crate::server::State;

/// Who is asking; 401 `Unauthorized` when no authenticator accepts the request.
pub(super) async fn authenticate(
    state: &State,
    headers: &HeaderMap,
    conn: &ConnInfo,
) -> Result<UserInfo, Response<Body>> {
    let auth_req = AuthRequest {
        headers,
        peer_certificates: conn.peer_certificates.as_deref().map(Vec::as_slice),
        remote_addr: conn.remote_addr,
    };
    state
        .authenticator
        .authenticate(&auth_req)
        .await
        .map_err(|e| {
            tracing::info!(reason = %e.message, "authentication failed");
            error_response(
                &ApiError::Unauthorized {
                    message: "Unauthorized".to_owned(),
                },
                Format::Json,
            )
        })
}

/// Whether `user` may make the request: always-allowed paths, else the authorizer; 403 with
/// Go's message when denied, 500 when the authorizer failed.
pub(super) async fn authorize(
    state: &State,
    info: &RequestInfo,
    user: &UserInfo,
    path: &str,
    method: &Method,
) -> Result<(), Response<Body>> {
    let attrs = attributes(info, user, path, method);
    let decision = if state.always_allow.allows(&attrs) {
        Decision::Allow
    } else {
        state.authorizer.authorize(&attrs).await
    };
    let refusal = match decision {
        Decision::Allow => return Ok(()),
        Decision::Deny { reason } => {
            let mut message = attrs.forbidden_message();
            if !reason.is_empty() {
                message = format!("{message}: {reason}");
            }
            ApiError::Forbidden {
                resource: match info {
                    RequestInfo::Resource(r) => GroupResource::new(&r.group, &r.resource),
                    RequestInfo::NonResource { .. } => GroupResource::new("", ""),
                },
                name: attrs.name.clone(),
                reason: message,
            }
        }
        Decision::Error { message } => {
            tracing::warn!(error = %message, user = %user.name, "authorization failed");
            ApiError::internal(message)
        }
    };
    Err(error_response(&refusal, Format::Json))
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
