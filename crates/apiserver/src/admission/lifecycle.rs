//! `NamespaceLifecycle` (Go's `admission/plugin/namespace/lifecycle`): no new objects in a
//! namespace that does not exist or is being deleted. Namespaces come from an informer on
//! kube-apiserver (a kube-runtime reflector); a namespace missing from the cache gets a second
//! look after 50 ms and then a live GET, since it may have been created a moment ago.

use std::sync::Arc;
use std::time::Duration;

use apimachinery::status::{ApiError, GroupResource, StatusCause};
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt as _, watcher};

use super::{AdmissionPlugin, AdmissionRequest, Operation, Refusal};

/// What is known about the request's namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespacePhase {
    /// Exists and is not being deleted.
    Active,
    /// `status.phase: Terminating`.
    Terminating,
    /// Does not exist (after the live lookup).
    Missing,
}

impl NamespacePhase {
    fn of(ns: &Namespace) -> Self {
        match ns.status.as_ref().and_then(|s| s.phase.as_deref()) {
            Some("Terminating") => Self::Terminating,
            _ => Self::Active,
        }
    }
}

/// Whether the plugin looks at `req` at all: namespaced, not a delete.
pub fn applies(req: &AdmissionRequest) -> bool {
    !req.namespace.is_empty() && req.operation != Operation::Delete
}

/// The decision once the namespace's phase is known: missing → 404 `namespaces "x" not found`
/// (any operation); terminating → 403 for creates, with cause `NamespaceTerminating`.
///
/// # Errors
/// The refusal.
pub fn decide(req: &AdmissionRequest, phase: NamespacePhase) -> Result<(), Refusal> {
    match phase {
        NamespacePhase::Active => Ok(()),
        NamespacePhase::Missing => Err(Box::new(
            ApiError::NotFound {
                resource: GroupResource::new("", "namespaces"),
                name: req.namespace.clone(),
            }
            .to_status(),
        )),
        NamespacePhase::Terminating if req.operation == Operation::Create => {
            let mut s = req.forbidden(format!(
                "unable to create new content in namespace {} because it is being terminated",
                req.namespace
            ));
            let details = s.details.get_or_insert_with(Default::default);
            details.causes.push(StatusCause {
                reason: "NamespaceTerminating".to_owned(),
                message: format!("namespace {} is being terminated", req.namespace),
                field: "metadata.namespace".to_owned(),
            });
            Err(s)
        }
        NamespacePhase::Terminating => Ok(()),
    }
}

/// The plugin, over a namespace informer.
pub struct NamespaceLifecycle {
    client: kube::Client,
    store: Store<Namespace>,
    ready_wait: Duration,
    missing_wait: Duration,
}

impl std::fmt::Debug for NamespaceLifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceLifecycle")
            .field("cached", &self.store.len())
            .finish_non_exhaustive()
    }
}

impl NamespaceLifecycle {
    /// Starts the namespace informer (a task that lives as long as the runtime) and returns
    /// the plugin.
    pub fn start(client: kube::Client) -> Arc<Self> {
        let (store, writer) = reflector::store();
        let api: kube::Api<Namespace> = kube::Api::all(client.clone());
        let stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .reflect(writer)
            .applied_objects();
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                if let Err(e) = item {
                    tracing::warn!(error = %e, "namespace informer");
                }
            }
        });
        Arc::new(Self {
            client,
            store,
            ready_wait: Duration::from_secs(10),
            missing_wait: Duration::from_millis(50),
        })
    }

    fn cached(&self, name: &str) -> Option<NamespacePhase> {
        self.store
            .get(&ObjectRef::new(name))
            .map(|ns| NamespacePhase::of(&ns))
    }

    async fn phase(&self, req: &AdmissionRequest) -> Result<NamespacePhase, Refusal> {
        let ready = tokio::time::timeout(self.ready_wait, self.store.wait_until_ready()).await;
        if !matches!(ready, Ok(Ok(()))) {
            return Err(req.forbidden("not yet ready to handle request"));
        }
        if let Some(p) = self.cached(&req.namespace) {
            return Ok(p);
        }
        if req.operation == Operation::Create {
            tokio::time::sleep(self.missing_wait).await;
            if let Some(p) = self.cached(&req.namespace) {
                return Ok(p);
            }
        }
        let api: kube::Api<Namespace> = kube::Api::all(self.client.clone());
        match api.get_opt(&req.namespace).await {
            Ok(Some(ns)) => Ok(NamespacePhase::of(&ns)),
            Ok(None) => Ok(NamespacePhase::Missing),
            Err(e) => Err(Box::new(
                ApiError::internal(format!("looking up namespace {}: {e}", req.namespace))
                    .to_status(),
            )),
        }
    }
}

#[async_trait::async_trait]
impl AdmissionPlugin for NamespaceLifecycle {
    fn name(&self) -> &str {
        "NamespaceLifecycle"
    }

    async fn admit(&self, req: &mut AdmissionRequest) -> Result<(), Refusal> {
        if !applies(req) {
            return Ok(());
        }
        let phase = self.phase(req).await?;
        decide(req, phase)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::request;
    use super::*;

    #[test]
    fn decisions_match_go() {
        let create = request(
            Operation::Create,
            "x",
            Some(serde_json::json!({"metadata": {"name": "p1"}})),
        );
        assert!(decide(&create, NamespacePhase::Active).is_ok());

        let s = decide(&create, NamespacePhase::Missing).unwrap_err();
        assert_eq!((s.code, s.reason.as_str()), (404, "NotFound"));
        assert_eq!(s.message, r#"namespaces "x" not found"#);
        let d = s.details.unwrap();
        assert_eq!((d.name.as_str(), d.kind.as_str()), ("x", "namespaces"));

        let s = decide(&create, NamespacePhase::Terminating).unwrap_err();
        assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
        assert_eq!(
            s.message,
            r#"pilots.navigator.jetstack.io "p1" is forbidden: unable to create new content in namespace x because it is being terminated"#
        );
        let cause = &s.details.unwrap().causes[0];
        assert_eq!(cause.reason, "NamespaceTerminating");
        assert_eq!(cause.field, "metadata.namespace");

        let update = request(Operation::Update, "x", None);
        assert!(decide(&update, NamespacePhase::Terminating).is_ok());
        assert_eq!(
            decide(&update, NamespacePhase::Missing).unwrap_err().code,
            404
        );

        assert!(!applies(&request(Operation::Delete, "x", None)));
        assert!(!applies(&request(Operation::Create, "", None)));
        assert!(applies(&update));
    }
}
