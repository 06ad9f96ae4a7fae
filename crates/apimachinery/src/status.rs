//! Kubernetes API errors and their `metav1.Status` wire form.
//!
//! [`ApiError`] is the one error type every request handler ends in. [`ApiError::to_status`]
//! renders it exactly as a Go API server does (`k8s.io/apimachinery/pkg/api/errors`,
//! `k8s.io/apiserver/pkg/endpoints/handlers/negotiation/errors.go`,
//! `k8s.io/apiserver/pkg/storage/errors.go`): the same `code`, `reason`, `message` and `details`,
//! so clients that match on any of them behave as they do against kube-apiserver.
//!
//! Validation errors are [`FieldError`]s (from `apimachinery_core::field`, re-exported here);
//! their messages follow Go's `field.Error.ErrorBody`.

pub use apimachinery_core::field::{
    ErrorType, FieldError, FieldErrorKind, FieldPath, StatusCause, aggregate_message,
};
pub use apimachinery_core::quote::go_quote;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The standard optimistic-concurrency message (`registry.OptimisticLockErrorMsg` in Go).
pub const OPTIMISTIC_LOCK_MESSAGE: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

/// A resource qualified by its API group (`cassandraclusters.navigator.jetstack.io`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct GroupResource {
    /// API group; empty for the core group.
    pub group: String,
    /// Lower-case plural resource name.
    pub resource: String,
}

impl GroupResource {
    /// Builds a group-qualified resource.
    pub fn new(group: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            resource: resource.into(),
        }
    }

    fn is_empty(&self) -> bool {
        self.group.is_empty() && self.resource.is_empty()
    }
}

impl std::fmt::Display for GroupResource {
    /// `resource.group`, or just `resource` for the core group (Go's `GroupResource.String`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// A kind qualified by its API group (`CassandraCluster.navigator.jetstack.io`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct GroupKind {
    /// API group; empty for the core group.
    pub group: String,
    /// Kind, in CamelCase.
    pub kind: String,
}

impl GroupKind {
    /// Builds a group-qualified kind.
    pub fn new(group: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            kind: kind.into(),
        }
    }
}

impl std::fmt::Display for GroupKind {
    /// `Kind.group`, or just `Kind` for the core group (Go's `GroupKind.String`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}.{}", self.kind, self.group)
        }
    }
}

