//! Benchmark of `navigator-controller` as a process against devenv (kube-apiserver with
//! navigator-apiserver aggregated, `test_support::devenv`). A benchmark, not a test: it measures
//! and prints, nothing asserts a figure. One scenario per run:
//!
//! 1. `children`: a CassandraCluster is created → all its children exist (ServiceAccount, Role,
//!    RoleBinding, the nodes/seeds/client Services, PodDisruptionBudget, StatefulSet, the Pilot
//!    of pod 0); with `--kind elasticsearch` an ElasticsearchCluster (OpenSearch, one pool of 3)
//!    → ServiceAccount, Role, RoleBinding, the discovery and client Services, PodDisruptionBudget,
//!    the pool's ConfigMap, StatefulSet and its 3 Pilots. Latency from the create call returning to the last child delivered by a watch;
//!    warm-up clusters first, then `--clusters` one after another.
//! 2. `steady-writes`: `--clusters` clusters whose state does not change; every write in their
//!    namespace (and to the controller's Lease) seen by watches, attributed to its field
//!    manager through `managedFields`, over `--windows` windows of `--steady-seconds`; with the
//!    controller's own `/metrics` and kube-apiserver's `apiserver_request_total` deltas.
//! 3. `rss-1000`: controller VmRSS (sampled every 250 ms from `/proc/<pid>/status`; peak and
//!    settled) while `--clusters` (1,000) clusters get their children, whose pods never run,
//!    and the time until every cluster has all its children.
//! 4. `time-to-ready`: a 3-node cluster created through the controller vs the same manifests
//!    (navigator-core's builders, the controller's settings, owner references removed, the
//!    seeds Service selecting pod 0 by name) applied by hand as one OrderedReady StatefulSet:
//!    create → 3 pods Ready and every Pilot reporting 3 live peers; runs alternate the order.
//! 5. `drain` (`controller_bench/drain.rs`): on one ElasticsearchCluster (OpenSearch 2.19.6, one
//!    master/data/ingest pool of 3) with an index of `--documents` (6 shards, 1 replica), the
//!    time until pod 2 holds no shard copy: replicas 3 → 2 through the controller vs
//!    `cluster.routing.allocation.exclude._ip` set by hand; the cluster green and balanced
//!    before every run, a warm-up of each side, `--runs` pairs in alternating order.
//!
//! Scenarios 1–3 start devenv with `--nodes 0` (no pod runner, no pod network: pods stay
//! Pending), so they need neither the machine's devenv lock nor root's network; they must not
//! hold the lock. `time-to-ready` and `drain` need the pod network: run them under
//! `flock /tmp/devenv.lock`.
//!
//! ```sh
//! cargo build --release -p navigator-controller -p navigator-apiserver -p devenv
//! cargo run --release -p navigator-controller --example controller_bench -- children
//! cargo run --release -p navigator-controller --example controller_bench -- steady-writes
//! cargo run --release -p navigator-controller --example controller_bench -- children --kind elasticsearch
//! cargo run --release -p navigator-controller --example controller_bench -- steady-writes --kind elasticsearch
//! cargo run --release -p navigator-controller --example controller_bench -- rss-1000
//! cargo build --release -p pilot-cassandra && flock /tmp/devenv.lock \
//!   cargo run --release -p navigator-controller --example controller_bench -- time-to-ready
//! cargo build --release -p navigator-controller -p navigator-apiserver -p devenv -p pilot-elasticsearch \
//!   && cargo build --release -p navigator-controller --example controller_bench \
//!   && flock /tmp/devenv.lock \
//!   cargo run --release -p navigator-controller --example controller_bench -- drain
//! ```
//!
//! `test_support::devenv::Env` has no option for `--nodes`; for scenarios 1–3 the bench runs
//! itself again with `$DEVENV` pointing at a two-line wrapper that adds `--nodes=0` to
//! `devenv up` (the harness reads `$DEVENV` for devenv's binary).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::{Parser, ValueEnum};
use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, Event as CoreEvent, PersistentVolumeClaim, Pod, Service, ServiceAccount,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{ListParams, PostParams};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher;
use kube::{Api, Client};
use navigator_api::v1beta1::{CassandraCluster, ElasticsearchCluster, Pilot};
use navigator_core::cassandra::children::{self, DesiredChild};
use navigator_core::cassandra::names;
use serde::de::DeserializeOwned;
use serde_json::json;
use test_support::devenv::{Env, EnvOptions};
use test_support::procfs;

#[path = "controller_bench/drain.rs"]
mod drain;

/// Benchmark of navigator-controller against devenv.
#[derive(Debug, Parser)]
#[command(name = "controller_bench")]
struct Args {
    /// What to measure.
    scenario: Scenario,
    /// The kind of cluster of `children` and `steady-writes` (`rss-1000` and `time-to-ready`
    /// are Cassandra's, `drain` Elasticsearch's).
    #[arg(long, value_enum, default_value_t = BenchKind::Cassandra)]
    kind: BenchKind,
    /// Clusters: measured ones for `children` (default 30), at steady state for
    /// `steady-writes` (default 20), in all for `rss-1000` (default 1000).
    #[arg(long)]
    clusters: Option<usize>,
    /// `children`: unmeasured clusters created first.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// `steady-writes`: length of one counting window, in seconds.
    #[arg(long, default_value_t = 120)]
    steady_seconds: u64,
    /// `steady-writes`: consecutive counting windows.
    #[arg(long, default_value_t = 2)]
    windows: usize,
    /// `steady-writes`, `rss-1000`: wait after the last child appeared, in seconds.
    #[arg(long, default_value_t = 60)]
    settle_seconds: u64,
    /// `rss-1000`: creates in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// `rss-1000`: creates per second at most (0: as fast as `--concurrency` allows).
    #[arg(long, default_value_t = 0.0)]
    create_rate: f64,
    /// `time-to-ready` (default 2), `drain` (default 3): runs per side (controller, by hand),
    /// in alternating order.
    #[arg(long)]
    runs: Option<usize>,
    /// `drain`: documents of ≈1 KB in the index (6 shards, 1 replica).
    #[arg(long, default_value_t = 60_000)]
    documents: u64,
    /// Cassandra version of `time-to-ready` (an image devenv's image map has).
    #[arg(long, default_value = "5.0.8")]
    cassandra_version: String,
    /// An extra flag for the controller (repeatable), e.g. `--controller-arg=--leader-elect=false`.
    #[arg(long = "controller-arg", allow_hyphen_values = true)]
    controller_args: Vec<String>,
    /// The controller binary.
    #[arg(long, default_value = "target/release/navigator-controller")]
    controller_bin: PathBuf,
    /// navigator-apiserver, aggregated by the harness (`$NAVIGATOR_APISERVER`).
    #[arg(long, default_value = "target/release/navigator-apiserver")]
    apiserver_bin: PathBuf,
    /// devenv (`$DEVENV`).
    #[arg(long, default_value = "target/release/devenv")]
    devenv_bin: PathBuf,
}

