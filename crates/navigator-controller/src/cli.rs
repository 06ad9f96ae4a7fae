//! The command line: flags (each also read from an environment variable) and the settings they
//! make.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use navigator_core::cassandra::settings::Settings;
use navigator_core::elasticsearch;

/// navigator-controller: runs CassandraClusters and ElasticsearchClusters (Elasticsearch and
/// OpenSearch). It watches each cluster and its children (label-selected
/// `app=cassandracluster` / `app=elasticsearchcluster`), asks the planner for the one next safe step,
/// carries it out, and writes the cluster's status and events. With leader election on, only
/// the holder of the Lease acts; other replicas wait.
#[derive(Clone, Debug, Parser)]
#[command(name = "navigator-controller", version, about, long_about)]
pub struct Cli {
    /// Kubeconfig file; inferred when unset ($KUBECONFIG, ~/.kube/config, then the in-cluster
    /// ServiceAccount).
    #[arg(long, env = "NAVIGATOR_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,

    /// Watch and act in this namespace only; every namespace when unset.
    #[arg(long, env = "NAVIGATOR_NAMESPACE")]
    pub namespace: Option<String>,

    /// Pilot image for clusters that name none (`spec.pilotImage`).
    #[arg(
        long,
        env = "NAVIGATOR_PILOT_IMAGE",
        default_value = "navigator-pilot:dev"
    )]
    pub pilot_image: String,

    /// Cassandra image repository for clusters that name no image; the tag is the cluster's
    /// version.
    #[arg(
        long,
        env = "NAVIGATOR_CASSANDRA_REPOSITORY",
        default_value = "cassandra"
    )]
    pub cassandra_repository: String,

    /// Extra argument for every Cassandra pilot's command line (repeatable), e.g.
    /// `--pilot-arg=--ring-delay-ms=5000`.
    #[arg(
        long = "pilot-arg",
        env = "NAVIGATOR_PILOT_ARGS",
        value_delimiter = ' ',
        allow_hyphen_values = true
    )]
    pub pilot_args: Vec<String>,

    /// Elasticsearch image repository for ElasticsearchClusters of flavour `elasticsearch` that
    /// name no image; the tag is the cluster's version.
    #[arg(
        long,
        env = "NAVIGATOR_ELASTICSEARCH_REPOSITORY",
        default_value = "docker.elastic.co/elasticsearch/elasticsearch"
    )]
    pub elasticsearch_repository: String,

    /// OpenSearch image repository for ElasticsearchClusters of flavour `opensearch` that name
    /// no image; the tag is the cluster's version.
    #[arg(
        long,
        env = "NAVIGATOR_OPENSEARCH_REPOSITORY",
        default_value = "opensearchproject/opensearch"
    )]
    pub opensearch_repository: String,

    /// Extra argument for every Elasticsearch/OpenSearch pilot's command line (repeatable),
    /// e.g. `--elasticsearch-pilot-arg=--leader-interval-ms=1000`.
    #[arg(
        long = "elasticsearch-pilot-arg",
        env = "NAVIGATOR_ELASTICSEARCH_PILOT_ARGS",
        value_delimiter = ' ',
        allow_hyphen_values = true
    )]
    pub elasticsearch_pilot_args: Vec<String>,

    /// A pilot report older than this counts as Unknown (e.g. `75s`, `2m`).
    #[arg(long, env = "NAVIGATOR_REPORT_FRESHNESS", default_value = "75s", value_parser = parse_duration)]
    pub report_freshness: Duration,

    /// The database pods' termination grace period (drain plus stop).
    #[arg(long, env = "NAVIGATOR_TERMINATION_GRACE_PERIOD", default_value = "180s", value_parser = parse_duration)]
    pub termination_grace_period: Duration,

    /// Elect a leader through a Lease so that only one replica acts.
    #[arg(long, env = "NAVIGATOR_LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,

    /// Namespace of the leader election Lease (`navigator-controller`).
    #[arg(
        long,
        env = "NAVIGATOR_LEADER_ELECTION_NAMESPACE",
        default_value = "default"
    )]
    pub leader_election_namespace: String,

    /// Name of the leader election Lease.
    #[arg(
        long,
        env = "NAVIGATOR_LEADER_ELECTION_NAME",
        default_value = "navigator-controller"
    )]
    pub leader_election_name: String,

    /// How long a Lease stays valid without renewal.
    #[arg(long, env = "NAVIGATOR_LEADER_ELECTION_LEASE_DURATION", default_value = "15s", value_parser = parse_duration)]
    pub leader_election_lease_duration: Duration,

    /// How often the leader renews (and a follower retries).
    #[arg(long, env = "NAVIGATOR_LEADER_ELECTION_RENEW_PERIOD", default_value = "5s", value_parser = parse_duration)]
    pub leader_election_renew_period: Duration,

    /// Identity in the Lease; the host name plus a random suffix when unset.
    #[arg(long, env = "NAVIGATOR_LEADER_ELECTION_IDENTITY")]
    pub leader_election_identity: Option<String>,

    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(
        long,
        env = "NAVIGATOR_METRICS_BIND_ADDRESS",
        default_value = "0.0.0.0:8080"
    )]
    pub metrics_bind_address: SocketAddr,

    /// Log format; the level filter comes from `RUST_LOG` (default `info`), e.g.
    /// `RUST_LOG=navigator_controller=debug,kube=info`.
    #[arg(long, env = "NAVIGATOR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written to stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Cli {
    /// The Elasticsearch planner's settings from the flags.
    pub fn elasticsearch_settings(&self) -> elasticsearch::settings::Settings {
        elasticsearch::settings::Settings {
            default_pilot_image: self.pilot_image.clone(),
            default_elasticsearch_repository: self.elasticsearch_repository.clone(),
            default_opensearch_repository: self.opensearch_repository.clone(),
            pilot_extra_args: self.elasticsearch_pilot_args.clone(),
            report_freshness: self.report_freshness,
            termination_grace_period_seconds: i64::try_from(
                self.termination_grace_period.as_secs(),
            )
            .unwrap_or(i64::MAX),
        }
    }

    /// The Cassandra planner's settings from the flags.
    pub fn settings(&self) -> Settings {
        Settings {
            default_pilot_image: self.pilot_image.clone(),
            default_cassandra_repository: self.cassandra_repository.clone(),
            pilot_extra_args: self.pilot_args.clone(),
            report_freshness: self.report_freshness,
            termination_grace_period_seconds: i64::try_from(
                self.termination_grace_period.as_secs(),
            )
            .unwrap_or(i64::MAX),
        }
    }
}