/// A Kubernetes API error: every variant maps to one HTTP code and `Status.reason`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.message())]
pub enum ApiError {
    /// 404 `NotFound`: no object with that name.
    NotFound {
        /// The resource looked up.
        resource: GroupResource,
        /// The object name.
        name: String,
    },
    /// 409 `AlreadyExists`: create of an existing name.
    AlreadyExists {
        /// The resource created.
        resource: GroupResource,
        /// The object name.
        name: String,
    },
    /// 409 `AlreadyExists`: `generateName` produced a name that is taken.
    GenerateNameConflict {
        /// The resource created.
        resource: GroupResource,
        /// The generated name.
        name: String,
        /// Seconds the client should wait before retrying.
        retry_after_seconds: i32,
    },
    /// 409 `Conflict`: a precondition or resourceVersion did not match.
    Conflict {
        /// The resource written.
        resource: GroupResource,
        /// The object name.
        name: String,
        /// Why; [`OPTIMISTIC_LOCK_MESSAGE`] for a stale resourceVersion.
        reason: String,
    },
    /// 409 `Conflict` from server-side apply, one cause per conflicting field.
    ApplyConflict {
        /// The full message (`Apply failed with N conflicts: …`).
        message: String,
        /// `(field, message)` of each `FieldManagerConflict` cause.
        conflicts: Vec<(String, String)>,
    },
    /// 422 `Invalid`: the object failed validation.
    Invalid {
        /// The kind validated.
        kind: GroupKind,
        /// The object name.
        name: String,
        /// Every failure, each becoming one cause.
        errors: Vec<FieldError>,
    },
    /// 400 `BadRequest`: malformed request (body, selector, token …).
    BadRequest {
        /// Free text shown to the user.
        message: String,
    },
    /// 410 `Expired`: the requested resourceVersion or continue token has been compacted.
    Expired {
        /// Free text; see [`ApiError::too_old_resource_version`].
        message: String,
    },
    /// 410 `Gone` (deprecated in Go in favour of `Expired`).
    Gone {
        /// Free text.
        message: String,
    },
    /// 413 `RequestEntityTooLarge`; see [`ApiError::body_too_large`].
    RequestEntityTooLarge {
        /// Explanation, prefixed with `Request entity too large: ` on the wire.
        message: String,
    },
    /// 422 `Invalid` with Go's opaque generic message (`NewGenericServerResponse(422, …)`), which
    /// Go uses for failed JSON patch operations; `detail` is for logs and is not sent.
    UnprocessableEntity {
        /// The underlying error, not rendered.
        detail: String,
    },
    /// 415 `UnsupportedMediaType`: request body in an unknown format.
    UnsupportedMediaType {
        /// The media types accepted.
        accepted: Vec<String>,
    },
    /// 406 `NotAcceptable`; see [`ApiError::not_acceptable`].
    NotAcceptable {
        /// The full message.
        message: String,
    },
    /// 405 `MethodNotAllowed`: the verb is not supported on this resource.
    MethodNotAllowed {
        /// The resource addressed.
        resource: GroupResource,
        /// The verb, e.g. `watch`, `create`.
        action: String,
    },
    /// 403 `Forbidden`.
    Forbidden {
        /// The resource addressed (empty for non-resource requests).
        resource: GroupResource,
        /// The object name, if any.
        name: String,
        /// The authorizer's explanation.
        reason: String,
    },
    /// 401 `Unauthorized`.
    Unauthorized {
        /// Explanation; empty renders as `not authorized`.
        message: String,
    },
    /// 500 `InternalError`.
    InternalError {
        /// The underlying error's text.
        message: String,
    },
    /// 504 `Timeout`: the request did not complete in time.
    Timeout {
        /// Explanation, prefixed with `Timeout: ` on the wire.
        message: String,
        /// Seconds the client should wait before retrying.
        retry_after_seconds: i32,
    },
    /// 504 `Timeout` with cause `ResourceVersionTooLarge`: a resourceVersion from the future.
    TooLargeResourceVersion {
        /// The requested minimum resourceVersion.
        requested: u64,
        /// The store's current revision.
        current: u64,
        /// Seconds the client should wait before retrying.
        retry_after_seconds: i32,
    },
    /// 429 `TooManyRequests`.
    TooManyRequests {
        /// Explanation.
        message: String,
        /// Seconds the client should wait before retrying.
        retry_after_seconds: i32,
    },
    /// 503 `ServiceUnavailable`.
    ServiceUnavailable {
        /// Explanation.
        message: String,
    },
    /// A finished `Status` made elsewhere, sent as it is (Go's `StatusError` around any
    /// `metav1.Status`): an admission plugin's refusal, which may carry causes the other
    /// variants cannot express (e.g. `NamespaceTerminating`).
    Status(Box<Status>),
}

impl ApiError {
    /// 409 for a stale resourceVersion, with Go's standard message.
    pub fn optimistic_lock(resource: GroupResource, name: impl Into<String>) -> Self {
        Self::Conflict {
            resource,
            name: name.into(),
            reason: OPTIMISTIC_LOCK_MESSAGE.to_owned(),
        }
    }

    /// 410 for a watch from a compacted revision: `too old resource version: R (O)`, where `O`
    /// is the oldest revision still available minus one (Go's watch cache message).
    pub fn too_old_resource_version(requested: u64, oldest_available: u64) -> Self {
        Self::Expired {
            message: format!(
                "too old resource version: {requested} ({})",
                oldest_available.saturating_sub(1)
            ),
        }
    }

    /// 410 for a list at a compacted resourceVersion.
    pub fn list_resource_version_expired() -> Self {
        Self::Expired {
            message: "The resourceVersion for the provided list is too old.".to_owned(),
        }
    }

    /// 413 for a request body over `limit` bytes: `Request entity too large: limit is N`.
    pub fn body_too_large(limit: u64) -> Self {
        Self::RequestEntityTooLarge {
            message: format!("limit is {limit}"),
        }
    }

