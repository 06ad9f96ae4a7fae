//! The physical limit: the same phases as raw etcd v3 requests from the same client machine,
//! with values of the same JSON bytes a server stores (txn create with `create_revision == 0`,
//! range get, range list full and paginated, read-modify-write as range + txn on
//! `mod_revision`, watch fan-out on the prefix).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::phases::{Outcome, PoolResult, tally};
use anyhow::{anyhow, bail};
use etcd_client::{Client, Compare, CompareOp, GetOptions, Txn, TxnOp, WatchOptions};
use navigator_bench::Rng;
use navigator_bench::objects;
use navigator_bench::report::{MemorySample, PhaseResult, Report, WatchResult};
use navigator_bench::stats::{LatencySummary, throughput};
use navigator_bench::watch::match_events;
use serde_json::Value;

/// What the raw run needs.
pub struct RawConfig {
    /// etcd client URL.
    pub url: String,
    /// Key prefix, ending in `/`.
    pub prefix: String,
    /// A stored object (as a server stores it); each key's value is this with its name.
    pub template: Value,
    /// Workers of create/get/update.
    pub concurrency: usize,
    /// First collection size.
    pub small: usize,
    /// Second collection size.
    pub large: usize,
    /// Random gets.
    pub gets: usize,
    /// Read-modify-write updates.
    pub updates: usize,
    /// Repetitions of each list.
    pub list_runs: usize,
    /// Page size of the paginated list.
    pub page_size: usize,
    /// Watcher counts of the fan-outs.
    pub watchers: Vec<usize>,
    /// Updates per fan-out.
    pub watch_updates: usize,
    /// Seconds the watchers may take after the last update.
    pub watch_timeout: u64,
    /// Pid of etcd, for its memory.
    pub etcd_pid: Option<u32>,
}

#[derive(Clone, Copy)]
enum Op {
    Create,
    Get,
    Update,
}

struct Shared {
    cfg: RawConfig,
    epoch: Instant,
    tag: String,
}

fn key(prefix: &str, i: usize) -> String {
    format!("{prefix}{}", objects::name(i))
}

fn value_for(template: &Value, i: usize) -> anyhow::Result<Vec<u8>> {
    let mut v = template.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("name".to_owned(), Value::String(objects::name(i)));
    }
    Ok(serde_json::to_vec(&v)?)
}

/// The smallest key after every key with `prefix`.
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

async fn op(client: &mut Client, s: &Shared, op: Op, i: usize) -> anyhow::Result<Outcome> {
    let key = key(&s.cfg.prefix, i);
    match op {
        Op::Create => {
            let value = value_for(&s.cfg.template, i)?;
            let txn = Txn::new()
                .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                .and_then([TxnOp::put(key.clone(), value, None)]);
            let resp = client.txn(txn).await?;
            Ok(if resp.succeeded() {
                Outcome::Ok(None)
            } else {
                Outcome::Error(format!("create {key}: already exists"))
            })
        }
        Op::Get => {
            let resp = client.get(key.clone(), None).await?;
            Ok(if resp.kvs().is_empty() {
                Outcome::Error(format!("get {key}: not found"))
            } else {
                Outcome::Ok(None)
            })
        }
        Op::Update => {
            let resp = client.get(key.clone(), None).await?;
            let Some(kv) = resp.kvs().first() else {
                return Ok(Outcome::Error(format!("get {key}: not found")));
            };
            let rev = kv.mod_revision();
            let mut object: Value = serde_json::from_slice(kv.value())?;
            if !objects::touch(
                &mut object,
                &format!("{}-{}", s.tag, navigator_bench::next_update_seq()),
            ) {
                bail!("{key} holds an object without metadata");
            }
            let txn = Txn::new()
                .when([Compare::mod_revision(key.clone(), CompareOp::Equal, rev)])
                .and_then([TxnOp::put(key.clone(), serde_json::to_vec(&object)?, None)]);
            let resp = client.txn(txn).await?;
            let done = s.epoch.elapsed();
            if !resp.succeeded() {
                return Ok(Outcome::Conflict);
            }
            let revision = resp
                .header()
                .map(|h| h.revision())
                .ok_or_else(|| anyhow!("txn on {key} answered without a header"))?;
            Ok(Outcome::Ok(Some((revision.to_string(), done))))
        }
    }
}

