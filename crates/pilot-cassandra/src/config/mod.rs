//! The node's configuration files, rendered from what the pod template and the runtime say
//! about the node. Pure: [`render`] turns a [`NodeConfig`] into file contents; writing them
//! into the pod's configuration directory is [`crate::conf_dir`]'s job.

pub mod jvm;
pub mod logback;
pub mod rackdc;
pub mod sizing;
pub mod yaml;

use std::net::IpAddr;

use crate::compatibility::StorageCompatibility;
use crate::dialect::Dialect;
pub use sizing::{Profile, Sizing};

/// Everything the rendered configuration depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// The release line of the image.
    pub dialect: Dialect,
    /// `cluster_name`: the same on every node of the cluster.
    pub cluster_name: String,
    /// Datacenter of the node (GossipingPropertyFileSnitch).
    pub datacenter: String,
    /// Rack of the node (GossipingPropertyFileSnitch).
    pub rack: String,
    /// `num_tokens`.
    pub num_tokens: u16,
    /// The pod's IP: listen, broadcast and broadcast RPC address (CQL listens on every address,
    /// `rpc_address` 0.0.0.0 or `::`, except on a loopback address: see `yaml::rpc_address`).
    pub address: IpAddr,
    /// Seed addresses (see [`crate::seeds`]); never empty.
    pub seeds: Vec<IpAddr>,
    /// Data directory; data, commit log, saved caches, hints and CDC live below it.
    pub data_dir: String,
    /// Internode port.
    pub storage_port: u16,
    /// CQL port.
    pub native_transport_port: u16,
    /// Heap and resource profile.
    pub sizing: Sizing,
    /// A shorter ring delay (`cassandra.ring_delay_ms`) for test clusters; None keeps
    /// Cassandra's 30 s.
    pub ring_delay_ms: Option<u32>,
    /// `storage_compatibility_mode` on 5.0 (not rendered on 4.1).
    pub storage_compatibility: StorageCompatibility,
}

/// One rendered file of the configuration directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigFile {
    /// File name inside the configuration directory.
    pub name: String,
    /// The file's contents.
    pub contents: String,
}

/// Why a configuration cannot be rendered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A name that must not be empty is.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// A datacenter or rack name with characters outside `[A-Za-z0-9._-]`.
    #[error("{what} {value:?} may only contain letters, digits, '.', '_' and '-'")]
    BadName {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: String,
    },
    /// A cluster name with control characters.
    #[error("cluster name {0:?} contains control characters")]
    BadClusterName(String),
    /// The data directory is not an absolute path.
    #[error("data directory {0:?} must be an absolute path")]
    RelativeDataDir(String),
    /// No seeds.
    #[error("at least one seed is needed")]
    NoSeeds,
    /// num_tokens outside what Cassandra accepts.
    #[error("num_tokens must be between 1 and 1536, not {0}")]
    BadNumTokens(u16),
}

/// Renders `cassandra.yaml`, `cassandra-rackdc.properties`, the JVM options file of the
/// dialect and `logback.xml`.
pub fn render(c: &NodeConfig) -> Result<Vec<ConfigFile>, Error> {
    validate(c)?;
    let file = |name: &str, contents: String| ConfigFile {
        name: name.to_owned(),
        contents,
    };
    Ok(vec![
        file("cassandra.yaml", yaml::render(c)),
        file("cassandra-rackdc.properties", rackdc::render(c)),
        file(c.dialect.jvm_options_file(), jvm::render(c)),
        file("logback.xml", logback::render()),
    ])
}

fn validate(c: &NodeConfig) -> Result<(), Error> {
    if c.cluster_name.is_empty() {
        return Err(Error::Empty("cluster name"));
    }
    if c.cluster_name.chars().any(char::is_control) {
        return Err(Error::BadClusterName(c.cluster_name.clone()));
    }
    for (what, value) in [("datacenter", &c.datacenter), ("rack", &c.rack)] {
        if value.is_empty() {
            return Err(Error::Empty(what));
        }
        if !value
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-'))
        {
            return Err(Error::BadName {
                what,
                value: value.clone(),
            });
        }
    }
    if !c.data_dir.starts_with('/') {
        return Err(Error::RelativeDataDir(c.data_dir.clone()));
    }
    if c.seeds.is_empty() {
        return Err(Error::NoSeeds);
    }
    if !(1..=1536).contains(&c.num_tokens) {
        return Err(Error::BadNumTokens(c.num_tokens));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> NodeConfig {
        NodeConfig {
            dialect: Dialect::V5_0,
            cluster_name: "demo".into(),
            datacenter: "dc1".into(),
            rack: "rack1".into(),
            num_tokens: 16,
            address: [10, 0, 0, 5].into(),
            seeds: vec![[10, 0, 0, 5].into()],
            data_dir: "/var/lib/cassandra".into(),
            storage_port: 7000,
            native_transport_port: 9042,
            sizing: Sizing::for_limit(None),
            ring_delay_ms: None,
            storage_compatibility: StorageCompatibility::Cassandra4,
        }
    }

    #[test]
    fn invalid_inputs_are_refused_with_a_reason() {
        type Edit = fn(&mut NodeConfig);
        let cases: [(Edit, Error); 7] = [
            (|c| c.cluster_name.clear(), Error::Empty("cluster name")),
            (
                |c| c.cluster_name = "a\nb".into(),
                Error::BadClusterName("a\nb".into()),
            ),
            (|c| c.datacenter.clear(), Error::Empty("datacenter")),
            (
                |c| c.rack = "rack 1".into(),
                Error::BadName {
                    what: "rack",
                    value: "rack 1".into(),
                },
            ),
            (
                |c| c.data_dir = "data".into(),
                Error::RelativeDataDir("data".into()),
            ),
            (|c| c.seeds.clear(), Error::NoSeeds),
            (|c| c.num_tokens = 0, Error::BadNumTokens(0)),
        ];
        for (edit, want) in cases {
            let mut c = node();
            edit(&mut c);
            assert_eq!(render(&c), Err(want));
        }
    }

    #[test]
    fn the_options_file_is_named_for_the_dialect() {
        let names = |c: &NodeConfig| -> Vec<String> {
            render(c).unwrap().into_iter().map(|f| f.name).collect()
        };
        assert_eq!(
            names(&node()),
            [
                "cassandra.yaml",
                "cassandra-rackdc.properties",
                "jvm17-server.options",
                "logback.xml"
            ]
        );
        let mut old = node();
        old.dialect = Dialect::V4_1;
        assert_eq!(names(&old)[2], "jvm11-server.options");
    }
}
