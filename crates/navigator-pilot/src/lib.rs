//! The generic pilot runtime: the program that runs as PID 1 in every database pod.
//!
//! A database pilot (e.g. `pilot-cassandra`) is a [`DatabaseAdapter`] plus a `main` that calls
//! the runtime. The runtime owns everything that is not database-specific; the overview is
//! completed as the modules land.

pub mod adapter;
pub mod identity;
pub mod marker;
pub mod metrics;
pub mod operation;
pub mod probes;
pub mod status;
pub mod supervisor;

pub use adapter::{
    AdapterError, DatabaseAdapter, Identity, NodeFacts, Observation, PilotContext, Progress,
    RequestedState, StartCommand, UnknownRequestedState,
};