    /// 406 when no acceptable media type can be produced (Go's `NewNotAcceptableError`).
    pub fn not_acceptable<S: AsRef<str>>(accepted: &[S]) -> Self {
        let accepted: Vec<&str> = accepted.iter().map(AsRef::as_ref).collect();
        Self::NotAcceptable {
            message: format!(
                "only the following media types are accepted: {}",
                accepted.join(", ")
            ),
        }
    }

    /// A successful delete's `Status` body (Go's registry when it does not return the object):
    /// `status: Success` and details naming the object, `kind` holding the resource.
    pub fn deleted_status(resource: &GroupResource, name: &str, uid: &str) -> Status {
        Status {
            kind: "Status".to_owned(),
            api_version: "v1".to_owned(),
            metadata: serde_json::Map::new(),
            status: "Success".to_owned(),
            message: String::new(),
            reason: String::new(),
            details: Some(StatusDetails {
                name: name.to_owned(),
                group: resource.group.clone(),
                kind: resource.resource.clone(),
                uid: uid.to_owned(),
                ..StatusDetails::default()
            }),
            code: 0,
        }
    }

    /// 400 wrapping any displayable error.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
        }
    }

    /// 500 wrapping any displayable error.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::InternalError {
            message: err.to_string(),
        }
    }

    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            Self::NotFound { .. } => 404,
            Self::AlreadyExists { .. }
            | Self::GenerateNameConflict { .. }
            | Self::Conflict { .. }
            | Self::ApplyConflict { .. } => 409,
            Self::Invalid { .. } | Self::UnprocessableEntity { .. } => 422,
            Self::BadRequest { .. } => 400,
            Self::Expired { .. } | Self::Gone { .. } => 410,
            Self::RequestEntityTooLarge { .. } => 413,
            Self::UnsupportedMediaType { .. } => 415,
            Self::NotAcceptable { .. } => 406,
            Self::MethodNotAllowed { .. } => 405,
            Self::Forbidden { .. } => 403,
            Self::Unauthorized { .. } => 401,
            Self::InternalError { .. } => 500,
            Self::Timeout { .. } | Self::TooLargeResourceVersion { .. } => 504,
            Self::TooManyRequests { .. } => 429,
            Self::ServiceUnavailable { .. } => 503,
            Self::Status(s) => u16::try_from(s.code).unwrap_or(500),
        }
    }

    /// The `Status.reason` (Go's `metav1.StatusReason`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "NotFound",
            Self::AlreadyExists { .. } | Self::GenerateNameConflict { .. } => "AlreadyExists",
            Self::Conflict { .. } | Self::ApplyConflict { .. } => "Conflict",
            Self::Invalid { .. } | Self::UnprocessableEntity { .. } => "Invalid",
            Self::BadRequest { .. } => "BadRequest",
            Self::Expired { .. } => "Expired",
            Self::Gone { .. } => "Gone",
            Self::RequestEntityTooLarge { .. } => "RequestEntityTooLarge",
            Self::UnsupportedMediaType { .. } => "UnsupportedMediaType",
            Self::NotAcceptable { .. } => "NotAcceptable",
            Self::MethodNotAllowed { .. } => "MethodNotAllowed",
            Self::Forbidden { .. } => "Forbidden",
            Self::Unauthorized { .. } => "Unauthorized",
            Self::InternalError { .. } => "InternalError",
            Self::Timeout { .. } | Self::TooLargeResourceVersion { .. } => "Timeout",
            Self::TooManyRequests { .. } => "TooManyRequests",
            Self::ServiceUnavailable { .. } => "ServiceUnavailable",
            Self::Status(s) => known_reason(&s.reason),
        }
    }

    /// The `Status.message`, byte for byte as Go renders it.
    pub fn message(&self) -> String {
        match self {
            Self::NotFound { resource, name } => format!("{resource} {} not found", go_quote(name)),
            Self::AlreadyExists { resource, name } => {
                format!("{resource} {} already exists", go_quote(name))
            }
            Self::GenerateNameConflict { resource, name, .. } => format!(
                "{resource} {} already exists, the server was not able to generate a unique name for the object",
                go_quote(name)
            ),
            Self::Conflict {
                resource,
                name,
                reason,
            } => {
                format!(
                    "Operation cannot be fulfilled on {resource} {}: {reason}",
                    go_quote(name)
                )
            }
            Self::ApplyConflict { message, .. } => message.clone(),
            Self::Invalid { kind, name, errors } => {
                if errors.is_empty() {
                    format!("{kind} {} is invalid", go_quote(name))
                } else {
                    format!(
                        "{kind} {} is invalid: {}",
                        go_quote(name),
                        aggregate_message(errors)
                    )
                }
            }
            Self::BadRequest { message }
            | Self::Expired { message }
            | Self::Gone { message }
            | Self::ServiceUnavailable { message }
            | Self::TooManyRequests { message, .. } => message.clone(),
            Self::RequestEntityTooLarge { message } => {
                format!("Request entity too large: {message}")
            }
            Self::UnprocessableEntity { .. } => {
                "the server rejected our request due to an error in our request".to_owned()
            }
            Self::UnsupportedMediaType { accepted } => format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
            Self::NotAcceptable { message } => message.clone(),
            Self::Status(s) => s.message.clone(),
            Self::MethodNotAllowed { resource, action } => {
                format!(
                    "{action} is not supported on resources of kind {}",
                    go_quote(&resource.to_string())
                )
            }
            Self::Forbidden {
                resource,
                name,
                reason,
            } => {
                if resource.is_empty() {
                    format!("forbidden: {reason}")
                } else if name.is_empty() {
                    format!("{resource} is forbidden: {reason}")
                } else {
                    format!("{resource} {} is forbidden: {reason}", go_quote(name))
                }
            }
            Self::Unauthorized { message } => {
                if message.is_empty() {
                    "not authorized".to_owned()
                } else {
                    message.clone()
                }
            }
            Self::InternalError { message } => format!("Internal error occurred: {message}"),
            Self::Timeout { message, .. } => format!("Timeout: {message}"),
            Self::TooLargeResourceVersion {
                requested, current, ..
            } => {
                format!("Timeout: Too large resource version: {requested}, current: {current}")
            }
        }
    }

    /// `Status.details`, present exactly when Go sets it (even if every field is empty).
    fn details(&self) -> Option<StatusDetails> {
        let named = |r: &GroupResource, name: &str| StatusDetails {
            name: name.to_owned(),
            group: r.group.clone(),
            kind: r.resource.clone(),
            ..StatusDetails::default()
        };
        match self {
            Self::NotFound { resource, name }
            | Self::AlreadyExists { resource, name }
            | Self::Conflict { resource, name, .. }
            | Self::Forbidden { resource, name, .. } => Some(named(resource, name)),
            Self::GenerateNameConflict {
                resource,
                name,
                retry_after_seconds,
            } => Some(StatusDetails {
                retry_after_seconds: *retry_after_seconds,
                ..named(resource, name)
            }),
            Self::MethodNotAllowed { resource, .. } => Some(named(resource, "")),
            Self::UnprocessableEntity { .. } => Some(StatusDetails::default()),
            Self::ApplyConflict { conflicts, .. } => Some(StatusDetails {
                causes: conflicts
                    .iter()
                    .map(|(field, message)| StatusCause {
                        reason: "FieldManagerConflict".to_owned(),
                        message: message.clone(),
                        field: field.clone(),
                    })
                    .collect(),
                ..StatusDetails::default()
            }),
            Self::Invalid { kind, name, errors } => Some(StatusDetails {
                name: name.clone(),
                group: kind.group.clone(),
                kind: kind.kind.clone(),
                causes: errors.iter().map(FieldError::to_cause).collect(),
                ..StatusDetails::default()
            }),
            Self::InternalError { message } => Some(StatusDetails {
                causes: vec![StatusCause {
                    message: message.clone(),
                    ..StatusCause::default()
                }],
                ..StatusDetails::default()
            }),
            Self::Timeout {
                retry_after_seconds,
                ..
            }
            | Self::TooManyRequests {
                retry_after_seconds,
                ..
            } => Some(StatusDetails {
                retry_after_seconds: *retry_after_seconds,
                ..StatusDetails::default()
            }),
            Self::TooLargeResourceVersion {
                retry_after_seconds,
                ..
            } => Some(StatusDetails {
                retry_after_seconds: *retry_after_seconds,
                causes: vec![StatusCause {
                    reason: "ResourceVersionTooLarge".to_owned(),
                    message: "Too large resource version".to_owned(),
                    field: String::new(),
                }],
                ..StatusDetails::default()
            }),
            Self::BadRequest { .. }
            | Self::Expired { .. }
            | Self::Gone { .. }
            | Self::RequestEntityTooLarge { .. }
            | Self::UnsupportedMediaType { .. }
            | Self::NotAcceptable { .. }
            | Self::Unauthorized { .. }
            | Self::ServiceUnavailable { .. } => None,
            Self::Status(s) => s.details.clone(),
        }
    }

    /// The full `metav1.Status` body for this error.
    pub fn to_status(&self) -> Status {
        if let Self::Status(s) = self {
            return (**s).clone();
        }
        Status {
            kind: "Status".to_owned(),
            api_version: "v1".to_owned(),
            metadata: serde_json::Map::new(),
            status: "Failure".to_owned(),
            message: self.message(),
            reason: self.reason().to_owned(),
            details: self.details(),
            code: i32::from(self.code()),
        }
    }
}

