//! The sans-IO metadata core shared by `navigator-api` (the API types and their validation) and
//! `apimachinery` (the generic registry, which re-exports these modules under its old paths).
//!
//! Everything here mirrors Go's `k8s.io/apimachinery` so messages match kube-apiserver's byte
//! for byte, and nothing here does I/O:
//!
//! * [`quote`] — Go's `strconv.Quote` and `json.Marshal` string escaping.
//! * [`field`] — field paths and field errors (Go's `util/validation/field`), one type for every
//!   validator, rendered as `Status` causes.
//! * [`names`] — DNS-1123 labels and subdomains, label keys (qualified names) and label values
//!   (Go's `util/validation`).
//! * [`object_meta`] — `ObjectMeta` validation on create and update (Go's
//!   `api/validation/objectmeta.go`).
//! * [`selector`] — label and field selectors: parsing, validation, rendering, matching.

pub mod field;
pub mod names;
pub mod object_meta;
pub mod quote;
pub mod selector;
