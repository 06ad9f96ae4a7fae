//! Field paths and field errors (Go's `k8s.io/apimachinery/pkg/util/validation/field`): the one
//! error type every validator returns, rendered as a `Status` cause
//! `{reason, message, field}` with Go's messages.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::quote::{go_json, go_quote};

/// A JSON field path such as `spec.nodePools[1].name` (Go's `field.Path`), built from its root
/// with [`FieldPath::child`], [`FieldPath::index`] and [`FieldPath::key`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(String);

impl FieldPath {
    /// A path starting at a top-level field, e.g. `FieldPath::new("spec")`.
    pub fn new(root: &str) -> Self {
        Self(root.to_owned())
    }

    /// The path of a named child field.
    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Self(name.to_owned())
        } else {
            Self(format!("{}.{name}", self.0))
        }
    }

    /// The path of a list element: `spec.nodePools[1]`.
    pub fn index(&self, index: usize) -> Self {
        Self(format!("{}[{index}]", self.0))
    }

    /// The path of a map entry, rendered as Kubernetes does: `metadata.labels[app]`.
    pub fn key(&self, key: &str) -> Self {
        Self(format!("{}[{key}]", self.0))
    }

    /// The path as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<FieldPath> for String {
    fn from(path: FieldPath) -> Self {
        path.0
    }
}

impl From<&FieldPath> for String {
    fn from(path: &FieldPath) -> Self {
        path.0.clone()
    }
}

/// Why a field is wrong, without the data (Go's `field.ErrorType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// A referenced value does not exist.
    NotFound,
    /// The field is required but missing or empty.
    Required,
    /// The value duplicates another one where values must be unique.
    Duplicate,
    /// The value is malformed or out of range.
    Invalid,
    /// The value is not one of a fixed set.
    NotSupported,
    /// The value is well formed but not allowed here (e.g. an immutable field changed).
    Forbidden,
    /// The value is too long.
    TooLong,
    /// The list has too many items.
    TooMany,
    /// Validation itself failed.
    Internal,
    /// The value has the wrong JSON type.
    TypeInvalid,
}

impl ErrorType {
    /// The `metav1.CauseType` (a cause's `reason`), e.g. `FieldValueRequired`.
    pub fn cause_type(self) -> &'static str {
        match self {
            Self::NotFound => "FieldValueNotFound",
            Self::Required => "FieldValueRequired",
            Self::Duplicate => "FieldValueDuplicate",
            Self::Invalid => "FieldValueInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Forbidden => "FieldValueForbidden",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::Internal => "InternalError",
            Self::TypeInvalid => "FieldValueTypeInvalid",
        }
    }

    /// The words Go puts first in a message (`ErrorType.String`), e.g. `Required value`.
    pub fn label(self) -> &'static str {
        match self {
            Self::NotFound => "Not found",
            Self::Required => "Required value",
            Self::Duplicate => "Duplicate value",
            Self::Invalid | Self::TypeInvalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::Forbidden => "Forbidden",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::Internal => "Internal error",
        }
    }
}

/// Why one field failed validation, with the data its message needs.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldErrorKind {
    /// `FieldValueInvalid`: malformed value.
    Invalid {
        /// The offending value (`None` omits it from the message).
        value: Option<Value>,
        /// Why it is invalid.
        detail: String,
    },
    /// `FieldValueRequired`: missing value.
    Required {
        /// Optional explanation.
        detail: String,
    },
    /// `FieldValueNotSupported`: a value outside an enumeration.
    NotSupported {
        /// The offending value.
        value: Option<Value>,
        /// The values that are accepted, in the order to list them.
        supported: Vec<String>,
    },
    /// `FieldValueDuplicate`: a value that must be unique is repeated.
    Duplicate {
        /// The repeated value.
        value: Option<Value>,
    },
    /// `FieldValueForbidden`: a well-formed value that is not allowed here.
    Forbidden {
        /// Why it is forbidden.
        detail: String,
    },
    /// `FieldValueTooLong`: a value longer than `max_bytes` (negative: unknown limit).
    TooLong {
        /// The limit in bytes.
        max_bytes: i64,
    },
    /// `FieldValueTooMany`: a list with more than `max` items.
    TooMany {
        /// The actual number of items, if known.
        actual: Option<i64>,
        /// The limit (negative: unknown limit).
        max: i64,
    },
    /// `FieldValueNotFound`: a referenced value does not exist.
    NotFound {
        /// The value that was not found.
        value: Option<Value>,
    },
    /// `FieldValueTypeInvalid`: the value has the wrong JSON type.
    TypeInvalid {
        /// The offending value.
        value: Option<Value>,
        /// Which type was expected.
        detail: String,
    },
    /// `InternalError`: validation itself failed.
    Internal {
        /// The underlying error.
        detail: String,
    },
}

impl FieldErrorKind {
    /// The error type without its data.
    pub fn error_type(&self) -> ErrorType {
        match self {
            Self::Invalid { .. } => ErrorType::Invalid,
            Self::Required { .. } => ErrorType::Required,
            Self::NotSupported { .. } => ErrorType::NotSupported,
            Self::Duplicate { .. } => ErrorType::Duplicate,
            Self::Forbidden { .. } => ErrorType::Forbidden,
            Self::TooLong { .. } => ErrorType::TooLong,
            Self::TooMany { .. } => ErrorType::TooMany,
            Self::NotFound { .. } => ErrorType::NotFound,
            Self::TypeInvalid { .. } => ErrorType::TypeInvalid,
            Self::Internal { .. } => ErrorType::Internal,
        }
    }

    /// The `metav1.CauseType` this kind is reported as.
    pub fn cause_type(&self) -> &'static str {
        self.error_type().cause_type()
    }
}

