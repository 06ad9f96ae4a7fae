//! Database version types as they appear in the API.
//!
//! * [`CassandraVersion`] keeps the string the user wrote (`"3.11"`, `"5.0.2"`) and compares
//!   semantically, so `"3.9"` equals `"3.9.0"`; this is the original project's behaviour.
//! * [`ElasticsearchVersion`] is strict semantic versioning (`MAJOR.MINOR.PATCH[-pre][+build]`),
//!   used for Elasticsearch and OpenSearch alike.

mod cassandra;
mod elasticsearch;

pub use cassandra::CassandraVersion;
pub use elasticsearch::ElasticsearchVersion;

/// A version string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Not a Cassandra version: one to three numeric components, optional `-pre` and `+build`.
    #[error(
        "invalid Cassandra version {0:?}: expected MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD], e.g. \"5.0.2\""
    )]
    Cassandra(String),
    /// Not a strict semantic version.
    #[error(
        "invalid version {0:?}: expected a semantic version MAJOR.MINOR.PATCH, e.g. \"8.15.0\": {1}"
    )]
    Semver(String, String),
}