/// Go's `metav1.StatusReason` constants; anything else is `""` (`StatusReasonUnknown`).
fn known_reason(reason: &str) -> &'static str {
    const REASONS: [&str; 19] = [
        "Unauthorized",
        "Forbidden",
        "NotFound",
        "AlreadyExists",
        "Conflict",
        "Gone",
        "Invalid",
        "ServerTimeout",
        "StoreReadError",
        "Timeout",
        "TooManyRequests",
        "BadRequest",
        "MethodNotAllowed",
        "NotAcceptable",
        "RequestEntityTooLarge",
        "UnsupportedMediaType",
        "InternalError",
        "Expired",
        "ServiceUnavailable",
    ];
    REASONS.into_iter().find(|r| *r == reason).unwrap_or("")
}

fn is_empty_str(s: &str) -> bool {
    s.is_empty()
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// `metav1.Status` with Go's field order and `omitempty` rules, so the JSON is byte-identical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Always `Status`.
    pub kind: String,
    /// Always `v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Always `{}` for errors (Go does not omit an empty struct).
    #[serde(default)]
    pub metadata: serde_json::Map<String, Value>,
    /// `Failure` for errors.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub status: String,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub message: String,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub reason: String,
    /// Extra data about the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    /// The HTTP status code.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub code: i32,
}

