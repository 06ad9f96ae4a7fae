//! `navigator.jetstack.io/v1alpha1`: the original project's API, field for field, so its
//! manifests apply unchanged. What only `v1beta1` can express is kept, when an object is read as
//! `v1alpha1`, in the annotation [`V1BETA1_FIELDS_ANNOTATION`].

mod cassandra;
mod common;
mod conversion;
mod defaults;
mod elasticsearch;
mod pilot;

pub use cassandra::*;
pub use common::*;
pub use conversion::{ConversionError, V1BETA1_FIELDS_ANNOTATION};
pub use defaults::*;
pub use elasticsearch::*;
pub use pilot::*;

/// This version's name.
pub const VERSION: &str = "v1alpha1";
