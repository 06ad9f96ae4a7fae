//! The command line: options, their `--quick` and per-mode defaults.

use std::path::PathBuf;

use clap::Parser;
use navigator_bench::objects::Kind;

/// HTTP version of every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Protocol {
    /// HTTP/1.1: one connection per concurrent client and per watcher.
    Http1,
    /// HTTP/2: the create/get/list/update clients share one connection (as client-go does);
    /// each watcher has its own.
    Http2,
}

/// Benchmark of the navigator API server: create, get, list, update, watch fan-out; throughput,
/// p50/p99 latency and server RSS.
#[derive(Debug, Parser)]
#[command(name = "navigator-bench", version, about)]
pub(crate) struct Args {
    /// The server binary to start (`--standalone` on a temporary data dir and a free port).
    #[arg(long, default_value = "target/release/navigator-apiserver")]
    pub(crate) server_bin: PathBuf,
    /// Benchmark a running server at this URL instead of starting one (needs --kubeconfig or
    /// --ca). Use a namespace with no `bench-*` objects.
    #[arg(long)]
    pub(crate) url: Option<String>,
    /// Kubeconfig of a running server (its current context gives the URL, CA and token).
    #[arg(long)]
    pub(crate) kubeconfig: Option<PathBuf>,
    /// CA certificate (PEM) of a running server.
    #[arg(long)]
    pub(crate) ca: Option<PathBuf>,
    /// Bearer token for a running server.
    #[arg(long)]
    pub(crate) token: Option<String>,
    /// Pid of a running server, to read its RSS from /proc.
    #[arg(long)]
    pub(crate) server_pid: Option<u32>,
    /// HTTP version.
    #[arg(long, value_enum, default_value = "http2")]
    pub(crate) protocol: Protocol,
    /// Kind of the objects written.
    #[arg(long, value_enum, default_value = "pilot")]
    pub(crate) kind: Kind,
    /// Namespace of the objects.
    #[arg(long, default_value = "bench")]
    pub(crate) namespace: String,
    /// Concurrent clients of the create, get and update phases.
    #[arg(long, default_value_t = 16)]
    pub(crate) concurrency: usize,
    /// Objects of the first list size.
    #[arg(long, default_value_t = 1000)]
    pub(crate) small: usize,
    /// Objects of the second list size (0 skips it).
    #[arg(long, default_value_t = 10_000)]
    pub(crate) large: usize,
    /// Gets of random names.
    #[arg(long, default_value_t = 2000)]
    pub(crate) gets: usize,
    /// Read-modify-write updates of random names.
    #[arg(long, default_value_t = 1000)]
    pub(crate) updates: usize,
    /// Repetitions of each list measurement.
    #[arg(long, default_value_t = 10)]
    pub(crate) list_runs: usize,
    /// Page size of the paginated lists.
    #[arg(long, default_value_t = 500)]
    pub(crate) page_size: usize,
    /// Concurrent watchers of each fan-out, comma-separated (0 skips it; default 100, and
    /// 100,1000 with --compare).
    #[arg(long, value_delimiter = ',')]
    pub(crate) watchers: Vec<usize>,
    /// Updates made while they watch (each on a different object).
    #[arg(long, default_value_t = 100)]
    pub(crate) watch_updates: usize,
    /// Timeout of one request, seconds.
    #[arg(long, default_value_t = 30)]
    pub(crate) request_timeout: u64,
    /// How long watchers may take to receive every event after the last update, seconds.
    #[arg(long, default_value_t = 60)]
    pub(crate) watch_timeout: u64,
    /// Bound of the whole run, seconds; the server is killed when it passes.
    #[arg(long, default_value_t = 900)]
    pub(crate) deadline: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Keep the started server's data directory (its path is printed).
    #[arg(long)]
    pub(crate) keep_data: bool,
    /// Side by side in one run: navigator-apiserver on etcd, kube-apiserver serving a CRD of the
    /// same schema on the same etcd, and raw etcd transactions (see --targets).
    #[arg(long)]
    pub(crate) compare: bool,
    /// With --compare: which targets, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "navigator,kube-apiserver,etcd"
    )]
    pub(crate) targets: Vec<TargetKind>,
    /// With --compare: the etcd binary (default: next to --kube-apiserver-bin).
    #[arg(long)]
    pub(crate) etcd_bin: Option<PathBuf>,
    /// With --compare: the kube-apiserver binary (default
    /// `$DEVENV_BIN_DIR/kube-apiserver`, else
    /// `${NAVIGATOR_CACHE:-$HOME/.cache/navigator}/k8s/<pinned version>/kube-apiserver`).
    #[arg(long)]
    pub(crate) kube_apiserver_bin: Option<PathBuf>,
    /// With --compare: run etcd with `--unsafe-no-fsync` (as devenv does) instead of fsyncing.
    #[arg(long)]
    pub(crate) etcd_no_fsync: bool,
    /// Small sizes for a smoke run: 200 and 1000 objects, 200 gets, 100 updates, 3 list runs,
    /// watchers 10 and 50 with 20 updates (explicit options still win).
    #[arg(long)]
    pub(crate) quick: bool,
}

/// A target of `--compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TargetKind {
    /// navigator-apiserver with `--etcd-servers`.
    Navigator,
    /// kube-apiserver serving the kind as a CRD.
    KubeApiserver,
    /// Raw etcd v3 requests.
    Etcd,
}

/// Parses the arguments and applies `--quick` and the mode's default watcher counts to what the
/// command line left at its defaults.
pub(crate) fn parse_args() -> anyhow::Result<Args> {
    use clap::{CommandFactory as _, FromArgMatches as _, parser::ValueSource};
    let matches = Args::command().get_matches();
    let mut args = Args::from_arg_matches(&matches)?;
    let defaulted = |id: &str| matches.value_source(id) != Some(ValueSource::CommandLine);
    if args.quick {
        if defaulted("small") {
            args.small = 200;
        }
        if defaulted("large") {
            args.large = 1000;
        }
        if defaulted("gets") {
            args.gets = 200;
        }
        if defaulted("updates") {
            args.updates = 100;
        }
        if defaulted("list_runs") {
            args.list_runs = 3;
        }
        if defaulted("watch_updates") {
            args.watch_updates = 20;
        }
    }
    if args.watchers.is_empty() {
        args.watchers = match (args.quick, args.compare) {
            (true, _) => vec![10, 50],
            (false, true) => vec![100, 1000],
            (false, false) => vec![100],
        };
    }
    Ok(args)
}
