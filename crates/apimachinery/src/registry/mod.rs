//! Generic REST registries: the verbs of one resource over a [`crate::store::Storage`], with the
//! per-resource policy in a [`Strategy`].
//!
//! * [`strategy`] — what an API group writes per resource.
//! * [`rest`] — the object-safe [`RestResource`] seam the HTTP layer routes to.

pub mod rest;
pub mod strategy;

pub use rest::*;
pub use strategy::*;
