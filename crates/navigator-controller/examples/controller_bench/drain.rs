//! Scenario 5, `drain`: the time to move one data node's shards away, the controller's scale-in
//! (replicas 3 → 2: Pilot `Decommissioned`, the leader pilot's `exclude._name`) against
//! OpenSearch alone (`cluster.routing.allocation.exclude._ip` set by hand).
//!
//! One ElasticsearchCluster `drain` (OpenSearch 2.19.6, pool `a`: 3 × master,data,ingest, 1Gi
//! memory limit, 1Gi persistence) is created through the controller; an index of `--documents`
//! documents of ≈1 KB (6 shards, 1 replica: 12 copies, 4 per node) is bulk-indexed and flushed.
//! Before every run the cluster is green with 3 nodes, nothing relocating, initializing or
//! unassigned, no allocation exclusion, allocation not paused, every node holding 4 ± 1 copies
//! (3 polls in a row, 1 s apart).
//! The node that leaves is always pod 2 (`es-drain-a-2`); the stopwatch reads `_cat/shards` from
//! pod 0 every 100 ms (a thread of its own, the same for both sides) and stops at the first
//! answer with no copy on it (a relocating copy counts for its source).
//!
//! - `controller`: merge-patch the pool's replicas to 2; time from the patch returning to 0
//!   copies; also when the Pilot was asked (`requestedState: Decommissioned`), when the leader
//!   pilot's `exclude._name` named the node, the first relocation seen, the Pilot's operation
//!   `Complete`, the pod gone and the Pilot deleted. Then replicas 3 and the wait above (the pod
//!   comes back on a new volume and gets its shards by rebalancing).
//! - `by hand`: `PUT _cluster/settings` with `exclude._ip` = the pod's IP (not `_name`: the
//!   leader pilot owns that one and would take a hand-set name out); time from the PUT returning
//!   to 0 copies. Then the setting cleared and the wait above.
//!
//! A warm-up run of each side first (not counted), then `--runs` pairs in alternating order
//! (C H | H C | C H …).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use navigator_api::v1beta1::{ElasticsearchCluster, Pilot};
use navigator_core::elasticsearch::names as es;
use serde_json::{Value, json};
use test_support::procfs;

use super::{Bench, Controller, NS, POOL, REPLICAS, es_cluster, pct, secs, sorted, spread};

/// The benchmark's ElasticsearchCluster.
const CLUSTER: &str = "drain";
/// The index the drained node holds copies of.
const INDEX: &str = "drain-bench";
/// Primaries of [`INDEX`] (1 replica each).
const SHARDS: usize = 6;
/// The ordinal of the node that leaves.
const LEAVING: i32 = REPLICAS - 1;
/// The ordinal of the node the stopwatch asks.
const ASKED: i32 = 0;
/// The stopwatch's polling interval.
const POLL: Duration = Duration::from_millis(100);
/// Documents per bulk request.
const BULK: u64 = 2000;
/// Bound on one drain and on one wait for a settled cluster.
const LIMIT: Duration = Duration::from_secs(900);

/// How the node's shards are moved away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// Replicas 3 → 2 through the controller.
    Controller,
    /// `exclude._ip` set by hand.
    ByHand,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Controller => "controller",
            Side::ByHand => "by hand",
        }
    }
}

/// One run's figures, durations from the patch (or PUT) returning.
#[derive(Debug)]
struct Run {
    side: Side,
    /// 0: warm-up.
    pair: usize,
    copies_before: usize,
    store_before: u64,
    /// To 0 copies on the node.
    drained: Duration,
    first_relocation: Option<Duration>,
    /// Controller side: the Pilot's `requestedState` seen as `Decommissioned`.
    requested: Option<Duration>,
    /// Controller side: the node named in `exclude._name`.
    excluded: Option<Duration>,
    /// Controller side: the Pilot's operation `Complete`.
    complete: Option<Duration>,
    /// Controller side: the pod gone.
    pod_gone: Option<Duration>,
    /// Controller side: the Pilot deleted.
    pilot_gone: Option<Duration>,
    /// Polls of the stopwatch and the slowest one.
    polls: usize,
    slowest_poll: Duration,
    /// From the restore's patch (or PUT) to a settled cluster.
    restore: Duration,
    documents: u64,
    load: String,
}

