//! The generic pilot runtime: the program that runs as PID 1 in every database pod.
//!
//! A database pilot (e.g. `pilot-cassandra`) is a [`DatabaseAdapter`] plus a `main` that calls
//! the runtime. The runtime owns everything that is not database-specific; the overview is
//! completed as the modules land.

pub mod adapter;
pub mod client;
pub mod identity;
pub mod logging;
pub mod marker;
pub mod metrics;
pub mod operation;
pub mod probes;
pub mod runtime;
pub mod status;
pub mod supervisor;

pub use adapter::{
    AdapterError, DatabaseAdapter, Identity, NodeFacts, Observation, PilotContext, Progress,
    RequestedState, StartCommand, UnknownRequestedState,
};
pub use logging::init_logging;
pub use runtime::{RuntimeError, RuntimeOptions, run, run_with};