/// A bad value as JSON; a value that cannot be represented becomes `null`.
fn to_json(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// One validation failure at one field path (Go's `field.Error`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Field path in Go's notation: `spec.nodePools[1].replicas`, `metadata.labels[app]`.
    pub field: String,
    /// What went wrong.
    pub kind: FieldErrorKind,
}

impl FieldError {
    /// Builds an error from its parts.
    pub fn new(field: impl Into<String>, kind: FieldErrorKind) -> Self {
        Self {
            field: field.into(),
            kind,
        }
    }

    /// `Invalid value: <value>: <detail>` (Go's `field.Invalid`).
    pub fn invalid(
        field: impl Into<String>,
        value: impl Serialize,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(
            field,
            FieldErrorKind::Invalid {
                value: Some(to_json(value)),
                detail: detail.into(),
            },
        )
    }

    /// `Required value: <detail>` (Go's `field.Required`).
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            field,
            FieldErrorKind::Required {
                detail: detail.into(),
            },
        )
    }

    /// `Unsupported value: <value>: supported values: "a", "b"` (Go's `field.NotSupported`).
    pub fn not_supported(
        field: impl Into<String>,
        value: impl Serialize,
        supported: impl IntoIterator<Item = impl fmt::Display>,
    ) -> Self {
        Self::new(
            field,
            FieldErrorKind::NotSupported {
                value: Some(to_json(value)),
                supported: supported.into_iter().map(|s| s.to_string()).collect(),
            },
        )
    }

    /// `Duplicate value: <value>` (Go's `field.Duplicate`).
    pub fn duplicate(field: impl Into<String>, value: impl Serialize) -> Self {
        Self::new(
            field,
            FieldErrorKind::Duplicate {
                value: Some(to_json(value)),
            },
        )
    }

    /// `Forbidden: <detail>` (Go's `field.Forbidden`).
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            field,
            FieldErrorKind::Forbidden {
                detail: detail.into(),
            },
        )
    }

    /// `Too long: may not be more than <max> bytes` (Go's `field.TooLong`).
    pub fn too_long(field: impl Into<String>, max_bytes: i64) -> Self {
        Self::new(field, FieldErrorKind::TooLong { max_bytes })
    }

    /// The error type without its data.
    pub fn error_type(&self) -> ErrorType {
        self.kind.error_type()
    }

    /// The message without the field path (Go's `ErrorBody`); this is a cause's `message`.
    pub fn body(&self) -> String {
        let (value, detail): (Option<String>, String) = match &self.kind {
            FieldErrorKind::Invalid { value, detail }
            | FieldErrorKind::TypeInvalid { value, detail } => {
                (Some(render_value(value.as_ref())), detail.clone())
            }
            FieldErrorKind::NotSupported { value, supported } => {
                let detail = if supported.is_empty() {
                    String::new()
                } else {
                    let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
                    format!("supported values: {}", quoted.join(", "))
                };
                (Some(render_value(value.as_ref())), detail)
            }
            FieldErrorKind::Duplicate { value } | FieldErrorKind::NotFound { value } => {
                (Some(render_value(value.as_ref())), String::new())
            }
            FieldErrorKind::Required { detail }
            | FieldErrorKind::Forbidden { detail }
            | FieldErrorKind::Internal { detail } => (None, detail.clone()),
            FieldErrorKind::TooLong { max_bytes } => {
                let detail = match max_bytes {
                    n if *n < 0 => "value is too long".to_owned(),
                    1 => "may not be more than 1 byte".to_owned(),
                    n => format!("may not be more than {n} bytes"),
                };
                (None, detail)
            }
            FieldErrorKind::TooMany { actual, max } => {
                let detail = match max {
                    n if *n < 0 => "has too many items".to_owned(),
                    1 => "must have at most 1 item".to_owned(),
                    n => format!("must have at most {n} items"),
                };
                (Some(render_value(actual.map(Value::from).as_ref())), detail)
            }
        };
        let mut s = self.kind.error_type().label().to_owned();
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            s.push_str(": ");
            s.push_str(&v);
        }
        if !detail.is_empty() {
            s.push_str(": ");
            s.push_str(&detail);
        }
        s
    }

    /// The cause as it appears in a `Status`: `{"reason", "message", "field"}`.
    pub fn to_cause(&self) -> StatusCause {
        StatusCause {
            reason: self.kind.cause_type().to_owned(),
            message: self.body(),
            field: self.field.clone(),
        }
    }
}

impl fmt::Display for FieldError {
    /// `field: body`, as Go's `field.Error.Error`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl std::error::Error for FieldError {}

/// Renders a bad value as Go does: numbers and bools bare, strings `%q`-quoted, others as
/// `json.Marshal` writes them. `None` (Go's `omitValue`) renders as the empty string, which the
/// caller leaves out.
fn render_value(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        Some(Value::String(s)) => go_quote(s),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(other) => go_json(other),
    }
}

/// Every error found by one validation run, in the order found (Go's `field.ErrorList`).
pub type ErrorList = Vec<FieldError>;

/// Go's `field.ErrorList.ToAggregate().Error()`: de-duplicated `field: body` messages, joined by
/// `, ` and bracketed when there is more than one.
pub fn aggregate_message(errors: &[FieldError]) -> String {
    let mut seen = HashSet::new();
    let msgs: Vec<String> = errors
        .iter()
        .map(ToString::to_string)
        .filter(|m| seen.insert(m.clone()))
        .collect();
    match msgs.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

fn is_empty_str(s: &str) -> bool {
    s.is_empty()
}

/// `metav1.StatusCause`; the cause type is serialised as `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusCause {
    /// Cause type, e.g. `FieldValueInvalid`.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub reason: String,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub message: String,
    /// Field path.
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub field: String,
}

#[cfg(test)]
mod tests;
