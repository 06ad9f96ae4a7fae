//! `ObjectMeta` validation on create and update: [`apimachinery_core::object_meta`], with the
//! name rules of [`apimachinery_core::names`], under the path this crate always had.

pub use apimachinery_core::names::{dns1123_label_errors, dns1123_subdomain_errors};
pub use apimachinery_core::object_meta::*;
