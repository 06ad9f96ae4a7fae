//! Generic REST registries: the verbs of one resource over a [`crate::store::Storage`], with the
//! per-resource policy in a [`Strategy`].
//!
//! ```text
//!  HTTP layer ──► dyn RestResource ──► Registry<S: Strategy, St: Storage>
//!                                        ├─ read     get, list (resourceVersion plans, selectors, pages)
//!                                        ├─ write    create, update, patch, apply (one guarded write loop)
//!                                        ├─ delete   delete, deletecollection (preconditions, finalizers)
//!                                        ├─ watch    initial events, filtered changes, bookmarks
//!                                        └─ pure:    meta, managed (SSA), unknown_fields, table
//! ```
//!
//! * [`strategy`] — what an API group writes per resource.
//! * [`admission`] — the plugins every write goes through, on decoded objects.
//! * [`rest`] — the object-safe [`RestResource`] seam the HTTP layer routes to.
//!
//! Objects are stored as JSON in the storage version under
//! `<key_prefix>/<plural>/<namespace>/<name>`; for Go's layout pass the etcd prefix followed by
//! the group as `key_prefix` (e.g. `/registry/navigator.jetstack.io/navigator.jetstack.io`).
//!
//! # Decisions (each visible to clients)
//! * Generation: 1 on create, +1 when `Strategy::spec_equal` says the spec changed, +1 when
//!   deletion starts; never from `/status` ([`meta::next_generation`]).
//! * `/status` writes keep the stored spec (strategy) and all stored metadata except
//!   `resourceVersion` and `managedFields` (Go's `ResetObjectMetaForStatus`: labels,
//!   annotations, finalizers and owner references cannot change through `/status`).
//! * Admission plugins (the request's [`admission::AdmissionChain`]) see every write on the
//!   decoded objects: after `prepare_for_*`, mutating before the strategy's validation,
//!   validating just before storage; deletes after their preconditions. A refusal is the
//!   plugin's own `Status` ([`ApiError::Status`]).
//! * A create carrying `metadata.resourceVersion` is a 400 (Go answers an uninterpreted 500
//!   with the same message).
//! * An immediate delete answers a `Success` `Status` (Go's generic registry default);
//!   [`RegistryConfig::return_deleted_object`] switches to the deleted object (CRD style).
//! * Watches with `resourceVersion` unset or `0` and `allowWatchBookmarks` end their initial
//!   events with the `k8s.io/initial-events-end` bookmark (Go ≥1.34 defaults them to
//!   watch-list); a compacted or future start is a 200 stream with one `ERROR` event.
//!
//! # Caveats
//! * Without a garbage collector (standalone mode) set [`RegistryConfig::garbage_collection`]
//!   to `false`: `propagationPolicy` then adds no `orphan`/`foregroundDeletion` finalizer,
//!   which nobody would remove.
//! * Managed fields of different API versions are compared path by path without conversion;
//!   objects stored without managed fields get no `before-first-apply` owner.
//! * `gracePeriodSeconds` never delays a delete (no strategy here implements graceful
//!   deletion); duplicate JSON keys are not detected (bodies arrive parsed).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::selector::{FieldSelector, LabelSelector};
use crate::status::{ApiError, GroupKind, GroupResource};
use crate::store::{KeyValue, Operation, Storage, StoreError};

pub mod admission;
#[cfg(any(test, feature = "testing"))]
pub mod admission_recorder;
mod delete;
pub mod managed;
pub mod meta;
mod read;
pub mod rest;
pub mod strategy;
pub mod table;
pub mod unknown_fields;
mod watch;
mod write;
mod write_admission;

pub use rest::*;
pub use strategy::*;

/// How a [`Registry`] is set up.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Key prefix, e.g. `/registry/navigator.jetstack.io`.
    pub key_prefix: String,
    /// Interval of watch bookmarks (Go's watch cache: about a minute).
    pub bookmark_interval: Duration,
    /// Whether a garbage collector honours `orphan` / `foregroundDeletion` finalizers.
    pub garbage_collection: bool,
    /// The `WatchList` feature (`sendInitialEvents`).
    pub watch_list: bool,
    /// How often a write retries after losing a compare-and-swap race before giving up with 409.
    pub max_write_retries: usize,
    /// Go's `ReturnDeletedObject`: an immediate delete answers with the deleted object (as
    /// CRDs do) instead of a `Success` `Status` (the generic registry's default).
    pub return_deleted_object: bool,
}

