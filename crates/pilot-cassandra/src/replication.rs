//! Keyspace replication as the database itself reports it.
//!
//! Source: `StorageService.getKeyspaceReplicationInfo(keyspace)` (4.0 and later, what
//! `nodetool describecluster` prints), which returns the strategy's simple class name and
//! its options, e.g. `NetworkTopologyStrategy {dc1=3, dc2=2}` or
//! `SimpleStrategy {replication_factor=1}`. JMX is used rather than reading
//! `system_schema.keyspaces` over CQL because the pilot already talks JMX through Jolokia
//! and needs no CQL driver (and no credentials once authentication is on); the keyspace
//! list comes from `StorageService.NonLocalStrategyKeyspaces`, which leaves out the
//! node-local system keyspaces that never replicate.

use std::collections::BTreeMap;

/// How a keyspace places its replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// `SimpleStrategy`: `rf` replicas around the ring, ignoring datacenters.
    Simple {
        /// Replication factor.
        rf: u32,
    },
    /// `NetworkTopologyStrategy`: replicas per datacenter.
    NetworkTopology {
        /// Replication factor per datacenter.
        per_dc: BTreeMap<String, u32>,
    },
    /// `LocalStrategy`: node-local, never replicated.
    Local,
    /// Any other strategy (`EverywhereStrategy`, custom ones), by class name.
    Other(String),
}

/// The replication of one keyspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyspaceReplication {
    /// Keyspace name.
    pub keyspace: String,
    /// Its strategy.
    pub strategy: Strategy,
}

/// Why a replication description could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// Not `<Class> {k=v, ...}`.
    #[error("keyspace {keyspace:?}: cannot parse replication {info:?}")]
    Malformed {
        /// The keyspace.
        keyspace: String,
        /// What the database returned.
        info: String,
    },
}

impl Strategy {
    /// Replicas the keyspace wants in datacenter `dc` (SimpleStrategy counts in every
    /// datacenter; Local and unknown strategies want none the pilot can check).
    pub fn replicas_in(&self, dc: &str) -> u32 {
        match self {
            Self::Simple { rf } => *rf,
            Self::NetworkTopology { per_dc } => per_dc.get(dc).copied().unwrap_or(0),
            Self::Local | Self::Other(_) => 0,
        }
    }
}

/// Parses what `getKeyspaceReplicationInfo` returned for `keyspace`.
pub fn parse(keyspace: &str, info: &str) -> Result<KeyspaceReplication, Error> {
    let malformed = || Error::Malformed {
        keyspace: keyspace.to_owned(),
        info: info.to_owned(),
    };
    let (class, options) = info.trim().split_once(' ').ok_or_else(malformed)?;
    let options = options
        .trim()
        .strip_prefix('{')
        .and_then(|o| o.strip_suffix('}'))
        .ok_or_else(malformed)?;
    let mut map = BTreeMap::new();
    for pair in options.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(malformed)?;
        map.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    // Transient replication writes "3/1": 3 replicas of which 1 transient; all 3 count.
    let factor = |v: &str| -> Result<u32, Error> {
        v.split('/')
            .next()
            .unwrap_or_default()
            .parse()
            .map_err(|_| malformed())
    };
    let class = class.rsplit('.').next().unwrap_or(class);
    let strategy = match class {
        "SimpleStrategy" => Strategy::Simple {
            rf: factor(map.get("replication_factor").ok_or_else(malformed)?)?,
        },
        "NetworkTopologyStrategy" => Strategy::NetworkTopology {
            per_dc: map
                .iter()
                .filter(|(k, _)| k.as_str() != "class" && k.as_str() != "replication_factor")
                .map(|(k, v)| Ok((k.clone(), factor(v)?)))
                .collect::<Result<_, Error>>()?,
        },
        "LocalStrategy" => Strategy::Local,
        other => Strategy::Other(other.to_owned()),
    };
    Ok(KeyspaceReplication {
        keyspace: keyspace.to_owned(),
        strategy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nts(pairs: &[(&str, u32)]) -> Strategy {
        Strategy::NetworkTopology {
            per_dc: pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        }
    }

    #[test]
    fn replication_info_strings_parse() {
        let cases = [
            (
                "SimpleStrategy {replication_factor=1}",
                Ok(Strategy::Simple { rf: 1 }),
            ),
            ("NetworkTopologyStrategy {dc1=3}", Ok(nts(&[("dc1", 3)]))),
            (
                "NetworkTopologyStrategy {dc1=3, dc2=2}",
                Ok(nts(&[("dc1", 3), ("dc2", 2)])),
            ),
            ("NetworkTopologyStrategy {dc1=3/1}", Ok(nts(&[("dc1", 3)]))),
            ("NetworkTopologyStrategy {}", Ok(nts(&[]))),
            ("LocalStrategy {}", Ok(Strategy::Local)),
            (
                "EverywhereStrategy {}",
                Ok(Strategy::Other("EverywhereStrategy".into())),
            ),
            ("SimpleStrategy", Err(())),
            ("SimpleStrategy {}", Err(())),
            ("NetworkTopologyStrategy {dc1=three}", Err(())),
        ];
        for (info, want) in cases {
            let got = parse("ks", info).map(|r| r.strategy).map_err(|_| ());
            assert_eq!(got, want, "{info}");
        }
    }

    #[test]
    fn replicas_in_a_datacenter() {
        let s = nts(&[("dc1", 3), ("dc2", 2)]);
        assert_eq!(s.replicas_in("dc1"), 3);
        assert_eq!(s.replicas_in("dc3"), 0);
        assert_eq!(Strategy::Simple { rf: 2 }.replicas_in("any"), 2);
        assert_eq!(Strategy::Local.replicas_in("dc1"), 0);
    }
}
