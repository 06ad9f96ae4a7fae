//! Navigator's Cassandra pilot: the Cassandra adapter of the pilot runtime.
//!
//! - [`config`] renders `cassandra.yaml`, `cassandra-rackdc.properties`, the JVM options and
//!   `logback.xml` for the 4.1 and 5.0 [`dialect`]s; [`seeds`] decides the seeds and
//!   [`conf_dir`] writes the files into the pod's writable configuration directory.
//! - [`jolokia`] talks JMX over HTTP to the agent inside Cassandra's JVM (127.0.0.1 only);
//!   [`facts`] turns its replies into the node's facts, [`replication`] reads keyspace
//!   replication from the database.
//! - [`health`] (readiness, liveness) and [`decommission`] (safety, next step) are the pure
//!   decisions; [`adapter`] is the runtime's `DatabaseAdapter`, the only I/O glue.
//! - [`sstables`] decides when the pilot rewrites the SSTables after a major upgrade
//!   (`upgradesstables`, its own step, under `storage_compatibility_mode: NONE`);
//!   [`data_version`] records the release line the data was last brought to;
//!   [`compatibility`] is the mode the pod template names.
//!
//! # The pod contract
//!
//! The Cassandra container runs `pilot-cassandra` as its command (PID 1) and
//! `pilot-cassandra pre-stop` as its preStop hook. It needs, from the downward API, `POD_NAME`,
//! `POD_NAMESPACE`, `POD_IP` and optionally `MEMORY_LIMIT` (bytes, `limits.memory`); from the
//! pod template `CASSANDRA_CLUSTER_NAME` and `CASSANDRA_SEEDS_SERVICE` (the seeds Service's DNS
//! name), usually `CASSANDRA_DC` and `CASSANDRA_RACK`; everything else has defaults
//! ([`options::CassandraOptions`], `--help`). The data volume is mounted at
//! `/var/lib/cassandra` (`PILOT_DATA_DIR`); the configuration is rendered into
//! `/var/lib/cassandra/conf` (`PILOT_CONFIG_DIR`, handed to Cassandra as `CASSANDRA_CONF`).
//! Ports: 7000 internode and 9042 CQL on the pod IP, the pilot's probes on 12000/12001, and on
//! 127.0.0.1 only Jolokia (8778) and JMX (7199).

pub mod adapter;
pub mod compatibility;
pub mod conf_dir;
pub mod config;
pub mod data_version;
pub mod decommission;
pub mod dialect;
pub mod facts;
pub mod health;
pub mod jolokia;
pub mod mode;
pub mod options;
pub mod replication;
pub mod seeds;
pub mod sstables;
pub mod streams;

pub use adapter::CassandraAdapter;
pub use options::CassandraOptions;