impl Bench<'_> {
    /// Scenario 5.
    pub(super) async fn drain(&self) -> Result<()> {
        let runs = self.args.runs.unwrap_or(3);
        let documents = self.args.documents;
        let mut controller = self.start_controller(&[], "drain").await?;
        let t = Instant::now();
        Api::<ElasticsearchCluster>::namespaced(self.client.clone(), NS)
            .create(&PostParams::default(), &es_cluster(CLUSTER, NS, REPLICAS)?)
            .await?;
        let ips = self.wait_pods_ready(&mut controller).await?;
        let asked = ips[usize::try_from(ASKED)?].clone();
        println!(
            "{REPLICAS} pods Ready {:.1}s after the create; pod IPs {ips:?}",
            secs(t.elapsed())
        );
        let t = Instant::now();
        let health = self
            .wait_settled(&asked, Some(&mut controller), false)
            .await?;
        println!("cluster green {:.1}s later: {health}", secs(t.elapsed()));
        let t = Instant::now();
        blocking(|| index_documents(&asked, documents))?;
        println!(
            "{documents} documents indexed and flushed in {:.1}s ({SHARDS} shards, 1 replica)",
            secs(t.elapsed())
        );
        self.wait_settled(&asked, Some(&mut controller), true)
            .await?;
        println!("{}", blocking(|| store_by_node(&asked))?);
        let mut results = Vec::new();
        for pair in 0..=runs {
            let order = if pair % 2 == 0 {
                [Side::Controller, Side::ByHand]
            } else {
                [Side::ByHand, Side::Controller]
            };
            for side in order {
                let run = self.drain_run(side, pair, &asked, &mut controller).await?;
                println!(
                    "{} {} {}: {} copies ({:.1} MiB) on a-{LEAVING} → 0 in {:.2}s; first relocation {}, \
                     asked {}, excluded {}, Complete {}, pod gone {}, Pilot gone {}; {} polls (slowest {:.0} ms); \
                     restored in {:.1}s; {} documents; load {}",
                    if pair == 0 { "warm-up" } else { "run" },
                    pair,
                    side.label(),
                    run.copies_before,
                    run.store_before as f64 / 1_048_576.0,
                    secs(run.drained),
                    at(run.first_relocation),
                    at(run.requested),
                    at(run.excluded),
                    at(run.complete),
                    at(run.pod_gone),
                    at(run.pilot_gone),
                    run.polls,
                    secs(run.slowest_poll) * 1000.0,
                    secs(run.restore),
                    run.documents,
                    run.load
                );
                results.push(run);
            }
        }
        report(&results, documents, &self.args.controller_args);
        controller.check_running()?;
        Ok(())
    }

    /// One run of `side`: the cluster settled before, settled again after.
    async fn drain_run(
        &self,
        side: Side,
        pair: usize,
        asked: &str,
        controller: &mut Controller,
    ) -> Result<Run> {
        let node = es::pod(CLUSTER, POOL, LEAVING);
        let pilots: Api<Pilot> = Api::namespaced(self.client.clone(), NS);
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), NS);
        let (copies_before, store_before) = blocking(|| copies_on(asked, &node))?;
        let manager = blocking(|| cluster_manager(asked)).unwrap_or_else(|e| format!("? ({e})"));
        let leader = Api::<Lease>::namespaced(self.client.clone(), NS)
            .get_opt(&es::leader_lease(CLUSTER))
            .await?
            .and_then(|l| l.spec?.holder_identity)
            .unwrap_or_else(|| "none".to_owned());
        let load = procfs::loadavg();
        println!(
            "\n{} {pair} {}: {node} holds {copies_before} copies, {store_before} bytes; cluster manager {manager}; leader pilot {leader}; load {load}",
            if pair == 0 { "warm-up" } else { "run" },
            side.label()
        );
        let mut run = Run {
            side,
            pair,
            copies_before,
            store_before,
            drained: Duration::ZERO,
            first_relocation: None,
            requested: None,
            excluded: None,
            complete: None,
            pod_gone: None,
            pilot_gone: None,
            polls: 0,
            slowest_poll: Duration::ZERO,
            restore: Duration::ZERO,
            documents: 0,
            load,
        };
        match side {
            Side::Controller => {
                self.set_replicas(REPLICAS - 1).await?;
                let t0 = Instant::now();
                let watch = Stopwatch::start(asked, &node);
                let since = |at: Instant| Some(at.saturating_duration_since(t0));
                let mut pilot_seen = false;
                loop {
                    // Each observation is timed when its reply arrived; a failed read is
                    // skipped (the next tick reads again).
                    if run.pilot_gone.is_none() {
                        let reply = pilots.get_opt(&node).await;
                        let now = Instant::now();
                        match reply {
                            Ok(Some(p)) => {
                                pilot_seen = true;
                                if run.requested.is_none()
                                    && p.spec.requested_state.as_deref() == Some("Decommissioned")
                                {
                                    run.requested = since(now);
                                }
                                if run.complete.is_none()
                                    && p.status.operation.as_ref().is_some_and(|o| {
                                        o.state == "Decommissioned" && o.phase == "Complete"
                                    })
                                {
                                    run.complete = since(now);
                                }
                            }
                            Ok(None) if pilot_seen && run.pod_gone.is_some() => {
                                run.pilot_gone = since(now);
                            }
                            Ok(None) => {}
                            Err(e) => println!("  reading pilot {node}: {e}"),
                        }
                    }
                    if run.excluded.is_none() {
                        let names = blocking(|| excluded(asked, "_name"));
                        if names.is_ok_and(|names| names.contains(&node)) {
                            run.excluded = since(Instant::now());
                        }
                    }
                    if run.pod_gone.is_none() {
                        let reply = pods.get_opt(&node).await;
                        let now = Instant::now();
                        match reply {
                            Ok(None) => run.pod_gone = since(now),
                            Ok(Some(_)) => {}
                            Err(e) => println!("  reading pod {node}: {e}"),
                        }
                    }
                    // The Pilot goes after the pod (a minute at most is waited for it).
                    let pilot_done = run.pilot_gone.is_some()
                        || run
                            .pod_gone
                            .is_some_and(|g| t0.elapsed() > g + Duration::from_secs(60));
                    if watch.finished() && run.pod_gone.is_some() && pilot_done {
                        break;
                    }
                    controller.check_running()?;
                    if t0.elapsed() > LIMIT {
                        bail!(
                            "controller drain of {node} not over within {LIMIT:?}: {run:?}\n{}",
                            controller.log_tail()
                        );
                    }
                    tokio::time::sleep(POLL).await;
                }
                watch.result(t0, &mut run)?;
                self.set_replicas(REPLICAS).await?;
                let t1 = Instant::now();
                self.wait_settled(asked, Some(controller), true).await?;
                run.restore = t1.elapsed();
            }
            Side::ByHand => {
                let ip = pods
                    .get(&node)
                    .await?
                    .status
                    .and_then(|s| s.pod_ip)
                    .with_context(|| format!("pod {node} has no IP"))?;
                let known = blocking(|| node_ips(asked))?;
                if known.iter().all(|(n, i)| *n != node || *i != ip) {
                    bail!("{node} at {ip} is not among the cluster's nodes {known:?}");
                }
                blocking(|| set_ip_exclusion(asked, Some(&ip)))?;
                let t0 = Instant::now();
                let watch = Stopwatch::start(asked, &node);
                while !watch.finished() {
                    if t0.elapsed() > LIMIT {
                        bail!("{node} not drained by hand within {LIMIT:?}");
                    }
                    tokio::time::sleep(POLL).await;
                }
                watch.result(t0, &mut run)?;
                blocking(|| set_ip_exclusion(asked, None))?;
                let t1 = Instant::now();
                self.wait_settled(asked, Some(controller), true).await?;
                run.restore = t1.elapsed();
            }
        }
        run.documents = blocking(|| count(asked))?;
        Ok(run)
    }

    /// Merge-patches the pool's replicas (the pool as [`es_cluster`] writes it).
    async fn set_replicas(&self, replicas: i32) -> Result<()> {
        let pools = serde_json::to_value(es_cluster(CLUSTER, NS, replicas)?.spec.node_pools)?;
        Api::<ElasticsearchCluster>::namespaced(self.client.clone(), NS)
            .patch(
                CLUSTER,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"nodePools": pools}})),
            )
            .await?;
        Ok(())
    }

    /// Waits until the cluster's pods are Ready; their IPs by ordinal.
    async fn wait_pods_ready(&self, controller: &mut Controller) -> Result<Vec<String>> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), NS);
        let t = Instant::now();
        let mut last = String::new();
        loop {
            let mut ips = Vec::new();
            for i in 0..REPLICAS {
                let pod = pods.get_opt(&es::pod(CLUSTER, POOL, i)).await?;
                let ready = pod
                    .as_ref()
                    .and_then(|p| p.status.as_ref())
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
                if let Some(ip) = pod.and_then(|p| p.status?.pod_ip).filter(|_| ready) {
                    ips.push(ip);
                }
            }
            if ips.len() == usize::try_from(REPLICAS)? {
                return Ok(ips);
            }
            controller.check_running()?;
            let state = format!("{} of {REPLICAS} pods Ready", ips.len());
            if t.elapsed() > LIMIT {
                bail!("{state} after {LIMIT:?}\n{}", controller.log_tail());
            }
            if state != last {
                println!("  {:>6.1}s {state}", secs(t.elapsed()));
                last = state;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Waits until the cluster is green with all its nodes, nothing moving or unassigned, no
    /// allocation exclusion, and (with `balanced`) every node holding its share of the
    /// [`INDEX`]'s copies ± 1 — three polls in a row, 1 s apart. Returns the health.
    async fn wait_settled(
        &self,
        asked: &str,
        mut controller: Option<&mut Controller>,
        balanced: bool,
    ) -> Result<Value> {
        let t = Instant::now();
        let mut in_a_row = 0;
        let mut last = String::new();
        let mut last_print = Instant::now();
        loop {
            let state = blocking(|| settled(asked, balanced));
            match &state {
                Ok(h) => {
                    in_a_row += 1;
                    if in_a_row == 3 {
                        return Ok(h.clone());
                    }
                }
                Err(_) => in_a_row = 0,
            }
            if let Some(c) = controller.as_deref_mut() {
                c.check_running()?;
            }
            let text = match state {
                Ok(_) => "settled".to_owned(),
                Err(e) => format!("{e:#}"),
            };
            if t.elapsed() > LIMIT {
                bail!("the cluster did not settle within {LIMIT:?}: {text}");
            }
            if text != last || last_print.elapsed() > Duration::from_secs(30) {
                println!("  {:>6.1}s {text}", secs(t.elapsed()));
                last = text;
                last_print = Instant::now();
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// A duration as seconds, or `-`.
fn at(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_owned(), |d| format!("{:.2}s", secs(d)))
}

/// Runs blocking I/O (the REST calls) on the runtime's worker thread.
fn blocking<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    tokio::task::block_in_place(f)
}

/// The results: one row per run, spread per side, the ratio.
fn report(results: &[Run], documents: u64, extra: &[String]) {
    println!(
        "\n## drain: replicas 3 → 2 through the controller vs exclude._ip by hand ({documents} documents, {SHARDS} shards × 2 copies), seconds from the patch/PUT returning"
    );
    println!("extra controller flags: {extra:?}");
    println!(
        "| run | side | copies on a-{LEAVING} | store MiB | first relocation | Pilot asked | exclude._name | **0 copies** | Pilot Complete | pod gone | restore | load before |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let cell = |d: Option<Duration>| d.map_or_else(String::new, |d| format!("{:.2}", secs(d)));
    for r in results {
        println!(
            "| {} | {} | {} | {:.1} | {} | {} | {} | **{:.2}** | {} | {} | {:.1} | {} |",
            if r.pair == 0 {
                "warm-up".to_owned()
            } else {
                r.pair.to_string()
            },
            r.side.label(),
            r.copies_before,
            r.store_before as f64 / 1_048_576.0,
            cell(r.first_relocation),
            cell(r.requested),
            cell(r.excluded),
            secs(r.drained),
            cell(r.complete),
            cell(r.pod_gone),
            secs(r.restore),
            r.load
        );
    }
    let measured = |side: Side, f: &dyn Fn(&Run) -> Option<f64>| -> Vec<f64> {
        sorted(
            results
                .iter()
                .filter(|r| r.side == side && r.pair > 0)
                .filter_map(f)
                .collect(),
        )
    };
    let c = measured(Side::Controller, &|r| Some(secs(r.drained)));
    let h = measured(Side::ByHand, &|r| Some(secs(r.drained)));
    println!("to 0 copies, controller: {}", spread(&c));
    println!("to 0 copies, by hand:    {}", spread(&h));
    println!(
        "ratio controller ÷ by hand: medians {:.2} (min/min {:.2}, max/max {:.2})",
        pct(&c, 0.5) / pct(&h, 0.5),
        pct(&c, 0.0) / pct(&h, 0.0),
        pct(&c, 1.0) / pct(&h, 1.0)
    );
    let part = |side, f: &dyn Fn(&Run) -> Option<f64>| spread(&measured(side, f));
    println!(
        "controller: patch → Pilot asked {}",
        part(Side::Controller, &|r| r.requested.map(secs))
    );
    println!(
        "controller: Pilot asked → exclude._name {}",
        part(Side::Controller, &|r| Some(
            secs(r.excluded?) - secs(r.requested?)
        ))
    );
    println!(
        "controller: patch → first relocation {}",
        part(Side::Controller, &|r| r.first_relocation.map(secs))
    );
    println!(
        "controller: first relocation → 0 copies {}",
        part(Side::Controller, &|r| Some(
            secs(r.drained) - secs(r.first_relocation?)
        ))
    );
    println!(
        "by hand: PUT → first relocation {}",
        part(Side::ByHand, &|r| r.first_relocation.map(secs))
    );
    println!(
        "by hand: first relocation → 0 copies {}",
        part(Side::ByHand, &|r| Some(
            secs(r.drained) - secs(r.first_relocation?)
        ))
    );
    println!(
        "controller: 0 copies → Pilot Complete {}",
        part(Side::Controller, &|r| Some(
            secs(r.complete?) - secs(r.drained)
        ))
    );
    println!(
        "controller: 0 copies → pod gone {}",
        part(Side::Controller, &|r| Some(
            secs(r.pod_gone?) - secs(r.drained)
        ))
    );
}

// ------------------------------------------------------------------------------------------------
// The stopwatch: `_cat/shards` every 100 ms on a thread of its own

/// What the stopwatch saw.
#[derive(Debug, Default)]
struct Watched {
    /// The first answer with no copy on the node.
    zero: Option<Instant>,
    /// The first answer with a copy on the node `RELOCATING`.
    first_relocation: Option<Instant>,
    polls: usize,
    errors: usize,
    slowest: Duration,
    last_error: String,
}

/// Polls `_cat/shards` until the node holds no copy (or it is stopped).
struct Stopwatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Watched>>,
}

impl Stopwatch {
    fn start(asked: &str, node: &str) -> Stopwatch {
        let stop = Arc::new(AtomicBool::new(false));
        let (s, asked, node) = (Arc::clone(&stop), asked.to_owned(), node.to_owned());
        let thread = std::thread::spawn(move || {
            let mut w = Watched::default();
            let mut next = Instant::now();
            while !s.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let reply = shard_rows(&asked, false);
                let at = Instant::now();
                w.polls += 1;
                w.slowest = w.slowest.max(at - sent);
                match reply {
                    Ok(rows) => {
                        let on: Vec<&ShardRow> = rows.iter().filter(|r| r.node == node).collect();
                        if w.first_relocation.is_none()
                            && on.iter().any(|r| r.state == "RELOCATING")
                        {
                            w.first_relocation = Some(at);
                        }
                        if on.is_empty() {
                            w.zero = Some(at);
                            break;
                        }
                    }
                    Err(e) => {
                        w.errors += 1;
                        w.last_error = format!("{e:#}");
                    }
                }
                next += POLL;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
            w
        });
        Stopwatch {
            stop,
            thread: Some(thread),
        }
    }

    fn finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the thread and writes its figures into `run`, relative to `t0`.
    fn result(mut self, t0: Instant, run: &mut Run) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        let w = self
            .thread
            .take()
            .context("the stopwatch ran")?
            .join()
            .map_err(|_| anyhow::anyhow!("the stopwatch thread panicked"))?;
        if w.errors > 0 {
            println!(
                "  stopwatch: {} of {} polls failed, last: {}",
                w.errors, w.polls, w.last_error
            );
        }
        let zero = w.zero.context("the stopwatch stopped before 0 copies")?;
        run.drained = zero.saturating_duration_since(t0);
        run.first_relocation = w.first_relocation.map(|a| a.saturating_duration_since(t0));
        run.polls = w.polls;
        run.slowest_poll = w.slowest;
        Ok(())
    }
}

impl Drop for Stopwatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ------------------------------------------------------------------------------------------------
// OpenSearch's REST API from the host (the pod network is reachable from it)

/// `method path` on `http://<ip>:9200` over HTTP/1.0 (the node answers with a length and
/// closes), with a JSON (NDJSON for `_bulk`) body; the reply's body, or an error with the status.
fn http(ip: &str, method: &str, path: &str, body: Option<&str>) -> Result<String> {
    let addr: SocketAddr = format!("{ip}:9200").parse()?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("connect to {addr}"))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    s.set_write_timeout(Some(Duration::from_secs(120)))?;
    let body = body.unwrap_or("");
    let kind = if path.contains("_bulk") {
        "application/x-ndjson"
    } else {
        "application/json"
    };
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    s.write_all(body.as_bytes())?;
    let mut reader = BufReader::new(s);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("{method} {addr}{path}: no status line: {line:?}"))?;
    let mut length: Option<usize> = None;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().ok();
        }
    }
    let mut out = Vec::new();
    match length {
        Some(n) => {
            out.resize(n, 0);
            reader.read_exact(&mut out)?;
        }
        None => {
            reader.read_to_end(&mut out)?;
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    if !(200..300).contains(&status) {
        let short: String = text.chars().take(500).collect();
        bail!("{method} {addr}{path}: HTTP {status}: {short}");
    }
    Ok(text)
}

/// [`http`] with the reply parsed as JSON.
fn rest(ip: &str, method: &str, path: &str, body: Option<&str>) -> Result<Value> {
    let text = http(ip, method, path, body)?;
    serde_json::from_str(&text).with_context(|| format!("{method} {ip}{path}: not JSON: {text}"))
}

/// One shard copy as `_cat/shards` lists it.
#[derive(Debug)]
struct ShardRow {
    state: String,
    /// The node holding it (a relocating copy counts for its source); empty when unassigned.
    node: String,
    /// Bytes on disk.
    store: u64,
}

/// `_cat/shards` (all indices); with `store`, the copies' sizes too (else 0: the stopwatch
/// does not ask the nodes for them).
fn shard_rows(ip: &str, store: bool) -> Result<Vec<ShardRow>> {
    let path = if store {
        "/_cat/shards?format=json&bytes=b&h=index,shard,prirep,state,node,store"
    } else {
        "/_cat/shards?format=json&h=index,shard,prirep,state,node"
    };
    let v = rest(ip, "GET", path, None)?;
    let rows = v.as_array().with_context(|| format!("not a list: {v}"))?;
    Ok(rows
        .iter()
        .map(|r| ShardRow {
            state: r["state"].as_str().unwrap_or_default().to_owned(),
            // "node-a -> 10.0.0.2 id node-b" while relocating: the first word is the source.
            node: r["node"]
                .as_str()
                .unwrap_or_default()
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_owned(),
            store: r["store"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
        })
        .collect())
}

/// Copies on `node` and their bytes.
fn copies_on(ip: &str, node: &str) -> Result<(usize, u64)> {
    let rows = shard_rows(ip, true)?;
    let on = rows.iter().filter(|r| r.node == node);
    Ok((on.clone().count(), on.map(|r| r.store).sum()))
}

/// Copies and MiB per node, as one line.
fn store_by_node(ip: &str) -> Result<String> {
    let mut by: std::collections::BTreeMap<String, (usize, u64)> = Default::default();
    for r in shard_rows(ip, true)? {
        let e = by.entry(r.node).or_default();
        e.0 += 1;
        e.1 += r.store;
    }
    let parts: Vec<String> = by
        .iter()
        .map(|(n, (c, b))| format!("{n}: {c} copies {:.1} MiB", *b as f64 / 1_048_576.0))
        .collect();
    Ok(format!("copies per node: {}", parts.join(", ")))
}

/// The values of `cluster.routing.allocation.exclude.<attr>` (persistent and transient).
fn excluded(ip: &str, attr: &str) -> Result<Vec<String>> {
    let s = rest(ip, "GET", "/_cluster/settings?flat_settings=true", None)?;
    Ok(excluded_in(&s, attr))
}

/// The values of `cluster.routing.allocation.exclude.<attr>` in `_cluster/settings`' reply.
fn excluded_in(settings: &Value, attr: &str) -> Vec<String> {
    let key = format!("cluster.routing.allocation.exclude.{attr}");
    ["persistent", "transient"]
        .iter()
        .filter_map(|scope| settings[*scope][&key].as_str())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Sets (or clears, with `None`) the persistent `exclude._ip`.
fn set_ip_exclusion(ip: &str, value: Option<&str>) -> Result<()> {
    rest(
        ip,
        "PUT",
        "/_cluster/settings",
        Some(&json!({"persistent": {"cluster.routing.allocation.exclude._ip": value}}).to_string()),
    )?;
    Ok(())
}

/// (name, IP) of every node.
fn node_ips(ip: &str) -> Result<Vec<(String, String)>> {
    let v = rest(ip, "GET", "/_cat/nodes?format=json&h=name,ip", None)?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .map(|n| {
                    let s = |k: &str| n[k].as_str().unwrap_or_default().to_owned();
                    (s("name"), s("ip"))
                })
                .collect()
        })
        .unwrap_or_default())
}

