use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::VersionError;

/// An Elasticsearch or OpenSearch version: strict semantic versioning,
/// `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ElasticsearchVersion(semver::Version);

impl ElasticsearchVersion {
    /// Parses a strict semantic version.
    pub fn parse(s: &str) -> Result<Self, VersionError> {
        semver::Version::parse(s)
            .map(Self)
            .map_err(|e| VersionError::Semver(s.to_owned(), e.to_string()))
    }

    /// The parsed semantic version.
    pub fn semver(&self) -> &semver::Version {
        &self.0
    }

    /// The major version.
    pub fn major(&self) -> u64 {
        self.0.major
    }

    /// Whether this is the zero version `0.0.0`, which the original treated as "not set".
    pub fn is_zero(&self) -> bool {
        self.0.major == 0 && self.0.minor == 0 && self.0.patch == 0 && self.0.pre.is_empty()
    }
}

impl From<semver::Version> for ElasticsearchVersion {
    fn from(v: semver::Version) -> Self {
        Self(v)
    }
}

impl fmt::Display for ElasticsearchVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ElasticsearchVersion {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for ElasticsearchVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ElasticsearchVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for ElasticsearchVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "io.jetstack.navigator.ElasticsearchVersion".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A semantic version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], e.g. \"8.15.0\".",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_semver_only() {
        for ok in ["5.6.2", "8.15.0", "2.19.1", "7.0.0-beta1+build.5"] {
            let v: ElasticsearchVersion = serde_json::from_str(&format!("{ok:?}")).unwrap();
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("{ok:?}"));
        }
        for bad in ["5.6", "5", "v5.6.2", "5.6.2.1", "", "5.6.x", "05.6.2"] {
            assert!(ElasticsearchVersion::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            serde_json::from_str::<ElasticsearchVersion>("5.6").is_err(),
            "unquoted"
        );
        assert!(ElasticsearchVersion::parse("0.0.0").unwrap().is_zero());
    }
}
