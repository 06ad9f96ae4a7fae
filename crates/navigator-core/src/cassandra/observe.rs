//! What the controller observed of a CassandraCluster's children: the shared
//! [`crate::observe`] types.

pub use crate::observe::{ChildKind, ChildRef, Observed};
