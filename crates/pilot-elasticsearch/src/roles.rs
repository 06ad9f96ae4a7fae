//! The node roles a pool may have (the API's spelling) and how each flavour and major spells
//! them in the configuration.

use std::fmt;
use std::str::FromStr;

/// A node role as the cluster spec names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Master-eligible (OpenSearch 2+: cluster manager).
    Master,
    /// Holds data.
    Data,
    /// Runs ingest pipelines.
    Ingest,
}

impl Role {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Master => "master",
            Self::Data => "data",
            Self::Ingest => "ingest",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name no pool may have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (expected master, data or ingest)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "master" => Ok(Self::Master),
            "data" => Ok(Self::Data),
            "ingest" => Ok(Self::Ingest),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

/// Whether a role list reported by the database (`_nodes`) makes the node master-eligible.
pub fn reported_master_eligible(roles: &[String]) -> bool {
    roles
        .iter()
        .any(|r| r == "master" || r == "cluster_manager")
}