/// A duration such as `75s`, `500ms`, `2m`, `1h`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 75s, 500ms, 2m"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!(
            "{text:?}: unknown unit {unit:?} (use ms, s, m or h)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        for (text, want) in [
            ("75s", Some(Duration::from_secs(75))),
            ("500ms", Some(Duration::from_millis(500))),
            ("2m", Some(Duration::from_secs(120))),
            ("1h", Some(Duration::from_secs(3600))),
            ("30", Some(Duration::from_secs(30))),
            ("s", None),
            ("5d", None),
            ("-1s", None),
        ] {
            assert_eq!(parse_duration(text).ok(), want, "{text}");
        }
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let cli = Cli::try_parse_from(["navigator-controller"]).unwrap();
        let settings = cli.settings();
        assert_eq!(settings, Settings::default());
        assert_eq!(
            cli.elasticsearch_settings(),
            elasticsearch::settings::Settings::default()
        );
        assert!(cli.leader_elect);
        assert_eq!(cli.metrics_bind_address.to_string(), "0.0.0.0:8080");
        assert_eq!(cli.leader_election_lease_duration, Duration::from_secs(15));
        assert_eq!(cli.leader_election_renew_period, Duration::from_secs(5));
    }

    #[test]
    fn pilot_args_repeat_and_leader_election_can_be_disabled() {
        let cli = Cli::try_parse_from([
            "navigator-controller",
            "--pilot-arg=--ring-delay-ms=5000",
            "--pilot-arg",
            "--observe-interval=1s",
            "--leader-elect=false",
            "--report-freshness=10s",
        ])
        .unwrap();
        assert_eq!(
            cli.settings().pilot_extra_args,
            vec!["--ring-delay-ms=5000", "--observe-interval=1s"]
        );
        assert!(!cli.leader_elect);
        assert_eq!(cli.settings().report_freshness, Duration::from_secs(10));
    }
}
