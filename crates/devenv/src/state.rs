//! `state.json`: what an environment was prepared with (binary directory, addresses, ports), so
//! `up` after `down` reuses the same ports and certificates, and `status`/`down` know what to probe.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::components::{ClusterSettings, Ports};

/// An error reading or writing `state.json`, or choosing ports.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing the file failed.
    #[error("cannot access {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid state.
    #[error("{path} is not a devenv state file")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// No free loopback port could be reserved.
    #[error("cannot reserve a free port on 127.0.0.1")]
    NoFreePort(#[source] std::io::Error),
}

/// The contents of `state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateFile {
    /// Where the upstream binaries are.
    pub bin_dir: PathBuf,
    /// Addresses and ports.
    pub settings: ClusterSettings,
}

impl StateFile {
    /// Reads `path`; `Ok(None)` if it does not exist.
    ///
    /// # Errors
    /// [`StateError`] if it exists but cannot be read or parsed.
    pub fn read(path: &Path) -> Result<Option<Self>, StateError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|source| StateError::Parse {
                        path: path.to_path_buf(),
                        source,
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes `path` atomically.
    ///
    /// # Errors
    /// [`StateError::Io`] if writing fails.
    pub fn write(&self, path: &Path) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let json = serde_json::to_vec_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        crate::pki::write_file(path, &json, false).map_err(io)
    }
}

/// Reserves five distinct free ports on 127.0.0.1 below the ephemeral range (held open
/// together, then released; no client socket can take them before the control plane binds
/// them — see [`test_support::ports`]).
///
/// # Errors
/// [`StateError::NoFreePort`] if too few ports are free.
pub fn free_ports() -> Result<Ports, StateError> {
    let ports = test_support::ports::free_ports(5)
        .map_err(|e| StateError::NoFreePort(std::io::Error::other(e)))?;
    Ok(Ports {
        etcd_client: ports[0],
        etcd_peer: ports[1],
        apiserver: ports[2],
        controller_manager: ports[3],
        scheduler: ports[4],
    })
}

/// The ports of `ports` that something is already listening on (on 127.0.0.1).
#[must_use]
pub fn ports_in_use(ports: &Ports) -> Vec<u16> {
    [
        ports.etcd_client,
        ports.etcd_peer,
        ports.apiserver,
        ports.controller_manager,
        ports.scheduler,
    ]
    .into_iter()
    .filter(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, *p)).is_err())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_missing_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        assert_eq!(StateFile::read(&path).expect("read"), None);
        let s = StateFile {
            bin_dir: "/bin".into(),
            settings: ClusterSettings::with_ports(free_ports().expect("ports")),
        };
        s.write(&path).expect("write");
        assert_eq!(StateFile::read(&path).expect("read"), Some(s));
    }

    #[test]
    fn free_ports_are_distinct_and_free() {
        let p = free_ports().expect("ports");
        let all = [
            p.etcd_client,
            p.etcd_peer,
            p.apiserver,
            p.controller_manager,
            p.scheduler,
        ];
        let unique: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(unique.len(), 5);
        let held = TcpListener::bind((Ipv4Addr::LOCALHOST, p.apiserver)).expect("bind");
        assert_eq!(ports_in_use(&p), vec![p.apiserver]);
        drop(held);
    }
}
