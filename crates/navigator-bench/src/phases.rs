//! The request phases: create, get and update by a pool of workers (latencies, conflicts,
//! errors), and full and paginated lists of a collection.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use http::{Method, StatusCode};
use navigator_bench::objects::{self, Kind};
use navigator_bench::report::PhaseResult;
use navigator_bench::stats::{LatencySummary, throughput};
use serde_json::Value;

use crate::cli::Args;
use crate::client::Client;

#[derive(Clone, Copy)]
pub(crate) enum Op {
    Create,
    Get,
    Update,
}

pub(crate) enum Outcome {
    /// Success; for updates the new resourceVersion and when the response arrived.
    Ok(Option<(String, Duration)>),
    Conflict,
    Error(String),
}

/// What a phase's workers share.
pub(crate) struct Ctx {
    pub(crate) kind: Kind,
    pub(crate) namespace: String,
    pub(crate) epoch: Instant,
    pub(crate) tag: String,
}

pub(crate) async fn run_op(client: &mut Client, ctx: &Ctx, op: Op, i: usize) -> Outcome {
    match op_inner(client, ctx, op, i).await {
        Ok(o) => o,
        Err(e) => Outcome::Error(format!("{e:#}")),
    }
}

pub(crate) async fn op_inner(
    client: &mut Client,
    ctx: &Ctx,
    op: Op,
    i: usize,
) -> anyhow::Result<Outcome> {
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
pub(crate) struct PoolResult {
    pub(crate) phase: PhaseResult,
    pub(crate) writes: HashMap<String, Duration>,
    pub(crate) latencies: Vec<Duration>,
}

/// Runs `op` on the objects `indices` with `concurrency` workers.
pub(crate) async fn run_pool(
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
pub(crate) fn tally(
    name: &str,
    elapsed: Duration,
    per_task: Vec<Vec<(Duration, Outcome)>>,
) -> PoolResult {
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
pub(crate) async fn list_phases(
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
