//! The internal ("hub") types: every served version converts to and from these, and validation,
//! printing and the controller work on them.
//!
//! The hub is a superset of every served version. Fields that users write as enumerations
//! (pull policies, roles, flavours, condition statuses) are kept as strings here, as in
//! Kubernetes' own internal types, so that validation can report a bad value with its field path
//! instead of the decoder failing; typed accessors turn them into enums for consumers.

mod cassandra;
mod common;
mod elasticsearch;
mod pilot;

pub use cassandra::*;
pub use common::*;
pub use elasticsearch::*;
pub use pilot::*;
