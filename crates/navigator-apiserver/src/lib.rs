//! The `navigator.jetstack.io` API server: the navigator kinds wired into the generic machinery.
//!
//! * [`etcd_start`] — connecting to etcd at start, waiting for it up to a minute.
//! * [`metered`] — storage latency metrics around the store.
//! * [`options`] — command-line options validated into a [`options::Config`].
//! * [`run`] — builds the server (registries over the embedded store or etcd — `--etcd-servers`
//!   — with its compactor, the HTTP layer, OpenAPI, certificates, kubeconfig) and runs it until
//!   a signal.
//! * [`security`] — delegated mode's flags and parts: front-proxy/x509/TokenReview
//!   authentication, SubjectAccessReview authorization, NamespaceLifecycle admission.
//! * [`strategy`] — one [`apimachinery::registry::Strategy`] per kind, over the hub types of
//!   `navigator-api`: decoding, defaulting and conversion through `navigator_api::scheme`, the
//!   create/update/status rules, validation, printer columns, selectable fields, and the patch
//!   and field schemas read from the published OpenAPI documents.

pub mod etcd_start;
pub mod metered;
pub mod options;
pub mod run;
pub mod security;
pub mod strategy;
