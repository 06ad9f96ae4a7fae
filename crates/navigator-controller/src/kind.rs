//! The kinds of cluster the controller runs, and what differs between them: the cluster type,
//! its children's `app` and cluster-name labels, its planner, status and settings. Everything
//! else (caches, admission, execution, events, status writing) is the same for both.

use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use navigator_api::pilot_contract::{
    CASSANDRA_APP_LABEL_VALUE, CASSANDRA_CLUSTER_NAME_LABEL, ELASTICSEARCH_APP_LABEL_VALUE,
    ELASTICSEARCH_CLUSTER_NAME_LABEL,
};
use navigator_api::v1beta1::{
    CassandraCluster, CassandraClusterStatus, Condition, ElasticsearchCluster,
    ElasticsearchClusterStatus,
};
use navigator_core::observe::Observed;
use navigator_core::plan::Action;
use navigator_core::{cassandra, elasticsearch};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::strip::Strip;

/// A kind of cluster the controller runs: `CassandraCluster` or `ElasticsearchCluster`.
pub trait ClusterKind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Strip
    + Clone
    + Debug
    + DeserializeOwned
    + Serialize
    + Send
    + Sync
    + 'static
{
    /// The `app` label value on every child (the caches' label selector).
    const APP: &'static str;
    /// The label naming the cluster on every child, pod and Pilot.
    const CLUSTER_LABEL: &'static str;
    /// The status type.
    type Status: Clone + Debug + Default + PartialEq + Serialize + Send + Sync;
    /// The planner's settings.
    type Settings: Clone + Debug + Send + Sync + 'static;

    /// The cluster's current status.
    fn current_status(&self) -> &Self::Status;
    /// The conditions of a status.
    fn conditions(status: &Self::Status) -> &[Condition];
    /// The next action (the kind's pure planner).
    fn plan(&self, observed: &Observed, now: Timestamp, settings: &Self::Settings) -> Action;
    /// The status to write after planning `action`.
    fn desired_status(
        &self,
        observed: &Observed,
        action: &Action,
        now: Timestamp,
        settings: &Self::Settings,
    ) -> Self::Status;
    /// When to plan again although nothing changed (a fresh report going stale).
    fn recheck_after(
        observed: &Observed,
        now: Timestamp,
        settings: &Self::Settings,
    ) -> Option<Duration>;
}

impl ClusterKind for CassandraCluster {
    const APP: &'static str = CASSANDRA_APP_LABEL_VALUE;
    const CLUSTER_LABEL: &'static str = CASSANDRA_CLUSTER_NAME_LABEL;
    type Status = CassandraClusterStatus;
    type Settings = cassandra::settings::Settings;

    fn current_status(&self) -> &Self::Status {
        &self.status
    }
    fn conditions(status: &Self::Status) -> &[Condition] {
        &status.conditions
    }
    fn plan(&self, observed: &Observed, now: Timestamp, settings: &Self::Settings) -> Action {
        cassandra::plan::plan(self, observed, now, settings)
    }
    fn desired_status(
        &self,
        observed: &Observed,
        action: &Action,
        now: Timestamp,
        settings: &Self::Settings,
    ) -> Self::Status {
        cassandra::status::status_with(self, observed, action, now, settings)
    }
    fn recheck_after(
        observed: &Observed,
        now: Timestamp,
        settings: &Self::Settings,
    ) -> Option<Duration> {
        cassandra::plan::recheck_after(observed, now, settings)
    }
}

impl ClusterKind for ElasticsearchCluster {
    const APP: &'static str = ELASTICSEARCH_APP_LABEL_VALUE;
    const CLUSTER_LABEL: &'static str = ELASTICSEARCH_CLUSTER_NAME_LABEL;
    type Status = ElasticsearchClusterStatus;
    type Settings = elasticsearch::settings::Settings;

    fn current_status(&self) -> &Self::Status {
        &self.status
    }
    fn conditions(status: &Self::Status) -> &[Condition] {
        &status.conditions
    }
    fn plan(&self, observed: &Observed, now: Timestamp, settings: &Self::Settings) -> Action {
        elasticsearch::plan::plan(self, observed, now, settings)
    }
    fn desired_status(
        &self,
        observed: &Observed,
        action: &Action,
        now: Timestamp,
        settings: &Self::Settings,
    ) -> Self::Status {
        elasticsearch::status::status(self, observed, action, now, settings)
    }
    fn recheck_after(
        observed: &Observed,
        now: Timestamp,
        settings: &Self::Settings,
    ) -> Option<Duration> {
        elasticsearch::plan::recheck_after(observed, now, settings)
    }
}
