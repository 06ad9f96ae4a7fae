//! The Cassandra release line a node runs, which decides the configuration the pilot renders.
//!
//! Cassandra 4.1 and 5.0 read the same `cassandra.yaml` key names (4.1 introduced the
//! unit-suffixed names such as `commitlog_sync_period: 10000ms`), but 5.0 knows keys 4.1
//! rejects (`storage_compatibility_mode`), and the two run on different Java versions, so
//! the image's start script reads a different JVM options file (`jvm11-server.options` for
//! 4.1 on Java 11, `jvm17-server.options` for 5.0 on Java 17).

use std::fmt;
use std::str::FromStr;

/// A release line the pilot can render configuration for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Cassandra 4.1.x on Java 11.
    V4_1,
    /// Cassandra 5.0.x on Java 17.
    V5_0,
}

/// Why a version or a library directory names no supported release line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The version is not of a release line the pilot knows.
    #[error("unsupported Cassandra version {0:?}: the pilot knows 4.1.x and 5.0.x")]
    Unsupported(String),
    /// No `cassandra-all-<version>.jar` was found among the given file names.
    #[error("no cassandra-all-<version>.jar in the image's library directory")]
    NoCassandraJar,
}

impl Dialect {
    /// The dialect of a release version such as `5.0.8`, `4.1.10` or `5.0` (major.minor).
    pub fn from_version(version: &str) -> Result<Self, Error> {
        let mut parts = version.trim().split(['.', '-']);
        let major = parts.next().unwrap_or_default();
        let minor = parts.next().unwrap_or_default();
        match (major, minor) {
            ("4", "1") => Ok(Self::V4_1),
            ("5", "0") => Ok(Self::V5_0),
            _ => Err(Error::Unsupported(version.to_owned())),
        }
    }

    /// The release version from the file names of the image's library directory
    /// (`/opt/cassandra/lib`), which holds `cassandra-all-<version>.jar`.
    pub fn version_from_lib_names<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<String, Error> {
        names
            .into_iter()
            .filter_map(|n| n.strip_prefix("cassandra-all-")?.strip_suffix(".jar"))
            .find(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            .map(str::to_owned)
            .ok_or(Error::NoCassandraJar)
    }

    /// Whether the line knows `storage_compatibility_mode` (5.0; 4.1 rejects the key), whose
    /// value the pod template decides ([`crate::compatibility`]).
    pub fn has_storage_compatibility_mode(self) -> bool {
        match self {
            Self::V4_1 => false,
            Self::V5_0 => true,
        }
    }

    /// The JVM options file the image's `bin/cassandra` reads from `CASSANDRA_CONF`.
    pub fn jvm_options_file(self) -> &'static str {
        match self {
            Self::V4_1 => "jvm11-server.options",
            Self::V5_0 => "jvm17-server.options",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V4_1 => "4.1",
            Self::V5_0 => "5.0",
        })
    }
}

impl FromStr for Dialect {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_version(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_map_to_their_release_line() {
        let cases = [
            ("5.0.8", Ok(Dialect::V5_0)),
            ("5.0", Ok(Dialect::V5_0)),
            ("5.0-rc1", Ok(Dialect::V5_0)),
            ("4.1.10", Ok(Dialect::V4_1)),
            (" 4.1 ", Ok(Dialect::V4_1)),
            ("4.0.17", Err(Error::Unsupported("4.0.17".into()))),
            ("3.11.4", Err(Error::Unsupported("3.11.4".into()))),
            ("", Err(Error::Unsupported("".into()))),
        ];
        for (version, want) in cases {
            assert_eq!(Dialect::from_version(version), want, "{version:?}");
        }
    }

    #[test]
    fn version_is_read_from_the_cassandra_all_jar_name() {
        let lib = [
            "jamm-0.4.0.jar",
            "cassandra-all-tests.jar",
            "cassandra-all-5.0.8.jar",
            "guava-32.jar",
        ];
        assert_eq!(Dialect::version_from_lib_names(lib).as_deref(), Ok("5.0.8"));
        assert_eq!(
            Dialect::version_from_lib_names(["jamm-0.4.0.jar"]),
            Err(Error::NoCassandraJar)
        );
    }

    #[test]
    fn only_5_0_has_a_storage_compatibility_mode() {
        assert!(!Dialect::V4_1.has_storage_compatibility_mode());
        assert!(Dialect::V5_0.has_storage_compatibility_mode());
    }

    #[test]
    fn each_line_has_its_jvm_options_file() {
        assert_eq!(Dialect::V4_1.jvm_options_file(), "jvm11-server.options");
        assert_eq!(Dialect::V5_0.jvm_options_file(), "jvm17-server.options");
    }
}