/// The scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Create → all children, latency per cluster.
    Children,
    /// Writes per minute at steady state.
    SteadyWrites,
    /// Controller RSS with 1,000 clusters whose pods do not run.
    #[value(name = "rss-1000")]
    Rss1000,
    /// 3-node time-to-ready, controller vs hand-written StatefulSet (needs the devenv lock).
    TimeToReady,
    /// One data node's drain, controller scale-in vs an exclusion by hand (needs the devenv
    /// lock).
    Drain,
}

impl Scenario {
    /// Needs pods that run (the pod network, the devenv lock).
    fn needs_pods(self) -> bool {
        matches!(self, Scenario::TimeToReady | Scenario::Drain)
    }
}

/// The kinds of cluster the bench can create.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BenchKind {
    /// A CassandraCluster (5.0.8, one pool of 3).
    Cassandra,
    /// An ElasticsearchCluster (OpenSearch 2.19.6, one master/data/ingest pool of 3).
    Elasticsearch,
}

/// Nodes of every benchmark cluster's pool.
const REPLICAS: i32 = 3;

const NS: &str = "bench";
const POOL: &str = "a";
/// Set in the environment of the re-executed bench.
const CHILD_ENV: &str = "CONTROLLER_BENCH_CHILD";
/// The real devenv binary, for the `--nodes=0` wrapper.
const REAL_DEVENV_ENV: &str = "CONTROLLER_BENCH_REAL_DEVENV";

/// The controller's flags in every scenario (those of the end-to-end test): they also give the
/// settings of `time-to-ready`'s hand-written manifests.
const CONTROLLER_FLAGS: [&str; 4] = [
    "--pilot-image=navigator-pilot:dev",
    "--pilot-arg=--ring-delay-ms=5000",
    "--pilot-arg=--shutdown-timeout=30s",
    "--termination-grace-period=60s",
];

fn main() -> Result<()> {
    let args = Args::parse();
    if std::env::var_os(CHILD_ENV).is_none() {
        return reexec(&args);
    }
    navigator_controller::client::install_crypto_provider();
    let rt = tokio::runtime::Runtime::new()?;
    println!(
        "controller_bench {:?} at {} (commit {}), load {}",
        args.scenario,
        utc_now(),
        git_head(),
        procfs::loadavg()
    );
    if args.kind != BenchKind::Cassandra
        && matches!(args.scenario, Scenario::Rss1000 | Scenario::TimeToReady)
    {
        bail!("{:?} measures CassandraClusters only", args.scenario);
    }
    if args.scenario == Scenario::Drain {
        println!("cluster kind Elasticsearch (OpenSearch 2.19.6)");
    } else {
        println!("cluster kind {:?}", args.kind);
    }
    let controller_bin = absolute(&args.controller_bin)?;
    println!(
        "controller binary {} (modified {})",
        controller_bin.display(),
        modified(&controller_bin)
    );
    if args.scenario == Scenario::TimeToReady {
        // Root, no other pod runner (navbr0), the images; the release pilot the image map binds.
        test_support::devenv::require_prerequisites();
        test_support::devenv::require_release_pilot();
    }
    if args.scenario == Scenario::Drain {
        test_support::devenv::require_prerequisites();
        test_support::devenv::require_release_binary("pilot-elasticsearch");
    }
    let grace = args.scenario.needs_pods().then_some(120);
    let mut options = EnvOptions::new("controller-bench");
    if let Some(g) = grace {
        options = options.grace_cap_seconds(g);
    }
    let t = Instant::now();
    let mut env = Env::up(options);
    env.start_navigator();
    env.k(&["create", "namespace", NS]);
    println!("environment ready in {:.1}s", t.elapsed().as_secs_f64());
    let client = rt.block_on(navigator_controller::client::client(Some(&env.admin())))?;
    let bench = Bench {
        env: &env,
        client,
        args: &args,
        controller_bin,
    };
    let result = rt.block_on(async {
        match args.scenario {
            Scenario::Children => bench.children().await,
            Scenario::SteadyWrites => bench.steady_writes().await,
            Scenario::Rss1000 => bench.rss_1000().await,
            Scenario::TimeToReady => bench.time_to_ready().await,
            Scenario::Drain => bench.drain().await,
        }
    });
    drop(bench);
    rt.shutdown_timeout(Duration::from_secs(5));
    println!("load at the end {}", procfs::loadavg());
    result
}

/// Runs this program again with the harness's binaries in its environment (`$DEVENV`: the
/// `--nodes=0` wrapper unless the scenario runs pods; `$NAVIGATOR_APISERVER`).
fn reexec(args: &Args) -> Result<()> {
    let devenv = absolute(&args.devenv_bin)?;
    let apiserver = absolute(&args.apiserver_bin)?;
    let dir = std::env::temp_dir().join(format!("controller-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let devenv_for_env = if args.scenario.needs_pods() {
        devenv.clone()
    } else {
        let wrapper = dir.join("devenv-nodes-0");
        // `devenv --state-dir <dir> up …` gets `--nodes=0`; every other command is unchanged.
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nif [ \"$3\" = up ]; then exec \"${REAL_DEVENV_ENV}\" \"$@\" --nodes=0; fi\nexec \"${REAL_DEVENV_ENV}\" \"$@\"\n"
            ),
        )?;
        let status = Command::new("chmod").arg("+x").arg(&wrapper).status()?;
        if !status.success() {
            bail!("chmod +x {}", wrapper.display());
        }
        wrapper
    };
    let status = Command::new(std::env::current_exe()?)
        .args(std::env::args_os().skip(1))
        .env(CHILD_ENV, "1")
        .env(REAL_DEVENV_ENV, &devenv)
        .env("DEVENV", devenv_for_env)
        .env("NAVIGATOR_APISERVER", apiserver)
        .status()?;
    let _ = std::fs::remove_dir_all(&dir);
    std::process::exit(status.code().unwrap_or(1));
}

/// An existing file's absolute path, or an error saying how to build it.
fn absolute(p: &Path) -> Result<PathBuf> {
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    };
    if !p.is_file() {
        bail!(
            "{} missing: run `cargo build --release -p navigator-controller -p navigator-apiserver -p devenv` \
             in the workspace root (or pass --controller-bin/--apiserver-bin/--devenv-bin)",
            p.display()
        );
    }
    Ok(p)
}

// ------------------------------------------------------------------------------------------------
// Small helpers

fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M:%S UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn git_head() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn modified(p: &Path) -> String {
    Command::new("date")
        .arg("-u")
        .arg("+%H:%M:%S UTC")
        .arg("-r")
        .arg(p)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn spread(v: &[f64]) -> String {
    let s = sorted(v.to_vec());
    format!(
        "n {} min {:.3} p50 {:.3} p99 {:.3} max {:.3}",
        s.len(),
        pct(&s, 0.0),
        pct(&s, 0.5),
        pct(&s, 0.99),
        pct(&s, 1.0)
    )
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// A sample of a process's memory: the figures of `/proc/<pid>/status` and its open sockets.
#[derive(Clone, Copy, Debug, Default)]
struct Rss {
    mem: procfs::Status,
    /// Open sockets (nearly all of them connections to kube-apiserver).
    sockets: usize,
}

fn rss(pid: u32) -> Option<Rss> {
    Some(Rss {
        mem: procfs::read_status(pid)?,
        sockets: tcp_connections(pid),
    })
}

/// TCP connections a process has open (sockets in `/proc/<pid>/net/tcp*` owned by its fds).
fn tcp_connections(pid: u32) -> usize {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    fds.filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter(|l| l.to_string_lossy().starts_with("socket:"))
        .count()
}

fn show_rss(r: &Rss) -> String {
    format!(
        "VmRSS {:.1} MiB (anon {:.1}, file {:.1}), VmHWM {:.1} MiB, {} threads, {} sockets",
        mib(r.mem.vm_rss),
        mib(r.mem.rss_anon),
        mib(r.mem.rss_file),
        mib(r.mem.vm_hwm),
        r.mem.threads,
        r.sockets
    )
}

/// Samples a process's memory every `every` on a thread until stopped.
struct Sampler {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<(Instant, Rss)>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(pid: u32, every: Duration) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (s, out) = (Arc::clone(&stop), Arc::clone(&samples));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(r) = rss(pid)
                    && let Ok(mut v) = out.lock()
                {
                    v.push((Instant::now(), r));
                }
                std::thread::sleep(every);
            }
        });
        Sampler {
            stop,
            samples,
            thread: Some(thread),
        }
    }

    fn samples(&self) -> Vec<(Instant, Rss)> {
        self.samples.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `GET path` over HTTP/1.0 on 127.0.0.1.
fn http_get(port: u16, path: &str) -> Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// The samples of a Prometheus text exposition, by series (`name{labels}`).
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

/// Non-zero differences `after - before` of the series matching `keep`.
fn deltas(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
    keep: impl Fn(&str) -> bool,
) -> Vec<(String, f64)> {
    after
        .iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, d)| *d != 0.0)
        .collect()
}

/// A label's value in a series such as `x{verb="POST",resource="pods"}`.
fn label<'a>(series: &'a str, name: &str) -> &'a str {
    let pat = format!("{name}=\"");
    series
        .find(&pat)
        .map(|i| &series[i + pat.len()..])
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
}

/// kube-apiserver's write requests (`apiserver_request_total`, verbs POST PUT PATCH DELETE
/// APPLY), summed by `verb group/resource[/subresource]`.
fn apiserver_writes(env: &Env) -> BTreeMap<String, f64> {
    let text = tokio::task::block_in_place(|| env.kubectl(&["get", "--raw", "/metrics"]))
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for (series, v) in parse_metrics(&text) {
        if !series.starts_with("apiserver_request_total{") {
            continue;
        }
        let verb = label(&series, "verb");
        if !matches!(verb, "POST" | "PUT" | "PATCH" | "DELETE" | "APPLY") {
            continue;
        }
        let sub = label(&series, "subresource");
        let key = format!(
            "{verb} {}/{}{}{}",
            label(&series, "group"),
            label(&series, "resource"),
            if sub.is_empty() { "" } else { "/" },
            sub
        );
        *out.entry(key).or_insert(0.0) += v;
    }
    out
}

// ------------------------------------------------------------------------------------------------
// The controller process

/// A navigator-controller process; SIGTERM (then SIGKILL) on drop.
struct Controller {
    child: Child,
    metrics_port: u16,
    log: PathBuf,
}

