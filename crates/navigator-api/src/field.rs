//! Field paths and field errors, in the shape a Kubernetes API server puts into a `Status`'s
//! `details.causes`: the one type of `apimachinery_core::field` (Go's `util/validation/field`),
//! shared with the generic API machinery so validation errors reach the wire unconverted.
//!
//! A [`FieldError`] renders as a cause `{reason, message, field}` where `reason` is one of
//! Kubernetes' `CauseType` strings (`FieldValueRequired`, `FieldValueInvalid`, …) and `field` is the
//! JSON path (`spec.nodePools[1].replicas`).

pub use apimachinery_core::field::{
    ErrorList, ErrorType, FieldError, FieldErrorKind, FieldPath, StatusCause, aggregate_message,
};
