use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use semver::{BuildMetadata, Prerelease};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::VersionError;

static CASSANDRA_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern, checked by every test
    Regex::new(
        r"^(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?(?:\.(0|[1-9][0-9]*))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$",
    )
    .unwrap()
});

/// A Cassandra version as written by the user.
///
/// It accepts one to three numeric components with an optional pre-release and build suffix
/// (`"3"`, `"3.11"`, `"3.9-alpha1+dev2"`, `"5.0.2"`), serialises back to exactly the string it
/// was given, and compares semantically: missing components count as zero and build metadata is
/// ignored, so `"3.9" == "3.9.0"`.
#[derive(Clone, Debug)]
pub struct CassandraVersion {
    original: String,
    major: u64,
    minor: u64,
    patch: u64,
    pre: Prerelease,
    build: BuildMetadata,
}

impl CassandraVersion {
    /// Parses a version string.
    pub fn parse(s: &str) -> Result<Self, VersionError> {
        let err = || VersionError::Cassandra(s.to_owned());
        let caps = CASSANDRA_VERSION.captures(s).ok_or_else(err)?;
        let num = |i: usize| -> Result<u64, VersionError> {
            caps.get(i)
                .map_or(Ok(0), |m| m.as_str().parse().map_err(|_| err()))
        };
        let pre = match caps.get(4) {
            Some(m) => Prerelease::new(m.as_str()).map_err(|_| err())?,
            None => Prerelease::EMPTY,
        };
        let build = match caps.get(5) {
            Some(m) => BuildMetadata::new(m.as_str()).map_err(|_| err())?,
            None => BuildMetadata::EMPTY,
        };
        Ok(Self {
            original: s.to_owned(),
            major: num(1)?,
            minor: num(2)?,
            patch: num(3)?,
            pre,
            build,
        })
    }

    /// The string the version was parsed from.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The major version.
    pub fn major(&self) -> u64 {
        self.major
    }

    /// The minor version (0 when not written).
    pub fn minor(&self) -> u64 {
        self.minor
    }

    /// The patch version (0 when not written).
    pub fn patch(&self) -> u64 {
        self.patch
    }

    /// Whether the version has a pre-release suffix.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// The zero-padded semantic version, e.g. `3.9.0` for `"3.9"`.
    pub fn to_semver(&self) -> semver::Version {
        semver::Version {
            major: self.major,
            minor: self.minor,
            patch: self.patch,
            pre: self.pre.clone(),
            build: self.build.clone(),
        }
    }
}

impl PartialEq for CassandraVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for CassandraVersion {}

impl PartialOrd for CassandraVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CassandraVersion {
    /// Semantic order; build metadata does not take part.
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch, &self.pre).cmp(&(
            other.major,
            other.minor,
            other.patch,
            &other.pre,
        ))
    }
}

impl fmt::Display for CassandraVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl FromStr for CassandraVersion {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for CassandraVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.original)
    }
}

impl<'de> Deserialize<'de> for CassandraVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for CassandraVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "io.jetstack.navigator.CassandraVersion".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A Cassandra version: MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD], e.g. \"5.0.2\". Compared semantically; the string is kept as written.",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference table of the original project's `version_test.go`, re-stated.
    #[test]
    fn json_accepts_and_rejects_like_the_original() {
        let cases: &[(&str, Option<&str>)] = &[
            ("3.9.0", None),           // unquoted
            ("\"0.0.x\"", None),       // non-integer
            ("\"X.Y-foo+bar\"", None), // partial invalid with labels
            ("\"X.Y.0-\"", None),      // empty pre-release
            ("\"3\"", Some("3.0.0")),
            ("\"3.9\"", Some("3.9.0")),
            ("\"3.9-alpha1+dev2\"", Some("3.9.0-alpha1+dev2")),
            ("\"3.9.0\"", Some("3.9.0")),
            ("\"3.9.0-beta1+dev1\"", Some("3.9.0-beta1+dev1")),
        ];
        for (json, expected) in cases {
            let parsed = serde_json::from_str::<CassandraVersion>(json);
            match expected {
                None => assert!(parsed.is_err(), "{json} should be rejected"),
                Some(canonical) => {
                    let v = parsed.unwrap_or_else(|e| panic!("{json}: {e}"));
                    assert_eq!(v, CassandraVersion::parse(canonical).unwrap(), "{json}");
                    assert_eq!(
                        serde_json::to_string(&v).unwrap(),
                        *json,
                        "round trip keeps the string"
                    );
                }
            }
        }
    }

    #[test]
    fn compares_semantically() {
        let v = |s| CassandraVersion::parse(s).unwrap();
        assert_eq!(v("3.9"), v("3.9.0"));
        assert_eq!(v("3.9.0+a"), v("3.9.0+b"));
        assert!(v("3.11.4") > v("3.9"));
        assert!(v("4.0-beta1") < v("4.0"));
        assert!(v("5.0") > v("4.1.7"));
        assert_eq!(v("3.9").to_semver().to_string(), "3.9.0");
        assert_eq!(v("3.9").as_str(), "3.9");
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        for s in [
            "", "v3.11", "3.11.1.1", "03.1", "3..1", "3.1-", "3.1+", " 3.1",
        ] {
            assert!(CassandraVersion::parse(s).is_err(), "{s:?}");
        }
    }
}