impl RegistryConfig {
    /// Go's defaults under `key_prefix`.
    pub fn new(key_prefix: impl Into<String>) -> Self {
        Self {
            key_prefix: key_prefix.into(),
            bookmark_interval: Duration::from_secs(60),
            garbage_collection: true,
            watch_list: true,
            max_write_retries: 1000,
            return_deleted_object: false,
        }
    }
}

/// The generic registry of one resource: every verb of [`RestResource`], Kubernetes' semantics,
/// the policy of `S`, the storage `St`. Cheap to clone.
pub struct Registry<S: Strategy, St: Storage> {
    inner: Arc<Inner<S, St>>,
}

impl<S: Strategy, St: Storage> Clone for Registry<S, St> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

pub(crate) struct Inner<S: Strategy, St: Storage> {
    strategy: S,
    store: Arc<St>,
    config: RegistryConfig,
    resource: GroupResource,
    kind: GroupKind,
}

impl<S: Strategy, St: Storage> Registry<S, St> {
    /// A registry for `strategy`'s resource over `store`.
    pub fn new(strategy: S, store: Arc<St>, config: RegistryConfig) -> Self {
        let d = strategy.descriptor();
        let resource = GroupResource::new(d.group.clone(), d.plural.clone());
        let kind = GroupKind::new(d.group.clone(), d.kind.clone());
        Self {
            inner: Arc::new(Inner {
                strategy,
                store,
                config,
                resource,
                kind,
            }),
        }
    }

    /// The strategy.
    pub fn strategy(&self) -> &S {
        &self.inner.strategy
    }
}

/// A stored object, decoded.
pub(crate) struct Current<O> {
    object: O,
    revision: u64,
    bytes: Vec<u8>,
}

impl<S: Strategy, St: Storage> Inner<S, St> {
    fn descriptor(&self) -> &ResourceDescriptor {
        self.strategy.descriptor()
    }

    fn namespace<'a>(&self, ctx: &'a RequestContext) -> Option<&'a str> {
        if self.descriptor().namespaced {
            ctx.namespace.as_deref()
        } else {
            None
        }
    }

    fn key(&self, namespace: Option<&str>, name: &str) -> String {
        crate::store::object_key(
            &self.config.key_prefix,
            &self.descriptor().plural,
            namespace,
            name,
        )
    }

    fn prefix(&self, namespace: Option<&str>) -> String {
        crate::store::list_prefix(
            &self.config.key_prefix,
            &self.descriptor().plural,
            namespace,
        )
    }

    fn api_version(&self, version: &str) -> String {
        format!("{}/{}", self.descriptor().group, version)
    }

    fn expected<'a>(&'a self, ctx: &'a RequestContext) -> meta::Expected<'a> {
        meta::Expected {
            group: &self.descriptor().group,
            version: &ctx.version,
            kind: &self.descriptor().kind,
        }
    }

    fn store_err(&self, e: StoreError, name: &str) -> ApiError {
        e.into_api_error(Operation::Object, &self.resource, name)
    }

    fn not_found(&self, name: &str) -> ApiError {
        ApiError::NotFound {
            resource: self.resource.clone(),
            name: name.to_owned(),
        }
    }

    /// Decodes stored bytes and sets the resourceVersion. Like Kubernetes' storage codec, the
    /// object's own `apiVersion` decides how it is read when it names a served version of this
    /// group (objects written before the storage version changed, e.g. a Go Navigator's
    /// v1alpha1 objects); otherwise the storage version.
    fn decode_stored(&self, bytes: &[u8], revision: u64) -> Result<S::Object, ApiError> {
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::internal(format!("decoding stored object: {e}")))?;
        let version = stored_version(self.descriptor(), &v);
        let mut obj = self.strategy.decode(&version, v)?.object;
        self.strategy.metadata_mut(&mut obj).resource_version = Some(revision.to_string());
        Ok(obj)
    }

    fn current(&self, kv: KeyValue) -> Result<Current<S::Object>, ApiError> {
        Ok(Current {
            object: self.decode_stored(&kv.value, kv.mod_revision)?,
            revision: kv.mod_revision,
            bytes: kv.value,
        })
    }

    /// Encodes for storage: storage version, no resourceVersion or selfLink.
    fn encode_stored(&self, obj: &S::Object) -> Result<Vec<u8>, ApiError> {
        let mut v = self
            .strategy
            .encode(obj, &self.descriptor().storage_version)?;
        if let Some(Value::Object(m)) = v.get_mut("metadata") {
            m.remove("resourceVersion");
            m.remove("selfLink");
        }
        serde_json::to_vec(&v).map_err(ApiError::internal)
    }

    /// Encodes in the request's version.
    fn encode_out(&self, obj: &S::Object, version: &str) -> Result<Value, ApiError> {
        self.strategy.encode(obj, version)
    }

    /// One object in the request's version and representation.
    fn render(&self, ctx: &RequestContext, obj: &S::Object) -> Result<Value, ApiError> {
        let v = self.encode_out(obj, &ctx.version)?;
        Ok(table::single(
            v,
            ctx.representation,
            &self.strategy.table_columns(),
            || self.strategy.table_cells(obj),
        ))
    }

    /// The selectable fields beyond the metadata ones.
    fn field_set(&self, obj: &S::Object, field: &str) -> Option<String> {
        let m = self.strategy.metadata(obj);
        match field {
            "metadata.name" => Some(m.name.clone().unwrap_or_default()),
            "metadata.namespace" => Some(m.namespace.clone().unwrap_or_default()),
            f => self.strategy.field_value(obj, f),
        }
    }

    fn matches(&self, obj: &S::Object, sel: &Selectors) -> bool {
        let labels = self
            .strategy
            .metadata(obj)
            .labels
            .clone()
            .unwrap_or_default();
        if !sel.label.matches(&labels) {
            return false;
        }
        let fields: std::collections::BTreeMap<String, String> = sel
            .field
            .terms()
            .iter()
            .filter_map(|t| self.field_set(obj, &t.field).map(|v| (t.field.clone(), v)))
            .collect();
        sel.field.matches(&fields)
    }

    fn selectors(&self, opts: &ListOptions) -> Result<Selectors, ApiError> {
        let label = LabelSelector::parse(opts.label_selector.as_deref().unwrap_or(""))
            .map_err(ApiError::from)?;
        let field = FieldSelector::parse(opts.field_selector.as_deref().unwrap_or(""))
            .map_err(ApiError::from)?;
        let mut supported = vec!["metadata.name", "metadata.namespace"];
        let extra = self.strategy.selectable_fields();
        supported.extend(extra.iter().map(String::as_str));
        field.validate_fields(&supported).map_err(ApiError::from)?;
        Ok(Selectors { label, field })
    }
}