async fn pool(
    name: &str,
    client: &Client,
    s: &Arc<Shared>,
    which: Op,
    indices: Vec<usize>,
) -> anyhow::Result<PoolResult> {
    let indices = Arc::new(indices);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..s.cfg.concurrency.max(1) {
        let (indices, next, s, mut client) = (
            Arc::clone(&indices),
            Arc::clone(&next),
            Arc::clone(s),
            client.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = indices.get(k) else { break };
                let t0 = Instant::now();
                let outcome = match op(&mut client, &s, which, i).await {
                    Ok(o) => o,
                    Err(e) => Outcome::Error(format!("{e:#}")),
                };
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

async fn lists(
    client: &Client,
    s: &Shared,
    expected: usize,
    label: &str,
    problems: &mut Vec<String>,
) -> anyhow::Result<Vec<PhaseResult>> {
    let prefix = s.cfg.prefix.as_str();
    // A 10k list is ~9 MB, above gRPC's default 4 MiB decoding limit.
    let mut client = client.kv_client().max_decoding_message_size(256 << 20);
    let mut full = PhaseResult {
        name: format!("list {label} (full)"),
        ..PhaseResult::default()
    };
    let (mut samples, mut bytes) = (Vec::new(), 0u64);
    let start = Instant::now();
    for run in 0..s.cfg.list_runs {
        let t0 = Instant::now();
        let resp = client
            .get(prefix, Some(GetOptions::new().with_prefix()))
            .await?;
        samples.push(t0.elapsed());
        full.ok += 1;
        bytes += resp
            .kvs()
            .iter()
            .map(|kv| (kv.key().len() + kv.value().len()) as u64)
            .sum::<u64>();
        if run == 0 && resp.kvs().len() != expected {
            problems.push(format!(
                "range {prefix} returned {} keys, expected {expected}",
                resp.kvs().len()
            ));
        }
    }
    full.elapsed_s = start.elapsed().as_secs_f64();
    full.throughput_per_s = throughput(full.ok, start.elapsed());
    full.bytes_per_op = (full.ok > 0).then(|| bytes / full.ok as u64);
    full.latency = LatencySummary::from_samples(samples);

    let mut paged = PhaseResult {
        name: format!("list {label} (limit={})", s.cfg.page_size),
        ..PhaseResult::default()
    };
    let (mut samples, mut bytes, mut pages_total) = (Vec::new(), 0u64, 0usize);
    let end = prefix_end(prefix);
    let start = Instant::now();
    for _ in 0..s.cfg.list_runs {
        let mut from = prefix.as_bytes().to_vec();
        let (mut walk, mut items, mut pages) = (Duration::ZERO, 0usize, 0usize);
        // Every page is read at the revision of the first, as a server's continue token does.
        let mut revision = 0;
        loop {
            let mut options = GetOptions::new()
                .with_range(end.clone())
                .with_limit(i64::try_from(s.cfg.page_size).unwrap_or(i64::MAX));
            if revision > 0 {
                options = options.with_revision(revision);
            }
            let t0 = Instant::now();
            let resp = client.get(from.clone(), Some(options)).await?;
            walk += t0.elapsed();
            pages += 1;
            if revision == 0 {
                revision = resp.header().map_or(0, |h| h.revision());
            }
            let kvs = resp.kvs();
            items += kvs.len();
            bytes += kvs
                .iter()
                .map(|kv| (kv.key().len() + kv.value().len()) as u64)
                .sum::<u64>();
            match kvs.last() {
                Some(last) if resp.more() => {
                    from = last.key().to_vec();
                    from.push(0);
                }
                _ => break,
            }
        }
        if items != expected {
            problems.push(format!(
                "paginated range of {prefix} returned {items} keys in {pages} pages, expected {expected}"
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

/// One watcher: events (mod revision, receipt time) until `target` or the deadline.
async fn watcher(
    mut client: Client,
    prefix: String,
    from_revision: i64,
    epoch: Instant,
    established: Arc<AtomicUsize>,
    target: Arc<AtomicUsize>,
    deadline: Arc<std::sync::Mutex<Instant>>,
) -> (bool, Vec<(String, Duration)>, Option<String>) {
    let mut events = Vec::new();
    let mut ok = false;
    let result = async {
        let mut stream = client
            .watch(
                prefix,
                Some(
                    WatchOptions::new()
                        .with_prefix()
                        .with_start_revision(from_revision),
                ),
            )
            .await?;
        loop {
            if events.len() >= target.load(Ordering::SeqCst) {
                return anyhow::Ok(());
            }
            let until = *deadline.lock().map_err(|_| anyhow!("poisoned"))?;
            if Instant::now() > until {
                bail!(
                    "watch deadline passed with {} events received",
                    events.len()
                );
            }
            let msg = match tokio::time::timeout(Duration::from_millis(200), stream.message()).await
            {
                Err(_) => continue,
                Ok(m) => m?,
            };
            let Some(msg) = msg else {
                bail!("etcd ended the watch after {} events", events.len());
            };
            if msg.created() && !ok {
                ok = true;
                established.fetch_add(1, Ordering::SeqCst);
            }
            if msg.canceled() {
                bail!("watch canceled: {}", msg.cancel_reason());
            }
            let at = epoch.elapsed();
            for e in msg.events() {
                if let Some(kv) = e.kv() {
                    events.push((kv.mod_revision().to_string(), at));
                }
            }
        }
    }
    .await;
    (ok, events, result.err().map(|e| format!("{e:#}")))
}

async fn fan_out(
    client: &Client,
    s: &Arc<Shared>,
    watchers: usize,
    objects_stored: usize,
) -> anyhow::Result<WatchResult> {
    let mut c = client.clone();
    let head = c
        .get(
            s.cfg.prefix.as_str(),
            Some(GetOptions::new().with_prefix().with_count_only()),
        )
        .await?;
    let revision = head.header().map_or(0, |h| h.revision());
    let established = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(AtomicUsize::new(usize::MAX));
    let deadline = Arc::new(std::sync::Mutex::new(
        Instant::now() + Duration::from_secs(600),
    ));
    // 100 watch streams per connection.
    let mut connections = Vec::new();
    for _ in 0..watchers.div_ceil(100) {
        connections.push(Client::connect([s.cfg.url.as_str()], None).await?);
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..watchers {
        let conn = connections[w / 100].clone();
        tasks.push(tokio::spawn(watcher(
            conn,
            s.cfg.prefix.clone(),
            revision + 1,
            s.epoch,
            Arc::clone(&established),
            Arc::clone(&target),
            Arc::clone(&deadline),
        )));
    }
    let establish_deadline = Instant::now() + Duration::from_secs(60);
    while established.load(Ordering::SeqCst) < watchers
        && Instant::now() < establish_deadline
        && !tasks.iter().all(tokio::task::JoinHandle::is_finished)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let establish_s = start.elapsed().as_secs_f64();
    let count = s.cfg.watch_updates.min(objects_stored);
    let writes_start = s.epoch.elapsed();
    let p = pool("watch updates", client, s, Op::Update, (0..count).collect()).await?;
    let landed = p.writes.len();
    target.store(landed, Ordering::SeqCst);
    if let Ok(mut d) = deadline.lock() {
        *d = Instant::now() + Duration::from_secs(s.cfg.watch_timeout);
    }
    let mut result = WatchResult {
        watchers,
        updates: count,
        updates_landed: landed,
        establish_s,
        expected_events: landed * watchers,
        update_latency: LatencySummary::from_samples(p.latencies),
        update_throughput_per_s: p.phase.throughput_per_s,
        first_error: p.phase.first_error,
        ..WatchResult::default()
    };
    let mut delivery = Vec::new();
    let mut last_event = writes_start;
    for task in tasks {
        let (ok, events, error) = task.await?;
        result.watchers_established += usize::from(ok);
        result.received_events += events.len();
        if let Some(e) = error {
            result.first_error.get_or_insert(e);
        }
        if let Some((_, at)) = events.last() {
            last_event = last_event.max(*at);
        }
        let m = match_events(&p.writes, &events);
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

fn record(report: &mut Report, phase: PhaseResult) {
    if phase.errors > 0 {
        report.problems.push(format!(
            "{}: {} errors; first: {}",
            phase.name,
            phase.errors,
            phase.first_error.as_deref().unwrap_or("-")
        ));
    }
    eprintln!(
        "  {:<34} ok {:>6}  errors {:>4}  {:>9.1}/s  p50 {:>8.2} ms  p99 {:>8.2} ms",
        phase.name,
        phase.ok,
        phase.errors,
        phase.throughput_per_s,
        phase.latency.p50_ms,
        phase.latency.p99_ms
    );
    report.phases.push(phase);
}

fn label(n: usize) -> String {
    if n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

/// Runs every phase against etcd, recording into `report` as they finish.
pub async fn bench(cfg: RawConfig, report: &mut Report) -> anyhow::Result<()> {
    let client = Client::connect([cfg.url.as_str()], None).await?;
    let s = Arc::new(Shared {
        epoch: Instant::now(),
        tag: format!("raw-{}", std::process::id()),
        cfg,
    });
    let mut rng = Rng::new(0x5eed);
    let small = s.cfg.small;
    let p = pool(
        &format!("create 0→{small}"),
        &client,
        &s,
        Op::Create,
        (0..small).collect(),
    )
    .await?;
    record(report, p.phase);
    let gets: Vec<usize> = (0..s.cfg.gets).map(|_| rng.below(small)).collect();
    let p = pool("get (random)", &client, &s, Op::Get, gets).await?;
    record(report, p.phase);
    let lister = client.clone();
    let mut problems = Vec::new();
    for phase in lists(&lister, &s, small, &label(small), &mut problems).await? {
        record(report, phase);
    }
    report.problems.append(&mut problems);
    let updates: Vec<usize> = (0..s.cfg.updates).map(|_| rng.below(small)).collect();
    let p = pool("update (GET+PUT, random)", &client, &s, Op::Update, updates).await?;
    record(report, p.phase);
    let memory = |after: String, objects: usize| {
        crate::single::memory(s.cfg.etcd_pid).map(|status| MemorySample {
            after,
            objects,
            status,
        })
    };
    report.memory.extend(memory(
        format!("{} create/get/list/update", label(small)),
        small,
    ));
    for &n in s.cfg.watchers.iter().filter(|n| **n > 0) {
        eprintln!(
            "  watch fan-out: {n} watchers, {} updates…",
            s.cfg.watch_updates
        );
        let w = fan_out(&client, &s, n, small).await?;
        if !w.complete() {
            report.problems.push(format!(
                "watch fan-out ×{n} incomplete: {} of {} events matched; first error: {}",
                w.matched_events,
                w.expected_events,
                w.first_error.as_deref().unwrap_or("-")
            ));
        }
        report.watches.push(w);
    }
    let large = s.cfg.large;
    if large > small {
        let p = pool(
            &format!("create {small}→{large}"),
            &client,
            &s,
            Op::Create,
            (small..large).collect(),
        )
        .await?;
        record(report, p.phase);
        let mut problems = Vec::new();
        for phase in lists(&lister, &s, large, &label(large), &mut problems).await? {
            record(report, phase);
        }
        report.problems.append(&mut problems);
        report
            .memory
            .extend(memory(format!("{} create/list", label(large)), large));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_next_key() {
        assert_eq!(prefix_end("/a/"), b"/a0".to_vec());
        assert_eq!(prefix_end("a\u{7f}"), b"a\x80".to_vec());
    }

    #[test]
    fn values_carry_their_name() {
        let t = serde_json::json!({"metadata": {"name": "x", "namespace": "bench"}});
        let v: Value = serde_json::from_slice(&value_for(&t, 7).expect("value")).expect("json");
        assert_eq!(v["metadata"]["name"], "bench-000007");
        assert_eq!(key("/p/", 7), "/p/bench-000007");
    }
}
