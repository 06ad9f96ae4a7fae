//! `navigator.jetstack.io/v1beta1`: the storage version. It keeps `v1alpha1`'s model and adds
//! what lifecycle operations need: an Elasticsearch `flavor`, Pilot `spec` requests, per-node
//! facts in Pilot `status`, standard conditions with `observedGeneration`, and
//! PodDisruptionBudget settings. See `docs/api.md`.

mod cassandra;
mod common;
mod conversion;
mod defaults;
mod elasticsearch;
mod pilot;

pub use cassandra::*;
pub use common::{
    Condition, ImageSpec, NavigatorSecurityContext, NodePoolStatus, PersistenceConfig,
    PodDisruptionBudgetConfig,
};
pub use defaults::*;
pub use elasticsearch::*;
pub use pilot::*;

/// This version's name.
pub const VERSION: &str = "v1beta1";
