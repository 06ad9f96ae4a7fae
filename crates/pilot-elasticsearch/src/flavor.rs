//! Which database and which major: the configuration dialect.

use std::fmt;
use std::path::{Path, PathBuf};

/// The database an image holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Flavor {
    /// Elasticsearch (6.x to 8.x).
    Elasticsearch,
    /// OpenSearch (1.x to 3.x).
    Opensearch,
}

impl Flavor {
    /// The flavour's name, as the cluster spec and the binaries spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Elasticsearch => "elasticsearch",
            Self::Opensearch => "opensearch",
        }
    }

    /// The image's installation directory by default.
    pub fn default_home(self) -> PathBuf {
        PathBuf::from(format!("/usr/share/{}", self.as_str()))
    }

    /// The main configuration file's name.
    pub fn config_file(self) -> &'static str {
        match self {
            Self::Elasticsearch => "elasticsearch.yml",
            Self::Opensearch => "opensearch.yml",
        }
    }

    /// The environment variables of the launcher: (home, configuration dir, JVM options).
    pub fn env_names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Elasticsearch => ("ES_HOME", "ES_PATH_CONF", "ES_JAVA_OPTS"),
            Self::Opensearch => (
                "OPENSEARCH_HOME",
                "OPENSEARCH_PATH_CONF",
                "OPENSEARCH_JAVA_OPTS",
            ),
        }
    }

    /// The flavour of the installation at `home`: OpenSearch when `bin/opensearch` exists.
    pub fn detect(home_candidates: &[&Path]) -> Option<Self> {
        for home in home_candidates {
            if home.join("bin/opensearch").exists() {
                return Some(Self::Opensearch);
            }
            if home.join("bin/elasticsearch").exists() {
                return Some(Self::Elasticsearch);
            }
        }
        None
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The configuration dialect: flavour, major and minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dialect {
    /// The database.
    pub flavor: Flavor,
    /// Its major version.
    pub major: u64,
    /// Its minor version.
    pub minor: u64,
}

/// A version the pilot cannot configure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DialectError {
    /// Not `X.Y.Z`.
    #[error("{0:?} is not a version X.Y.Z")]
    NotAVersion(String),
    /// A major the pilot does not know.
    #[error("{flavor} {major} is not supported (elasticsearch 6 to 8, opensearch 1 to 3)")]
    Unsupported {
        /// The flavour.
        flavor: Flavor,
        /// The major.
        major: u64,
    },
}

impl Dialect {
    /// The dialect of `flavor` at `version` (`X.Y.Z`).
    pub fn new(flavor: Flavor, version: &str) -> Result<Self, DialectError> {
        let mut parts = version.trim().split('.');
        let mut next = || parts.next().and_then(|p| p.parse::<u64>().ok());
        let (Some(major), Some(minor)) = (next(), next()) else {
            return Err(DialectError::NotAVersion(version.to_owned()));
        };
        let supported = match flavor {
            Flavor::Elasticsearch => (6..=8).contains(&major),
            Flavor::Opensearch => (1..=3).contains(&major),
        };
        if !supported {
            return Err(DialectError::Unsupported { flavor, major });
        }
        Ok(Self {
            flavor,
            major,
            minor,
        })
    }

    /// Elasticsearch 6: Zen discovery, `minimum_master_nodes`, no voting configuration.
    pub fn is_zen(self) -> bool {
        self.flavor == Flavor::Elasticsearch && self.major == 6
    }

    /// `node.roles` exists (Elasticsearch 7.9+, every OpenSearch); else the booleans
    /// `node.master`, `node.data`, `node.ingest`.
    pub fn has_node_roles(self) -> bool {
        match self.flavor {
            Flavor::Elasticsearch => self.major > 7 || (self.major == 7 && self.minor >= 9),
            Flavor::Opensearch => true,
        }
    }

