//! Jolokia, the JMX-over-HTTP agent the image loads into Cassandra's JVM, bound to
//! 127.0.0.1 only: the protocol's requests and responses ([`protocol`]), and a small HTTP
//! client for it ([`client`]).

pub mod client;
pub mod protocol;

pub use client::Client;
pub use protocol::{Reply, Request};

/// The StorageService MBean.
pub const STORAGE_SERVICE: &str = "org.apache.cassandra.db:type=StorageService";
/// The EndpointSnitchInfo MBean (datacenter and rack).
pub const ENDPOINT_SNITCH_INFO: &str = "org.apache.cassandra.db:type=EndpointSnitchInfo";
