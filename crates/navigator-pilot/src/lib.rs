//! The generic pilot runtime: the program that runs as PID 1 in every database pod of a
//! Navigator cluster. A database pilot (e.g. `pilot-cassandra`) is a [`DatabaseAdapter`] plus
//! a `main` that hands it to [`run`]; everything that is not database-specific lives here.
//!
//! # What the runtime does
//!
//! 1. **Identity** ([`identity`]): `POD_NAME`, `POD_NAMESPACE`, `POD_IP` and the optional
//!    `MEMORY_LIMIT` from the downward API.
//! 2. **API client** ([`client`]): kube-rs, in-cluster (ServiceAccount token, the `kubernetes`
//!    Service) or a kubeconfig; it watches only its own Pilot (`metadata.name=<pod>` in its
//!    namespace) and waits until that Pilot exists.
//! 3. **Data marker** ([`marker`]): `<data_dir>/.navigator-pilot.json` records namespace,
//!    cluster, cluster UID (from the Pilot's owner reference) and node. Data of another
//!    cluster or node, or of a decommissioned node, is refused: the database is not started,
//!    the pilot stays up, `Started=False` (reason `StartRefused`) says why, liveness passes and
//!    readiness fails.
//! 4. **Start** ([`supervisor`]): `adapter.prepare` renders configuration into the config
//!    directory and returns a [`StartCommand`]; the runtime starts it as its child (own process
//!    group), forwards SIGINT/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2, reaps every zombie (one reaper
//!    thread in `waitpid(-1)`; a child subreaper when not PID 1) and never restarts the
//!    database.
//! 5. **Observe** (about every second, under a timeout): `adapter.observe` returns an
//!    [`Observation`] (alive, ready, [`NodeFacts`], a reason). Probes ([`probes`]) answer from
//!    the last one — liveness on 12000, readiness on 12001, failing (503 with the reason) when
//!    it is older than `--observation-max-age`; `/metrics` on both ports ([`metrics`]).
//! 6. **Status** ([`status`]): one writer patches the Pilot's `status` subresource (JSON merge
//!    patch of exactly the difference) only when a fact changed, plus a heartbeat every
//!    `--heartbeat-interval`: conditions `Started`, `Ready`, `Stopped` (transition times kept),
//!    the node's facts, `operation`, `observedGeneration`, `lastHeartbeatTime`.
//! 7. **Requested state** ([`operation`]): `spec.requestedState` (unset = `Running`) becomes an
//!    operation in `Pending`; the runtime calls `adapter.perform` after each observation until
//!    it reports `Complete` (which stays until the request changes) or `Failed`, which is
//!    attempted again every `--operation-retry-interval` (15 s) while the request stays; a
//!    re-attempt that fails the same way changes nothing in the status. After
//!    `Decommissioned` is `Complete` the marker says "decommissioned".
//! 8. **Stop**: on SIGTERM, `adapter.shutdown` (e.g. Cassandra `drain`, bounded by
//!    `--shutdown-timeout`), then SIGTERM to the database; the pilot exits with the database's
//!    status (`128 + signal` when killed by a signal, 0 when it died of the pilot's own SIGTERM
//!    after the graceful stop), after a last status write (`Stopped=True`).
//!
//! # The adapter contract
//!
//! See [`DatabaseAdapter`]. Every method may be called again after a failure; `perform` is
//! called repeatedly and must be idempotent and return promptly (start long work and report
//! `InProgress`), including after it reported `Failed` (a retry: it must check again and
//! never repeat harmful work); `observe` should be cheap (about 1 Hz) and keep `detail` stable while nothing
//! changes, since a changed reason is a status write. Adapters must not wait on child
//! processes of their own: the runtime's reaper takes every child's status.
//!
//! # A pilot binary
//!
//! ```no_run
//! use clap::Parser;
//! # use navigator_pilot::*;
//! # struct MyAdapter;
//! # #[async_trait::async_trait]
//! # impl DatabaseAdapter for MyAdapter {
//! #     async fn prepare(&self, _: &PilotContext) -> Result<StartCommand, AdapterError> { todo!() }
//! #     async fn observe(&self, _: &PilotContext) -> Observation { todo!() }
//! #     async fn perform(&self, _: &PilotContext, _: RequestedState, _: &Observation) -> Progress { todo!() }
//! #     async fn shutdown(&self, _: &PilotContext) -> Result<(), AdapterError> { todo!() }
//! # }
//!
//! #[derive(Parser)]
//! struct Args {
//!     #[command(flatten)]
//!     runtime: navigator_pilot::RuntimeOptions,
//! }
//!
//! #[tokio::main]
//! async fn main() {
//!     navigator_pilot::init_logging();
//!     let args = Args::parse();
//!     let code = match navigator_pilot::run(MyAdapter, args.runtime).await {
//!         Ok(code) => code,
//!         Err(e) => {
//!             tracing::error!(error = %e, "pilot failed");
//!             1
//!         }
//!     };
//!     std::process::exit(code);
//! }
//! ```

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
pub use logging::{error_chain, init_logging};
pub use runtime::{RuntimeError, RuntimeOptions, run, run_with};