/// Parsed label and field selectors.
#[derive(Debug, Clone)]
pub(crate) struct Selectors {
    label: LabelSelector,
    field: FieldSelector,
}

impl Selectors {
    fn is_empty(&self) -> bool {
        self.label.is_empty() && self.field.is_empty()
    }
}

#[async_trait::async_trait]
impl<S: Strategy, St: Storage> RestResource for Registry<S, St> {
    fn descriptor(&self) -> &ResourceDescriptor {
        self.inner.descriptor()
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &GetOptions,
    ) -> Result<Response, ApiError> {
        self.inner.get(ctx, name, opts).await
    }

    async fn list(&self, ctx: &RequestContext, opts: &ListOptions) -> Result<Response, ApiError> {
        self.inner.list(ctx, opts).await
    }

    async fn watch(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<WatchStream, ApiError> {
        watch::start(Arc::clone(&self.inner), ctx, opts).await
    }

    async fn create(&self, ctx: &RequestContext, body: Value) -> Result<Response, ApiError> {
        self.inner.create(ctx, body).await
    }

    async fn update(
        &self,
        ctx: &RequestContext,
        name: &str,
        subresource: Subresource,
        body: Value,
    ) -> Result<Response, ApiError> {
        self.inner.update(ctx, name, subresource, body).await
    }

    async fn patch(
        &self,
        ctx: &RequestContext,
        name: &str,
        subresource: Subresource,
        patch_type: PatchType,
        body: &[u8],
    ) -> Result<Response, ApiError> {
        self.inner
            .patch(ctx, name, subresource, patch_type, body)
            .await
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Response, ApiError> {
        self.inner.delete(ctx, name, opts).await
    }

    async fn delete_collection(
        &self,
        ctx: &RequestContext,
        list: &ListOptions,
        opts: &DeleteOptions,
    ) -> Result<Response, ApiError> {
        self.inner.delete_collection(ctx, list, opts).await
    }
}

/// The served version a stored object is in: its `apiVersion`'s version when that is
/// `<group>/<served version>`, otherwise the storage version.
fn stored_version(descriptor: &ResourceDescriptor, object: &Value) -> String {
    object
        .get("apiVersion")
        .and_then(Value::as_str)
        .and_then(|av| av.split_once('/'))
        .filter(|(group, version)| {
            *group == descriptor.group && descriptor.versions.iter().any(|v| v == version)
        })
        .map_or_else(
            || descriptor.storage_version.clone(),
            |(_, version)| version.to_owned(),
        )
}

#[cfg(test)]
mod tests;
