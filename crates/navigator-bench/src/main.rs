//! `navigator-bench`: drives create, get, list (1k and 10k objects), update and a watch fan-out
//! against `navigator-apiserver` over HTTPS and prints throughput, p50/p99 latency and the
//! server's RSS. See `docs/benchmarks.md`.
//!
//! With `--compare` it runs the same phases, in one invocation, against navigator-apiserver on
//! etcd, kube-apiserver serving the navigator kinds as a CRD on the same etcd, and raw etcd
//! transactions, and prints them side by side.

mod peers;
mod raw_etcd;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use bytes::Bytes;
use clap::Parser;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use navigator_bench::Rng;
use navigator_bench::compare::{self, Breakdown, Target};
use navigator_bench::kubeconfig::{self, CaSource};
use navigator_bench::objects::{self, Kind};
use navigator_bench::procfs::{self, MemStatus};
use navigator_bench::promtext;
use navigator_bench::report::{MemorySample, PhaseResult, Report, WatchResult, render_table};
use navigator_bench::stats::{LatencySummary, throughput};
use navigator_bench::watch::{LineBuffer, match_events, parse_event};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;

/// HTTP version of every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Protocol {
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
struct Args {
    /// The server binary to start (`--standalone` on a temporary data dir and a free port).
    #[arg(long, default_value = "target/release/navigator-apiserver")]
    server_bin: PathBuf,
    /// Benchmark a running server at this URL instead of starting one (needs --kubeconfig or
    /// --ca). Use a namespace with no `bench-*` objects.
    #[arg(long)]
    url: Option<String>,
    /// Kubeconfig of a running server (its current context gives the URL, CA and token).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// CA certificate (PEM) of a running server.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Bearer token for a running server.
    #[arg(long)]
    token: Option<String>,
    /// Pid of a running server, to read its RSS from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// HTTP version.
    #[arg(long, value_enum, default_value = "http2")]
    protocol: Protocol,
    /// Kind of the objects written.
    #[arg(long, value_enum, default_value = "pilot")]
    kind: Kind,
    /// Namespace of the objects.
    #[arg(long, default_value = "bench")]
    namespace: String,
    /// Concurrent clients of the create, get and update phases.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Objects of the first list size.
    #[arg(long, default_value_t = 1000)]
    small: usize,
    /// Objects of the second list size (0 skips it).
    #[arg(long, default_value_t = 10_000)]
    large: usize,
    /// Gets of random names.
    #[arg(long, default_value_t = 2000)]
    gets: usize,
    /// Read-modify-write updates of random names.
    #[arg(long, default_value_t = 1000)]
    updates: usize,
    /// Repetitions of each list measurement.
    #[arg(long, default_value_t = 10)]
    list_runs: usize,
    /// Page size of the paginated lists.
    #[arg(long, default_value_t = 500)]
    page_size: usize,
    /// Concurrent watchers of each fan-out, comma-separated (0 skips it; default 100, and
    /// 100,1000 with --compare).
    #[arg(long, value_delimiter = ',')]
    watchers: Vec<usize>,
    /// Updates made while they watch (each on a different object).
    #[arg(long, default_value_t = 100)]
    watch_updates: usize,
    /// Timeout of one request, seconds.
    #[arg(long, default_value_t = 30)]
    request_timeout: u64,
    /// How long watchers may take to receive every event after the last update, seconds.
    #[arg(long, default_value_t = 60)]
    watch_timeout: u64,
    /// Bound of the whole run, seconds; the server is killed when it passes.
    #[arg(long, default_value_t = 900)]
    deadline: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Keep the started server's data directory (its path is printed).
    #[arg(long)]
    keep_data: bool,
    /// Side by side in one run: navigator-apiserver on etcd, kube-apiserver serving a CRD of the
    /// same schema on the same etcd, and raw etcd transactions (see --targets).
    #[arg(long)]
    compare: bool,
    /// With --compare: which targets, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "navigator,kube-apiserver,etcd"
    )]
    targets: Vec<TargetKind>,
    /// With --compare: the etcd binary (default: next to --kube-apiserver-bin).
    #[arg(long)]
    etcd_bin: Option<PathBuf>,
    /// With --compare: the kube-apiserver binary (default
    /// `$HOME/.cache/navigator/k8s/v1.37.2/kube-apiserver`).
    #[arg(long)]
    kube_apiserver_bin: Option<PathBuf>,
    /// With --compare: run etcd with `--unsafe-no-fsync` (as devenv does) instead of fsyncing.
    #[arg(long)]
    etcd_no_fsync: bool,
    /// Small sizes for a smoke run: 200 and 1000 objects, 200 gets, 100 updates, 3 list runs,
    /// watchers 10 and 50 with 20 updates (explicit options still win).
    #[arg(long)]
    quick: bool,
}

/// A target of `--compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TargetKind {
    /// navigator-apiserver with `--etcd-servers`.
    Navigator,
    /// kube-apiserver serving the kind as a CRD.
    KubeApiserver,
    /// Raw etcd v3 requests.
    Etcd,
}

// ---------------------------------------------------------------------------------------------
// HTTP client over TLS (hyper's connection API with tokio-rustls).

/// Where and how to connect.
#[derive(Clone)]
struct Endpoint {
    host: String,
    port: u16,
    base: String,
    server_name: ServerName<'static>,
    tls: Arc<rustls::ClientConfig>,
    protocol: Protocol,
    token: Option<String>,
    timeout: Duration,
}

enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

/// A response with its whole body.
struct Resp {
    status: StatusCode,
    body: Bytes,
}

impl Resp {
    fn describe(&self, method: &Method, path: &str) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let snippet: String = text.chars().take(300).collect();
        format!("{method} {path}: {} {snippet}", self.status)
    }
}

/// One connection (HTTP/2: possibly shared by clones).
struct Client {
    ep: Endpoint,
    sender: Sender,
}

