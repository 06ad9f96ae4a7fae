//! The one path between the wire and the hub: decode an object of a served version, apply that
//! version's defaults, convert it to the hub; and convert a hub object to a served version.
//!
//! Decoding is lenient about unknown fields (they are dropped); the API server detects them by
//! comparing its input with the re-encoded object, so that `fieldValidation=Strict|Warn|Ignore`
//! can be honoured.

use std::fmt;

use serde_json::Value;

use crate::field::FieldError;
use crate::internal as hub;
use crate::v1alpha1::{self, ConversionError};
use crate::v1beta1;

/// A kind of the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `CassandraCluster`.
    CassandraCluster,
    /// `ElasticsearchCluster`.
    ElasticsearchCluster,
    /// `Pilot`.
    Pilot,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 3] = [
        Kind::CassandraCluster,
        Kind::ElasticsearchCluster,
        Kind::Pilot,
    ];

    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CassandraCluster => "CassandraCluster",
            Self::ElasticsearchCluster => "ElasticsearchCluster",
            Self::Pilot => "Pilot",
        }
    }

    /// The list kind's name.
    pub fn list_kind(self) -> &'static str {
        match self {
            Self::CassandraCluster => "CassandraClusterList",
            Self::ElasticsearchCluster => "ElasticsearchClusterList",
            Self::Pilot => "PilotList",
        }
    }

    /// Parses a kind name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A served version of the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApiVersion {
    /// `v1alpha1`, the original project's API.
    V1alpha1,
    /// `v1beta1`, the storage version.
    V1beta1,
}

impl ApiVersion {
    /// The version name, e.g. `v1beta1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1alpha1 => v1alpha1::VERSION,
            Self::V1beta1 => v1beta1::VERSION,
        }
    }

    /// The `apiVersion` string, e.g. `navigator.jetstack.io/v1beta1`.
    pub fn api_version(self) -> String {
        format!("{}/{}", crate::GROUP, self.as_str())
    }

    /// Parses a version name (`v1beta1`).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::V1alpha1, Self::V1beta1]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hub object of any kind.
// Objects are built once per request and moved rarely; boxing would burden every match.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum HubObject {
    /// A Cassandra cluster.
    CassandraCluster(hub::CassandraCluster),
    /// An Elasticsearch/OpenSearch cluster.
    ElasticsearchCluster(hub::ElasticsearchCluster),
    /// A pilot.
    Pilot(hub::Pilot),
}

impl HubObject {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Self::CassandraCluster(_) => Kind::CassandraCluster,
            Self::ElasticsearchCluster(_) => Kind::ElasticsearchCluster,
            Self::Pilot(_) => Kind::Pilot,
        }
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        match self {
            Self::CassandraCluster(o) => &o.metadata,
            Self::ElasticsearchCluster(o) => &o.metadata,
            Self::Pilot(o) => &o.metadata,
        }
    }

    /// The object's metadata, mutably.
    pub fn metadata_mut(
        &mut self,
    ) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        match self {
            Self::CassandraCluster(o) => &mut o.metadata,
            Self::ElasticsearchCluster(o) => &mut o.metadata,
            Self::Pilot(o) => &mut o.metadata,
        }
    }
}

/// Why an object could not be decoded or encoded.
#[derive(Debug, thiserror::Error)]
pub enum SchemeError {
    /// The body is not an object of the expected kind and version; the message names the
    /// offending field path.
    #[error("{message}")]
    Decode {
        /// `<json path>: <what is wrong>`.
        message: String,
    },
    /// `v1alpha1` ⇄ hub conversion failed.
    #[error(transparent)]
    Conversion(#[from] ConversionError),
    /// Encoding to JSON failed.
    #[error("cannot encode object: {0}")]
    Encode(#[source] serde_json::Error),
}

impl SchemeError {
    /// The error as field errors for a `422 Invalid` status, when it is about a field.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Conversion(e) => vec![e.to_field_error()],
            Self::Decode { .. } | Self::Encode(_) => Vec::new(),
        }
    }
}