/// `metav1.StatusDetails`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StatusDetails {
    /// Object name.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub name: String,
    /// API group.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub group: String,
    /// Resource (for most errors) or kind (for `Invalid`).
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub kind: String,
    /// Object uid.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub uid: String,
    /// Individual causes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
    /// Seconds the client should wait before retrying.
    #[serde(default, rename = "retryAfterSeconds", skip_serializing_if = "is_zero")]
    pub retry_after_seconds: i32,
}

impl From<Status> for k8s_openapi::apimachinery::pkg::apis::meta::v1::Status {
    fn from(s: Status) -> Self {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
        let opt = |s: String| (!s.is_empty()).then_some(s);
        Self {
            code: Some(s.code),
            message: opt(s.message),
            reason: opt(s.reason),
            status: opt(s.status),
            metadata: meta::ListMeta::default(),
            details: s.details.map(|d| meta::StatusDetails {
                name: opt(d.name),
                group: opt(d.group),
                kind: opt(d.kind),
                uid: opt(d.uid),
                retry_after_seconds: (d.retry_after_seconds != 0).then_some(d.retry_after_seconds),
                causes: (!d.causes.is_empty()).then(|| {
                    d.causes
                        .into_iter()
                        .map(|c| meta::StatusCause {
                            reason: opt(c.reason),
                            message: opt(c.message),
                            field: opt(c.field),
                        })
                        .collect()
                }),
            }),
        }
    }
}

#[cfg(test)]
mod tests;