impl Controller {
    fn start(bin: &Path, env: &Env, extra: &[&str], name: &str) -> Result<Controller> {
        let metrics_port = test_support::ports::free_port()?;
        let log = env.work_dir().join(format!("{name}.log"));
        let file = std::fs::File::create(&log)?;
        let child = Command::new(bin)
            .arg("--kubeconfig")
            .arg(env.admin())
            .args(CONTROLLER_FLAGS)
            .arg(format!("--metrics-bind-address=127.0.0.1:{metrics_port}"))
            .arg("--leader-election-namespace=default")
            .arg(format!("--leader-election-identity={name}"))
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        Ok(Controller {
            child,
            metrics_port,
            log,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn metrics(&self) -> BTreeMap<String, f64> {
        http_get(self.metrics_port, "/metrics")
            .map(|t| parse_metrics(&t))
            .unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        test_support::devenv::tail(&std::fs::read_to_string(&self.log).unwrap_or_default(), 30)
    }

    /// Waits until the process leads (`navigator_controller_leader 1`).
    async fn wait_leading(&mut self) -> Result<Duration> {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!("the controller exited with {status}:\n{}", self.log_tail());
            }
            if self.metrics().get("navigator_controller_leader") == Some(&1.0) {
                return Ok(t.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "the controller did not lead within 60 s:\n{}",
            self.log_tail()
        )
    }

    fn check_running(&mut self) -> Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            bail!("the controller exited with {status}:\n{}", self.log_tail());
        }
        Ok(())
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------------------------------------
// Watches: first sight of every object, and every write with its field manager

/// One write seen by a watch after its initial list.
#[derive(Clone, Debug)]
struct Write {
    at: Instant,
    kind: &'static str,
    name: String,
    verb: &'static str,
    /// The field managers whose `managedFields` entry changed (or that created the object).
    managers: String,
}

#[derive(Default)]
struct Book {
    first_seen: HashMap<(&'static str, String), Instant>,
    /// resourceVersion and managedFields entries (as JSON) of the last version seen.
    last: HashMap<(&'static str, String), (String, Vec<String>)>,
    writes: Vec<Write>,
    synced: usize,
}

type Shared = Arc<Mutex<Book>>;

impl Book {
    fn record<K: kube::Resource>(&mut self, kind: &'static str, o: &K, at: Instant, count: bool) {
        let meta = o.meta();
        let name = format!(
            "{}/{}",
            meta.namespace.as_deref().unwrap_or(""),
            meta.name.as_deref().unwrap_or("")
        );
        let key = (kind, name.clone());
        self.first_seen.entry(key.clone()).or_insert(at);
        let rv = meta.resource_version.clone().unwrap_or_default();
        let fields: Vec<String> = meta
            .managed_fields
            .iter()
            .flatten()
            .map(|f| serde_json::to_string(f).unwrap_or_default())
            .collect();
        let previous = self.last.insert(key, (rv.clone(), fields.clone()));
        if !count {
            return;
        }
        let (verb, old) = match &previous {
            Some((old_rv, _)) if *old_rv == rv => return,
            Some((_, old)) => ("update", old.clone()),
            None => ("create", Vec::new()),
        };
        let mut managers: Vec<String> = meta
            .managed_fields
            .iter()
            .flatten()
            .zip(&fields)
            .filter(|(_, json)| !old.contains(json))
            .map(|(f, _)| {
                format!(
                    "{}{}",
                    f.manager.as_deref().unwrap_or("?"),
                    f.subresource
                        .as_deref()
                        .map(|s| format!("[{s}]"))
                        .unwrap_or_default()
                )
            })
            .collect();
        managers.sort();
        managers.dedup();
        self.writes.push(Write {
            at,
            kind,
            name,
            verb,
            managers: if managers.is_empty() {
                "?".to_owned()
            } else {
                managers.join("+")
            },
        });
    }

    fn delete<K: kube::Resource>(&mut self, kind: &'static str, o: &K, at: Instant) {
        let meta = o.meta();
        let name = format!(
            "{}/{}",
            meta.namespace.as_deref().unwrap_or(""),
            meta.name.as_deref().unwrap_or("")
        );
        self.last.remove(&(kind, name.clone()));
        self.writes.push(Write {
            at,
            kind,
            name,
            verb: "delete",
            managers: "?".to_owned(),
        });
    }
}

fn watch<K>(api: Api<K>, kind: &'static str, book: Shared)
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        let mut synced = false;
        while let Some(event) = stream.next().await {
            let at = Instant::now();
            let Ok(mut b) = book.lock() else { return };
            match event {
                Ok(watcher::Event::Init) => {}
                Ok(watcher::Event::InitApply(o)) => b.record(kind, &o, at, synced),
                Ok(watcher::Event::InitDone) => {
                    if !synced {
                        synced = true;
                        b.synced += 1;
                    }
                }
                Ok(watcher::Event::Apply(o)) => b.record(kind, &o, at, true),
                Ok(watcher::Event::Delete(o)) => b.delete(kind, &o, at),
                Err(e) => eprintln!("watch {kind}: {e}"),
            }
        }
    });
}

/// Watches of every kind the controller writes in namespace `ns`; with `all`, also the pods,
/// claims, Events and the Leases of namespace `default`. Returns once every watch has listed.
async fn start_watches(client: &Client, ns: &str, all: bool) -> Result<Shared> {
    let book: Shared = Arc::default();
    let c = client;
    watch(
        Api::<ServiceAccount>::namespaced(c.clone(), ns),
        "ServiceAccount",
        book.clone(),
    );
    watch(Api::<Role>::namespaced(c.clone(), ns), "Role", book.clone());
    watch(
        Api::<RoleBinding>::namespaced(c.clone(), ns),
        "RoleBinding",
        book.clone(),
    );
    watch(
        Api::<Service>::namespaced(c.clone(), ns),
        "Service",
        book.clone(),
    );
    watch(
        Api::<PodDisruptionBudget>::namespaced(c.clone(), ns),
        "PodDisruptionBudget",
        book.clone(),
    );
    watch(
        Api::<StatefulSet>::namespaced(c.clone(), ns),
        "StatefulSet",
        book.clone(),
    );
    watch(
        Api::<Pilot>::namespaced(c.clone(), ns),
        "Pilot",
        book.clone(),
    );
    watch(
        Api::<ConfigMap>::namespaced(c.clone(), ns),
        "ConfigMap",
        book.clone(),
    );
    let mut kinds = 8;
    if all {
        watch(
            Api::<CassandraCluster>::namespaced(c.clone(), ns),
            "CassandraCluster",
            book.clone(),
        );
        watch(
            Api::<ElasticsearchCluster>::namespaced(c.clone(), ns),
            "ElasticsearchCluster",
            book.clone(),
        );
        watch(Api::<Pod>::namespaced(c.clone(), ns), "Pod", book.clone());
        watch(
            Api::<PersistentVolumeClaim>::namespaced(c.clone(), ns),
            "PersistentVolumeClaim",
            book.clone(),
        );
        watch(
            Api::<CoreEvent>::namespaced(c.clone(), ns),
            "Event",
            book.clone(),
        );
        watch(
            Api::<Lease>::namespaced(c.clone(), "default"),
            "Lease",
            book.clone(),
        );
        kinds += 6;
    }
    let t = Instant::now();
    while book.lock().map(|b| b.synced).unwrap_or(0) < kinds {
        if t.elapsed() > Duration::from_secs(60) {
            bail!("the watches did not list within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(book)
}

/// The children of cluster `c` of `kind` the controller creates first, as (kind,
/// namespace/name).
fn expected_children(kind: BenchKind, c: &str) -> Vec<(&'static str, String)> {
    let n = |name: String| format!("{NS}/{name}");
    if kind == BenchKind::Elasticsearch {
        use navigator_core::elasticsearch::names as es;
        let mut v = vec![
            ("ServiceAccount", n(es::service_account(c))),
            ("Role", n(es::pilot_role(c))),
            ("RoleBinding", n(es::pilot_role(c))),
            ("Service", n(es::discovery_service(c))),
            ("Service", n(es::client_service(c))),
            ("PodDisruptionBudget", n(es::pod_disruption_budget(c))),
            ("ConfigMap", n(es::pool_config(c, POOL))),
            ("StatefulSet", n(es::statefulset(c, POOL))),
        ];
        // Every Pilot of the pool exists before its StatefulSet.
        v.extend((0..REPLICAS).map(|i| ("Pilot", n(es::pod(c, POOL, i)))));
        return v;
    }
    vec![
        ("ServiceAccount", n(names::service_account(c))),
        ("Role", n(names::pilot_role(c))),
        ("RoleBinding", n(names::pilot_role(c))),
        ("Service", n(names::nodes_service(c))),
        ("Service", n(names::seeds_service(c))),
        ("Service", n(names::client_service(c))),
        ("PodDisruptionBudget", n(names::pod_disruption_budget(c))),
        ("StatefulSet", n(names::statefulset(c, POOL))),
        ("Pilot", n(names::pod(c, POOL, 0))),
    ]
}

/// When every child of `c` had been seen: the last sighting and its kind, or `None`.
fn children_done(book: &Shared, kind: BenchKind, c: &str) -> Option<(Instant, Instant, String)> {
    let b = book.lock().ok()?;
    let mut first: Option<Instant> = None;
    let mut last: Option<(Instant, String)> = None;
    for key in expected_children(kind, c) {
        let at = *b.first_seen.get(&key)?;
        first = Some(first.map_or(at, |f| f.min(at)));
        if last.as_ref().is_none_or(|(l, _)| at > *l) {
            last = Some((at, format!("{} {}", key.0, key.1)));
        }
    }
    let (l, what) = last?;
    Some((first?, l, what))
}

/// An ElasticsearchCluster: OpenSearch 2.19.6, one master/data/ingest pool of `replicas`,
/// persistence, resources, the devenv pilot image.
fn es_cluster(name: &str, ns: &str, replicas: i32) -> Result<ElasticsearchCluster> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "navigator.jetstack.io/v1beta1", "kind": "ElasticsearchCluster",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "flavor": "opensearch",
            "version": "2.19.6",
            "pilotImage": {"repository": "navigator-pilot", "tag": "dev"},
            "nodePools": [{
                "name": POOL,
                "replicas": replicas,
                "roles": ["master", "data", "ingest"],
                "persistence": {"size": "1Gi"},
                "resources": {"requests": {"cpu": "100m", "memory": "1Gi"},
                              "limits": {"memory": "1Gi"}}
            }]
        }
    }))?)
}

