//! Benchmark of the `pilot-cassandra` binary against `navigator-apiserver --standalone` and a
//! real Cassandra (the image from hack/build-images), the pilot running Cassandra as its child.
//! A benchmark, not a test: it measures and prints, nothing asserts a speed. Three figures:
//!
//! 1. **RSS** of the pilot process at steady state (`/proc/<pid>/status`: VmRSS, RssAnon,
//!    RssFile, VmHWM), sampled several times, for every `--variant LABEL=PATH` (the same
//!    program built with different profiles), one after the other in one run;
//! 2. **state change → status latency**: the native transport is stopped and started through
//!    Jolokia (`StorageService.stopNativeTransport()` / `startNativeTransport()`), which flips
//!    the node's readiness; the time until a watch of the Pilots delivers the `Ready` condition
//!    that shows it. One pilot per `--intervals` entry (`--observe-interval`), run side by side
//!    and toggled in alternating order, with a random pause before each change so that the
//!    change falls anywhere in the observation period;
//! 3. **status writes per minute at steady state**: distinct resourceVersions of each Pilot
//!    seen by the watch over `--steady-seconds`, and the pilot's own `/metrics` counters.
//!
//! ```sh
//! cargo build --release -p pilot-cassandra && cargo build -p navigator-apiserver
//! cargo run --release -p pilot-cassandra --example pilot_bench -- \
//!     --variant release=target/release/pilot-cassandra
//! ```
//!
//! Everything it starts (API server, pilots and their Cassandra) is stopped at the end.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures::StreamExt;
use kube::Api;
use kube::api::PostParams;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use navigator_api::v1beta1::{Pilot, PilotClusterReference};
use navigator_pilot::runtime::parse_duration;
use pilot_cassandra::jolokia::{self, Request};
use test_support::{procfs, standalone};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Benchmark of pilot-cassandra: RSS, state change → Pilot status latency, status writes.
#[derive(Debug, Parser)]
#[command(name = "pilot_bench")]
struct Args {
    /// A pilot binary whose RSS is measured: `LABEL=PATH` (repeatable; default
    /// `release=target/release/pilot-cassandra`).
    #[arg(long = "variant")]
    variants: Vec<String>,
    /// The pilot binary of the latency and status-write phases.
    #[arg(long, default_value = "target/release/pilot-cassandra")]
    pilot_bin: PathBuf,
    /// navigator-apiserver (started with --standalone).
    #[arg(long, default_value = "target/debug/navigator-apiserver")]
    apiserver_bin: PathBuf,
    /// Cassandra image version under ~/.cache/navigator/images/cassandra.
    #[arg(long, default_value = "5.0.8")]
    cassandra_version: String,
    /// Observation intervals compared in the latency phase, one pilot each.
    #[arg(long, value_delimiter = ',', default_value = "1s,250ms", value_parser = parse_duration)]
    intervals: Vec<Duration>,
    /// Measured changes in each direction, per pilot.
    #[arg(long, default_value_t = 30)]
    toggles: usize,
    /// Unmeasured warm-up rounds before them.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Steady-state window of the status-write count, in seconds.
    #[arg(long, default_value_t = 150)]
    steady_seconds: u64,
    /// Wait after Ready before RSS samples, in seconds.
    #[arg(long, default_value_t = 20)]
    settle_seconds: u64,
    /// RSS samples per variant (2 s apart).
    #[arg(long, default_value_t = 5)]
    rss_samples: usize,
    /// Skip the RSS phase.
    #[arg(long)]
    skip_rss: bool,
    /// Skip the latency and status-write phases.
    #[arg(long)]
    skip_latency: bool,
}

const NS: &str = "bench";

// ---------------------------------------------------------------- processes and environment

/// A child process stopped when dropped: SIGTERM first, so that a pilot stops its Cassandra.
struct Proc {
    child: Child,
    label: String,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits up to `limit` for the exit; SIGKILL after that.
    fn stop(&mut self, limit: Duration) -> Option<i32> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status.code();
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "{}: still running {limit:?} after SIGTERM, killing",
            self.label
        );
        let _ = self.child.kill();
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(90));
    }
}

fn free_port() -> Result<u16> {
    Ok(test_support::ports::free_port()?)
}

