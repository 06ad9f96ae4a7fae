//! Admission (Go's `apiserver/pkg/admission`), as the registry runs it: plugins see every write
//! on the decoded objects, may change the new object (`admit`, the mutating phase, all plugins
//! in order) and may refuse the write (`validate`, the validating phase, after every `admit`). A
//! refusal is a finished `Status` sent to the client as it is ([`ApiError::Status`]).
//!
//! Where the registry calls the chain (Go's `registry/generic/registry/store.go` and the
//! handlers around it), for create, update, every patch type and apply alike:
//!
//! ```text
//!  decode (defaults) ─► prepare_for_create/update ─► admit (mutating; object in the request's
//!  version, old object for updates) ─► prepare again if a plugin changed the object
//!  ─► system fields, strategy validation, managed fields ─► validate (validating) ─► storage
//! ```
//!
//! A delete (one object, or each object of a deletecollection) runs both phases with no new
//! object and the stored object as `old_object`, after its preconditions and before storage.
//! The chain travels with the request ([`super::RequestContext::admission`]); an empty chain
//! costs nothing.

use std::sync::Arc;

use serde_json::Value;

use super::rest::UserInfo;
use crate::status::{ApiError, GroupResource, Status};

/// The write being admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// POST, or an apply that creates the object.
    Create,
    /// PUT, PATCH, or an apply to an existing object.
    Update,
    /// DELETE (one object, or each object of a collection).
    Delete,
}

/// What admission plugins see (Go's `admission.Attributes`).
#[derive(Debug, Clone)]
pub struct AdmissionRequest {
    /// The operation.
    pub operation: Operation,
    /// API group.
    pub group: String,
    /// API version of `object` and `old_object` (the request's version).
    pub version: String,
    /// Resource (plural).
    pub resource: String,
    /// Subresource, empty for the main resource.
    pub subresource: String,
    /// Namespace, empty for cluster-scoped resources.
    pub namespace: String,
    /// Object name from the URL (empty for a POST).
    pub name: String,
    /// The new object: decoded, defaulted and prepared, in `version` (`None` for deletes).
    pub object: Option<Value>,
    /// The stored object, for updates and deletes.
    pub old_object: Option<Value>,
    /// Who is asking.
    pub user: UserInfo,
    /// `dryRun=All`: plugins with side effects must not act.
    pub dry_run: bool,
}

impl AdmissionRequest {
    /// The object's name for messages (Go's `extractResourceName`): the URL name, else the
    /// object's `metadata.name`, else its `metadata.generateName`.
    pub fn object_name(&self) -> String {
        if !self.name.is_empty() {
            return self.name.clone();
        }
        let meta = self.object.as_ref().and_then(|o| o.get("metadata"));
        ["name", "generateName"]
            .iter()
            .find_map(|k| {
                meta.and_then(|m| m.get(*k))
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or("")
            .to_owned()
    }

    /// Go's `admission.NewForbidden`: `<resource>.<group> "<name>" is forbidden: <why>`.
    pub fn forbidden(&self, why: impl Into<String>) -> Refusal {
        Box::new(
            ApiError::Forbidden {
                resource: GroupResource::new(&self.group, &self.resource),
                name: self.object_name(),
                reason: why.into(),
            }
            .to_status(),
        )
    }
}

/// A plugin's refusal: the `Status` sent to the client as it is.
pub type Refusal = Box<Status>;

/// One admission plugin. Both phases default to accepting.
#[async_trait::async_trait]
pub trait AdmissionPlugin: Send + Sync {
    /// The plugin's name, e.g. `NamespaceLifecycle`.
    fn name(&self) -> &str;

    /// Mutating phase: may change `req.object`.
    ///
    /// # Errors
    /// The `Status` to answer with.
    async fn admit(&self, req: &mut AdmissionRequest) -> Result<(), Refusal> {
        let _ = req;
        Ok(())
    }

    /// Validating phase: may only refuse.
    ///
    /// # Errors
    /// The `Status` to answer with.
    async fn validate(&self, req: &AdmissionRequest) -> Result<(), Refusal> {
        let _ = req;
        Ok(())
    }
}

/// Plugins in order (Go's `admission.chainAdmissionHandler`). Cheap to clone.
#[derive(Clone, Default)]
pub struct AdmissionChain {
    plugins: Vec<Arc<dyn AdmissionPlugin>>,
}

impl std::fmt::Debug for AdmissionChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.plugins.iter().map(|p| p.name().to_owned()))
            .finish()
    }
}

