//! The `navigator.jetstack.io` API: the kinds `CassandraCluster`, `ElasticsearchCluster` and
//! `Pilot` in two served versions, converting through one internal hub.
//!
//! ```text
//!   v1alpha1 (the original's API) ──┐                ┌── validation (every error, with its path)
//!                                   ├── internal hub ┼── printer columns (Table)
//!   v1beta1 (storage version) ──────┘                └── the controller and pilots
//! ```
//!
//! * [`v1alpha1`] keeps every field of the original Go project, so its manifests apply unchanged;
//!   [`v1beta1`] is the storage version and adds what lifecycle operations need.
//! * [`scheme`] decodes, defaults and converts objects of any served version to the [`internal`]
//!   hub and back; that is the one path the API server uses.
//! * [`validation`] checks hub objects on create and update and returns every error at once.
//! * [`openapi`] generates OpenAPI v2 and v3 documents from the types; [`printer`] gives the
//!   `kubectl get` columns; [`pilot_contract`] holds what the controller and pilots share.

pub mod conditions;
pub mod field;
pub mod internal;
mod object;
pub mod openapi;
pub mod pilot_contract;
pub mod printer;
pub mod quantity;
pub mod resources;
pub mod scheme;
mod serde_helpers;
pub mod v1alpha1;
pub mod v1beta1;
pub mod validation;
pub mod version;

pub use v1alpha1::ConversionError;

/// The API group.
pub const GROUP: &str = "navigator.jetstack.io";
