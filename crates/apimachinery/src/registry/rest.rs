//! The seam between the HTTP layer and the registries: one object-safe [`RestResource`] per
//! served resource, taking parsed requests and returning finished JSON bodies. The HTTP layer
//! (routing, content negotiation, authentication, TLS) never sees internal objects; the registry
//! never sees HTTP.

use std::pin::Pin;

use futures::Stream;
use serde_json::Value;

use super::admission::AdmissionChain;
use super::strategy::ResourceDescriptor;
use crate::status::ApiError;

/// Who is asking (from authentication), for admission and managed fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// User name, e.g. `system:admin`.
    pub name: String,
    /// Groups.
    pub groups: Vec<String>,
    /// UID, if known.
    pub uid: Option<String>,
    /// Extra attributes from the authenticator (Go's `user.Info.GetExtra`), e.g. the
    /// front-proxy's `X-Remote-Extra-*` headers or a TokenReview's `status.user.extra`.
    pub extra: std::collections::BTreeMap<String, Vec<String>>,
}

/// `fieldValidation`: what to do about unknown or duplicate fields in a body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FieldValidation {
    /// Reject the request (400 `BadRequest` listing the fields). kubectl's default.
    #[default]
    Strict,
    /// Accept, and report each field in a `Warning` header.
    Warn,
    /// Accept silently.
    Ignore,
}

/// How the response body represents objects (`Accept: …;as=…`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Representation {
    /// The objects themselves, in the request's version.
    #[default]
    Object,
    /// A `meta.k8s.io/v1` `Table`; with `include_object` the rows carry the objects
    /// (`includeObject=Object`) or their metadata (`Metadata`, the default) or nothing (`None`).
    Table {
        /// What each row's `object` holds.
        include_object: IncludeObject,
    },
    /// `PartialObjectMetadata` / `PartialObjectMetadataList` (`meta.k8s.io/v1`).
    PartialObjectMetadata,
}

/// `includeObject` of a Table request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object in the rows.
    None,
    /// `PartialObjectMetadata` in the rows (the default).
    #[default]
    Metadata,
    /// The full object in the rows.
    Object,
}

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Subresource {
    /// The main resource: spec and metadata.
    #[default]
    Main,
    /// `/status`: status only.
    Status,
}

/// The request-wide facts every verb needs.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The namespace from the URL (`None` for cluster-wide lists and watches).
    pub namespace: Option<String>,
    /// The version from the URL, e.g. `v1beta1`: bodies are decoded from it and responses
    /// encoded in it.
    pub version: String,
    /// The authenticated user.
    pub user: UserInfo,
    /// `dryRun=All`: run everything but do not persist.
    pub dry_run: bool,
    /// `fieldManager` (required for apply; defaulted from the user agent otherwise).
    pub field_manager: Option<String>,
    /// The `User-Agent`, used to default the field manager as Kubernetes does.
    pub user_agent: Option<String>,
    /// `fieldValidation`.
    pub field_validation: FieldValidation,
    /// The response representation.
    pub representation: Representation,
    /// Members duplicated in the request body (`spec.replicas`), found by the HTTP layer before
    /// parsing dropped all but the last; reported under `fieldValidation` like unknown fields.
    pub duplicate_fields: Vec<String>,
    /// The admission plugins writes go through (Go passes them to the registry with each
    /// request); empty admits everything.
    pub admission: AdmissionChain,
}

/// Query options of get.
#[derive(Debug, Clone, Default)]
pub struct GetOptions {
    /// `resourceVersion`.
    pub resource_version: Option<String>,
}

/// Query options of list and watch.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// `labelSelector`.
    pub label_selector: Option<String>,
    /// `fieldSelector`.
    pub field_selector: Option<String>,
    /// `limit`.
    pub limit: Option<i64>,
    /// `continue`.
    pub continue_token: Option<String>,
    /// `resourceVersion`.
    pub resource_version: Option<String>,
    /// `resourceVersionMatch`.
    pub resource_version_match: Option<String>,
    /// `watch=true` / the watch verb.
    pub watch: bool,
    /// `allowWatchBookmarks`.
    pub allow_watch_bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial_events: Option<bool>,
    /// `timeoutSeconds`.
    pub timeout_seconds: Option<u64>,
}

/// The patch types Kubernetes accepts, by `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    StrategicMerge,
    /// `application/apply-patch+yaml` (server-side apply), with `force`.
    Apply {
        /// `force=true`: take ownership of conflicting fields.
        force: bool,
    },
}

/// Delete options (from the query or a `DeleteOptions` body).
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `preconditions.uid`.
    pub precondition_uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub precondition_resource_version: Option<String>,
    /// `gracePeriodSeconds`.
    pub grace_period_seconds: Option<i64>,
    /// `propagationPolicy`: `Orphan`, `Background` or `Foreground`.
    pub propagation_policy: Option<String>,
}

/// A finished response body.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status: 200, 201 (created) or 202 (accepted, e.g. a delete waiting on finalizers).
    pub code: u16,
    /// The body.
    pub body: Value,
    /// `Warning` headers (`299 - "<text>"` is added by the HTTP layer).
    pub warnings: Vec<String>,
}

/// One event of a watch, ready to be written as a line of newline-delimited JSON
/// (`{"type": …, "object": …}`).
pub type WatchEvent = Value;

/// A stream of watch events; it ends when the watch times out or the server shuts down. Errors
/// are delivered as an `ERROR` event carrying a `Status` (e.g. 410 Gone), after which it ends.
pub type WatchStream = Pin<Box<dyn Stream<Item = WatchEvent> + Send>>;

/// One served resource, all verbs. Object-safe, for the HTTP layer's routing table.
#[async_trait::async_trait]
pub trait RestResource: Send + Sync {
    /// The resource's static description.
    fn descriptor(&self) -> &ResourceDescriptor;

    /// GET one object.
    async fn get(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &GetOptions,
    ) -> Result<Response, ApiError>;

    /// LIST objects (one namespace, or all when `ctx.namespace` is `None`).
    async fn list(&self, ctx: &RequestContext, opts: &ListOptions) -> Result<Response, ApiError>;

    /// WATCH objects.
    async fn watch(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<WatchStream, ApiError>;

    /// POST a new object.
    async fn create(&self, ctx: &RequestContext, body: Value) -> Result<Response, ApiError>;

    /// PUT an object (or its status).
    async fn update(
        &self,
        ctx: &RequestContext,
        name: &str,
        subresource: Subresource,
        body: Value,
    ) -> Result<Response, ApiError>;

    /// PATCH an object (or its status). `body` is the raw patch document.
    async fn patch(
        &self,
        ctx: &RequestContext,
        name: &str,
        subresource: Subresource,
        patch_type: PatchType,
        body: &[u8],
    ) -> Result<Response, ApiError>;

    /// DELETE an object.
    async fn delete(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Response, ApiError>;

    /// DELETE a collection.
    async fn delete_collection(
        &self,
        ctx: &RequestContext,
        list: &ListOptions,
        opts: &DeleteOptions,
    ) -> Result<Response, ApiError>;
}
