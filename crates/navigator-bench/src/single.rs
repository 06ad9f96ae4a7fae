//! One server's run: every phase in order, bounded by `--deadline`, recorded into the report
//! with the server's memory and the machine's load.

use std::sync::Arc;
use std::time::{Duration, Instant};

use navigator_bench::Rng;
use navigator_bench::procfs::{self, MemStatus};
use navigator_bench::report::{MemorySample, PhaseResult, Report};

use crate::cli::{Args, Protocol};
use crate::client::{Client, Endpoint};
use crate::fanout::watch_phase;
use crate::phases::{Ctx, Op, list_phases, run_pool};

pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

pub(crate) fn memory(pid: Option<u32>) -> Option<MemStatus> {
    let text = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    procfs::parse_status(&text)
}

/// All phases, recorded into `report` as they finish (so a failure keeps what was measured).
pub(crate) async fn bench(
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

pub(crate) fn new_report(args: &Args) -> Report {
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
pub(crate) async fn run_bounded(ep: Endpoint, pid: Option<u32>, args: &Args, report: &mut Report) {
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