impl Endpoint {
    fn new(
        server: &str,
        ca_pem: &str,
        protocol: Protocol,
        token: Option<String>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let uri: http::Uri = server
            .parse()
            .with_context(|| format!("server URL {server:?}"))?;
        if uri.scheme_str() != Some("https") {
            bail!("server URL {server:?} is not https");
        }
        let host = uri
            .host()
            .ok_or_else(|| anyhow!("server URL {server:?} has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(443);
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.context("CA certificate PEM")?)?;
        }
        if roots.is_empty() {
            bail!("no certificate in the CA PEM");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = match protocol {
            Protocol::Http1 => vec![b"http/1.1".to_vec()],
            Protocol::Http2 => vec![b"h2".to_vec()],
        };
        let server_name =
            ServerName::try_from(host.clone()).with_context(|| format!("server name {host:?}"))?;
        Ok(Self {
            base: format!("https://{}", uri.authority().map_or("", |a| a.as_str())),
            host,
            port,
            server_name,
            tls: Arc::new(tls),
            protocol,
            token,
            timeout,
        })
    }
}

impl Client {
    async fn connect(ep: &Endpoint) -> anyhow::Result<Self> {
        let connect = async {
            let tcp = tokio::net::TcpStream::connect((ep.host.as_str(), ep.port)).await?;
            tcp.set_nodelay(true)?;
            let tls = tokio_rustls::TlsConnector::from(Arc::clone(&ep.tls))
                .connect(ep.server_name.clone(), tcp)
                .await?;
            let io = TokioIo::new(tls);
            let sender = match ep.protocol {
                Protocol::Http1 => {
                    let (sender, conn) = hyper::client::conn::http1::handshake(io).await?;
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                    Sender::H1(sender)
                }
                Protocol::Http2 => {
                    let (sender, conn) =
                        hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                    Sender::H2(sender)
                }
            };
            anyhow::Ok(sender)
        };
        let sender = tokio::time::timeout(ep.timeout, connect)
            .await
            .map_err(|_| anyhow!("connecting to {} timed out", ep.base))?
            .with_context(|| format!("connecting to {}", ep.base))?;
        Ok(Self {
            ep: ep.clone(),
            sender,
        })
    }

    /// Another handle on the same HTTP/2 connection, or a new HTTP/1.1 connection.
    async fn another(&self) -> anyhow::Result<Self> {
        match &self.sender {
            Sender::H2(s) => Ok(Self {
                ep: self.ep.clone(),
                sender: Sender::H2(s.clone()),
            }),
            Sender::H1(_) => Self::connect(&self.ep).await,
        }
    }

    fn closed(&self) -> bool {
        match &self.sender {
            Sender::H1(s) => s.is_closed(),
            Sender::H2(s) => s.is_closed(),
        }
    }