/// The cluster manager's node name.
fn cluster_manager(ip: &str) -> Result<String> {
    let v = rest(ip, "GET", "/_cat/cluster_manager?format=json", None)?;
    v[0]["node"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no cluster manager: {v}"))
}

/// Ok (the health) when the cluster is settled as [`Bench::wait_settled`] says; else what is
/// not.
fn settled(ip: &str, balanced: bool) -> Result<Value> {
    let h = rest(ip, "GET", "/_cluster/health", None)?;
    let nodes = usize::try_from(REPLICAS)?;
    if h["status"] != "green"
        || h["number_of_nodes"] != nodes
        || h["relocating_shards"] != 0
        || h["initializing_shards"] != 0
        || h["unassigned_shards"] != 0
    {
        bail!(
            "health {} nodes {} relocating {} initializing {} unassigned {}",
            h["status"],
            h["number_of_nodes"],
            h["relocating_shards"],
            h["initializing_shards"],
            h["unassigned_shards"]
        );
    }
    let settings = rest(ip, "GET", "/_cluster/settings?flat_settings=true", None)?;
    let names = excluded_in(&settings, "_name");
    let ips = excluded_in(&settings, "_ip");
    if !names.is_empty() || !ips.is_empty() {
        bail!("exclusions: _name {names:?} _ip {ips:?}");
    }
    // A paused allocation (a stopping node's `primaries`) would hold the rebalance back.
    for scope in ["persistent", "transient"] {
        let enable = &settings[scope]["cluster.routing.allocation.enable"];
        if !enable.is_null() && enable != "all" {
            bail!("{scope} cluster.routing.allocation.enable {enable}");
        }
    }
    if balanced {
        let rows = shard_rows(ip, false)?;
        let counts: Vec<usize> = (0..REPLICAS)
            .map(|i| {
                let n = es::pod(CLUSTER, POOL, i);
                rows.iter().filter(|r| r.node == n).count()
            })
            .collect();
        let share = rows.len() / nodes;
        if counts.iter().any(|c| c.abs_diff(share) > 1) {
            bail!("green, copies per node {counts:?} (share {share})");
        }
    }
    Ok(h)
}

/// Refresh, then the documents of [`INDEX`].
fn count(ip: &str) -> Result<u64> {
    rest(ip, "POST", &format!("/{INDEX}/_refresh"), None)?;
    let c = rest(ip, "GET", &format!("/{INDEX}/_count"), None)?;
    c["count"]
        .as_u64()
        .with_context(|| format!("no count: {c}"))
}

/// Creates [`INDEX`] and bulk-indexes `documents` documents of ≈1 KB (words of a fixed
/// pseudo-random sequence, not indexed), then flushes it (the copies are files on disk, the
/// translog empty) and checks the count.
fn index_documents(ip: &str, documents: u64) -> Result<()> {
    rest(
        ip,
        "PUT",
        &format!("/{INDEX}?wait_for_active_shards=all"),
        Some(
            &json!({
                "settings": {"index": {
                    "number_of_shards": SHARDS,
                    "number_of_replicas": 1,
                    // Store sizes as they are before each run, not cached for 10 s (a copy
                    // that just arrived would show the bytes it had half-way).
                    "store.stats_refresh_interval": "1s"
                }},
                // The text is kept in `_source` only: the store is the documents, not an
                // inverted index of random words.
                "mappings": {"properties": {
                    "n": {"type": "long"},
                    "text": {"type": "keyword", "index": false, "doc_values": false}
                }}
            })
            .to_string(),
        ),
    )?;
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |bound: u64| {
        // xorshift64
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % bound
    };
    let mut i = 0;
    while i < documents {
        let mut bulk = String::new();
        for n in i..(i + BULK).min(documents) {
            let mut text = String::with_capacity(1100);
            while text.len() < 1000 {
                let len = 3 + next(7);
                for _ in 0..len {
                    text.push(char::from(b'a' + u8::try_from(next(26)).unwrap_or(0)));
                }
                text.push(' ');
            }
            bulk.push_str(&json!({"index": {"_id": n.to_string()}}).to_string());
            bulk.push('\n');
            bulk.push_str(&json!({"n": n, "text": text}).to_string());
            bulk.push('\n');
        }
        let r = rest(ip, "POST", &format!("/{INDEX}/_bulk"), Some(&bulk))?;
        if r["errors"] != false {
            let short: String = r.to_string().chars().take(500).collect();
            bail!("bulk into {INDEX} had errors: {short}");
        }
        i = (i + BULK).min(documents);
    }
    rest(ip, "POST", &format!("/{INDEX}/_flush"), None)?;
    let n = count(ip)?;
    if n != documents {
        bail!("{INDEX} holds {n} documents, {documents} were indexed");
    }
    Ok(())
}