fn image(version: &str) -> Result<PathBuf> {
    let cache = std::env::var_os("NAVIGATOR_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/navigator")
        });
    let dir = cache.join("images/cassandra").join(version);
    if !dir.join("opt/cassandra/bin/cassandra").exists() {
        bail!("{} is missing: run hack/build-images", dir.display());
    }
    Ok(dir)
}

/// A sample of a pilot's memory: the figures of `/proc/<pid>/status` and how much of its
/// resident memory is its own program file.
#[derive(Clone, Copy, Debug, Default)]
struct Rss {
    mem: procfs::Status,
    /// Resident kB mapped from the program's own file (its text and read-only data).
    own_file: u64,
}

fn rss(pid: u32) -> Option<Rss> {
    Some(Rss {
        mem: procfs::read_status(pid)?,
        own_file: own_file_rss(pid).unwrap_or(0),
    })
}

/// Resident kB of the mappings of `/proc/<pid>/exe` (from `/proc/<pid>/smaps`).
fn own_file_rss(pid: u32) -> Option<u64> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let exe = exe.to_string_lossy().into_owned();
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    let mut own = false;
    let mut total = 0;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or_default();
        if first.contains('-') && !first.ends_with(':') {
            // A mapping's header: "start-end perms offset dev inode [path]".
            own = line.split_whitespace().nth(5) == Some(exe.as_str());
        } else if own && first == "Rss:" {
            total += line
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Some(total)
}

fn mib(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

// ---------------------------------------------------------------- API server and Pilots

async fn start_apiserver(bin: &Path, dir: &Path) -> Result<(Proc, PathBuf, kube::Client)> {
    let server_dir = dir.join("apiserver");
    let server = Proc {
        child: standalone::spawn(bin, &server_dir)?,
        label: "navigator-apiserver".into(),
    };
    let client = standalone::connect(&server_dir, Duration::from_secs(60)).await?;
    Ok((server, server_dir.join("kubeconfig"), client))
}

async fn create_pilot(api: &Api<Pilot>, name: &str) -> Result<()> {
    let mut pilot = Pilot::default();
    pilot.metadata.name = Some(name.into());
    pilot.metadata.namespace = Some(NS.into());
    pilot.spec.cluster = Some(PilotClusterReference {
        kind: "CassandraCluster".into(),
        name: "bench".into(),
    });
    pilot.spec.node_pool = Some("rack1".into());
    api.create(&PostParams::default(), &pilot)
        .await
        .with_context(|| format!("create Pilot {name}"))?;
    Ok(())
}

/// A running pilot and the ports it was given.
struct PilotProc {
    name: String,
    proc: Proc,
    log: PathBuf,
    jolokia: jolokia::Client,
    metrics_port: u16,
}

struct PilotSpec<'a> {
    bin: &'a Path,
    dir: &'a Path,
    kubeconfig: &'a Path,
    image: &'a Path,
    name: &'a str,
    ip: Ipv4Addr,
    extra: Vec<String>,
}

/// Starts a pilot for pod `name` on `ip` as a single-node cluster of its own (its seeds
/// Service does not resolve, so the node seeds itself).
fn start_pilot(s: PilotSpec<'_>) -> Result<PilotProc> {
    let home = s.dir.join(s.name);
    std::fs::create_dir_all(&home)?;
    let log = home.join("pilot.log");
    let out = std::fs::File::create(&log)?;
    let jolokia_port = free_port()?;
    let liveness_port = free_port()?;
    let child = Command::new(s.bin)
        .args(["--probe-address", "127.0.0.1"])
        .args(["--liveness-port", &liveness_port.to_string()])
        .args(["--readiness-port", &free_port()?.to_string()])
        .arg("--kubeconfig")
        .arg(s.kubeconfig)
        .args(&s.extra)
        .env("POD_NAME", s.name)
        .env("POD_NAMESPACE", NS)
        .env("POD_IP", s.ip.to_string())
        .env("MEMORY_LIMIT", (1u64 << 30).to_string())
        .env("PILOT_DATA_DIR", home.join("data"))
        .env("PILOT_CONFIG_DIR", home.join("conf"))
        .env("CASSANDRA_HOME", s.image.join("opt/cassandra"))
        .env("CASSANDRA_CLUSTER_NAME", format!("bench-{}", s.name))
        .env("CASSANDRA_DC", "dc1")
        .env("CASSANDRA_RACK", "rack1")
        .env("CASSANDRA_SEEDS_SERVICE", "bench-seeds.invalid")
        .env("CASSANDRA_JOLOKIA_PORT", jolokia_port.to_string())
        .env("CASSANDRA_RING_DELAY_MS", "5000")
        .env("JMX_PORT", free_port()?.to_string())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("start {}", s.bin.display()))?;
    Ok(PilotProc {
        name: s.name.to_owned(),
        proc: Proc {
            child,
            label: s.name.to_owned(),
        },
        log,
        jolokia: jolokia::Client::new(SocketAddr::from((Ipv4Addr::LOCALHOST, jolokia_port))),
        metrics_port: liveness_port,
    })
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