/// Removes `null` members of objects, recursively: like Kubernetes' Go decoder, a field set to
/// `null` is treated as absent.
fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(members) => {
            members.retain(|_, v| !v.is_null());
            members.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn from_value<T: serde::de::DeserializeOwned>(mut value: Value) -> Result<T, SchemeError> {
    strip_nulls(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        };
        SchemeError::Decode { message }
    })
}

fn to_value<T: serde::Serialize>(obj: &T) -> Result<Value, SchemeError> {
    serde_json::to_value(obj).map_err(SchemeError::Encode)
}

/// Decodes `value` as `kind` in `version`, applies that version's defaults and converts it to
/// the hub.
pub fn decode(version: ApiVersion, kind: Kind, value: Value) -> Result<HubObject, SchemeError> {
    decode_with_warnings(version, kind, value).map(|(obj, _)| obj)
}

/// Like [`decode`], also returning warnings about deprecated fields the body used (for the API
/// server's `Warning` headers).
pub fn decode_with_warnings(
    version: ApiVersion,
    kind: Kind,
    value: Value,
) -> Result<(HubObject, Vec<String>), SchemeError> {
    let mut warnings = Vec::new();
    let obj = match (version, kind) {
        (ApiVersion::V1alpha1, Kind::CassandraCluster) => {
            let mut obj: v1alpha1::CassandraCluster = from_value(value)?;
            let pools = obj.spec.node_pools.iter().map(|p| p.persistence.as_ref());
            warnings.extend(persistence_enabled_warnings(pools));
            v1alpha1::default_cassandra_cluster(&mut obj);
            HubObject::CassandraCluster(obj.try_into()?)
        }
        (ApiVersion::V1alpha1, Kind::ElasticsearchCluster) => {
            let mut obj: v1alpha1::ElasticsearchCluster = from_value(value)?;
            let pools = obj.spec.node_pools.iter().map(|p| p.persistence.as_ref());
            warnings.extend(persistence_enabled_warnings(pools));
            v1alpha1::default_elasticsearch_cluster(&mut obj);
            HubObject::ElasticsearchCluster(obj.try_into()?)
        }
        (ApiVersion::V1alpha1, Kind::Pilot) => {
            let mut obj: v1alpha1::Pilot = from_value(value)?;
            v1alpha1::default_pilot(&mut obj);
            HubObject::Pilot(obj.try_into()?)
        }
        (ApiVersion::V1beta1, Kind::CassandraCluster) => {
            let mut obj: v1beta1::CassandraCluster = from_value(value)?;
            v1beta1::default_cassandra_cluster(&mut obj);
            HubObject::CassandraCluster(obj.into())
        }
        (ApiVersion::V1beta1, Kind::ElasticsearchCluster) => {
            let mut obj: v1beta1::ElasticsearchCluster = from_value(value)?;
            v1beta1::default_elasticsearch_cluster(&mut obj);
            HubObject::ElasticsearchCluster(obj.into())
        }
        (ApiVersion::V1beta1, Kind::Pilot) => {
            let mut obj: v1beta1::Pilot = from_value(value)?;
            v1beta1::default_pilot(&mut obj);
            HubObject::Pilot(obj.into())
        }
    };
    Ok((obj, warnings))
}

/// `persistence.enabled` was removed from the original API in 2018 but its quick-start still
/// used it; it is accepted and ignored, with a warning.
fn persistence_enabled_warnings<'a>(
    pools: impl Iterator<Item = Option<&'a v1alpha1::PersistenceConfig>>,
) -> Vec<String> {
    pools
        .enumerate()
        .filter(|(_, p)| p.is_some_and(|p| p.enabled.is_some()))
        .map(|(i, _)| {
            format!(
                "spec.nodePools[{i}].persistence.enabled is deprecated and ignored: persistence is enabled by setting size"
            )
        })
        .collect()
}

