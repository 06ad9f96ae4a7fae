//! `pilot-cassandra`: PID 1 of a Cassandra pod. It renders the node's configuration, starts
//! Cassandra with the Jolokia agent on 127.0.0.1, answers the pod's probes from Cassandra's
//! real state, reports the node's facts in its Pilot's status, and decommissions or drains the
//! node when asked. See `--help`.

use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};
use navigator_pilot::RuntimeOptions;
use pilot_cassandra::jolokia;
use pilot_cassandra::{CassandraAdapter, CassandraOptions};

/// How long pre-stop waits for Jolokia to answer at all before giving up on a frozen JVM.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// Where Cassandra keeps its data in the image (the pod's volume is mounted here).
const DATA_DIR: &str = "/var/lib/cassandra";
/// The rendered configuration's default directory: on the data volume, which is always
/// writable (the image's /etc/cassandra is not); re-rendered at every start.
const CONFIG_DIR: &str = "/var/lib/cassandra/conf";

/// Navigator's Cassandra pilot.
///
/// Runs as the Cassandra container's command (PID 1). It reads who it is from the downward API
/// (POD_NAME, POD_NAMESPACE, POD_IP, MEMORY_LIMIT), waits for its Pilot, renders
/// cassandra.yaml, cassandra-rackdc.properties, the JVM options and logback.xml into
/// --config-dir (CASSANDRA_CONF), starts `<cassandra-home>/bin/cassandra -f` with the Jolokia
/// agent on 127.0.0.1:<jolokia-port>, serves liveness on :12000 and readiness on :12001, and
/// writes the node's facts into the Pilot's status. SIGTERM drains Cassandra, then stops it.
#[derive(Debug, Parser)]
#[command(
    name = "pilot-cassandra",
    version,
    after_help = "The preStop hook is `pilot-cassandra pre-stop` (see `pilot-cassandra pre-stop --help`)."
)]
struct Cli {
    #[command(flatten)]
    cassandra: CassandraOptions,
    #[command(flatten)]
    runtime: RuntimeOptions,
}

/// The preStop hook of the Cassandra container: drains Cassandra through Jolokia (flushes
/// memtables and the commit log, stops accepting writes), so that the SIGTERM that follows
/// stops a drained node. Exits 0 when the node is drained.
#[derive(Debug, Parser)]
#[command(name = "pilot-cassandra pre-stop", version)]
struct PreStop {
    /// Port of the Jolokia agent on 127.0.0.1.
    #[arg(long, env = "CASSANDRA_JOLOKIA_PORT", default_value_t = 8778)]
    jolokia_port: u16,
    /// How long the drain may take, in seconds.
    #[arg(long, env = "CASSANDRA_DRAIN_TIMEOUT_SECONDS", default_value_t = 120)]
    drain_timeout_seconds: u64,
}

fn cli() -> Cli {
    // The runtime's directories get Cassandra's defaults.
    let command = Cli::command()
        .mut_arg("data_dir", |a| a.required(false).default_value(DATA_DIR))
        .mut_arg("config_dir", |a| {
            a.required(false).default_value(CONFIG_DIR)
        });
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

#[tokio::main]
async fn main() {
    navigator_pilot::init_logging();
    let code = if std::env::args().nth(1).as_deref() == Some("pre-stop") {
        let args = PreStop::parse_from(std::env::args().skip(1));
        pre_stop(
            args.jolokia_port,
            Duration::from_secs(args.drain_timeout_seconds),
        )
        .await
    } else {
        let cli = cli();
        match navigator_pilot::run(CassandraAdapter::new(cli.cassandra), cli.runtime).await {
            Ok(code) => code,
            Err(e) => {
                tracing::error!("pilot-cassandra: {e}");
                1
            }
        }
    };
    std::process::exit(code);
}

async fn pre_stop(port: u16, timeout: Duration) -> i32 {
    let client = jolokia::Client::new(([127, 0, 0, 1], port).into());
    match pilot_cassandra::adapter::drain(&client, ANSWER_TIMEOUT, timeout).await {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e}");
            1
        }
    }
}