    fn request(
        &self,
        method: &Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Request<Full<Bytes>>> {
        let uri = match self.sender {
            Sender::H1(_) => path.to_owned(),
            Sender::H2(_) => format!("{}{path}", self.ep.base),
        };
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(http::header::ACCEPT, "application/json");
        if matches!(self.sender, Sender::H1(_)) {
            builder = builder.header(
                http::header::HOST,
                self.ep.base.trim_start_matches("https://"),
            );
        }
        if let Some(token) = &self.ep.token {
            builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if body.is_some() {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
        }
        Ok(builder.body(Full::new(Bytes::from(body.unwrap_or_default())))?)
    }

    /// Sends a request and returns the response with its body still streaming.
    async fn send(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> anyhow::Result<http::Response<Incoming>> {
        if self.closed() {
            // HTTP/1.1 connections the server closed are replaced; an HTTP/2 one is fatal.
            if matches!(self.sender, Sender::H2(_)) {
                bail!("the HTTP/2 connection was closed");
            }
            *self = Self::connect(&self.ep).await?;
        }
        let resp = match &mut self.sender {
            Sender::H1(s) => {
                s.ready().await?;
                s.send_request(req).await?
            }
            Sender::H2(s) => {
                s.ready().await?;
                s.send_request(req).await?
            }
        };
        Ok(resp)
    }

    /// One request and its whole response, bounded by the request timeout.
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Resp> {
        let timeout = self.ep.timeout;
        let req = self.request(&method, path, body)?;
        let work = async {
            let resp = self.send(req).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            anyhow::Ok(Resp { status, body })
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| anyhow!("{method} {path}: no complete response within {timeout:?}"))?
            .with_context(|| format!("{method} {path}"))
    }
}

// ---------------------------------------------------------------------------------------------
// The server under test.

struct ServerProc {
    child: tokio::process::Child,
    pid: Option<u32>,
    dir: tempfile::TempDir,
}

impl ServerProc {
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Starts `bin --standalone` on a temporary data dir and a free port; returns once its
    /// kubeconfig is written and `/readyz` answers 200.
    async fn start(bin: &Path, args: &Args, extra: &[String]) -> anyhow::Result<(Self, Endpoint)> {
        if !bin.exists() {
            bail!(
                "server binary {} not found: build it with `cargo build --release -p navigator-apiserver` or pass --server-bin",
                bin.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("navigator-bench-")
            .tempdir()
            .context("temporary data dir")?;
        let data = dir.path().join("data");
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let child = tokio::process::Command::new(bin)
            .arg("--standalone")
            .arg("--data-dir")
            .arg(&data)
            .args(["--bind-address", "127.0.0.1", "--secure-port", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut server = Self {
            pid: child.id(),
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let kubeconfig_path = data.join("kubeconfig");
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "the server exited with {status} before it was ready:\n{}",
                    server.log_tail()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "the server was not ready within 60 s:\n{}",
                    server.log_tail()
                );
            }
            if let Some(ep) = Self::probe(&kubeconfig_path, args).await {
                return Ok((server, ep));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn probe(kubeconfig_path: &Path, args: &Args) -> Option<Endpoint> {
        let text = std::fs::read_to_string(kubeconfig_path).ok()?;
        let target = kubeconfig::parse(&text).ok()?;
        let CaSource::Pem(ca) = target.ca else {
            return None;
        };
        let ep = Endpoint::new(
            &target.server,
            &ca,
            args.protocol,
            target.token,
            Duration::from_secs(2),
        )
        .ok()?;
        let mut client = Client::connect(&ep).await.ok()?;
        let resp = client.call(Method::GET, "/readyz", None).await.ok()?;
        (resp.status == StatusCode::OK).then_some(Endpoint {
            timeout: Duration::from_secs(args.request_timeout),
            ..ep
        })
    }

    /// SIGTERM, then SIGKILL after 10 s.
    async fn stop(mut self, keep: bool) -> anyhow::Result<()> {
        if let Some(pid) = self.pid.and_then(|p| i32::try_from(p).ok()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            eprintln!(
                "navigator-bench: the server did not stop within 10 s of SIGTERM; killing it"
            );
            self.child.kill().await?;
        }
        if keep {
            let path = self.dir.keep();
            eprintln!(
                "navigator-bench: server data and log kept in {}",
                path.display()
            );
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Phases.

#[derive(Clone, Copy)]
enum Op {
    Create,
    Get,
    Update,
}

enum Outcome {
    /// Success; for updates the new resourceVersion and when the response arrived.
    Ok(Option<(String, Duration)>),
    Conflict,
    Error(String),
}

/// What a phase's workers share.
struct Ctx {
    kind: Kind,
    namespace: String,
    epoch: Instant,
    tag: String,
}

async fn run_op(client: &mut Client, ctx: &Ctx, op: Op, i: usize) -> Outcome {
    match op_inner(client, ctx, op, i).await {
        Ok(o) => o,
        Err(e) => Outcome::Error(format!("{e:#}")),
    }
}

async fn op_inner(client: &mut Client, ctx: &Ctx, op: Op, i: usize) -> anyhow::Result<Outcome> {
    let name = objects::name(i);
    let path = objects::object_path(ctx.kind, &ctx.namespace, &name);
    match op {
        Op::Create => {
            let body = serde_json::to_vec(&objects::object(ctx.kind, &ctx.namespace, i))?;
            let collection = objects::collection_path(ctx.kind, &ctx.namespace);
            let resp = client.call(Method::POST, &collection, Some(body)).await?;
            Ok(if resp.status.is_success() {
                Outcome::Ok(None)
            } else {
                Outcome::Error(resp.describe(&Method::POST, &collection))
            })
        }
        Op::Get => {
            let resp = client.call(Method::GET, &path, None).await?;
            Ok(if resp.status == StatusCode::OK {
                Outcome::Ok(None)
            } else {
                Outcome::Error(resp.describe(&Method::GET, &path))
            })
        }
        Op::Update => {
            let resp = client.call(Method::GET, &path, None).await?;
            if resp.status != StatusCode::OK {
                return Ok(Outcome::Error(resp.describe(&Method::GET, &path)));
            }
            let mut object: Value = serde_json::from_slice(&resp.body)?;
            if !objects::touch(
                &mut object,
                &format!("{}-{}", ctx.tag, navigator_bench::next_update_seq()),
            ) {
                bail!("GET {path} returned an object without metadata");
            }
            let resp = client
                .call(Method::PUT, &path, Some(serde_json::to_vec(&object)?))
                .await?;
            let done = ctx.epoch.elapsed();
            if resp.status == StatusCode::CONFLICT {
                return Ok(Outcome::Conflict);
            }
            if resp.status != StatusCode::OK {
                return Ok(Outcome::Error(resp.describe(&Method::PUT, &path)));
            }
            let updated: Value = serde_json::from_slice(&resp.body)?;
            let rv = objects::resource_version(&updated)
                .ok_or_else(|| anyhow!("PUT {path} answered without metadata.resourceVersion"))?
                .to_owned();
            Ok(Outcome::Ok(Some((rv, done))))
        }
    }
}

/// Everything a pool of workers measured.
struct PoolResult {
    phase: PhaseResult,
    writes: HashMap<String, Duration>,
    latencies: Vec<Duration>,
}

/// Runs `op` on the objects `indices` with `concurrency` workers.
async fn run_pool(
    name: &str,
    base: &Client,
    ctx: &Arc<Ctx>,
    op: Op,
    indices: Vec<usize>,
    concurrency: usize,
) -> anyhow::Result<PoolResult> {
    let mut clients = Vec::new();
    for _ in 0..concurrency.max(1) {
        clients.push(base.another().await?);
    }
    let indices = Arc::new(indices);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for mut client in clients {
        let (indices, next, ctx) = (Arc::clone(&indices), Arc::clone(&next), Arc::clone(ctx));
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = indices.get(k) else { break };
                let t0 = Instant::now();
                let outcome = run_op(&mut client, &ctx, op, i).await;
                out.push((t0.elapsed(), outcome));
            }
            out
        }));
    }
    let mut per_task = Vec::new();
    for task in tasks {
        per_task.push(task.await?);
    }
    Ok(tally(name, start.elapsed(), per_task))
}

/// A phase's result from its workers' (latency, outcome) samples: successes with their
/// latencies and the writes' resourceVersions, conflicts, errors (the first one kept).
fn tally(name: &str, elapsed: Duration, per_task: Vec<Vec<(Duration, Outcome)>>) -> PoolResult {
    let mut phase = PhaseResult {
        name: name.to_owned(),
        ..PhaseResult::default()
    };
    let mut latencies = Vec::new();
    let mut writes = HashMap::new();
    for (latency, outcome) in per_task.into_iter().flatten() {
        match outcome {
            Outcome::Ok(write) => {
                phase.ok += 1;
                latencies.push(latency);
                if let Some((rv, at)) = write {
                    writes.insert(rv, at);
                }
            }
            Outcome::Conflict => phase.conflicts += 1,
            Outcome::Error(e) => {
                phase.errors += 1;
                phase.first_error.get_or_insert(e);
            }
        }
    }
    phase.elapsed_s = elapsed.as_secs_f64();
    phase.throughput_per_s = throughput(phase.ok, elapsed);
    phase.latency = LatencySummary::from_samples(latencies.clone());
    PoolResult {
        phase,
        writes,
        latencies,
    }
}

/// Full lists and paginated walks of a collection that should hold `expected` objects.
async fn list_phases(
    client: &mut Client,
    ctx: &Ctx,
    args: &Args,
    expected: usize,
    label: &str,
    problems: &mut Vec<String>,
) -> anyhow::Result<Vec<PhaseResult>> {
    let collection = objects::collection_path(ctx.kind, &ctx.namespace);
    let mut full = PhaseResult {
        name: format!("list {label} (full)"),
        ..PhaseResult::default()
    };
    let mut samples = Vec::new();
    let mut bytes = 0u64;
    let start = Instant::now();
    for run in 0..args.list_runs {
        let t0 = Instant::now();
        let resp = match client.call(Method::GET, &collection, None).await {
            Ok(r) => r,
            Err(e) => {
                full.errors += 1;
                full.first_error.get_or_insert(format!("{e:#}"));
                continue;
            }
        };
        let latency = t0.elapsed();
        if resp.status != StatusCode::OK {
            full.errors += 1;
            full.first_error
                .get_or_insert(resp.describe(&Method::GET, &collection));
            continue;
        }
        full.ok += 1;
        samples.push(latency);
        bytes += resp.body.len() as u64;
        if run == 0 {
            let list: Value = serde_json::from_slice(&resp.body)?;
            let items = list["items"].as_array().map_or(0, Vec::len);
            if items != expected {
                problems.push(format!(
                    "GET {collection} returned {items} items, expected {expected}"
                ));
            }
        }
    }
    full.elapsed_s = start.elapsed().as_secs_f64();
    full.throughput_per_s = throughput(full.ok, start.elapsed());
    full.bytes_per_op = (full.ok > 0).then(|| bytes / full.ok as u64);
    full.latency = LatencySummary::from_samples(samples);

    let mut paged = PhaseResult {
        name: format!("list {label} (limit={})", args.page_size),
        ..PhaseResult::default()
    };
    let mut samples = Vec::new();
    let mut bytes = 0u64;
    let mut pages_total = 0usize;
    let start = Instant::now();
    'runs: for _ in 0..args.list_runs {
        let mut token: Option<String> = None;
        let mut walk = Duration::ZERO;
        let mut items = 0usize;
        let mut pages = 0usize;
        loop {
            let path = match &token {
                None => format!("{collection}?limit={}", args.page_size),
                Some(t) => format!(
                    "{collection}?limit={}&continue={}",
                    args.page_size,
                    objects::query_escape(t)
                ),
            };
            let t0 = Instant::now();
            let resp = match client.call(Method::GET, &path, None).await {
                Ok(r) => r,
                Err(e) => {
                    paged.errors += 1;
                    paged.first_error.get_or_insert(format!("{e:#}"));
                    continue 'runs;
                }
            };
            walk += t0.elapsed();
            if resp.status != StatusCode::OK {
                paged.errors += 1;
                paged
                    .first_error
                    .get_or_insert(resp.describe(&Method::GET, &path));
                continue 'runs;
            }
            pages += 1;
            bytes += resp.body.len() as u64;
            let page: Value = serde_json::from_slice(&resp.body)?;
            items += page["items"].as_array().map_or(0, Vec::len);
            token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if token.is_none() {
                break;
            }
            if pages > expected / args.page_size.max(1) + 10 {
                problems.push(format!(
                    "paginated list of {collection} did not end after {pages} pages"
                ));
                break;
            }
        }
        if items != expected {
            problems.push(format!(
                "paginated list of {collection} (limit={}) returned {items} items in {pages} pages, expected {expected}",
                args.page_size
            ));
        }
        paged.ok += 1;
        pages_total += pages;
        samples.push(walk);
    }
    paged.elapsed_s = start.elapsed().as_secs_f64();
    paged.throughput_per_s = throughput(paged.ok, start.elapsed());
    paged.bytes_per_op = (paged.ok > 0).then(|| bytes / paged.ok as u64);
    paged.requests_per_op = (paged.ok > 0).then(|| pages_total / paged.ok);
    paged.latency = LatencySummary::from_samples(samples);
    Ok(vec![full, paged])
}

/// Events one watcher received: (resourceVersion, time since the epoch).
struct WatcherOutcome {
    established: bool,
    events: Vec<(String, Duration)>,
    error: Option<String>,
}

/// One watcher: its own connection, a watch from `rv`, events recorded until `target` events
/// (set once the updates are done) or the deadline.
async fn watcher(
    ep: Endpoint,
    path: String,
    epoch: Instant,
    established: Arc<AtomicUsize>,
    target: Arc<AtomicUsize>,
    deadline: Arc<std::sync::Mutex<Instant>>,
) -> WatcherOutcome {
    let mut out = WatcherOutcome {
        established: false,
        events: Vec::new(),
        error: None,
    };
    let result = async {
        let mut client = Client::connect(&ep).await?;
        let req = client.request(&Method::GET, &path, None)?;
        let resp = tokio::time::timeout(ep.timeout, client.send(req))
            .await
            .map_err(|_| anyhow!("GET {path}: no response headers within {:?}", ep.timeout))??;
        if resp.status() != StatusCode::OK {
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            bail!("GET {path}: {status} {}", String::from_utf8_lossy(&body));
        }
        out.established = true;
        established.fetch_add(1, Ordering::SeqCst);
        let mut body = resp.into_body();
        let mut lines = LineBuffer::default();
        loop {
            if out.events.len() >= target.load(Ordering::SeqCst) {
                return Ok(());
            }
            let until = *deadline.lock().map_err(|_| anyhow!("poisoned"))?;
            if Instant::now() > until {
                bail!(
                    "watch deadline passed with {} events received",
                    out.events.len()
                );
            }
            let frame = match tokio::time::timeout(Duration::from_millis(200), body.frame()).await {
                Err(_) => continue,
                Ok(None) => bail!(
                    "the server ended the watch after {} events",
                    out.events.len()
                ),
                Ok(Some(frame)) => frame?,
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let at = epoch.elapsed();
            for line in lines.push(&data) {
                match parse_event(&line) {
                    Some(e) if e.event_type == "ERROR" => {
                        bail!("watch ERROR event: {}", String::from_utf8_lossy(&line))
                    }
                    Some(e) if e.event_type == "BOOKMARK" => {}
                    Some(e) => out.events.push((e.resource_version, at)),
                    None => bail!("unparsable watch line: {}", String::from_utf8_lossy(&line)),
                }
            }
        }
    }
    .await;
    if let Err(e) = result {
        out.error = Some(format!("{e:#}"));
    }
    out
}

async fn watch_phase(
    base: &Client,
    ctx: &Arc<Ctx>,
    args: &Args,
    watchers: usize,
    objects_stored: usize,
) -> anyhow::Result<WatchResult> {
    let collection = objects::collection_path(ctx.kind, &ctx.namespace);
    let mut client = base.another().await?;
    let resp = client
        .call(Method::GET, &format!("{collection}?limit=1"), None)
        .await?;
    if resp.status != StatusCode::OK {
        bail!("{}", resp.describe(&Method::GET, &collection));
    }
    let list: Value = serde_json::from_slice(&resp.body)?;
    let rv = objects::resource_version(&list)
        .ok_or_else(|| anyhow!("list of {collection} has no resourceVersion"))?
        .to_owned();
    let path = format!(
        "{collection}?watch=true&resourceVersion={rv}&timeoutSeconds={}",
        args.deadline
    );
    let established = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(AtomicUsize::new(usize::MAX));
    let deadline = Arc::new(std::sync::Mutex::new(
        Instant::now() + Duration::from_secs(args.deadline),
    ));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..watchers {
        tasks.push(tokio::spawn(watcher(
            client.ep.clone(),
            path.clone(),
            ctx.epoch,
            Arc::clone(&established),
            Arc::clone(&target),
            Arc::clone(&deadline),
        )));
    }
    // Every watch must be established before the first write.
    let establish_deadline = Instant::now() + Duration::from_secs(args.request_timeout);
    while established.load(Ordering::SeqCst) < watchers
        && Instant::now() < establish_deadline
        && !tasks.iter().all(tokio::task::JoinHandle::is_finished)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let establish_s = start.elapsed().as_secs_f64();

    let count = args.watch_updates.min(objects_stored);
    let writes_start = ctx.epoch.elapsed();
    let pool = run_pool(
        "watch updates",
        base,
        ctx,
        Op::Update,
        (0..count).collect(),
        args.concurrency,
    )
    .await?;
    let landed = pool.writes.len();
    target.store(landed, Ordering::SeqCst);
    if let Ok(mut d) = deadline.lock() {
        *d = Instant::now() + Duration::from_secs(args.watch_timeout);
    }

    let mut result = WatchResult {
        watchers,
        watchers_established: 0,
        updates: count,
        updates_landed: landed,
        establish_s,
        expected_events: landed * watchers,
        update_latency: LatencySummary::from_samples(pool.latencies),
        update_throughput_per_s: pool.phase.throughput_per_s,
        first_error: pool.phase.first_error,
        ..WatchResult::default()
    };
    let mut delivery = Vec::new();
    let mut last_event = writes_start;
    for task in tasks {
        let outcome = task.await?;
        result.watchers_established += usize::from(outcome.established);
        result.received_events += outcome.events.len();
        if let Some(e) = outcome.error {
            result.first_error.get_or_insert(e);
        }
        if let Some((_, at)) = outcome.events.last() {
            last_event = last_event.max(*at);
        }
        let m = match_events(&pool.writes, &outcome.events);
        if m.matched == landed && m.unmatched == 0 && m.duplicates == 0 {
            result.watchers_complete += 1;
        }
        result.matched_events += m.matched;
        result.unmatched_events += m.unmatched;
        result.duplicate_events += m.duplicates;
        result.before_response += m.before_response;
        delivery.extend(m.latencies);
    }
    result.elapsed_s = last_event.saturating_sub(writes_start).as_secs_f64();
    result.delivery = LatencySummary::from_samples(delivery);
    Ok(result)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn memory(pid: Option<u32>) -> Option<MemStatus> {
    let text = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    procfs::parse_status(&text)
}

/// All phases, recorded into `report` as they finish (so a failure keeps what was measured).
async fn bench(
    ep: Endpoint,
    pid: Option<u32>,
    args: &Args,
    report: &mut Report,
) -> anyhow::Result<()> {
    let ctx = Arc::new(Ctx {
        kind: args.kind,
        namespace: args.namespace.clone(),
        epoch: Instant::now(),
        tag: format!("{}", std::process::id()),
    });
    let base = Client::connect(&ep).await?;
    let mut rng = Rng::new(0x5eed);
    let record = |report: &mut Report, phase: PhaseResult| {
        if phase.errors > 0 {
            report.problems.push(format!(
                "{}: {} errors; first: {}",
                phase.name,
                phase.errors,
                phase.first_error.as_deref().unwrap_or("-")
            ));
        }
        if !args.json {
            eprintln!(
                "  {:<34} ok {:>6}  errors {:>4}  {:>9.1}/s  p50 {:>8.2} ms  p99 {:>8.2} ms",
                phase.name,
                phase.ok,
                phase.errors,
                phase.throughput_per_s,
                phase.latency.p50_ms,
                phase.latency.p99_ms
            );
        }
        report.phases.push(phase);
    };
    let small = args.small;
    let label = |n: usize| {
        if n.is_multiple_of(1000) {
            format!("{}k", n / 1000)
        } else {
            n.to_string()
        }
    };

    let pool = run_pool(
        &format!("create 0→{small}"),
        &base,
        &ctx,
        Op::Create,
        (0..small).collect(),
        args.concurrency,
    )
    .await?;
    record(report, pool.phase);

    let gets: Vec<usize> = (0..args.gets).map(|_| rng.below(small)).collect();
    let pool = run_pool("get (random)", &base, &ctx, Op::Get, gets, args.concurrency).await?;
    record(report, pool.phase);

    let mut lister = base.another().await?;
    let mut problems = Vec::new();
    for phase in list_phases(&mut lister, &ctx, args, small, &label(small), &mut problems).await? {
        record(report, phase);
    }
    report.problems.append(&mut problems);

    let updates: Vec<usize> = (0..args.updates).map(|_| rng.below(small)).collect();
    let pool = run_pool(
        "update (GET+PUT, random)",
        &base,
        &ctx,
        Op::Update,
        updates,
        args.concurrency,
    )
    .await?;
    record(report, pool.phase);

    if let Some(status) = memory(pid) {
        report.memory.push(MemorySample {
            after: format!("{} create/get/list/update", label(small)),
            objects: small,
            status,
        });
    }

    for &watchers in args.watchers.iter().filter(|w| **w > 0) {
        if !args.json {
            eprintln!(
                "  watch fan-out: {} watchers, {} updates…",
                watchers, args.watch_updates
            );
        }
        let w = watch_phase(&base, &ctx, args, watchers, small).await?;
        if !w.complete() {
            report.problems.push(format!(
                "watch fan-out ×{watchers} incomplete: {} of {} events matched ({} received, {} unmatched, {} duplicates, {}/{} watchers established); first error: {}",
                w.matched_events,
                w.expected_events,
                w.received_events,
                w.unmatched_events,
                w.duplicate_events,
                w.watchers_established,
                w.watchers,
                w.first_error.as_deref().unwrap_or("-")
            ));
        }
        report.watches.push(w);
        if let Some(status) = memory(pid) {
            report.memory.push(MemorySample {
                after: format!("watch fan-out ×{watchers}"),
                objects: small,
                status,
            });
        }
    }

    if args.large > small {
        let large = args.large;
        let pool = run_pool(
            &format!("create {small}→{large}"),
            &base,
            &ctx,
            Op::Create,
            (small..large).collect(),
            args.concurrency,
        )
        .await?;
        record(report, pool.phase);
        let mut problems = Vec::new();
        for phase in
            list_phases(&mut lister, &ctx, args, large, &label(large), &mut problems).await?
        {
            record(report, phase);
        }
        report.problems.append(&mut problems);
        if let Some(status) = memory(pid) {
            report.memory.push(MemorySample {
                after: format!("{} create/list", label(large)),
                objects: large,
                status,
            });
        }
    }
    Ok(())
}

async fn external_endpoint(url: &str, args: &Args) -> anyhow::Result<Endpoint> {
    let from_kubeconfig = match &args.kubeconfig {
        Some(path) => Some(kubeconfig::parse(
            &std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?,
        )?),
        None => None,
    };
    let ca = match (&args.ca, from_kubeconfig.as_ref().map(|k| &k.ca)) {
        (Some(path), _) => {
            std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?
        }
        (None, Some(CaSource::File(path))) => {
            std::fs::read_to_string(path).with_context(|| path.clone())?
        }
        (None, Some(CaSource::Pem(pem))) => pem.clone(),
        _ => bail!("--url needs --ca or a --kubeconfig with a certificate authority"),
    };
    let token = args
        .token
        .clone()
        .or_else(|| from_kubeconfig.and_then(|k| k.token));
    Endpoint::new(
        url,
        &ca,
        args.protocol,
        token,
        Duration::from_secs(args.request_timeout),
    )
}

fn new_report(args: &Args) -> Report {
    Report {
        server: String::new(),
        protocol: match args.protocol {
            Protocol::Http1 => "HTTP/1.1",
            Protocol::Http2 => "HTTP/2",
        }
        .to_owned(),
        kind: args.kind,
        concurrency: args.concurrency,
        load_average: vec![load_average()],
        cpus: std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        phases: Vec::new(),
        watches: Vec::new(),
        memory: Vec::new(),
        problems: Vec::new(),
    }
}

/// Runs [`bench`] bounded by `--deadline`, recording failures as problems.
async fn run_bounded(ep: Endpoint, pid: Option<u32>, args: &Args, report: &mut Report) {
    let outcome = tokio::time::timeout(
        Duration::from_secs(args.deadline),
        bench(ep, pid, args, report),
    )
    .await;
    match outcome {
        Err(_) => report.problems.push(format!(
            "the run passed its --deadline of {} s",
            args.deadline
        )),
        Ok(Err(e)) => report.problems.push(format!("the run stopped: {e:#}")),
        Ok(Ok(())) => {}
    }
    report.load_average.push(load_average());
}

/// Parses the arguments and applies `--quick` and the mode's default watcher counts to what the
/// command line left at its defaults.
fn parse_args() -> anyhow::Result<Args> {
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    if args.small == 0 {
        bail!("--small must be at least 1");
    }
    if args.compare {
        let ok = run_compare(&args).await?;
        if !ok {
            std::process::exit(1);
        }
        return Ok(());
    }
    let mut report = new_report(&args);

    let url = match (&args.url, &args.kubeconfig) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(path)) => Some(
            kubeconfig::parse(
                &std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?,
            )?
            .server,
        ),
        (None, None) => None,
    };
    let (server, ep, pid) = match url {
        Some(url) => (None, external_endpoint(&url, &args).await?, args.server_pid),
        None => {
            let (server, ep) = ServerProc::start(&args.server_bin, &args, &[]).await?;
            let pid = server.pid;
            (Some(server), ep, pid)
        }
    };
    report.server = ep.base.clone();
    if !args.json {
        eprintln!(
            "navigator-bench: {} ({}), load average {}",
            ep.base,
            pid.map_or_else(|| "pid unknown".to_owned(), |p| format!("pid {p}")),
            report.load_average[0]
        );
    }

    run_bounded(ep, pid, &args, &mut report).await;
    if let Some(mut server) = server {
        if let Ok(Some(status)) = server.child.try_wait() {
            report.problems.push(format!(
                "the server exited during the run ({status}):\n{}",
                server.log_tail()
            ));
        }
        server.stop(args.keep_data).await?;
    }

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_table(&report));
    }
    if report.problems.is_empty() {
        Ok(())
    } else {
        std::process::exit(1)
    }
}

// ---------------------------------------------------------------------------------------------
// --compare: navigator-apiserver on etcd, kube-apiserver with a CRD, raw etcd, side by side.

/// Key prefix of navigator-apiserver's objects (its default `--storage-prefix`).
const NAVIGATOR_PREFIX: &str = "/registry/navigator.jetstack.io";
/// kube-apiserver's `--etcd-prefix` (its objects and the CRs under `<prefix>/<group>/…`).
const KUBE_PREFIX: &str = "/kube-apiserver-bench";
/// Root of the raw etcd keys.
const RAW_PREFIX: &str = "/raw-etcd";

fn default_kube_bin() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/navigator/k8s/v1.37.2/kube-apiserver")
}

/// Where a server keeps object `name` of the benchmark's collection, without the name.
fn stored_prefix(root: &str, kind: Kind, namespace: &str) -> String {
    format!("{root}/{}/{namespace}/", kind.plural())
}

/// The server's own time breakdown from its `/metrics`.
async fn scrape_breakdown(ep: &Endpoint, kind: Kind) -> anyhow::Result<Breakdown> {
    let mut c = Client::connect(ep).await?;
    let resp = c.call(Method::GET, "/metrics", None).await?;
    if resp.status != StatusCode::OK {
        bail!("{}", resp.describe(&Method::GET, "/metrics"));
    }
    let samples = promtext::parse(&String::from_utf8_lossy(&resp.body));
    let plural = kind.plural();
    Ok(Breakdown {
        request: promtext::histogram_means(
            &samples,
            "apiserver_request_duration_seconds",
            "verb",
            |s| s.label("resource") == Some(plural),
        ),
        storage: promtext::histogram_means(
            &samples,
            "etcd_request_duration_seconds",
            "operation",
            |s| s.label("type").is_some_and(|t| t.contains(plural)),
        ),
    })
}

/// Deletes every key under `prefix` (so the next target starts from the same etcd content).
async fn delete_prefix(url: &str, prefix: &str) -> anyhow::Result<()> {
    let mut c = etcd_client::Client::connect([url], None).await?;
    c.delete(
        prefix,
        Some(etcd_client::DeleteOptions::new().with_prefix()),
    )
    .await?;
    Ok(())
}

/// A stand-in for a stored object when no server ran first: the object as created plus the
/// metadata a server adds.
fn synthetic_stored(kind: Kind, namespace: &str) -> Value {
    let mut o = objects::object(kind, namespace, 0);
    if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(
            "uid".to_owned(),
            Value::String("8c3f4f3e-2f4a-4d38-9a57-3f0c3e1f2b6d".to_owned()),
        );
        meta.insert(
            "creationTimestamp".to_owned(),
            Value::String("2026-11-25T12:00:00Z".to_owned()),
        );
        meta.insert("generation".to_owned(), Value::from(1));
    }
    o
}

async fn finish_target(
    name: &str,
    auth: &str,
    setup: String,
    report: Report,
    etcd: &peers::EtcdProc,
    stored: Option<(u64, Vec<u8>)>,
    breakdown: Option<Breakdown>,
) -> Target {
    Target {
        name: name.to_owned(),
        auth: auth.to_owned(),
        setup,
        report,
        etcd_memory: memory(etcd.pid).map(|status| MemorySample {
            after: format!("{name} run"),
            objects: 0,
            status,
        }),
        stored_bytes: stored.map(|(b, _)| b),
        breakdown,
    }
}

async fn navigator_target(
    args: &Args,
    etcd: &peers::EtcdProc,
    template: &mut Option<Vec<u8>>,
) -> Target {
    let mut report = new_report(args);
    eprintln!("navigator-bench: navigator-apiserver on etcd {}…", etcd.url);
    let extra = vec![
        format!("--etcd-servers={}", etcd.url),
        format!("--storage-prefix={NAVIGATOR_PREFIX}"),
    ];
    let mut breakdown = None;
    match ServerProc::start(&args.server_bin, args, &extra).await {
        Err(e) => report
            .problems
            .push(format!("navigator-apiserver did not start: {e:#}")),
        Ok((mut server, ep)) => {
            report.server = ep.base.clone();
            run_bounded(ep.clone(), server.pid, args, &mut report).await;
            match scrape_breakdown(&ep, args.kind).await {
                Ok(b) => breakdown = Some(b),
                Err(e) => report.problems.push(format!("/metrics: {e:#}")),
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                report.problems.push(format!(
                    "the server exited during the run ({status}):\n{}",
                    server.log_tail()
                ));
            }
            if let Err(e) = server.stop(args.keep_data).await {
                report.problems.push(format!("stopping the server: {e:#}"));
            }
        }
    }
    let prefix = stored_prefix(NAVIGATOR_PREFIX, args.kind, &args.namespace);
    let stored = peers::stored_values(&etcd.url, &prefix, 20)
        .await
        .ok()
        .flatten();
    if let Some((_, first)) = &stored {
        template.get_or_insert_with(|| first.clone());
    }
    let target = finish_target(
        "navigator",
        "standalone mode: every request is system:anonymous-admin (AllowAll); the bearer token is sent but not checked; no authorization",
        format!("navigator-apiserver --standalone --etcd-servers=<shared etcd> --storage-prefix={NAVIGATOR_PREFIX}"),
        report,
        etcd,
        stored,
        breakdown,
    )
    .await;
    let _ = delete_prefix(&etcd.url, NAVIGATOR_PREFIX).await;
    target
}

async fn kube_target(
    args: &Args,
    dir: &Path,
    etcd: &peers::EtcdProc,
    template: &mut Option<Vec<u8>>,
) -> Target {
    let mut report = new_report(args);
    let bin = args
        .kube_apiserver_bin
        .clone()
        .unwrap_or_else(default_kube_bin);
    eprintln!(
        "navigator-bench: kube-apiserver {} on etcd {}…",
        bin.display(),
        etcd.url
    );
    let mut breakdown = None;
    let started = peers::KubeApiserverProc::start(
        &bin,
        dir,
        &etcd.url,
        KUBE_PREFIX,
        args.protocol,
        Duration::from_secs(args.request_timeout),
    )
    .await;
    match started {
        Err(e) => report
            .problems
            .push(format!("kube-apiserver did not start: {e:#}")),
        Ok((mut kube, ep)) => {
            report.server = ep.base.clone();
            let setup = async {
                let mut c = Client::connect(&ep).await?;
                peers::ensure_namespace(&mut c, &args.namespace).await?;
                let version = navigator_api::scheme::ApiVersion::V1beta1;
                let doc = navigator_api::openapi::v3_document(version);
                let definition = format!("io.jetstack.navigator.v1beta1.{}", args.kind.kind());
                let crd =
                    navigator_bench::crd::crd_manifest(&doc, &definition, args.kind.plural())?;
                peers::install_crd(
                    &mut c,
                    &crd,
                    &objects::collection_path(args.kind, &args.namespace),
                )
                .await
            };
            match setup.await {
                Err(e) => report
                    .problems
                    .push(format!("kube-apiserver setup (namespace, CRD): {e:#}")),
                Ok(()) => {
                    eprintln!("navigator-bench: CRD established at {}", ep.base);
                    run_bounded(ep.clone(), kube.pid, args, &mut report).await;
                    match scrape_breakdown(&ep, args.kind).await {
                        Ok(b) => breakdown = Some(b),
                        Err(e) => report.problems.push(format!("/metrics: {e:#}")),
                    }
                }
            }
            if let Some(exit) = kube.exited() {
                report.problems.push(exit);
            } else if !report.problems.is_empty() {
                eprintln!(
                    "navigator-bench: kube-apiserver log tail:\n{}",
                    kube.log_tail()
                );
            }
            kube.stop().await;
        }
    }
    let root = format!("{KUBE_PREFIX}/navigator.jetstack.io");
    let prefix = stored_prefix(&root, args.kind, &args.namespace);
    let stored = peers::stored_values(&etcd.url, &prefix, 20)
        .await
        .ok()
        .flatten();
    if let Some((_, first)) = &stored {
        template.get_or_insert_with(|| first.clone());
    }
    let target = finish_target(
        "kube-apiserver",
        &format!("--token-auth-file (static bearer token, checked on every request) and --authorization-mode=AlwaysAllow; anonymous disabled; user {} (not system:masters: priority and fairness applies)", peers::KUBE_USER),
        peers::KubeApiserverProc::describe(KUBE_PREFIX),
        report,
        etcd,
        stored,
        breakdown,
    )
    .await;
    let _ = delete_prefix(&etcd.url, &root).await;
    target
}

async fn raw_target(args: &Args, etcd: &peers::EtcdProc, template: Option<&[u8]>) -> Target {
    let mut report = new_report(args);
    report.server = etcd.url.clone();
    eprintln!("navigator-bench: raw etcd {}…", etcd.url);
    let template = template
        .and_then(|t| serde_json::from_slice::<Value>(t).ok())
        .unwrap_or_else(|| synthetic_stored(args.kind, &args.namespace));
    let prefix = stored_prefix(RAW_PREFIX, args.kind, &args.namespace);
    let cfg = raw_etcd::RawConfig {
        url: etcd.url.clone(),
        prefix: prefix.clone(),
        template,
        concurrency: args.concurrency,
        small: args.small,
        large: args.large,
        gets: args.gets,
        updates: args.updates,
        list_runs: args.list_runs,
        page_size: args.page_size,
        watchers: args.watchers.clone(),
        watch_updates: args.watch_updates,
        watch_timeout: args.watch_timeout,
        etcd_pid: etcd.pid,
    };
    let outcome = tokio::time::timeout(
        Duration::from_secs(args.deadline),
        raw_etcd::bench(cfg, &mut report),
    )
    .await;
    match outcome {
        Err(_) => report.problems.push(format!(
            "the run passed its --deadline of {} s",
            args.deadline
        )),
        Ok(Err(e)) => report.problems.push(format!("the run stopped: {e:#}")),
        Ok(Ok(())) => {}
    }
    report.load_average.push(load_average());
    let stored = peers::stored_values(&etcd.url, &prefix, 20)
        .await
        .ok()
        .flatten();
    let target = finish_target(
        "raw etcd",
        "none: etcd v3 gRPC in plaintext on 127.0.0.1 (one HTTP/2 connection for the workers, one per 100 watchers)",
        "etcd-client: txn create (create_revision == 0), range get, range list (full; limit + next key at the first page's revision), range + txn update (mod_revision), watch on the prefix; values: the JSON navigator stored (or kube-apiserver, or a synthetic one)".to_owned(),
        report,
        etcd,
        stored,
        None,
    )
    .await;
    let _ = delete_prefix(&etcd.url, RAW_PREFIX).await;
    target
}

/// The side-by-side run; `Ok(false)` when some target had problems.
async fn run_compare(args: &Args) -> anyhow::Result<bool> {
    let dir = tempfile::Builder::new()
        .prefix("navigator-bench-compare-")
        .tempdir()
        .context("temporary dir")?;
    let kube_bin = args
        .kube_apiserver_bin
        .clone()
        .unwrap_or_else(default_kube_bin);
    let etcd_bin = args
        .etcd_bin
        .clone()
        .unwrap_or_else(|| kube_bin.with_file_name("etcd"));
    let start = Instant::now();
    let load_start = load_average();
    let mut etcd = peers::EtcdProc::start(&etcd_bin, dir.path(), !args.etcd_no_fsync).await?;
    eprintln!(
        "navigator-bench --compare: etcd {} (pid {}), fsync {}, load average {load_start}",
        etcd.url,
        etcd.pid.unwrap_or_default(),
        if args.etcd_no_fsync { "off" } else { "on" }
    );
    let mut template: Option<Vec<u8>> = None;
    let mut targets = Vec::new();
    for t in &args.targets {
        let target = match t {
            TargetKind::Navigator => navigator_target(args, &etcd, &mut template).await,
            TargetKind::KubeApiserver => kube_target(args, dir.path(), &etcd, &mut template).await,
            TargetKind::Etcd => raw_target(args, &etcd, template.as_deref()).await,
        };
        targets.push(target);
        if let Some(exit) = etcd.exited() {
            bail!("{exit}");
        }
    }
    etcd.stop().await;
    if args.keep_data {
        let kept = dir.keep();
        eprintln!("navigator-bench: logs kept in {}", kept.display());
    }
    let ok = targets.iter().all(|t| t.report.problems.is_empty());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&targets)?);
    } else {
        println!(
            "navigator-bench --compare: {} objects over {} (concurrency {}, {} CPUs), one etcd (fsync {}) shared by all targets, each under its own key prefix, targets run one after another (only etcd and the target running); load average {load_start} → {}; {:.0} s in all\n",
            args.kind.kind(),
            targets
                .first()
                .map_or("HTTP/2", |t| t.report.protocol.as_str()),
            args.concurrency,
            std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
            if args.etcd_no_fsync { "off" } else { "on" },
            load_average(),
            start.elapsed().as_secs_f64()
        );
        print!("{}", compare::render(&targets));
    }
    Ok(ok)
}
