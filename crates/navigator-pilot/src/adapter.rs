//! The contract between the generic runtime and a database: a [`DatabaseAdapter`] renders the
//! database's configuration, says how to start it, observes it, takes steps towards a requested
//! state, and stops it gracefully. Everything else — supervising the process, probes, metrics,
//! the Pilot's status — is the runtime's.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use async_trait::async_trait;
use navigator_api::v1beta1::{CassandraPilotStatus, ElasticsearchPilotStatus, Pilot};

/// Who this pilot is, from the downward API: `POD_NAME`, `POD_NAMESPACE`, `POD_IP`, and
/// `MEMORY_LIMIT` (bytes, from a `resourceFieldRef` on `limits.memory`; optional).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The pod's name, which is also its Pilot's name.
    pub pod_name: String,
    /// The pod's namespace, which is also its Pilot's namespace.
    pub namespace: String,
    /// The pod's IP address.
    pub pod_ip: IpAddr,
    /// The container's memory limit in bytes, when the pod sets one.
    pub memory_limit_bytes: Option<u64>,
}

/// What an adapter needs to prepare and act.
#[derive(Clone, Debug)]
pub struct PilotContext {
    /// Who this pilot is.
    pub identity: Identity,
    /// The pilot's Pilot object as last seen (`None` until it has been read).
    pub pilot: Option<Pilot>,
    /// A writable directory for the database's rendered configuration.
    pub config_dir: PathBuf,
    /// The database's data directory (the pod's volume).
    pub data_dir: PathBuf,
}

/// The database process to start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StartCommand {
    /// The program to run (a path, or a name looked up in `PATH`).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables added to the pilot's own environment.
    pub env: Vec<(String, String)>,
    /// The working directory; the pilot's own when `None`.
    pub current_dir: Option<PathBuf>,
}

/// One real observation of the database.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// The database process answers (liveness).
    pub alive: bool,
    /// The database serves clients (readiness).
    pub ready: bool,
    /// Facts about the node for the Pilot's status.
    pub facts: NodeFacts,
    /// Why the database is not alive or not ready (free text; empty when both hold).
    pub detail: String,
}

impl Observation {
    /// An observation that knows nothing: not alive, not ready, no facts, with `detail` saying why.
    pub fn unknown(detail: impl Into<String>) -> Self {
        Self {
            alive: false,
            ready: false,
            facts: NodeFacts::Unknown,
            detail: detail.into(),
        }
    }
}

/// Facts about the node, per database.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum NodeFacts {
    /// Nothing is known (the database did not answer).
    #[default]
    Unknown,
    /// Facts about a Cassandra node.
    Cassandra(CassandraPilotStatus),
    /// Facts about an Elasticsearch or OpenSearch node.
    Elasticsearch(ElasticsearchPilotStatus),
}

/// The state the controller asks the node to reach (`spec.requestedState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestedState {
    /// Serve as a member of the cluster (the default when unset).
    Running,
    /// Hold no data but stay in the cluster (Elasticsearch).
    Drained,
    /// Leave the cluster for good.
    Decommissioned,
}

impl RequestedState {
    /// The state's name as `spec.requestedState` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "Running",
            Self::Drained => "Drained",
            Self::Decommissioned => "Decommissioned",
        }
    }
}

impl fmt::Display for RequestedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `spec.requestedState` named a state no pilot knows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown requested state {0:?} (expected Running, Drained or Decommissioned)")]
pub struct UnknownRequestedState(pub String);

impl FromStr for RequestedState {
    type Err = UnknownRequestedState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Running" => Ok(Self::Running),
            "Drained" => Ok(Self::Drained),
            "Decommissioned" => Ok(Self::Decommissioned),
            other => Err(UnknownRequestedState(other.to_owned())),
        }
    }
}

/// Where an adapter is with a requested state. The string says what is happening, or why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Not started yet (e.g. waiting for the database to be up).
    Pending(String),
    /// Under way.
    InProgress(String),
    /// Reached; the runtime stops calling `perform` until the request changes.
    Complete(String),
    /// Refused or failed; the runtime stops calling `perform` until the request changes.
    Failed(String),
}

impl Progress {
    /// The phase name the Pilot's `status.operation.phase` uses.
    pub fn phase(&self) -> &'static str {
        match self {
            Self::Pending(_) => "Pending",
            Self::InProgress(_) => "InProgress",
            Self::Complete(_) => "Complete",
            Self::Failed(_) => "Failed",
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Self::Pending(m) | Self::InProgress(m) | Self::Complete(m) | Self::Failed(m) => m,
        }
    }

    /// Whether the phase is final for this request (`Complete` or `Failed`).
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Complete(_) | Self::Failed(_))
    }
}

/// What an adapter could not do.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// Rendering or writing the database's configuration failed.
    #[error("configuration: {0}")]
    Config(String),
    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Anything else, with a message saying what.
    #[error("{0}")]
    Other(String),
}

/// A database, as the pilot runtime drives it. Implementations keep their I/O thin and their
/// decisions in pure functions; every method may be called again after a failure.
///
/// The runtime reaps every child process of the pilot (it is PID 1), so an adapter must not
/// spawn helper processes and wait on them; talk to the database over the network instead.
#[async_trait]
pub trait DatabaseAdapter: Send + Sync + 'static {
    /// Renders the configuration into `ctx.config_dir` and says how to start the database.
    async fn prepare(&self, ctx: &PilotContext) -> Result<StartCommand, AdapterError>;

    /// Observes the database. The runtime calls this about every second, under a timeout; a
    /// call that times out counts as "not alive".
    async fn observe(&self, ctx: &PilotContext) -> Observation;

    /// Takes the next step towards `requested` and reports where it is. Called repeatedly (after
    /// each observation) until it returns `Complete` or `Failed`, so it must be idempotent;
    /// after `Failed` it is called again every retry interval while the request stays (a
    /// refusal must be re-checked, and a retry must never repeat harmful work). Returning the
    /// same `Failed` message again changes nothing in the Pilot's status.
    async fn perform(
        &self,
        ctx: &PilotContext,
        requested: RequestedState,
        last: &Observation,
    ) -> Progress;

    /// The graceful stop (SIGTERM, preStop), e.g. Cassandra's `drain`. The runtime bounds it in
    /// time and then sends SIGTERM to the database process.
    async fn shutdown(&self, ctx: &PilotContext) -> Result<(), AdapterError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_state_round_trips_and_refuses_unknown_names() {
        for state in [
            RequestedState::Running,
            RequestedState::Drained,
            RequestedState::Decommissioned,
        ] {
            assert_eq!(state.as_str().parse::<RequestedState>(), Ok(state));
        }
        assert_eq!(
            "running".parse::<RequestedState>(),
            Err(UnknownRequestedState("running".into()))
        );
    }

    #[test]
    fn progress_phases() {
        let cases = [
            (Progress::Pending("a".into()), "Pending", false),
            (Progress::InProgress("b".into()), "InProgress", false),
            (Progress::Complete("c".into()), "Complete", true),
            (Progress::Failed("d".into()), "Failed", true),
        ];
        for (progress, phase, is_final) in cases {
            assert_eq!(progress.phase(), phase);
            assert_eq!(progress.is_final(), is_final);
        }
    }
}