// ---------------------------------------------------------------- the watch

/// One Pilot object as the watch delivered it.
#[derive(Clone, Debug)]
struct Seen {
    at: Instant,
    name: String,
    resource_version: String,
    ready: Option<bool>,
}

type SeenLog = Arc<Mutex<Vec<Seen>>>;

fn ready_of(p: &Pilot) -> Option<bool> {
    p.status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status == "True")
}

/// Watches the namespace's Pilots, stamping each delivered object with its arrival time.
fn spawn_watch(api: Api<Pilot>, seen: SeenLog) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Some(event) = stream.next().await {
            let at = Instant::now();
            let pilot = match event {
                Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => p,
                Ok(_) => continue,
                Err(e) => {
                    eprintln!("watch: {e}");
                    continue;
                }
            };
            let item = Seen {
                at,
                name: pilot.metadata.name.clone().unwrap_or_default(),
                resource_version: pilot.metadata.resource_version.clone().unwrap_or_default(),
                ready: ready_of(&pilot),
            };
            if let Ok(mut log) = seen.lock() {
                log.push(item);
            }
        }
    })
}

/// The arrival time of the first delivery of `name` after `after` whose Ready is `want`.
async fn wait_ready(
    seen: &SeenLog,
    pilot: &mut PilotProc,
    want: bool,
    after: Instant,
    limit: Duration,
) -> Result<Instant> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(at) = seen.lock().ok().and_then(|log| {
            log.iter()
                .find(|s| s.name == pilot.name && s.at >= after && s.ready == Some(want))
                .map(|s| s.at)
        }) {
            return Ok(at);
        }
        if let Ok(Some(status)) = pilot.proc.child.try_wait() {
            bail!(
                "{} exited ({status}):\n{}",
                pilot.name,
                log_tail(&pilot.log)
            );
        }
        if Instant::now() > deadline {
            bail!(
                "{}: Ready={want} not seen within {limit:?}:\n{}",
                pilot.name,
                log_tail(&pilot.log)
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Distinct resourceVersions of `name` delivered in `[from, to)`.
fn versions_between(seen: &SeenLog, name: &str, from: Instant, to: Instant) -> usize {
    let Ok(log) = seen.lock() else { return 0 };
    let mut versions: Vec<&str> = log
        .iter()
        .filter(|s| s.name == name && s.at >= from && s.at < to)
        .map(|s| s.resource_version.as_str())
        .collect();
    versions.sort_unstable();
    versions.dedup();
    versions.len()
}

// ---------------------------------------------------------------- /metrics

/// The pilot's counters of interest (`/metrics` on the liveness port), by series.
async fn counters(port: u16) -> Result<BTreeMap<String, f64>> {
    let mut stream = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await?;
    let mut body = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut body)).await??;
    let mut out = BTreeMap::new();
    for line in body.lines() {
        if [
            "status_writes_total",
            "heartbeats_total",
            "observations_total",
        ]
        .iter()
        .any(|k| line.starts_with(&format!("navigator_pilot_{k}")))
            && let Some((series, value)) = line.rsplit_once(' ')
            && let Ok(value) = value.parse::<f64>()
        {
            out.insert(
                series.trim_start_matches("navigator_pilot_").to_owned(),
                value,
            );
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- statistics

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(values: &[f64]) -> (f64, f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    (
        percentile(&v, 50.0),
        percentile(&v, 99.0),
        v.first().copied().unwrap_or(f64::NAN),
        v.last().copied().unwrap_or(f64::NAN),
    )
}

/// A small xorshift generator for the random pauses (no need for a crate).
struct Jitter(u64);

impl Jitter {
    fn next_ms(&mut self, max: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % max.max(1)
    }
}

// ---------------------------------------------------------------- phases

struct Ctx {
    dir: PathBuf,
    kubeconfig: PathBuf,
    image: PathBuf,
    api: Api<Pilot>,
    seen: SeenLog,
}

struct RssResult {
    label: String,
    size: u64,
    samples: Vec<Rss>,
    ready_secs: f64,
    load: String,
}

async fn rss_phase(
    ctx: &Ctx,
    args: &Args,
    variants: &[(String, PathBuf)],
) -> Result<Vec<RssResult>> {
    let mut results = Vec::new();
    for (i, (label, bin)) in variants.iter().enumerate() {
        // Ordinal 0: the cluster's first pod seeds itself.
        let name = format!("rss{i}-{label}-0");
        create_pilot(&ctx.api, &name).await?;
        let start = Instant::now();
        let mut pilot = start_pilot(PilotSpec {
            bin,
            dir: &ctx.dir,
            kubeconfig: &ctx.kubeconfig,
            image: &ctx.image,
            name: &name,
            ip: Ipv4Addr::new(127, 0, 0, 60 + i as u8),
            extra: vec![],
        })?;
        wait_ready(&ctx.seen, &mut pilot, true, start, Duration::from_secs(300)).await?;
        let ready_secs = start.elapsed().as_secs_f64();
        eprintln!(
            "{name}: Ready after {ready_secs:.1} s; settling {} s",
            args.settle_seconds
        );
        tokio::time::sleep(Duration::from_secs(args.settle_seconds)).await;
        let mut samples = Vec::new();
        for _ in 0..args.rss_samples {
            samples.extend(rss(pilot.proc.pid()));
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let load = procfs::loadavg();
        let code = tokio::task::block_in_place(|| pilot.proc.stop(Duration::from_secs(90)));
        eprintln!("{name}: stopped, exit {code:?}");
        results.push(RssResult {
            label: label.clone(),
            size: std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0),
            samples,
            ready_secs,
            load,
        });
    }
    Ok(results)
}

struct LatencyResult {
    interval: Duration,
    /// Seconds from the Jolokia reply (the change is done) to the watch delivering it.
    down: Vec<f64>,
    up: Vec<f64>,
    /// Seconds the Jolokia call itself took.
    exec_down: Vec<f64>,
    exec_up: Vec<f64>,
}

struct WritesResult {
    interval: Duration,
    window: Duration,
    versions: usize,
    before: BTreeMap<String, f64>,
    after: BTreeMap<String, f64>,
    rss: Vec<Rss>,
}

async fn toggle(
    ctx: &Ctx,
    pilot: &mut PilotProc,
    operation: &str,
    want_ready: bool,
) -> Result<(f64, f64)> {
    let sent = Instant::now();
    let reply = pilot
        .jolokia
        .one(
            Request::exec(jolokia::STORAGE_SERVICE, operation, vec![]),
            Some(Duration::from_secs(30)),
        )
        .await
        .with_context(|| format!("{}: {operation}", pilot.name))?;
    let done = Instant::now();
    if reply.value().is_none() {
        bail!("{}: {operation}: {}", pilot.name, reply.describe());
    }
    let seen = wait_ready(&ctx.seen, pilot, want_ready, done, Duration::from_secs(30)).await?;
    Ok((
        seen.duration_since(done).as_secs_f64(),
        done.duration_since(sent).as_secs_f64(),
    ))
}

async fn latency_and_writes_phase(
    ctx: &Ctx,
    args: &Args,
) -> Result<(Vec<WritesResult>, Vec<LatencyResult>, String, String)> {
    let mut pilots = Vec::new();
    let start = Instant::now();
    for (i, interval) in args.intervals.iter().enumerate() {
        let name = format!("lat{}ms-0", interval.as_millis());
        create_pilot(&ctx.api, &name).await?;
        pilots.push(start_pilot(PilotSpec {
            bin: &args.pilot_bin,
            dir: &ctx.dir,
            kubeconfig: &ctx.kubeconfig,
            image: &ctx.image,
            name: &name,
            ip: Ipv4Addr::new(127, 0, 0, 70 + i as u8),
            extra: vec![
                "--observe-interval".into(),
                format!("{}ms", interval.as_millis()),
            ],
        })?);
    }
    for p in &mut pilots {
        wait_ready(&ctx.seen, p, true, start, Duration::from_secs(400)).await?;
        eprintln!(
            "{}: Ready after {:.1} s",
            p.name,
            start.elapsed().as_secs_f64()
        );
    }
    eprintln!("settling {} s", args.settle_seconds);
    tokio::time::sleep(Duration::from_secs(args.settle_seconds)).await;

    // Steady state: nothing changes in the databases.
    eprintln!(
        "steady state: counting status writes for {} s",
        args.steady_seconds
    );
    let mut before = Vec::new();
    for p in &pilots {
        before.push(counters(p.metrics_port).await?);
    }
    let from = Instant::now();
    let mut rss_samples: Vec<Vec<Rss>> = vec![Vec::new(); pilots.len()];
    let window = Duration::from_secs(args.steady_seconds);
    while from.elapsed() < window {
        for (i, p) in pilots.iter().enumerate() {
            rss_samples[i].extend(rss(p.proc.pid()));
        }
        let left = window.saturating_sub(from.elapsed());
        tokio::time::sleep(left.min(Duration::from_secs(10))).await;
    }
    let to = Instant::now();
    let writes_load = procfs::loadavg();
    let mut writes = Vec::new();
    for (i, p) in pilots.iter().enumerate() {
        writes.push(WritesResult {
            interval: args.intervals[i],
            window: to - from,
            versions: versions_between(&ctx.seen, &p.name, from, to),
            before: before[i].clone(),
            after: counters(p.metrics_port).await?,
            rss: rss_samples[i].clone(),
        });
    }

    // State changes: the native transport off and on, in alternating pilot order.
    let mut jitter = Jitter(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 | 1)
            .unwrap_or(0x9e37_79b9),
    );
    let mut lat: Vec<LatencyResult> = args
        .intervals
        .iter()
        .map(|&interval| LatencyResult {
            interval,
            down: vec![],
            up: vec![],
            exec_down: vec![],
            exec_up: vec![],
        })
        .collect();
    let rounds = args.warmup + args.toggles;
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..pilots.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let pause = jitter.next_ms(1200);
            tokio::time::sleep(Duration::from_millis(pause)).await;
            let (down, exec_down) =
                toggle(ctx, &mut pilots[i], "stopNativeTransport()", false).await?;
            let pause = jitter.next_ms(1200);
            tokio::time::sleep(Duration::from_millis(pause)).await;
            let (up, exec_up) = toggle(ctx, &mut pilots[i], "startNativeTransport()", true).await?;
            if round >= args.warmup {
                let r = &mut lat[i];
                r.down.push(down);
                r.up.push(up);
                r.exec_down.push(exec_down);
                r.exec_up.push(exec_up);
            }
        }
        if round % 5 == 4 {
            eprintln!(
                "latency: round {}/{rounds}, load {}",
                round + 1,
                procfs::loadavg()
            );
        }
    }
    let latency_load = procfs::loadavg();
    for mut p in pilots {
        let code = tokio::task::block_in_place(|| p.proc.stop(Duration::from_secs(90)));
        eprintln!("{}: stopped, exit {code:?}", p.name);
    }
    Ok((writes, lat, writes_load, latency_load))
}

