//! The registry's side of admission: building a plugin's view of a write from the decoded
//! objects, running the mutating phase (and reading a changed object back) and the validating
//! phase. The order around these calls is in [`super::admission`].

use serde_json::Value;

use super::admission::{AdmissionRequest, Operation};
use super::meta;
use super::{Inner, RequestContext, Strategy, Subresource};
use crate::status::ApiError;
use crate::store::Storage;

/// Which object a write admits: its operation, subresource, namespace and URL name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub(crate) operation: Operation,
    pub(crate) sub: Subresource,
    pub(crate) namespace: Option<&'a str>,
    /// The name from the URL (empty for a POST).
    pub(crate) name: &'a str,
}

impl<S: Strategy, St: Storage> Inner<S, St> {
    fn admission_request(
        &self,
        ctx: &RequestContext,
        target: Target<'_>,
        object: Option<&S::Object>,
        old: Option<&S::Object>,
    ) -> Result<AdmissionRequest, ApiError> {
        let encode = |o: &S::Object| self.encode_out(o, &ctx.version);
        Ok(AdmissionRequest {
            operation: target.operation,
            group: self.descriptor().group.clone(),
            version: ctx.version.clone(),
            resource: self.descriptor().plural.clone(),
            subresource: match target.sub {
                Subresource::Main => String::new(),
                Subresource::Status => "status".to_owned(),
            },
            namespace: target.namespace.unwrap_or("").to_owned(),
            name: target.name.to_owned(),
            object: object.map(encode).transpose()?,
            old_object: old.map(encode).transpose()?,
            user: ctx.user.clone(),
            dry_run: ctx.dry_run,
        })
    }

    /// The mutating phase on the decoded, prepared `object`. Returns the object and whether a
    /// plugin changed it; a changed object is decoded again from what the plugins left (it
    /// must still be this kind in the request's version, and keep the URL's name on updates).
    pub(crate) async fn admit(
        &self,
        ctx: &RequestContext,
        target: Target<'_>,
        object: S::Object,
        old: Option<&S::Object>,
    ) -> Result<(S::Object, bool), ApiError> {
        if ctx.admission.is_empty() {
            return Ok((object, false));
        }
        let mut req = self.admission_request(ctx, target, Some(&object), old)?;
        let before = req.object.clone();
        ctx.admission
            .admit(&mut req)
            .await
            .map_err(ApiError::Status)?;
        if req.object == before {
            return Ok((object, false));
        }
        let mut value = req.object.unwrap_or(Value::Null);
        meta::check_type_meta(&mut value, self.expected(ctx))?;
        let mut mutated = self.strategy.decode(&ctx.version, value)?.object;
        if target.operation == Operation::Update {
            meta::check_name(self.strategy.metadata(&mutated), target.name)?;
        }
        meta::check_namespace(self.strategy.metadata_mut(&mut mutated), target.namespace)?;
        Ok((mutated, true))
    }

    /// The validating phase on the finished object (validated by the strategy, system fields
    /// and managed fields set), just before storage.
    pub(crate) async fn validate_admission(
        &self,
        ctx: &RequestContext,
        target: Target<'_>,
        object: Option<&S::Object>,
        old: Option<&S::Object>,
    ) -> Result<(), ApiError> {
        if ctx.admission.is_empty() {
            return Ok(());
        }
        let req = self.admission_request(ctx, target, object, old)?;
        ctx.admission.validate(&req).await.map_err(ApiError::Status)
    }

    /// Both phases for a delete of `old` (Go hands the deleted object to admission as the old
    /// object; there is no new one).
    pub(crate) async fn admit_delete(
        &self,
        ctx: &RequestContext,
        namespace: Option<&str>,
        name: &str,
        old: &S::Object,
    ) -> Result<(), ApiError> {
        if ctx.admission.is_empty() {
            return Ok(());
        }
        let target = Target {
            operation: Operation::Delete,
            sub: Subresource::Main,
            namespace,
            name,
        };
        let mut req = self.admission_request(ctx, target, None, Some(old))?;
        ctx.admission.run(&mut req).await.map_err(ApiError::Status)
    }
}
