//! Building a server: the resources, OpenAPI schemas, health checks, auth hooks and limits a
//! binary gives, checked once into an immutable [`ApiServer`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use apimachinery::registry::RestResource;
use axum::body::Body;
use http::{Request, Response};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::admission::AdmissionChain;
use crate::auth::{AllowAll, AlwaysAllow, Authenticator, Authorizer};
use crate::discovery::Discovery;
use crate::filters::max_in_flight::MaxInFlight;
use crate::health::{CheckScope, HealthCheck, HealthChecks, Ping, ShutdownCheck};
use crate::metrics::Metrics;
use crate::openapi::{OpenApi, OpenApiInput};

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Two resources claim the same group and plural name.
    #[error("resource {plural}.{group} registered twice")]
    DuplicateResource {
        /// Group.
        group: String,
        /// Plural.
        plural: String,
    },
    /// A resource serves no version.
    #[error("resource {plural}.{group} serves no version")]
    NoVersions {
        /// Group.
        group: String,
        /// Plural.
        plural: String,
    },
}

/// `/version` (Go's `version.Info`), in Go's field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    /// Major version, e.g. `1`.
    pub major: String,
    /// Minor version, e.g. `0`.
    pub minor: String,
    /// e.g. `v0.1.0`.
    pub git_version: String,
    /// Commit hash, if known.
    pub git_commit: String,
    /// `clean` or `dirty`, if known.
    pub git_tree_state: String,
    /// RFC 3339 build date, if known.
    pub build_date: String,
    /// Go servers print their Go version; this is the Rust toolchain, truthfully.
    pub go_version: String,
    /// `rustc`.
    pub compiler: String,
    /// `linux/amd64` …
    pub platform: String,
}

impl Default for VersionInfo {
    fn default() -> Self {
        let version = env!("CARGO_PKG_VERSION");
        let mut parts = version.split('.');
        let major = parts.next().unwrap_or("0").to_owned();
        let minor = parts.next().unwrap_or("0").to_owned();
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        Self {
            major,
            minor,
            git_version: format!("v{version}"),
            git_commit: String::new(),
            git_tree_state: String::new(),
            build_date: String::new(),
            go_version: "n/a (rust)".to_owned(),
            compiler: "rustc".to_owned(),
            platform: format!("{}/{arch}", std::env::consts::OS),
        }
    }
}

/// Everything a request handler needs; shared by all connections.
pub(crate) struct State {
    /// `(group, plural)` → resource.
    pub(crate) resources: HashMap<(String, String), Arc<dyn RestResource>>,
    pub(crate) discovery: Discovery,
    pub(crate) openapi: OpenApi,
    pub(crate) health: HealthChecks,
    pub(crate) shutdown_check: ShutdownCheck,
    pub(crate) metrics: Metrics,
    pub(crate) authenticator: Arc<dyn Authenticator>,
    pub(crate) authorizer: Arc<dyn Authorizer>,
    pub(crate) always_allow: AlwaysAllow,
    pub(crate) admission: AdmissionChain,
    pub(crate) version: VersionInfo,
    pub(crate) request_timeout: Duration,
    pub(crate) min_watch_timeout: Duration,
    /// The read-only and mutating in-flight limits.
    pub(crate) max_in_flight: MaxInFlight,
    /// Whether `/api/v1/namespaces` is served (standalone: every namespace exists).
    pub(crate) serve_namespaces: bool,
    /// Cancelled when the server begins shutting down: ends watches.
    pub(crate) shutdown: CancellationToken,
}

/// Collects a server's parts; see [`ApiServer::builder`].
pub struct ApiServerBuilder {
    resources: Vec<Arc<dyn RestResource>>,
    openapi: OpenApiInput,
    health: HealthChecks,
    authenticator: Arc<dyn Authenticator>,
    authorizer: Arc<dyn Authorizer>,
    always_allow: AlwaysAllow,
    admission: AdmissionChain,
    version: VersionInfo,
    request_timeout: Duration,
    min_watch_timeout: Duration,
    metrics: Metrics,
    max_in_flight: MaxInFlight,
    serve_namespaces: bool,
}

