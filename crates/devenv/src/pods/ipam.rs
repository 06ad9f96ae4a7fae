//! A tiny IPAM for the pod network: addresses of `10.244.0.0/16` handed out to pods, persisted
//! in the state directory (`pods/ipam.json`) so a restarted runner — and `devenv down` — know
//! which network namespaces and links are ours.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The bridge's (gateway's, node's) address.
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 1);
/// The pod network's prefix length.
pub const PREFIX_LEN: u8 = 16;
/// The pod network CIDR.
pub const POD_CIDR: &str = "10.244.0.0/16";
/// The first address handed to pods (below it: the gateway and room for host-side services).
const FIRST: u32 = u32::from_be_bytes([10, 244, 0, 10]);
/// The last address handed to pods.
const LAST: u32 = u32::from_be_bytes([10, 244, 255, 254]);

/// An error reading or writing the IPAM file.
#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    /// I/O on the file.
    #[error("cannot access {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Every address is taken.
    #[error("the pod network {POD_CIDR} is full")]
    Exhausted,
}

/// What an address is allocated to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// The pod's UID.
    pub pod_uid: String,
    /// `namespace/name` of the pod (for humans).
    pub pod: String,
    /// The pod's network namespace name.
    pub netns: String,
    /// The host end of the pod's veth pair.
    pub veth: String,
}

/// The persisted allocations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipam {
    /// Address → allocation.
    pub allocations: BTreeMap<Ipv4Addr, Allocation>,
    /// The last address handed out (allocation continues after it, so addresses are not reused
    /// at once).
    #[serde(default)]
    pub last: Option<Ipv4Addr>,
}

impl Ipam {
    /// Reads `path` (empty when missing or unreadable: the runner then starts afresh).
    #[must_use]
    pub fn load(path: &Path) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes `path` atomically.
    ///
    /// # Errors
    /// [`IpamError::Io`].
    pub fn save(&self, path: &Path) -> Result<(), IpamError> {
        let io = |source| IpamError::Io {
            path: path.to_path_buf(),
            source,
        };
        let json = serde_json::to_vec_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        crate::pki::write_file(path, &json, false).map_err(io)
    }

    /// The address of the pod with `uid`, if it has one.
    #[must_use]
    pub fn address_of(&self, uid: &str) -> Option<Ipv4Addr> {
        self.allocations
            .iter()
            .find(|(_, a)| a.pod_uid == uid)
            .map(|(ip, _)| *ip)
    }

    /// Allocates an address for `alloc` (its existing one if it has one). Pure.
    ///
    /// # Errors
    /// [`IpamError::Exhausted`].
    pub fn allocate(&mut self, alloc: Allocation) -> Result<Ipv4Addr, IpamError> {
        if let Some(ip) = self.address_of(&alloc.pod_uid) {
            return Ok(ip);
        }
        let start = self
            .last
            .map_or(FIRST, |l| u32::from(l).saturating_add(1))
            .clamp(FIRST, LAST + 1);
        let candidates = (start..=LAST).chain(FIRST..start);
        for n in candidates {
            let ip = Ipv4Addr::from(n);
            let host = n & 0xff;
            if host == 0 || host == 255 || self.allocations.contains_key(&ip) {
                continue;
            }
            self.allocations.insert(ip, alloc);
            self.last = Some(ip);
            return Ok(ip);
        }
        Err(IpamError::Exhausted)
    }

    /// Releases the address of the pod with `uid`. Pure.
    pub fn release(&mut self, uid: &str) -> Option<Allocation> {
        let ip = self.address_of(uid)?;
        self.allocations.remove(&ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(uid: &str) -> Allocation {
        Allocation {
            pod_uid: uid.into(),
            pod: format!("ns/{uid}"),
            netns: format!("nav-{uid}"),
            veth: format!("navv{uid}"),
        }
    }

    #[test]
    fn allocates_in_order_without_immediate_reuse_and_is_idempotent() {
        let mut m = Ipam::default();
        let x = m.allocate(a("x")).expect("x");
        assert_eq!(x, Ipv4Addr::new(10, 244, 0, 10));
        assert_eq!(m.allocate(a("x")).expect("again"), x);
        let y = m.allocate(a("y")).expect("y");
        assert_eq!(y, Ipv4Addr::new(10, 244, 0, 11));
        assert_eq!(m.release("x").map(|al| al.pod_uid), Some("x".into()));
        assert_eq!(m.address_of("x"), None);
        assert_eq!(
            m.allocate(a("z")).expect("z"),
            Ipv4Addr::new(10, 244, 0, 12)
        );
    }

    #[test]
    fn skips_network_and_broadcast_like_addresses_and_wraps() {
        let mut m = Ipam {
            last: Some(Ipv4Addr::new(10, 244, 0, 254)),
            ..Ipam::default()
        };
        assert_eq!(m.allocate(a("p")).expect("p"), Ipv4Addr::new(10, 244, 1, 1));
        m.last = Some(Ipv4Addr::new(10, 244, 255, 254));
        assert_eq!(
            m.allocate(a("q")).expect("q"),
            Ipv4Addr::new(10, 244, 0, 10)
        );
    }

    #[test]
    fn round_trips_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("pods/ipam.json");
        assert_eq!(Ipam::load(&p), Ipam::default());
        let mut m = Ipam::default();
        m.allocate(a("x")).expect("x");
        m.save(&p).expect("save");
        assert_eq!(Ipam::load(&p), m);
    }
}
