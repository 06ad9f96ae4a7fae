//! What the controller's command line decides for every cluster.

use std::time::Duration;

/// Settings of the controller that shape the desired children and the planner's gates.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The pilot image when a cluster names none (`spec.pilotImage` empty), e.g.
    /// `navigator-pilot:dev`.
    pub default_pilot_image: String,
    /// The database image repository when a cluster names no image (`cassandra`); the tag is
    /// the cluster's version.
    pub default_cassandra_repository: String,
    /// Extra arguments for every pilot's command line (tuning and tests, e.g.
    /// `--ring-delay-ms=5000`).
    pub pilot_extra_args: Vec<String>,
    /// A pilot report older than this counts as Unknown.
    pub report_freshness: Duration,
    /// The pods' `terminationGracePeriodSeconds` (drain plus stop).
    pub termination_grace_period_seconds: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_pilot_image: "navigator-pilot:dev".to_owned(),
            default_cassandra_repository: "cassandra".to_owned(),
            pilot_extra_args: Vec::new(),
            // The pilots heartbeat every 30 s: two missed heartbeats make a report Unknown.
            report_freshness: Duration::from_secs(75),
            termination_grace_period_seconds: 180,
        }
    }
}