impl std::fmt::Debug for ApiServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServerBuilder")
            .field("resources", &self.resources.len())
            .field("health", &self.health)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl ApiServerBuilder {
    /// Serves a resource (all its versions, verbs and subresources).
    #[must_use]
    pub fn resource(mut self, resource: Arc<dyn RestResource>) -> Self {
        self.resources.push(resource);
        self
    }

    /// The OpenAPI schemas to publish, with paths added for every route.
    #[must_use]
    pub fn openapi(mut self, input: OpenApiInput) -> Self {
        self.openapi = input;
        self
    }

    /// Adds a health check (`ping` and `shutdown` are built in).
    #[must_use]
    pub fn health_check(mut self, check: Arc<dyn HealthCheck>, scope: CheckScope) -> Self {
        self.health.add(check, scope);
        self
    }

    /// The authenticator (default [`AllowAll`]).
    #[must_use]
    pub fn authenticator(mut self, a: Arc<dyn Authenticator>) -> Self {
        self.authenticator = a;
        self
    }

    /// The authorizer (default [`AllowAll`]).
    #[must_use]
    pub fn authorizer(mut self, a: Arc<dyn Authorizer>) -> Self {
        self.authorizer = a;
        self
    }

    /// Paths allowed without the authorizer (default: the health paths and their checks;
    /// `system:masters` is always allowed).
    #[must_use]
    pub fn always_allow(mut self, a: AlwaysAllow) -> Self {
        self.always_allow = a;
        self
    }

    /// The admission plugins run on writes (default: none).
    #[must_use]
    pub fn admission(mut self, chain: AdmissionChain) -> Self {
        self.admission = chain;
        self
    }

    /// `/version`.
    #[must_use]
    pub fn version(mut self, v: VersionInfo) -> Self {
        self.version = v;
        self
    }

    /// Timeout of non-watch requests (default 60 s, Go's `--request-timeout`).
    #[must_use]
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }

    /// Lower bound of a watch without `timeoutSeconds` (default 30 min, Go's
    /// `--min-request-timeout`); watches last a random time between it and twice it.
    #[must_use]
    pub fn min_watch_timeout(mut self, d: Duration) -> Self {
        self.min_watch_timeout = d;
        self
    }

    /// At most `read_only` non-mutating and `mutating` mutating requests served at once
    /// (kube-apiserver's `--max-requests-inflight`, default 400, and
    /// `--max-mutating-requests-inflight`, default 200; 0 = unlimited). Watches are not
    /// counted; `system:masters` is never refused.
    #[must_use]
    pub fn max_requests_inflight(mut self, read_only: usize, mutating: usize) -> Self {
        self.max_in_flight = MaxInFlight::new(read_only, mutating);
        self
    }

    /// Serves a read-only `/api/v1/namespaces[/<name>]` in which every namespace exists
    /// (for servers without Kubernetes, so kubectl's namespace lookups succeed; default off).
    #[must_use]
    pub fn serve_namespaces(mut self, serve: bool) -> Self {
        self.serve_namespaces = serve;
        self
    }

    /// Uses `metrics` (e.g. one whose storage handle the registries already record into).
    #[must_use]
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Checks the parts and computes discovery and OpenAPI documents.
    ///
    /// # Errors
    /// [`BuildError`] for duplicate resources or resources without versions.
    pub fn build(self) -> Result<ApiServer, BuildError> {
        let mut resources = HashMap::new();
        let mut descriptors = Vec::new();
        for r in self.resources {
            let d = r.descriptor().clone();
            if d.versions.is_empty() {
                return Err(BuildError::NoVersions {
                    group: d.group,
                    plural: d.plural,
                });
            }
            let key = (d.group.clone(), d.plural.clone());
            if resources.insert(key, r).is_some() {
                return Err(BuildError::DuplicateResource {
                    group: d.group,
                    plural: d.plural,
                });
            }
            descriptors.push(d);
        }
        let openapi = OpenApi::new(&self.openapi, &descriptors);
        let discovery = Discovery::new(descriptors);
        let shutdown_check = ShutdownCheck::default();
        let mut health = HealthChecks::default();
        health.add(Arc::new(Ping), CheckScope::All);
        health.add(Arc::new(shutdown_check.clone()), CheckScope::ReadyOnly);
        // Built-ins first, then the caller's, in the order given.
        for (check, scope) in self.health.into_checks() {
            health.add(check, scope);
        }
        Ok(ApiServer {
            state: Arc::new(State {
                resources,
                discovery,
                openapi,
                health,
                shutdown_check,
                metrics: self.metrics,
                authenticator: self.authenticator,
                authorizer: self.authorizer,
                always_allow: self.always_allow,
                admission: self.admission,
                version: self.version,
                request_timeout: self.request_timeout,
                min_watch_timeout: self.min_watch_timeout,
                max_in_flight: self.max_in_flight,
                serve_namespaces: self.serve_namespaces,
                shutdown: CancellationToken::new(),
            }),
        })
    }
}

/// A configured server: handles requests in process ([`ApiServer::handle`]) or over the
/// network ([`crate::serve`]).
#[derive(Clone)]
pub struct ApiServer {
    pub(crate) state: Arc<State>,
}

impl std::fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServer")
            .field("groups", &self.state.discovery.groups())
            .finish_non_exhaustive()
    }
}

impl ApiServer {
    /// Starts building a server: standalone auth ([`AllowAll`]), 60 s request timeout.
    pub fn builder() -> ApiServerBuilder {
        ApiServerBuilder {
            resources: Vec::new(),
            openapi: OpenApiInput::default(),
            health: HealthChecks::default(),
            authenticator: Arc::new(AllowAll),
            authorizer: Arc::new(AllowAll),
            always_allow: AlwaysAllow::default(),
            admission: AdmissionChain::new(),
            version: VersionInfo::default(),
            request_timeout: Duration::from_secs(60),
            min_watch_timeout: Duration::from_secs(1800),
            metrics: Metrics::new(),
            max_in_flight: MaxInFlight::default(),
            serve_namespaces: false,
        }
    }

    /// The server's metrics (for components that register their own).
    pub fn metrics(&self) -> &Metrics {
        &self.state.metrics
    }

    /// Handles one request in process, as an anonymous local client.
    pub async fn handle(&self, req: Request<Body>) -> Response<Body> {
        crate::handler::handle(self.state.clone(), req, crate::handler::ConnInfo::default()).await
    }

    /// Begins shutting down: `/readyz` fails and every open watch ends.
    pub fn begin_shutdown(&self) {
        self.state.shutdown_check.begin();
        self.state.shutdown.cancel();
    }
}
