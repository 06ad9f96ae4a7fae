//! The watch fan-out phase: many watchers on their own connections, updates written while they
//! watch, and each event matched to its write for the delivery latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use http::{Method, StatusCode};
use http_body_util::BodyExt as _;
use navigator_bench::objects;
use navigator_bench::report::WatchResult;
use navigator_bench::stats::LatencySummary;
use navigator_bench::watch::{LineBuffer, match_events, parse_event};
use serde_json::Value;

use crate::cli::Args;
use crate::client::{Client, Endpoint};
use crate::phases::{Ctx, Op, run_pool};

/// Events one watcher received: (resourceVersion, time since the epoch).
pub(crate) struct WatcherOutcome {
    pub(crate) established: bool,
    pub(crate) events: Vec<(String, Duration)>,
    pub(crate) error: Option<String>,
}

/// One watcher: its own connection, a watch from `rv`, events recorded until `target` events
/// (set once the updates are done) or the deadline.
pub(crate) async fn watcher(
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

pub(crate) async fn watch_phase(
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
