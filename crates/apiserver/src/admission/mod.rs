//! Admission plugins of this server. The interface (Go's `apiserver/pkg/admission`) lives with
//! the registry that calls it, [`apimachinery::registry::admission`], and is re-exported here:
//! plugins see every write after authorization on the decoded, defaulted and prepared object
//! (and, for updates, patches, applies and deletes, the stored object), may change it in the
//! mutating phase and refuse it in the validating phase; a refusal is a finished `Status` sent
//! to the client as it is.
//!
//! The HTTP layer hands the server's chain ([`crate::ApiServerBuilder::admission`]) to the
//! registry with every request (`RequestContext::admission`).

pub mod lifecycle;

pub use apimachinery::registry::admission::{
    AdmissionChain, AdmissionPlugin, AdmissionRequest, Operation, Refusal,
};
pub use lifecycle::NamespaceLifecycle;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use apimachinery::registry::UserInfo;
    use serde_json::Value;

    pub(crate) fn request(op: Operation, ns: &str, object: Option<Value>) -> AdmissionRequest {
        AdmissionRequest {
            operation: op,
            group: "navigator.jetstack.io".into(),
            version: "v1alpha1".into(),
            resource: "pilots".into(),
            subresource: String::new(),
            namespace: ns.into(),
            name: String::new(),
            object,
            old_object: None,
            user: UserInfo::default(),
            dry_run: false,
        }
    }
}
