//! The decisions of navigator-controller, as pure functions.
//!
//! Nothing in this crate performs I/O, reads the clock or keeps state between calls: every
//! function maps its arguments to a result, so the same observations always give the same
//! answer (the controller can crash and restart at any point and recompute the same step).
//! The controller (`crates/navigator-controller`) observes the API, calls in here, and carries
//! out exactly what comes back.
//!
//! - [`cassandra::children`]: the desired child objects of a `CassandraCluster`.
//! - [`cassandra::plan`]: `(cluster, observed children, pilot reports, now) → next action`.
//! - [`cassandra::status`]: the cluster's status from the same observations and the plan.

pub mod cassandra;
pub mod children;
pub mod elasticsearch;
pub mod hash;
pub mod observe;
pub mod plan;
pub mod status;
