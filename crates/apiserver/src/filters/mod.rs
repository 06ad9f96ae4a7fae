//! Request filters that sit between authentication and authorization, in Go's order
//! (`DefaultBuildHandlerChain`): [`impersonation`] changes who the request is, then
//! [`max_in_flight`] bounds how many requests are served at once. Each is a pure decision plus
//! a thin step; [`run`] applies both for the handler's pipeline and returns a refusal as an
//! [`ApiError`] for it to answer with.

pub mod impersonation;
pub mod max_in_flight;

use apimachinery::registry::UserInfo;
use apimachinery::status::ApiError;
use http::HeaderMap;

use crate::request_info::ParsedRequest;
use crate::server::State;

/// A request the filters let through.
#[derive(Debug)]
pub(crate) struct Admitted {
    /// Who the request acts as (the impersonated user, or the authenticated one).
    pub(crate) user: UserInfo,
    /// The authenticated user's name when it impersonates another (for the log line).
    pub(crate) impersonated_by: Option<String>,
    /// The in-flight slot, held until the request is served.
    pub(crate) slot: max_in_flight::Slot,
}

/// Impersonation, then the in-flight limit, for a request authenticated as `user`; the
/// impersonation headers are removed from `headers`.
///
/// # Errors
/// 400/403 from impersonation, 429 from the in-flight limit (counted in
/// `apiserver_dropped_requests_total`).
pub(crate) async fn run(
    state: &State,
    parsed: &ParsedRequest,
    user: UserInfo,
    headers: &mut HeaderMap,
) -> Result<Admitted, ApiError> {
    let impersonated = impersonation::impersonate(
        state.authorizer.as_ref(),
        &state.always_allow,
        &user,
        headers,
    )
    .await
    .map_err(|e| {
        tracing::info!(user = %user.name, error = %e, "impersonation refused");
        e.to_api_error()
    })?;
    let (user, impersonated_by) = match impersonated {
        Some(acting) => (acting, Some(user.name)),
        None => (user, None),
    };
    let kind = max_in_flight::request_kind(parsed);
    let slot = state.max_in_flight.admit(kind, &user).map_err(|e| {
        state.metrics.dropped_request(e.kind.label());
        e.to_api_error()
    })?;
    Ok(Admitted {
        user,
        impersonated_by,
        slot,
    })
}