// ---------------------------------------------------------------- report

fn print_rss(results: &[RssResult]) {
    println!("\n## Pilot RSS at steady state (MiB; median of samples, max in parentheses)\n");
    println!(
        "| variant | binary MiB | VmRSS | RssAnon | RssFile | of which the binary | VmHWM | threads | Ready after | load (1/5/15) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in results {
        let med = |f: fn(&Rss) -> u64| {
            let mut v: Vec<u64> = r.samples.iter().map(f).collect();
            v.sort_unstable();
            let max = v.last().copied().unwrap_or(0);
            (v.get(v.len() / 2).copied().unwrap_or(0), max)
        };
        let cell = |f: fn(&Rss) -> u64| {
            let (m, x) = med(f);
            format!("{} ({})", mib(m), mib(x))
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} s | {} |",
            r.label,
            mib(r.size / 1024),
            cell(|s| s.mem.vm_rss),
            cell(|s| s.mem.rss_anon),
            cell(|s| s.mem.rss_file),
            cell(|s| s.own_file),
            cell(|s| s.mem.vm_hwm),
            med(|s| s.mem.threads).0,
            r.ready_secs,
            r.load
        );
    }
}

fn print_latency(results: &[LatencyResult], load: &str) {
    println!(
        "\n## State change → Pilot status (seconds from the Jolokia reply to the watch event; load {load})\n"
    );
    println!("| --observe-interval | change | n | p50 | p99 | min | max | Jolokia call p50 |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in results {
        for (what, v, exec) in [
            ("CQL stopped → Ready=False", &r.down, &r.exec_down),
            ("CQL started → Ready=True", &r.up, &r.exec_up),
        ] {
            let (p50, p99, min, max) = summary(v);
            let (e50, ..) = summary(exec);
            println!(
                "| {}ms | {what} | {} | {p50:.3} | {p99:.3} | {min:.3} | {max:.3} | {e50:.3} |",
                r.interval.as_millis(),
                v.len()
            );
        }
    }
}

