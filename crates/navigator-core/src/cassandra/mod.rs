//! CassandraCluster: names, desired children, observations, the planner and status.

pub mod children;
pub mod compatibility;
pub mod names;
pub mod observe;
pub mod plan;
pub mod settings;
pub mod status;
