//! Authentication and authorization hooks, called once per request (Go's
//! `endpoints/filters/authentication.go` and `authorization.go`). The delegated implementations
//! (front-proxy headers, client certificates, TokenReview, SubjectAccessReview) plug in here;
//! [`AllowAll`] is the standalone mode.

use std::net::SocketAddr;

use apimachinery::registry::UserInfo;
use apimachinery::status::go_quote;
use http::HeaderMap;
use rustls::pki_types::CertificateDer;

/// The group whose members are always authorized, without asking the authorizer.
pub const SYSTEM_MASTERS: &str = "system:masters";

/// Paths authorization always allows (Go's `AlwaysAllowPaths` defaults).
pub const ALWAYS_ALLOW_PATHS: [&str; 3] = ["/healthz", "/livez", "/readyz"];

/// What an authenticator may look at.
#[derive(Debug, Clone, Copy)]
pub struct AuthRequest<'a> {
    /// Request headers (`Authorization`, `X-Remote-*` …).
    pub headers: &'a HeaderMap,
    /// The client certificate chain presented in the TLS handshake, leaf first.
    pub peer_certificates: Option<&'a [CertificateDer<'static>]>,
    /// The peer address.
    pub remote_addr: Option<SocketAddr>,
}

/// Authentication failed (HTTP 401 `Unauthorized`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unauthorized: {message}")]
pub struct Unauthenticated {
    /// Logged, not sent (Go answers a bare `Unauthorized`).
    pub message: String,
}

/// Decides who is asking.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync {
    /// The user making the request; anonymous requests yield the anonymous user.
    ///
    /// # Errors
    /// [`Unauthenticated`] when credentials were presented and none was valid.
    async fn authenticate(&self, req: &AuthRequest<'_>) -> Result<UserInfo, Unauthenticated>;
}

/// The attributes an authorizer decides on (Go's `authorizer.Attributes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    /// The authenticated user.
    pub user: UserInfo,
    /// Kubernetes verb for resource requests, lower-case HTTP method otherwise.
    pub verb: String,
    /// Whether this is a resource request.
    pub resource_request: bool,
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Resource.
    pub resource: String,
    /// Subresource.
    pub subresource: String,
    /// Namespace.
    pub namespace: String,
    /// Object name.
    pub name: String,
    /// URL path.
    pub path: String,
}

impl Attributes {
    /// Go's `forbiddenMessage`: `User "u" cannot get resource "r" in API group "g" in the
    /// namespace "ns"`, `… at the cluster scope`, or `User "u" cannot get path "/p"`.
    pub fn forbidden_message(&self) -> String {
        let user = go_quote(&self.user.name);
        if !self.resource_request {
            return format!(
                "User {user} cannot {} path {}",
                self.verb,
                go_quote(&self.path)
            );
        }
        let mut resource = self.resource.clone();
        if !self.subresource.is_empty() {
            resource = format!("{resource}/{}", self.subresource);
        }
        if self.namespace.is_empty() {
            format!(
                "User {user} cannot {} resource {} in API group {} at the cluster scope",
                self.verb,
                go_quote(&resource),
                go_quote(&self.group)
            )
        } else {
            format!(
                "User {user} cannot {} resource {} in API group {} in the namespace {}",
                self.verb,
                go_quote(&resource),
                go_quote(&self.group),
                go_quote(&self.namespace)
            )
        }
    }
}

/// An authorization decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go on.
    Allow,
    /// 403, with the authorizer's reason (may be empty).
    Deny {
        /// Appended to the Forbidden message after `: ` when non-empty.
        reason: String,
    },
    /// The authorizer could not decide (e.g. kube-apiserver unreachable): 500, as Go's
    /// authorization filter answers an authorizer error.
    Error {
        /// Logged and sent as the internal error's message.
        message: String,
    },
}

/// Decides whether a user may do something.
#[async_trait::async_trait]
pub trait Authorizer: Send + Sync {
    /// The decision for `attrs`.
    async fn authorize(&self, attrs: &Attributes) -> Decision;
}

/// Standalone mode: every request is user `system:anonymous-admin` in `system:masters`, and
/// everything is allowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

/// The user [`AllowAll`] authenticates every request as.
pub fn anonymous_admin() -> UserInfo {
    UserInfo {
        name: "system:anonymous-admin".to_owned(),
        groups: vec![SYSTEM_MASTERS.to_owned(), "system:authenticated".to_owned()],
        uid: None,
        extra: Default::default(),
    }
}

