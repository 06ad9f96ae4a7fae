//! `pilot-elasticsearch`: PID 1 of an Elasticsearch or OpenSearch pod. See `--help` and
//! docs/pilot.md.

use clap::{CommandFactory, FromArgMatches, Parser};
use navigator_pilot::RuntimeOptions;
use pilot_elasticsearch::{ElasticsearchAdapter, ElasticsearchOptions};

/// Navigator's Elasticsearch and OpenSearch pilot.
///
/// Runs as the database container's command (PID 1), in the database image. It reads who it
/// is from the downward API (POD_NAME, POD_NAMESPACE, POD_IP, MEMORY_LIMIT), waits for its
/// Pilot, builds a writable home in --config-dir (symlinks to the image's bin/, lib/,
/// modules/; a real plugins/ where --plugin entries are installed with the distribution's
/// plugin tool; a config/ with the image's files and the rendered <flavor>.yml), then starts
/// <home>/bin/<flavor> with <FLAVOR>_HOME, <FLAVOR>_PATH_CONF and the heap in
/// <FLAVOR>_JAVA_OPTS; data in --data-dir (path.data). It serves liveness on :12000 and
/// readiness (joined a cluster with an elected master, HTTP answering) on :12001, reports the
/// node's facts in its Pilot's status, and performs Drained and Decommissioned. On SIGTERM a
/// data node that is coming back (its Pilot requests neither Drained nor Decommissioned)
/// pauses replica allocation (cluster.routing.allocation.enable: primaries) and flushes
/// before its node stops. One pilot per cluster leads (Lease es-<cluster-name>-pilot-leader):
/// it reports cluster health, owns the allocation and voting exclusions, and resumes replica
/// allocation once every node is back (or after --allocation-pause-timeout-seconds).
#[derive(Debug, Parser)]
#[command(name = "pilot-elasticsearch", disable_version_flag = true)]
struct Cli {
    #[command(flatten)]
    elasticsearch: ElasticsearchOptions,
    #[command(flatten)]
    runtime: RuntimeOptions,
}

fn cli() -> Cli {
    let matches = Cli::command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

#[tokio::main]
async fn main() {
    navigator_pilot::init_logging();
    let cli = cli();
    let adapter = ElasticsearchAdapter::new(cli.elasticsearch, cli.runtime.kubeconfig.clone());
    let code = match navigator_pilot::run(adapter, cli.runtime).await {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("pilot-elasticsearch: {e}");
            1
        }
    };
    std::process::exit(code);
}