impl AdmissionChain {
    /// An empty chain (admits everything).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a plugin.
    #[must_use]
    pub fn with(mut self, plugin: Arc<dyn AdmissionPlugin>) -> Self {
        self.plugins.push(plugin);
        self
    }

    /// Whether the chain has no plugin.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// The mutating phase: every plugin's `admit`, in order; the first refusal wins.
    ///
    /// # Errors
    /// The refusing plugin's `Status`.
    pub async fn admit(&self, req: &mut AdmissionRequest) -> Result<(), Refusal> {
        for p in &self.plugins {
            p.admit(req).await?;
        }
        Ok(())
    }

    /// The validating phase: every plugin's `validate`, in order; the first refusal wins.
    ///
    /// # Errors
    /// The refusing plugin's `Status`.
    pub async fn validate(&self, req: &AdmissionRequest) -> Result<(), Refusal> {
        for p in &self.plugins {
            p.validate(req).await?;
        }
        Ok(())
    }

    /// Both phases: every plugin's `admit`, then every plugin's `validate`.
    ///
    /// # Errors
    /// The refusing plugin's `Status`.
    pub async fn run(&self, req: &mut AdmissionRequest) -> Result<(), Refusal> {
        self.admit(req).await?;
        self.validate(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct AddLabel;
    #[async_trait::async_trait]
    impl AdmissionPlugin for AddLabel {
        fn name(&self) -> &str {
            "AddLabel"
        }
        async fn admit(&self, req: &mut AdmissionRequest) -> Result<(), Refusal> {
            if let Some(o) = req.object.as_mut() {
                o["metadata"]["labels"] = serde_json::json!({"admitted": "yes"});
            }
            Ok(())
        }
    }

    struct RequireLabel;
    #[async_trait::async_trait]
    impl AdmissionPlugin for RequireLabel {
        fn name(&self) -> &str {
            "RequireLabel"
        }
        async fn validate(&self, req: &AdmissionRequest) -> Result<(), Refusal> {
            match req
                .object
                .as_ref()
                .and_then(|o| o.pointer("/metadata/labels/admitted"))
            {
                Some(_) => Ok(()),
                None => Err(req.forbidden("not admitted")),
            }
        }
    }

    fn request(object: Value) -> AdmissionRequest {
        AdmissionRequest {
            operation: Operation::Create,
            group: "navigator.jetstack.io".into(),
            version: "v1alpha1".into(),
            resource: "pilots".into(),
            subresource: String::new(),
            namespace: "ns".into(),
            name: String::new(),
            object: Some(object),
            old_object: None,
            user: UserInfo::default(),
            dry_run: false,
        }
    }

    #[tokio::test]
    async fn mutations_come_before_validations() {
        let mut req = request(serde_json::json!({"metadata": {"generateName": "p-"}}));
        let validating_only = AdmissionChain::new().with(Arc::new(RequireLabel));
        let s = validating_only.run(&mut req.clone()).await.unwrap_err();
        assert_eq!(s.code, 403);
        assert_eq!(
            s.message,
            r#"pilots.navigator.jetstack.io "p-" is forbidden: not admitted"#
        );
        // The validator runs after the mutator even when listed first.
        let chain = AdmissionChain::new()
            .with(Arc::new(RequireLabel))
            .with(Arc::new(AddLabel));
        chain.run(&mut req).await.unwrap();
        assert_eq!(
            req.object.unwrap().pointer("/metadata/labels/admitted"),
            Some(&serde_json::json!("yes"))
        );
    }

    #[tokio::test]
    async fn phases_run_separately() {
        let chain = AdmissionChain::new()
            .with(Arc::new(RequireLabel))
            .with(Arc::new(AddLabel));
        let mut req = request(serde_json::json!({"metadata": {"name": "p"}}));
        assert_eq!(chain.validate(&req).await.unwrap_err().code, 403);
        chain.admit(&mut req).await.unwrap();
        chain.validate(&req).await.unwrap();
        assert!(!chain.is_empty());
        assert!(AdmissionChain::new().is_empty());
        assert_eq!(format!("{chain:?}"), r#"["RequireLabel", "AddLabel"]"#);
    }
}