    /// The master role's name: `cluster_manager` on OpenSearch 2+.
    pub fn master_role(self) -> &'static str {
        if self.flavor == Flavor::Opensearch && self.major >= 2 {
            "cluster_manager"
        } else {
            "master"
        }
    }

    /// The setting naming the initial master nodes; `None` on Elasticsearch 6.
    pub fn initial_masters_setting(self) -> Option<&'static str> {
        match (self.flavor, self.major) {
            (Flavor::Elasticsearch, 6) => None,
            (Flavor::Opensearch, m) if m >= 2 => Some("cluster.initial_cluster_manager_nodes"),
            _ => Some("cluster.initial_master_nodes"),
        }
    }

    /// Voting configuration exclusions exist (Elasticsearch 7+, OpenSearch).
    pub fn has_voting_exclusions(self) -> bool {
        !self.is_zen()
    }

    /// Elasticsearch 7.0-7.7 take the excluded node names in the path of
    /// `POST _cluster/voting_config_exclusions/<names>`; later ones and OpenSearch in
    /// `?node_names=`.
    pub fn voting_names_in_path(self) -> bool {
        self.flavor == Flavor::Elasticsearch && self.major == 7 && self.minor < 8
    }
}

/// The version in an image's `lib/<flavor>-<X.Y.Z>.jar`, when there is one.
pub fn version_from_lib(home: &Path, flavor: Flavor) -> Option<String> {
    let prefix = format!("{}-", flavor.as_str());
    let entries = std::fs::read_dir(home.join("lib")).ok()?;
    entries.filter_map(Result::ok).find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        let version = name.strip_prefix(&prefix)?.strip_suffix(".jar")?;
        let first = version.chars().next()?;
        (first.is_ascii_digit() && version.split('.').count() >= 3).then(|| version.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects() {
        use Flavor::*;
        // (flavor, version, zen, node.roles, master role, initial setting)
        let cases = [
            (Elasticsearch, "6.8.23", true, false, "master", None),
            (
                Elasticsearch,
                "7.8.1",
                false,
                false,
                "master",
                Some("cluster.initial_master_nodes"),
            ),
            (
                Elasticsearch,
                "7.10.2",
                false,
                true,
                "master",
                Some("cluster.initial_master_nodes"),
            ),
            (
                Elasticsearch,
                "8.15.0",
                false,
                true,
                "master",
                Some("cluster.initial_master_nodes"),
            ),
            (
                Opensearch,
                "1.3.20",
                false,
                true,
                "master",
                Some("cluster.initial_master_nodes"),
            ),
            (
                Opensearch,
                "2.19.6",
                false,
                true,
                "cluster_manager",
                Some("cluster.initial_cluster_manager_nodes"),
            ),
            (
                Opensearch,
                "3.1.0",
                false,
                true,
                "cluster_manager",
                Some("cluster.initial_cluster_manager_nodes"),
            ),
        ];
        for (flavor, version, zen, roles, master, initial) in cases {
            let d = Dialect::new(flavor, version).expect(version);
            assert_eq!(d.is_zen(), zen, "{version}");
            assert_eq!(d.has_node_roles(), roles, "{version}");
            assert_eq!(d.master_role(), master, "{version}");
            assert_eq!(d.initial_masters_setting(), initial, "{version}");
            assert_eq!(d.has_voting_exclusions(), !zen, "{version}");
        }
    }

    #[test]
    fn unsupported_versions() {
        assert!(matches!(
            Dialect::new(Flavor::Elasticsearch, "5.6.0"),
            Err(DialectError::Unsupported { major: 5, .. })
        ));
        assert!(matches!(
            Dialect::new(Flavor::Opensearch, "4.0.0"),
            Err(DialectError::Unsupported { major: 4, .. })
        ));
        assert!(matches!(
            Dialect::new(Flavor::Opensearch, "two"),
            Err(DialectError::NotAVersion(_))
        ));
    }

    #[test]
    fn version_from_the_image_lib() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("lib")).expect("lib");
        for f in [
            "opensearch-cli-2.19.6.jar",
            "opensearch-2.19.6.jar",
            "lucene-core-9.jar",
        ] {
            std::fs::write(dir.path().join("lib").join(f), "").expect("jar");
        }
        assert_eq!(
            version_from_lib(dir.path(), Flavor::Opensearch).as_deref(),
            Some("2.19.6")
        );
        assert_eq!(version_from_lib(dir.path(), Flavor::Elasticsearch), None);
    }
}
