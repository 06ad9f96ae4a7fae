//! Cassandra 5's `storage_compatibility_mode`, which the pod template sets through
//! `--storage-compatibility-mode` and the pilot renders into `cassandra.yaml` on 5.x only
//! (4.1 rejects the key).
//!
//! A cluster upgraded from 4.1 finishes its upgrade in three steps, each a rolling restart
//! (the controller decides them, `navigator-core`'s planner):
//!
//! 1. `CASSANDRA_4` while any node may still run 4.1: 5.0 writes 4.x's `nb` SSTables and
//!    speaks 4.x messaging, so a rollback to 4.1 is still possible.
//! 2. `UPGRADING` once every node runs 5.0: new formats are enabled as the cluster sees every
//!    node on 5 (new SSTables are written in 5.0's format).
//! 3. `NONE` once every node runs `UPGRADING`: 5.0 without compatibility checks. Only now
//!    does the pilot rewrite the remaining old SSTables (`upgradesstables`, see
//!    [`crate::sstables`]): there is no way back to 4.x from here.
//!
//! A cluster created at 5.0 starts at `NONE`.

use std::fmt;
use std::str::FromStr;

/// A value of `storage_compatibility_mode`, in the order an upgrade goes through them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StorageCompatibility {
    /// `CASSANDRA_4`: 4.x formats and messaging (5.0's own default, and the flag's).
    #[default]
    Cassandra4,
    /// `UPGRADING`: every node runs 5; new formats are enabled as the cluster allows.
    Upgrading,
    /// `NONE`: no compatibility with 4.x.
    None,
}

/// A flag value that names no mode.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown storage compatibility mode {0:?}: expected cassandra-4, upgrading or none")]
pub struct Error(String);

impl StorageCompatibility {
    /// The flag's spelling (`cassandra-4`, `upgrading`, `none`).
    pub fn as_flag(self) -> &'static str {
        match self {
            Self::Cassandra4 => "cassandra-4",
            Self::Upgrading => "upgrading",
            Self::None => "none",
        }
    }

    /// The value in `cassandra.yaml` (`CASSANDRA_4`, `UPGRADING`, `NONE`).
    pub fn yaml_value(self) -> &'static str {
        match self {
            Self::Cassandra4 => "CASSANDRA_4",
            Self::Upgrading => "UPGRADING",
            Self::None => "NONE",
        }
    }
}

impl fmt::Display for StorageCompatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.yaml_value())
    }
}

impl FromStr for StorageCompatibility {
    type Err = Error;

    /// The flag's spelling or the YAML value, any case, `_` or `-`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "cassandra-4" => Ok(Self::Cassandra4),
            "upgrading" => Ok(Self::Upgrading),
            "none" => Ok(Self::None),
            _ => Err(Error(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        use StorageCompatibility as S;
        let cases = [
            ("cassandra-4", Ok(S::Cassandra4)),
            ("CASSANDRA_4", Ok(S::Cassandra4)),
            ("upgrading", Ok(S::Upgrading)),
            ("UPGRADING", Ok(S::Upgrading)),
            (" none ", Ok(S::None)),
            ("NONE", Ok(S::None)),
            ("cassandra-5", Err(Error("cassandra-5".into()))),
            ("", Err(Error("".into()))),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<S>(), want, "{text:?}");
        }
        for m in [S::Cassandra4, S::Upgrading, S::None] {
            assert_eq!(m.as_flag().parse::<S>(), Ok(m));
            assert_eq!(m.yaml_value().parse::<S>(), Ok(m));
        }
        assert_eq!(S::default(), S::Cassandra4);
        assert!(S::Cassandra4 < S::Upgrading && S::Upgrading < S::None);
    }
}
