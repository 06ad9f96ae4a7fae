//! Navigator's Cassandra pilot: the Cassandra adapter of the pilot runtime.
//!
//! - [`config`] renders `cassandra.yaml`, `cassandra-rackdc.properties`, the JVM options and
//!   `logback.xml` for the 4.1 and 5.0 [`dialect`]s; [`seeds`] decides the seeds and
//!   [`conf_dir`] writes the files into the pod's writable configuration directory.
//! - [`jolokia`] talks JMX over HTTP to the agent inside Cassandra's JVM (127.0.0.1 only);
//!   [`facts`] turns its replies into the node's facts, [`replication`] reads keyspace
//!   replication from the database.
//! - [`health`] (readiness, liveness) and [`decommission`] (safety, next step) are the pure
//!   decisions.

pub mod adapter;
pub mod conf_dir;
pub mod config;
pub mod decommission;
pub mod dialect;
pub mod facts;
pub mod health;
pub mod jolokia;
pub mod mode;
pub mod options;
pub mod replication;
pub mod seeds;

pub use adapter::CassandraAdapter;
pub use options::CassandraOptions;