fn print_writes(results: &[WritesResult], load: &str) {
    println!("\n## Status writes at steady state (load {load})\n");
    println!(
        "| --observe-interval | window | resourceVersions seen | per minute | /metrics deltas | pilot VmRSS MiB (max) |"
    );
    println!("|---|---|---|---|---|---|");
    for r in results {
        let minutes = r.window.as_secs_f64() / 60.0;
        let deltas: Vec<String> = r
            .after
            .iter()
            .map(|(k, v)| format!("{k} +{}", v - r.before.get(k).copied().unwrap_or(0.0)))
            .collect();
        let max_rss = r.rss.iter().map(|s| s.mem.vm_rss).max().unwrap_or(0);
        println!(
            "| {}ms | {:.0} s | {} | {:.2} | {} | {} |",
            r.interval.as_millis(),
            r.window.as_secs_f64(),
            r.versions,
            r.versions as f64 / minutes,
            deltas.join(", "),
            mib(max_rss)
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let variants: Vec<(String, PathBuf)> = if args.variants.is_empty() {
        vec![("release".into(), "target/release/pilot-cassandra".into())]
    } else {
        args.variants
            .iter()
            .map(|v| {
                v.split_once('=')
                    .map(|(l, p)| (l.to_owned(), PathBuf::from(p)))
                    .with_context(|| format!("--variant {v}: want LABEL=PATH"))
            })
            .collect::<Result<_>>()?
    };
    for (label, bin) in &variants {
        if !bin.is_file() {
            bail!("--variant {label}: {} is missing", bin.display());
        }
    }
    if !args.pilot_bin.is_file() {
        bail!(
            "{} is missing: cargo build --release -p pilot-cassandra",
            args.pilot_bin.display()
        );
    }
    if !args.apiserver_bin.is_file() {
        bail!(
            "{} is missing: cargo build -p navigator-apiserver",
            args.apiserver_bin.display()
        );
    }
    let image = image(&args.cassandra_version)?;
    let dir = tempfile::Builder::new().prefix("pilot-bench-").tempdir()?;
    println!(
        "# pilot_bench: {} (load at start {})",
        args.cassandra_version,
        procfs::loadavg()
    );
    let (mut server, kubeconfig, client) = start_apiserver(&args.apiserver_bin, dir.path()).await?;
    let api: Api<Pilot> = Api::namespaced(client, NS);
    let seen: SeenLog = Arc::default();
    let watch = spawn_watch(api.clone(), seen.clone());
    let ctx = Ctx {
        dir: dir.path().to_owned(),
        kubeconfig,
        image,
        api,
        seen,
    };
    let outcome: Result<()> = async {
        if !args.skip_rss {
            let r = rss_phase(&ctx, &args, &variants).await?;
            print_rss(&r);
        }
        if !args.skip_latency {
            let (writes, lat, writes_load, lat_load) =
                latency_and_writes_phase(&ctx, &args).await?;
            print_writes(&writes, &writes_load);
            print_latency(&lat, &lat_load);
        }
        Ok(())
    }
    .await;
    watch.abort();
    tokio::task::block_in_place(|| server.stop(Duration::from_secs(10)));
    println!("\nload at end {}", procfs::loadavg());
    outcome
}
