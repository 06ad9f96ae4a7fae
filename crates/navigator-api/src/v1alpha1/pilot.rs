use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::object::navigator_object;
use crate::version::{CassandraVersion, ElasticsearchVersion};

navigator_object! {
    /// The agent of one database pod (`navigator.jetstack.io/v1alpha1`, the original project's API).
    Pilot {
        version: "v1alpha1",
        plural: "pilots",
        spec: PilotSpec,
        status: PilotStatus,
        description: "Pilot is the agent of one database pod and reports the node's state. A Pilot has the name and namespace of its pod.",
    }
}

/// The v1alpha1 Pilot spec is empty; requests made through v1beta1 are kept in an annotation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.PilotSpec")]
pub struct PilotSpec {}

/// What a pilot reports about its node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.PilotStatus")]
pub struct PilotStatus {
    /// Conditions of the pilot: `Started`, `Ready`, `Stopped`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend(
        "x-kubernetes-list-type" = "map",
        "x-kubernetes-list-map-keys" = ["type"],
        "x-kubernetes-patch-strategy" = "merge",
        "x-kubernetes-patch-merge-key" = "type"
    ))]
    pub conditions: Vec<PilotCondition>,
    /// Facts about an Elasticsearch node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elasticsearch: Option<ElasticsearchPilotStatus>,
    /// Facts about a Cassandra node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cassandra: Option<CassandraPilotStatus>,
}

/// A condition of a pilot. Every field is always serialised, as in the original.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.PilotCondition")]
pub struct PilotCondition {
    /// Type of the condition: `Started`, `Ready` or `Stopped`.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// Status of the condition: `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// When the status last changed.
    #[serde(default)]
    pub last_transition_time: Option<Time>,
    /// A CamelCase reason for the last transition.
    #[serde(default)]
    pub reason: String,
    /// A human-readable explanation of the last transition.
    #[serde(default)]
    pub message: String,
}

/// Facts an Elasticsearch pilot reports about its node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.ElasticsearchPilotStatus")]
pub struct ElasticsearchPilotStatus {
    /// Documents held by the node; unknown when unset, 0 when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<i64>,
    /// The version the node runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<ElasticsearchVersion>,
}

/// Facts a Cassandra pilot reports about its node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "io.jetstack.navigator.v1alpha1.CassandraPilotStatus")]
pub struct CassandraPilotStatus {
    /// The version the node runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<CassandraVersion>,
}
