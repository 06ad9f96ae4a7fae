//! Generic Kubernetes API machinery, independent of any API group.
//!
//! ```text
//!   request ──► selector (label/field filters) ──► patch (JSON / merge / strategic) ──► store
//!      │                                                                                 │
//!      └──────────────── status::ApiError ◄── every failure, rendered as metav1 Status ◄─┘
//! ```
//!
//! Each module is pure where it can be and mirrors the behaviour of the Go
//! `k8s.io/apimachinery` / `k8s.io/apiserver` code that clients expect:
//!
//! * [`status`] — typed API errors and their `Status` wire form.
//! * [`selector`] — label and field selectors.
//! * [`patch`] — JSON patch, JSON merge patch and strategic merge patch.
//! * [`store`] — the `Storage` trait (etcd semantics) and its embedded redb implementation.
//! * [`resource_version`] — get/list/watch resourceVersion semantics and their errors.
//! * [`managed_fields`] — field sets and `fieldsV1` for server-side apply (groundwork).
//! * [`object_meta`] — `ObjectMeta` validation on create and update.

pub mod managed_fields;
pub mod object_meta;
pub mod openapi_schema;
pub mod patch;
pub mod registry;
pub mod resource_version;
pub mod selector;
pub mod status;
pub mod store;
