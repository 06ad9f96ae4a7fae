//! What the controller's command line decides for every ElasticsearchCluster.

use std::time::Duration;

/// Settings of the controller that shape an Elasticsearch cluster's desired children and the
/// planner's gates.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The pilot image when a cluster names none (`spec.pilotImage` empty), e.g.
    /// `navigator-pilot:dev`.
    pub default_pilot_image: String,
    /// The database image repository for the `elasticsearch` flavour when a cluster names no
    /// image; the tag is the cluster's version.
    pub default_elasticsearch_repository: String,
    /// The database image repository for the `opensearch` flavour when a cluster names no
    /// image; the tag is the cluster's version.
    pub default_opensearch_repository: String,
    /// Extra arguments for every pilot's command line (tuning and tests).
    pub pilot_extra_args: Vec<String>,
    /// A pilot report older than this counts as Unknown.
    pub report_freshness: Duration,
    /// The pods' `terminationGracePeriodSeconds` (a clean stop of the node).
    pub termination_grace_period_seconds: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_pilot_image: "navigator-pilot:dev".to_owned(),
            default_elasticsearch_repository: "docker.elastic.co/elasticsearch/elasticsearch"
                .to_owned(),
            default_opensearch_repository: "opensearchproject/opensearch".to_owned(),
            pilot_extra_args: Vec::new(),
            // The pilots heartbeat every 30 s: two missed heartbeats make a report Unknown.
            report_freshness: Duration::from_secs(75),
            termination_grace_period_seconds: 180,
        }
    }
}