/// Converts a hub object to `version` and encodes it as JSON with `apiVersion` and `kind`.
pub fn encode(obj: HubObject, version: ApiVersion) -> Result<Value, SchemeError> {
    match (version, obj) {
        (ApiVersion::V1alpha1, HubObject::CassandraCluster(o)) => {
            to_value(&v1alpha1::CassandraCluster::try_from(o)?)
        }
        (ApiVersion::V1alpha1, HubObject::ElasticsearchCluster(o)) => {
            to_value(&v1alpha1::ElasticsearchCluster::try_from(o)?)
        }
        (ApiVersion::V1alpha1, HubObject::Pilot(o)) => to_value(&v1alpha1::Pilot::try_from(o)?),
        (ApiVersion::V1beta1, HubObject::CassandraCluster(o)) => {
            to_value(&v1beta1::CassandraCluster::from(o))
        }
        (ApiVersion::V1beta1, HubObject::ElasticsearchCluster(o)) => {
            to_value(&v1beta1::ElasticsearchCluster::from(o))
        }
        (ApiVersion::V1beta1, HubObject::Pilot(o)) => to_value(&v1beta1::Pilot::from(o)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decode_reports_the_field_path() {
        let err = decode(
            ApiVersion::V1alpha1,
            Kind::CassandraCluster,
            json!({"spec": {"version": "three"}}),
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("spec.version: invalid Cassandra version \"three\""),
            "{message}"
        );

        let err = decode(
            ApiVersion::V1beta1,
            Kind::ElasticsearchCluster,
            json!({"spec": {"nodePools": [{"name": "a", "replicas": "three"}]}}),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("spec.nodePools[0].replicas: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn deprecated_persistence_enabled_is_accepted_with_a_warning() {
        let (obj, warnings) = decode_with_warnings(
            ApiVersion::V1alpha1,
            Kind::ElasticsearchCluster,
            json!({"spec": {"nodePools": [{"name": "a"}, {"name": "b", "persistence": {"enabled": true, "size": "1Gi"}}]}}),
        )
        .unwrap();
        assert_eq!(
            warnings,
            [
                "spec.nodePools[1].persistence.enabled is deprecated and ignored: persistence is enabled by setting size"
            ]
        );
        let HubObject::ElasticsearchCluster(es) = obj else {
            panic!("kind")
        };
        assert_eq!(
            es.spec.node_pools[1]
                .persistence
                .as_ref()
                .map(|p| p.size.0.as_str()),
            Some("1Gi")
        );
    }

    #[test]
    fn null_means_absent() {
        let obj = decode(
            ApiVersion::V1beta1,
            Kind::CassandraCluster,
            json!({"metadata": {"name": "a", "labels": null},
                   "spec": {"pilotImage": {"tag": null}, "nodePools": [{"name": "p", "replicas": null}]}}),
        )
        .unwrap();
        let HubObject::CassandraCluster(c) = obj else {
            panic!("kind")
        };
        assert_eq!(c.spec.config.pilot_image.tag, "");
        assert_eq!(
            c.spec.node_pools[0].replicas,
            Some(1),
            "defaulted as if absent"
        );
        assert_eq!(c.metadata.labels, None);
    }

    #[test]
    fn a_malformed_conversion_annotation_is_a_field_error() {
        let err = decode(
            ApiVersion::V1alpha1,
            Kind::Pilot,
            json!({"metadata": {"annotations": {"navigator.jetstack.io/v1beta1-fields": "{not json"}}}),
        )
        .unwrap_err();
        let causes = err.field_errors();
        assert_eq!(causes.len(), 1);
        assert_eq!(
            causes[0].field.as_str(),
            "metadata.annotations[navigator.jetstack.io/v1beta1-fields]"
        );
    }

    #[test]
    fn encode_writes_api_version_and_kind() {
        for version in [ApiVersion::V1alpha1, ApiVersion::V1beta1] {
            let obj = decode(version, Kind::Pilot, json!({"metadata": {"name": "p"}})).unwrap();
            let out = encode(obj, version).unwrap();
            assert_eq!(out["apiVersion"], json!(version.api_version()));
            assert_eq!(out["kind"], json!("Pilot"));
            assert_eq!(out["metadata"]["name"], json!("p"));
        }
    }
}
