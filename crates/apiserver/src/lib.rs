//! A generic Kubernetes-style API server, the Rust counterpart of Go's `k8s.io/apiserver`:
//! it serves any set of [`apimachinery::registry::RestResource`]s so that kubectl, client-go,
//! kube-rs and the Python client cannot tell it from a Go server. It knows nothing of any
//! particular API group.
//!
//! ```text
//!  TCP ─► TLS (rustls, ALPN h2/http1.1) ─► hyper ─► handler:
//!     request_info (URL → verb/resource) ─► auth (Authenticator: authn)
//!       ─► filters (impersonation, max-in-flight: 429) ─► auth (Authorizer: authz)
//!       ├─ /apis, /apis/<g>, /apis/<g>/<v>, /api ─► discovery (legacy + aggregated v2, ETags)
//!       ├─ /openapi/v2, /openapi/v3[/apis/<g>/<v>] ─► openapi (given schemas + generated paths;
//!       │                                           v2 also as gnostic protobuf: openapi_proto)
//!       ├─ /healthz /livez /readyz[/<check>] ─► health      /metrics ─► metrics   /version
//!       ├─ /api/v1/namespaces[/<name>] ─► namespaces (standalone servers only)
//!       └─ /apis/<g>/<v>/[namespaces/<ns>/]<resource>[/<name>[/<sub>]]
//!            ─► query (options) + negotiation (Accept, Content-Type, bodies)
//!            ─► RestResource verb ─► Response (JSON/YAML, Warning headers) │ watch (NDJSON)
//!                                  └► ApiError ─► metav1 Status
//! ```
//!
//! A binary builds an [`ApiServer`] with [`ApiServer::builder`], binds it with
//! [`ApiServer::bind`] and runs it with [`BoundServer::run_until_signal`]:
//!
//! ```no_run
//! # async fn demo(resources: Vec<std::sync::Arc<dyn apimachinery::registry::RestResource>>,
//! #               openapi: apiserver::OpenApiInput) -> Result<(), Box<dyn std::error::Error>> {
//! let mut builder = apiserver::ApiServer::builder().openapi(openapi);
//! for r in resources {
//!     builder = builder.resource(r);
//! }
//! let options = apiserver::ServingOptions::self_signed(
//!     "0.0.0.0:8443".parse()?,
//!     "apiserver.local.config/certificates",
//! );
//! builder.build()?.bind(options).await?.run_until_signal().await?;
//! # Ok(()) }
//! ```

pub mod admission;
pub mod auth;
pub mod authn;
pub mod authz;
pub mod cache;
pub mod discovery;
pub mod filters;
pub mod handler;
pub mod health;
pub mod metrics;
pub mod namespaces;
pub mod negotiation;
pub mod openapi;
pub mod openapi_proto;
pub mod query;
pub mod request_info;
pub mod serve;
pub mod server;
pub mod tls;
pub mod watch;

pub use admission::{AdmissionChain, AdmissionPlugin, AdmissionRequest};
pub use auth::{
    AllowAll, AlwaysAllow, Attributes, AuthRequest, Authenticator, Authorizer, Decision,
};
pub use health::{CheckScope, HealthCheck};
pub use metrics::{Metrics, StorageMetrics};
pub use openapi::OpenApiInput;
pub use serve::{BoundServer, ServeError, ServingOptions, ShutdownHandle};
pub use server::{ApiServer, ApiServerBuilder, BuildError, VersionInfo};
pub use tls::{ServingCerts, TlsSource};