#[async_trait::async_trait]
impl Authenticator for AllowAll {
    async fn authenticate(&self, _req: &AuthRequest<'_>) -> Result<UserInfo, Unauthenticated> {
        Ok(anonymous_admin())
    }
}

#[async_trait::async_trait]
impl Authorizer for AllowAll {
    async fn authorize(&self, _attrs: &Attributes) -> Decision {
        Decision::Allow
    }
}

/// Paths and groups allowed without asking the authorizer (Go's `path.NewAuthorizer` over
/// `--authorization-always-allow-paths` and `authorizerfactory.NewPrivilegedGroups` for
/// `system:masters`). A path ending in `*` is a prefix; others match exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlwaysAllow {
    /// The paths.
    pub paths: Vec<String>,
}

impl Default for AlwaysAllow {
    /// The health paths and their individual checks.
    fn default() -> Self {
        Self {
            paths: ALWAYS_ALLOW_PATHS
                .iter()
                .flat_map(|p| [(*p).to_owned(), format!("{p}/*")])
                .collect(),
        }
    }
}

impl AlwaysAllow {
    /// Whether `attrs` needs no authorizer.
    pub fn allows(&self, attrs: &Attributes) -> bool {
        if attrs.user.groups.iter().any(|g| g == SYSTEM_MASTERS) {
            return true;
        }
        !attrs.resource_request
            && self.paths.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => attrs.path.starts_with(prefix),
                None => attrs.path == *p,
            })
    }
}

/// Whether authorization is skipped: health paths and `system:masters` (Go's
/// `AlwaysAllowPaths` and `AlwaysAllowGroups`).
pub fn always_allowed(attrs: &Attributes) -> bool {
    if attrs.user.groups.iter().any(|g| g == SYSTEM_MASTERS) {
        return true;
    }
    !attrs.resource_request
        && ALWAYS_ALLOW_PATHS
            .iter()
            .any(|p| attrs.path == *p || attrs.path.starts_with(&format!("{p}/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(ns: &str, sub: &str, resource_request: bool) -> Attributes {
        Attributes {
            user: UserInfo {
                name: "alice".into(),
                ..UserInfo::default()
            },
            verb: "get".into(),
            resource_request,
            group: "navigator.jetstack.io".into(),
            version: "v1alpha1".into(),
            resource: "pilots".into(),
            subresource: sub.into(),
            namespace: ns.into(),
            name: "p".into(),
            path: "/metrics".into(),
        }
    }

    #[test]
    fn forbidden_messages_match_go() {
        assert_eq!(
            attrs("ns", "", true).forbidden_message(),
            r#"User "alice" cannot get resource "pilots" in API group "navigator.jetstack.io" in the namespace "ns""#
        );
        assert_eq!(
            attrs("", "status", true).forbidden_message(),
            r#"User "alice" cannot get resource "pilots/status" in API group "navigator.jetstack.io" at the cluster scope"#
        );
        assert_eq!(
            attrs("", "", false).forbidden_message(),
            r#"User "alice" cannot get path "/metrics""#
        );
    }

    #[test]
    fn always_allowed_paths_and_masters() {
        let mut a = attrs("", "", false);
        assert!(!always_allowed(&a));
        a.path = "/readyz/ping".into();
        assert!(always_allowed(&a));
        a.path = "/healthzfoo".into();
        assert!(!always_allowed(&a));
        let mut b = attrs("ns", "", true);
        b.user = anonymous_admin();
        assert!(always_allowed(&b));
    }

    #[test]
    fn configured_always_allow_paths_match_as_go() {
        let go = AlwaysAllow {
            paths: vec!["/healthz".into(), "/metrics/*".into()],
        };
        let mut a = attrs("", "", false);
        a.path = "/healthz".into();
        assert!(go.allows(&a));
        a.path = "/healthz/ping".into();
        assert!(!go.allows(&a));
        a.path = "/metrics/x".into();
        assert!(go.allows(&a));
        let mut r = attrs("ns", "", true);
        r.path = "/healthz".into();
        assert!(!go.allows(&r));
        a.path = "/readyz/ping".into();
        assert!(AlwaysAllow::default().allows(&a));
        r.user.groups = vec![SYSTEM_MASTERS.into()];
        assert!(go.allows(&r));
    }
}
