//! Field paths and field errors, in the shape a Kubernetes API server puts into a `Status`'s
//! `details.causes`.
//!
//! A [`FieldError`] renders as a cause `{reason, message, field}` where `reason` is one of
//! Kubernetes' `CauseType` strings (`FieldValueRequired`, `FieldValueInvalid`, …) and `field` is the
//! JSON path (`spec.nodePools[1].replicas`).

use std::fmt;

use serde::Serialize;

/// A JSON field path such as `spec.nodePools[1].name`, built from its root with [`FieldPath::child`]
/// and [`FieldPath::index`].
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

    /// The path of a list element.
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

/// Why a field is wrong. The names and the `reason` strings are Kubernetes' `field.ErrorType`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// The field is required but missing or empty.
    Required,
    /// The value is malformed or out of range.
    Invalid,
    /// The value is not one of a fixed set.
    NotSupported,
    /// The value duplicates another one where values must be unique.
    Duplicate,
    /// The value is well formed but not allowed here (e.g. an immutable field changed).
    Forbidden,
    /// The value is too long.
    TooLong,
    /// The list has too many items.
    TooMany,
}

impl ErrorType {
    /// The `reason` of a `StatusCause`, e.g. `FieldValueRequired`.
    pub fn cause_reason(self) -> &'static str {
        match self {
            Self::Required => "FieldValueRequired",
            Self::Invalid => "FieldValueInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Duplicate => "FieldValueDuplicate",
            Self::Forbidden => "FieldValueForbidden",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
        }
    }

    /// The words Kubernetes puts before the detail in a message, e.g. `Required value`.
    fn phrase(self) -> &'static str {
        match self {
            Self::Required => "Required value",
            Self::Invalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::Duplicate => "Duplicate value",
            Self::Forbidden => "Forbidden",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
        }
    }
}

/// One validation (or conversion) error on one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Where the error is.
    pub path: FieldPath,
    /// What kind of error it is.
    pub kind: ErrorType,
    /// The offending value rendered as JSON, when showing it helps (`Invalid`, `NotSupported`,
    /// `Duplicate`).
    pub value: Option<serde_json::Value>,
    /// A human explanation.
    pub detail: String,
    /// For `NotSupported`: the values that are accepted, in the order to list them.
    pub supported: Vec<String>,
}

impl FieldError {
    fn new(
        path: &FieldPath,
        kind: ErrorType,
        value: Option<serde_json::Value>,
        detail: &str,
    ) -> Self {
        Self {
            path: path.clone(),
            kind,
            value,
            detail: detail.to_owned(),
            supported: Vec::new(),
        }
    }

    /// `Required value: <detail>`.
    pub fn required(path: &FieldPath, detail: &str) -> Self {
        Self::new(path, ErrorType::Required, None, detail)
    }

    /// `Invalid value: <value>: <detail>`.
    pub fn invalid(path: &FieldPath, value: impl Serialize, detail: &str) -> Self {
        Self::new(
            path,
            ErrorType::Invalid,
            serde_json::to_value(value).ok(),
            detail,
        )
    }

    /// `Unsupported value: <value>: supported values: "a", "b"`.
    pub fn not_supported(path: &FieldPath, value: impl Serialize, supported: &[&str]) -> Self {
        let list = supported
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut err = Self::new(
            path,
            ErrorType::NotSupported,
            serde_json::to_value(value).ok(),
            &format!("supported values: {list}"),
        );
        err.supported = supported.iter().map(|s| (*s).to_owned()).collect();
        err
    }

    /// `Duplicate value: <value>`.
    pub fn duplicate(path: &FieldPath, value: impl Serialize) -> Self {
        Self::new(
            path,
            ErrorType::Duplicate,
            serde_json::to_value(value).ok(),
            "",
        )
    }

    /// `Forbidden: <detail>`.
    pub fn forbidden(path: &FieldPath, detail: &str) -> Self {
        Self::new(path, ErrorType::Forbidden, None, detail)
    }

    /// `Too long: may not be more than <max> bytes`.
    pub fn too_long(path: &FieldPath, max: usize) -> Self {
        Self::new(
            path,
            ErrorType::TooLong,
            None,
            &format!("may not be more than {max} bytes"),
        )
    }

    /// The message of the `StatusCause`, without the field path, as Kubernetes renders it.
    pub fn cause_message(&self) -> String {
        let mut out = self.kind.phrase().to_owned();
        if let Some(value) = &self.value {
            out.push_str(": ");
            out.push_str(&render_value(value));
        }
        if !self.detail.is_empty() {
            out.push_str(": ");
            out.push_str(&self.detail);
        }
        out
    }

    /// The cause as it appears in a `Status`: `{"reason", "message", "field"}`.
    pub fn to_cause(&self) -> StatusCause {
        StatusCause {
            reason: self.kind.cause_reason().to_owned(),
            message: self.cause_message(),
            field: self.path.to_string(),
        }
    }
}

/// Renders a value the way Go's `field.Error` does: strings quoted, numbers and booleans bare.
fn render_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.cause_message())
    }
}

impl std::error::Error for FieldError {}

/// A `StatusCause` of a Kubernetes `Status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusCause {
    /// The cause type, e.g. `FieldValueInvalid`.
    pub reason: String,
    /// The human message.
    pub message: String,
    /// The JSON field path.
    pub field: String,
}

/// Every error found by one validation run, in the order found.
pub type ErrorList = Vec<FieldError>;

/// Joins errors into the message Kubernetes puts in an `Invalid` status:
/// `[spec.a: Required value, spec.b: Invalid value: …]` (no brackets for a single error).
pub fn aggregate_message(errors: &[FieldError]) -> String {
    match errors {
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_kubernetes() {
        let p = FieldPath::new("spec")
            .child("nodePools")
            .index(2)
            .child("name");
        assert_eq!(p.as_str(), "spec.nodePools[2].name");
        assert_eq!(
            FieldPath::new("metadata")
                .child("labels")
                .key("app")
                .as_str(),
            "metadata.labels[app]"
        );
    }

    #[test]
    fn messages_render_like_kubernetes() {
        let p = FieldPath::new("spec").child("version");
        assert_eq!(
            FieldError::required(&p, "").to_string(),
            "spec.version: Required value"
        );
        assert_eq!(
            FieldError::invalid(&p, -1, "must be greater than or equal to 0").to_cause(),
            StatusCause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: -1: must be greater than or equal to 0".into(),
                field: "spec.version".into(),
            }
        );
        assert_eq!(
            FieldError::not_supported(&p, "x", &["a", "b"]).cause_message(),
            "Unsupported value: \"x\": supported values: \"a\", \"b\""
        );
        assert_eq!(
            FieldError::duplicate(&p, "n").cause_message(),
            "Duplicate value: \"n\""
        );
    }

    #[test]
    fn aggregate_brackets_only_many() {
        let p = FieldPath::new("spec");
        let a = FieldError::required(&p, "");
        assert_eq!(
            aggregate_message(std::slice::from_ref(&a)),
            "spec: Required value"
        );
        assert_eq!(
            aggregate_message(&[a.clone(), a]),
            "[spec: Required value, spec: Required value]"
        );
    }
}
