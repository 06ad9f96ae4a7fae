//! Cassandra's operation mode (`StorageService.OperationMode`).

use std::fmt;

/// The node's operation mode, as `StorageService` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperationMode {
    /// Starting up, not yet in the ring.
    Starting,
    /// Bootstrapping into the ring.
    Joining,
    /// Bootstrap failed (5.0).
    JoiningFailed,
    /// A member of the ring, serving.
    Normal,
    /// Decommissioning: streaming its ranges away.
    Leaving,
    /// Has left the ring for good.
    Decommissioned,
    /// A decommission failed.
    DecommissionFailed,
    /// Moving its token.
    Moving,
    /// Draining: flushing and stopping to accept writes.
    Draining,
    /// Drained: accepts no writes until restarted.
    Drained,
    /// A mode this pilot does not know.
    Other(String),
}

impl OperationMode {
    /// Parses the string `StorageService.OperationMode` returns (case-insensitive).
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_uppercase().as_str() {
            "STARTING" => Self::Starting,
            "JOINING" => Self::Joining,
            "JOINING_FAILED" => Self::JoiningFailed,
            "NORMAL" => Self::Normal,
            "LEAVING" => Self::Leaving,
            "DECOMMISSIONED" => Self::Decommissioned,
            "DECOMMISSION_FAILED" => Self::DecommissionFailed,
            "MOVING" => Self::Moving,
            "DRAINING" => Self::Draining,
            "DRAINED" => Self::Drained,
            _ => Self::Other(s.trim().to_owned()),
        }
    }

    /// The mode as Cassandra spells it (what the Pilot status shows).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Starting => "STARTING",
            Self::Joining => "JOINING",
            Self::JoiningFailed => "JOINING_FAILED",
            Self::Normal => "NORMAL",
            Self::Leaving => "LEAVING",
            Self::Decommissioned => "DECOMMISSIONED",
            Self::DecommissionFailed => "DECOMMISSION_FAILED",
            Self::Moving => "MOVING",
            Self::Draining => "DRAINING",
            Self::Drained => "DRAINED",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for OperationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip() {
        for s in [
            "STARTING",
            "JOINING",
            "JOINING_FAILED",
            "NORMAL",
            "LEAVING",
            "DECOMMISSIONED",
            "DECOMMISSION_FAILED",
            "MOVING",
            "DRAINING",
            "DRAINED",
            "CLIENT",
        ] {
            assert_eq!(OperationMode::parse(s).as_str(), s);
        }
        assert_eq!(OperationMode::parse("normal"), OperationMode::Normal);
        assert_eq!(
            OperationMode::parse("CLIENT"),
            OperationMode::Other("CLIENT".into())
        );
    }
}