/// A cluster like `examples/cassandra-cluster.yaml`: one pool of `replicas`, persistence,
/// resources, the devenv pilot image.
fn cluster(name: &str, ns: &str, version: &str, replicas: i32) -> Result<CassandraCluster> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "navigator.jetstack.io/v1beta1", "kind": "CassandraCluster",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "version": version,
            "pilotImage": {"repository": "navigator-pilot", "tag": "dev"},
            "nodePools": [{
                "name": POOL,
                "replicas": replicas,
                "persistence": {"size": "1Gi"},
                "resources": {"requests": {"cpu": "100m", "memory": "1Gi"},
                              "limits": {"memory": "1Gi"}}
            }]
        }
    }))?)
}

// ------------------------------------------------------------------------------------------------
// Scenarios

struct Bench<'a> {
    env: &'a Env,
    client: Client,
    args: &'a Args,
    controller_bin: PathBuf,
}

impl Bench<'_> {
    fn clusters(&self) -> Api<CassandraCluster> {
        Api::namespaced(self.client.clone(), NS)
    }

    /// Creates cluster `name` of the bench's kind (3 nodes).
    async fn create_cluster(&self, name: &str) -> Result<()> {
        match self.args.kind {
            BenchKind::Cassandra => {
                self.clusters()
                    .create(
                        &PostParams::default(),
                        &cluster(name, NS, "5.0.8", REPLICAS)?,
                    )
                    .await?;
            }
            BenchKind::Elasticsearch => {
                Api::<ElasticsearchCluster>::namespaced(self.client.clone(), NS)
                    .create(&PostParams::default(), &es_cluster(name, NS, REPLICAS)?)
                    .await?;
            }
        }
        Ok(())
    }

    async fn start_controller(&self, extra: &[&str], name: &str) -> Result<Controller> {
        let mut all: Vec<&str> = extra.to_vec();
        all.extend(self.args.controller_args.iter().map(String::as_str));
        println!("controller flags: {CONTROLLER_FLAGS:?} {all:?}");
        let mut c = Controller::start(&self.controller_bin, self.env, &all, name)?;
        let led = c.wait_leading().await?;
        println!(
            "controller pid {} leads after {:.2}s; {}",
            c.pid(),
            secs(led),
            rss(c.pid()).map(|r| show_rss(&r)).unwrap_or_default()
        );
        Ok(c)
    }

    /// Waits until every child of `names` exists; fails after `limit` naming what is missing.
    async fn wait_children(
        &self,
        book: &Shared,
        names: &[String],
        limit: Duration,
        controller: &mut Controller,
    ) -> Result<()> {
        let t = Instant::now();
        let mut last_report = Instant::now();
        loop {
            let kind = self.args.kind;
            let done = names
                .iter()
                .filter(|c| children_done(book, kind, c).is_some())
                .count();
            if done == names.len() {
                return Ok(());
            }
            controller.check_running()?;
            if t.elapsed() > limit {
                let missing: Vec<String> = names
                    .iter()
                    .filter(|c| children_done(book, kind, c).is_none())
                    .take(3)
                    .flat_map(|c| {
                        let b = book.lock().ok();
                        expected_children(kind, c)
                            .into_iter()
                            .filter(move |k| {
                                b.as_ref().is_some_and(|b| !b.first_seen.contains_key(k))
                            })
                            .map(|k| format!("{} {}", k.0, k.1))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                bail!(
                    "{done}/{} clusters complete after {limit:?}; missing e.g. {missing:?}\n{}",
                    names.len(),
                    controller.log_tail()
                );
            }
            if names.len() > 50 && last_report.elapsed() > Duration::from_secs(10) {
                println!(
                    "  {:>6.1}s: {done}/{} clusters have all children",
                    secs(t.elapsed()),
                    names.len()
                );
                last_report = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Scenario 1.
    async fn children(&self) -> Result<()> {
        let measured = self.args.clusters.unwrap_or(30);
        let book = start_watches(&self.client, NS, false).await?;
        let mut controller = self.start_controller(&[], "bench").await?;
        let before = controller.metrics();
        let mut latencies = Vec::new();
        let mut firsts = Vec::new();
        let mut creates = Vec::new();
        let mut last_kinds: BTreeMap<String, usize> = BTreeMap::new();
        let total = self.args.warmup + measured;
        for i in 0..total {
            let warm = i < self.args.warmup;
            let name = if warm {
                format!("warm-{i}")
            } else {
                format!("c-{:03}", i - self.args.warmup)
            };
            // A pause between clusters: the previous one's follow-up reconciles (status) are over.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let sent = Instant::now();
            self.create_cluster(&name).await?;
            let created = Instant::now();
            self.wait_children(
                &book,
                std::slice::from_ref(&name),
                Duration::from_secs(60),
                &mut controller,
            )
            .await?;
            let Some((first, last, what)) = children_done(&book, self.args.kind, &name) else {
                bail!("children of {name} vanished");
            };
            let latency = secs(last.saturating_duration_since(created));
            println!(
                "{}{name}: create call {:.3}s, first child {:.3}s, last child {:.3}s ({what})",
                if warm { "warm-up " } else { "" },
                secs(created - sent),
                secs(first.saturating_duration_since(created)),
                latency
            );
            if i == self.args.warmup {
                // The first measured cluster's timeline, child by child.
                let b = book.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                let mut line: Vec<(f64, String)> = expected_children(self.args.kind, &name)
                    .into_iter()
                    .filter_map(|k| {
                        let at = b.first_seen.get(&k)?;
                        Some((
                            secs(at.saturating_duration_since(created)),
                            format!("{} {}", k.0, k.1),
                        ))
                    })
                    .collect();
                line.sort_by(|a, b| a.0.total_cmp(&b.0));
                for (t, what) in line {
                    println!("    {t:.3}s {what}");
                }
            }
            if !warm {
                latencies.push(latency);
                firsts.push(secs(first.saturating_duration_since(created)));
                creates.push(secs(created - sent));
                let kind = what.split_whitespace().next().unwrap_or("").to_owned();
                *last_kinds.entry(kind).or_default() += 1;
            }
        }
        let after = controller.metrics();
        println!("\n## children: create returned → last child seen by a watch (seconds)");
        println!(
            "clusters measured {measured} (after {} warm-up)",
            self.args.warmup
        );
        println!("last child:  {}", spread(&latencies));
        println!("first child: {}", spread(&firsts));
        println!("create call: {}", spread(&creates));
        println!("kind of the last child: {last_kinds:?}");
        println!(
            "controller RSS {}",
            rss(controller.pid())
                .map(|r| show_rss(&r))
                .unwrap_or_default()
        );
        println!("controller counters over the run (incl. warm-up):");
        for (k, d) in deltas(&before, &after, |k| k.contains("_total")) {
            println!("  {k} +{d}");
        }
        Ok(())
    }

    /// Scenario 2.
    async fn steady_writes(&self) -> Result<()> {
        let n = self.args.clusters.unwrap_or(20);
        let book = start_watches(&self.client, NS, true).await?;
        let mut controller = self.start_controller(&[], "bench").await?;
        let names: Vec<String> = (0..n).map(|i| format!("s-{i:03}")).collect();
        for name in &names {
            self.create_cluster(name).await?;
        }
        self.wait_children(&book, &names, Duration::from_secs(300), &mut controller)
            .await?;
        println!(
            "{n} clusters have their children; settling {} s",
            self.args.settle_seconds
        );
        tokio::time::sleep(Duration::from_secs(self.args.settle_seconds)).await;
        let window = Duration::from_secs(self.args.steady_seconds);
        for w in 0..self.args.windows {
            let ctl_before = controller.metrics();
            let api_before = apiserver_writes(self.env);
            let start = Instant::now();
            tokio::time::sleep(window).await;
            let end = Instant::now();
            controller.check_running()?;
            let ctl_after = controller.metrics();
            let api_after = apiserver_writes(self.env);
            let minutes = secs(end - start) / 60.0;
            println!(
                "\n## steady-writes window {} of {}: {:.0} s, {n} clusters, load {}",
                w + 1,
                self.args.windows,
                secs(end - start),
                procfs::loadavg()
            );
            let writes: Vec<Write> = book
                .lock()
                .map(|b| {
                    b.writes
                        .iter()
                        .filter(|x| x.at >= start && x.at < end)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let mut by: BTreeMap<(String, &str, &str), (usize, Vec<String>)> = BTreeMap::new();
            for x in &writes {
                let e = by.entry((x.managers.clone(), x.kind, x.verb)).or_default();
                e.0 += 1;
                if e.1.len() < 3 {
                    e.1.push(x.name.clone());
                }
            }
            println!(
                "writes seen by the watches: {} ({:.2}/min)",
                writes.len(),
                writes.len() as f64 / minutes
            );
            println!("| field manager(s) | kind | verb | writes | per minute | e.g. |");
            println!("|---|---|---|---:|---:|---|");
            for ((m, kind, verb), (count, eg)) in &by {
                println!(
                    "| {m} | {kind} | {verb} | {count} | {:.2} | {} |",
                    *count as f64 / minutes,
                    eg.join(", ")
                );
            }
            println!("controller /metrics deltas:");
            for (k, d) in deltas(&ctl_before, &ctl_after, |k| {
                k.starts_with("navigator_controller_") && k.contains("_total")
            }) {
                println!("  {k} +{d}");
            }
            println!("kube-apiserver apiserver_request_total write deltas (all clients):");
            for (k, d) in deltas(&api_before, &api_after, |_| true) {
                println!("  {k} +{d} ({:.2}/min)", d / minutes);
            }
        }
        println!(
            "\ncontroller RSS {}",
            rss(controller.pid())
                .map(|r| show_rss(&r))
                .unwrap_or_default()
        );
        Ok(())
    }

    /// Scenario 3.
    async fn rss_1000(&self) -> Result<()> {
        let n = self.args.clusters.unwrap_or(1000);
        let book = start_watches(&self.client, NS, false).await?;
        let mut controller = self.start_controller(&[], "bench").await?;
        tokio::time::sleep(Duration::from_secs(5)).await;
        let idle = rss(controller.pid()).unwrap_or_default();
        println!("idle (0 clusters): {}", show_rss(&idle));
        let sampler = Sampler::start(controller.pid(), Duration::from_millis(250));
        let before = controller.metrics();
        let names: Vec<String> = (0..n).map(|i| format!("r-{i:04}")).collect();
        let api = self.clusters();
        let t0 = Instant::now();
        let rate = self.args.create_rate;
        let created: Vec<Result<(String, Instant)>> = futures::stream::iter(names.clone())
            .enumerate()
            .map(|(i, name)| {
                let api = api.clone();
                async move {
                    if rate > 0.0 {
                        let at = t0 + Duration::from_secs_f64(i as f64 / rate);
                        tokio::time::sleep_until(at.into()).await;
                    }
                    api.create(&PostParams::default(), &cluster(&name, NS, "5.0.8", 3)?)
                        .await?;
                    Ok((name, Instant::now()))
                }
            })
            .buffer_unordered(self.args.concurrency)
            .collect()
            .await;
        let created: HashMap<String, Instant> = created.into_iter().collect::<Result<_>>()?;
        let all_created = Instant::now();
        println!(
            "{n} clusters created in {:.1}s ({} in flight, rate limit {})",
            secs(all_created - t0),
            self.args.concurrency,
            if rate > 0.0 {
                format!("{rate}/s")
            } else {
                "none".to_owned()
            }
        );
        self.wait_children(&book, &names, Duration::from_secs(1800), &mut controller)
            .await?;
        let mut last = t0;
        let mut per_cluster = Vec::new();
        for name in &names {
            if let Some((_, l, _)) = children_done(&book, BenchKind::Cassandra, name) {
                last = last.max(l);
                per_cluster.push(secs(l.saturating_duration_since(created[name])));
            }
        }
        let at_done = rss(controller.pid()).unwrap_or_default();
        println!(
            "all children of {n} clusters: {:.1}s after the first create ({:.1}s after the last create returned)",
            secs(last - t0),
            secs(last.saturating_duration_since(all_created))
        );
        println!(
            "per cluster (create returned → last child): {}",
            spread(&per_cluster)
        );
        println!("at that moment: {}", show_rss(&at_done));
        println!("settling {} s", self.args.settle_seconds);
        tokio::time::sleep(Duration::from_secs(self.args.settle_seconds)).await;
        let mut settled = Vec::new();
        for _ in 0..10 {
            if let Some(r) = rss(controller.pid()) {
                settled.push(r);
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        controller.check_running()?;
        let after = controller.metrics();
        let samples = sampler.samples();
        drop(sampler);
        let peak = samples
            .iter()
            .map(|(_, r)| r.mem.vm_rss)
            .chain(settled.iter().map(|r| r.mem.vm_rss))
            .max()
            .unwrap_or(0);
        let hwm = settled.iter().map(|r| r.mem.vm_hwm).max().unwrap_or(0);
        let settled_rss = sorted(settled.iter().map(|r| r.mem.vm_rss as f64).collect());
        let settled_anon = sorted(settled.iter().map(|r| r.mem.rss_anon as f64).collect());
        let settled_file = sorted(settled.iter().map(|r| r.mem.rss_file as f64).collect());
        println!("\n## rss-1000: {n} clusters, pods Pending (devenv --nodes 0)");
        println!(
            "controller VmRSS idle {:.1} MiB; peak sampled {:.1} MiB (VmHWM {:.1}); settled ({} samples, {} s after the last child) min {:.1} median {:.1} max {:.1} MiB (anon median {:.1}, file median {:.1}); threads {}, sockets {}",
            mib(idle.mem.vm_rss),
            mib(peak),
            mib(hwm),
            settled.len(),
            self.args.settle_seconds,
            settled_rss.first().copied().unwrap_or(0.0) / 1024.0,
            pct(&settled_rss, 0.5) / 1024.0,
            settled_rss.last().copied().unwrap_or(0.0) / 1024.0,
            pct(&settled_anon, 0.5) / 1024.0,
            pct(&settled_file, 0.5) / 1024.0,
            settled.last().map(|r| r.mem.threads).unwrap_or(0),
            settled.last().map(|r| r.sockets).unwrap_or(0),
        );
        // The curve, one line per 10 s.
        let mut next = t0;
        for (at, r) in &samples {
            if *at >= next {
                println!(
                    "  t={:>6.1}s VmRSS {:>6.1} anon {:>6.1} MiB, {} sockets",
                    secs(at.saturating_duration_since(t0)),
                    mib(r.mem.vm_rss),
                    mib(r.mem.rss_anon),
                    r.sockets
                );
                next = *at + Duration::from_secs(10);
            }
        }
        println!("objects in namespace {NS} (what the controller's caches hold, as JSON):");
        self.object_sizes().await?;
        println!("controller counters over the run:");
        for (k, d) in deltas(&before, &after, |k| k.contains("_total")) {
            println!("  {k} +{d}");
        }
        Ok(())
    }

    /// Count and JSON bytes of each cached kind in the namespace.
    async fn object_sizes(&self) -> Result<()> {
        async fn size<K>(api: Api<K>, kind: &str) -> Result<()>
        where
            K: kube::Resource + Clone + DeserializeOwned + Debug + serde::Serialize,
        {
            let list = api.list(&ListParams::default()).await?;
            let bytes: usize = list
                .items
                .iter()
                .map(|o| serde_json::to_vec(o).map(|v| v.len()).unwrap_or(0))
                .sum();
            let managed: usize = list
                .items
                .iter()
                .map(|o| {
                    serde_json::to_vec(&o.meta().managed_fields)
                        .map(|v| v.len())
                        .unwrap_or(0)
                })
                .sum();
            println!(
                "  {kind:<22} {:>6} objects {:>8.1} KiB JSON (of which managedFields {:.1} KiB)",
                list.items.len(),
                bytes as f64 / 1024.0,
                managed as f64 / 1024.0
            );
            Ok(())
        }
        let c = &self.client;
        size(
            Api::<CassandraCluster>::namespaced(c.clone(), NS),
            "CassandraCluster",
        )
        .await?;
        size(Api::<StatefulSet>::namespaced(c.clone(), NS), "StatefulSet").await?;
        size(Api::<Pod>::namespaced(c.clone(), NS), "Pod").await?;
        size(Api::<Pilot>::namespaced(c.clone(), NS), "Pilot").await?;
        let mut ordinals: BTreeMap<String, usize> = BTreeMap::new();
        for p in Api::<Pilot>::namespaced(c.clone(), NS)
            .list(&ListParams::default())
            .await?
            .items
        {
            let name = p.metadata.name.unwrap_or_default();
            let ordinal = name.rsplit('-').next().unwrap_or("").to_owned();
            *ordinals.entry(ordinal).or_default() += 1;
        }
        println!("    Pilots by pod ordinal: {ordinals:?}");
        size(Api::<Service>::namespaced(c.clone(), NS), "Service").await?;
        size(
            Api::<ServiceAccount>::namespaced(c.clone(), NS),
            "ServiceAccount",
        )
        .await?;
        size(Api::<Role>::namespaced(c.clone(), NS), "Role").await?;
        size(Api::<RoleBinding>::namespaced(c.clone(), NS), "RoleBinding").await?;
        size(
            Api::<PodDisruptionBudget>::namespaced(c.clone(), NS),
            "PodDisruptionBudget",
        )
        .await?;
        size(
            Api::<PersistentVolumeClaim>::namespaced(c.clone(), NS),
            "PersistentVolumeClaim",
        )
        .await?;
        Ok(())
    }

    /// Scenario 4.
    async fn time_to_ready(&self) -> Result<()> {
        let version = self.args.cassandra_version.clone();
        let mut results: Vec<(&str, usize, f64, String)> = Vec::new();
        for run in 0..self.args.runs.unwrap_or(2) {
            let order: [&str; 2] = if run % 2 == 0 {
                ["controller", "hand"]
            } else {
                ["hand", "controller"]
            };
            for side in order {
                let ns = format!("ttr-{run}-{side}");
                tokio::task::block_in_place(|| self.env.k(&["create", "namespace", &ns]));
                println!(
                    "run {run} {side}: namespace {ns}, load {}",
                    procfs::loadavg()
                );
                let (elapsed, detail) = if side == "controller" {
                    let mut ctl = Controller::start(
                        &self.controller_bin,
                        self.env,
                        &["--leader-elect=false", &format!("--namespace={ns}")],
                        &format!("ttr-{run}"),
                    )?;
                    ctl.wait_leading().await?;
                    let t0 = Instant::now();
                    Api::<CassandraCluster>::namespaced(self.client.clone(), &ns)
                        .create(&PostParams::default(), &cluster("demo", &ns, &version, 3)?)
                        .await?;
                    let r = self.wait_ring(&ns, t0, Some(&mut ctl)).await;
                    let actions: Vec<(String, f64)> =
                        deltas(&BTreeMap::new(), &ctl.metrics(), |k| {
                            k.starts_with("navigator_controller_actions")
                        });
                    (r?, format!("{actions:?}"))
                } else {
                    let t0 = Instant::now();
                    self.create_by_hand(&ns, &version).await?;
                    (self.wait_ring(&ns, t0, None).await?, String::new())
                };
                println!(
                    "run {run} {side}: {:.1}s to 3 Ready + ring of 3 {detail}",
                    secs(elapsed)
                );
                results.push((side, run, secs(elapsed), procfs::loadavg()));
                let t = Instant::now();
                tokio::task::block_in_place(|| {
                    self.env
                        .kubectl(&["delete", "namespace", &ns, "--wait=true", "--timeout=600s"])
                })
                .map_err(anyhow::Error::msg)?;
                println!("  namespace {ns} deleted in {:.0}s", secs(t.elapsed()));
            }
        }
        println!(
            "\n## time-to-ready (create → 3 pods Ready and every Pilot sees 3 live peers), seconds"
        );
        println!("| run | side | seconds | load after |");
        println!("|---|---|---:|---|");
        for (side, run, s, load) in &results {
            println!("| {run} | {side} | {s:.1} | {load} |");
        }
        let of = |side: &str| -> Vec<f64> {
            results
                .iter()
                .filter(|r| r.0 == side)
                .map(|r| r.2)
                .collect()
        };
        let (c, h) = (sorted(of("controller")), sorted(of("hand")));
        println!("controller: {}", spread(&c));
        println!("hand-written StatefulSet: {}", spread(&h));
        println!(
            "ratio of medians controller ÷ hand-written: {:.2} (min/min {:.2}, max/max {:.2})",
            pct(&c, 0.5) / pct(&h, 0.5),
            pct(&c, 0.0) / pct(&h, 0.0),
            pct(&c, 1.0) / pct(&h, 1.0)
        );
        Ok(())
    }

    /// The controller's manifests for a 3-node `demo` in `ns`, applied by hand: navigator-core's
    /// builders with the controller's settings, owner references removed, the StatefulSet at 3
    /// replicas OrderedReady, the seeds Service selecting pod 0 by name (no controller labels
    /// it), the three Pilots.
    async fn create_by_hand(&self, ns: &str, version: &str) -> Result<()> {
        let mut flags = vec!["navigator-controller"];
        flags.extend(CONTROLLER_FLAGS);
        let settings = navigator_controller::cli::Cli::try_parse_from(flags)?.settings();
        let mut c = cluster("demo", ns, version, 3)?;
        c.metadata.uid = Some("00000000-0000-0000-0000-00000000beef".to_owned());
        let pool = c
            .spec
            .node_pools
            .first()
            .cloned()
            .context("the cluster has a pool")?;
        let client = &self.client;
        let seeds = names::seeds_service("demo");
        let pod0 = names::pod("demo", POOL, 0);
        for child in children::shared_children(&c, &settings)? {
            match child {
                DesiredChild::ServiceAccount(o) => create_orphan(client, ns, o).await?,
                DesiredChild::Role(o) => create_orphan(client, ns, o).await?,
                DesiredChild::RoleBinding(o) => create_orphan(client, ns, o).await?,
                DesiredChild::Service(mut o) => {
                    if o.metadata.name.as_deref() == Some(seeds.as_str())
                        && let Some(spec) = o.spec.as_mut()
                    {
                        spec.selector = Some(BTreeMap::from([(
                            "statefulset.kubernetes.io/pod-name".to_owned(),
                            pod0.clone(),
                        )]));
                    }
                    create_orphan(client, ns, o).await?;
                }
                DesiredChild::PodDisruptionBudget(o) => create_orphan(client, ns, o).await?,
                DesiredChild::ConfigMap(o) => create_orphan(client, ns, o).await?,
            }
        }
        for i in 0..3 {
            create_orphan(client, ns, children::pilot(&c, POOL, i)?).await?;
        }
        let mut sts = children::statefulset(&c, &pool, 3, 0, &settings)?;
        if let Some(spec) = sts.spec.as_mut() {
            spec.pod_management_policy = Some("OrderedReady".to_owned());
        }
        create_orphan(client, ns, sts).await?;
        Ok(())
    }

    /// Polls until 3 pods of `ns` are Ready and every Pilot reports 3 live peers; the time
    /// since `t0`.
    async fn wait_ring(
        &self,
        ns: &str,
        t0: Instant,
        mut controller: Option<&mut Controller>,
    ) -> Result<Duration> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let pilots: Api<Pilot> = Api::namespaced(self.client.clone(), ns);
        let mut last = String::new();
        let mut last_print = Instant::now();
        loop {
            let now = Instant::now();
            let ready = pods
                .list(&ListParams::default())
                .await?
                .items
                .iter()
                .filter(|p| {
                    p.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|cs| {
                            cs.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                        })
                })
                .count();
            let live: Vec<usize> = pilots
                .list(&ListParams::default())
                .await?
                .items
                .iter()
                .map(|p| {
                    p.status
                        .cassandra
                        .as_ref()
                        .and_then(|c| c.peers.as_ref())
                        .map_or(0, |peers| peers.live.len())
                })
                .collect();
            let state = format!("{ready} pods Ready, live peers per Pilot {live:?}");
            if ready == 3 && live.len() == 3 && live.iter().all(|l| *l == 3) {
                return Ok(now - t0);
            }
            if let Some(c) = controller.as_deref_mut() {
                c.check_running()?;
            }
            if t0.elapsed() > Duration::from_secs(1200) {
                bail!("not ready within 1200 s: {state}");
            }
            if state != last || last_print.elapsed() > Duration::from_secs(30) {
                println!("  {:>6.1}s {state}", secs(t0.elapsed()));
                last = state;
                last_print = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Creates `o` in `ns` without its owner references.
async fn create_orphan<K>(client: &Client, ns: &str, mut o: K) -> Result<()>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + serde::Serialize,
{
    o.meta_mut().owner_references = None;
    o.meta_mut().namespace = Some(ns.to_owned());
    Api::<K>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &o)
        .await?;
    Ok(())
}
