//! The benchmark's results: a serialisable report and its plain-text table.

use std::fmt::Write as _;

use serde::Serialize;

use crate::objects::Kind;
use crate::procfs::MemStatus;
use crate::stats::LatencySummary;

/// One measured phase (create, get, list, update).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhaseResult {
    /// What was measured, e.g. `create 0→1000`.
    pub name: String,
    /// Operations that succeeded (for a paginated list: full walks).
    pub ok: usize,
    /// Operations that failed (non-2xx other than 409, transport errors, timeouts).
    pub errors: usize,
    /// 409 Conflict answers (updates with a stale resourceVersion).
    pub conflicts: usize,
    /// Wall-clock time of the phase, seconds.
    pub elapsed_s: f64,
    /// Successful operations per second.
    pub throughput_per_s: f64,
    /// Latency of the successful operations.
    pub latency: LatencySummary,
    /// Response bytes per operation (lists), when measured.
    pub bytes_per_op: Option<u64>,
    /// Requests per operation (paginated lists: pages per walk), when more than one.
    pub requests_per_op: Option<usize>,
    /// The first error seen, verbatim enough to act on.
    pub first_error: Option<String>,
}

/// The watch fan-out phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WatchResult {
    /// Concurrent watchers on the collection.
    pub watchers: usize,
    /// Watchers whose watch request was answered with 200.
    pub watchers_established: usize,
    /// Updates attempted while they watched.
    pub updates: usize,
    /// Updates that landed (2xx).
    pub updates_landed: usize,
    /// Seconds from connect to all watch responses' headers.
    pub establish_s: f64,
    /// `updates_landed × watchers`.
    pub expected_events: usize,
    /// Events received by all watchers (every type).
    pub received_events: usize,
    /// Received events matched to a landed update by resourceVersion.
    pub matched_events: usize,
    /// Received events not matched to a measured update.
    pub unmatched_events: usize,
    /// Events a watcher received twice.
    pub duplicate_events: usize,
    /// Matched events that arrived before the writer had its response (latency counted as 0).
    pub before_response: usize,
    /// Watchers that received every expected event before the deadline.
    pub watchers_complete: usize,
    /// Seconds from the first update to the last event received.
    pub elapsed_s: f64,
    /// Delivery latency: write response → watcher receipt, over every matched event.
    pub delivery: LatencySummary,
    /// Latency of the updates themselves (GET + PUT).
    pub update_latency: LatencySummary,
    /// Updates per second while the watchers were attached.
    pub update_throughput_per_s: f64,
    /// The first error seen.
    pub first_error: Option<String>,
}

impl WatchResult {
    /// Whether every watcher received exactly the expected events.
    pub fn complete(&self) -> bool {
        self.watchers_established == self.watchers
            && self.matched_events == self.expected_events
            && self.unmatched_events == 0
            && self.duplicate_events == 0
    }
}

/// The server's memory after a phase.
#[derive(Debug, Clone, Serialize)]
pub struct MemorySample {
    /// After which phase.
    pub after: String,
    /// Objects stored at that point.
    pub objects: usize,
    /// `VmRSS` and `VmHWM`.
    pub status: MemStatus,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Base URL of the server.
    pub server: String,
    /// `http1` or `http2`.
    pub protocol: String,
    /// The kind written.
    pub kind: Kind,
    /// Concurrent clients of the create/get/update phases.
    pub concurrency: usize,
    /// `/proc/loadavg` at the start and at the end.
    pub load_average: Vec<String>,
    /// Logical CPUs of the machine.
    pub cpus: usize,
    /// The measured phases, in order.
    pub phases: Vec<PhaseResult>,
    /// The watch fan-outs, one per watcher count.
    pub watches: Vec<WatchResult>,
    /// Server memory samples (only when the server's pid is known).
    pub memory: Vec<MemorySample>,
    /// Anything wrong the run noticed (errors, incomplete watches, wrong list sizes).
    pub problems: Vec<String>,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// The report as a plain-text table (what the binary prints without `--json`).
pub fn render_table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "navigator-bench: {} over {} ({} objects, concurrency {}, {} CPUs, load average {})",
        report.server,
        report.protocol,
        report.kind.kind(),
        report.concurrency,
        report.cpus,
        report.load_average.join(" → ")
    );
    let _ = writeln!(
        out,
        "{:<34} {:>7} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9} {:>11} {:>6}",
        "phase", "ok", "errors", "409s", "ops/s", "p50 ms", "p99 ms", "max ms", "bytes/op", "pages"
    );
    for p in &report.phases {
        let _ = writeln!(
            out,
            "{:<34} {:>7} {:>6} {:>6} {:>9.1} {:>9.2} {:>9.2} {:>9.2} {:>11} {:>6}",
            p.name,
            p.ok,
            p.errors,
            p.conflicts,
            p.throughput_per_s,
            p.latency.p50_ms,
            p.latency.p99_ms,
            p.latency.max_ms,
            opt(p.bytes_per_op),
            opt(p.requests_per_op),
        );
    }
    for w in &report.watches {
        let _ = writeln!(
            out,
            "\nwatch fan-out: {}/{} watchers established in {:.2} s; {}/{} updates landed, {:.0}/s (update p50 {:.2} ms, p99 {:.2} ms)",
            w.watchers_established,
            w.watchers,
            w.establish_s,
            w.updates_landed,
            w.updates,
            w.update_throughput_per_s,
            w.update_latency.p50_ms,
            w.update_latency.p99_ms
        );
        let _ = writeln!(
            out,
            "  events: expected {}, received {}, matched {}, unmatched {}, duplicates {}; {} of {} watchers complete{}",
            w.expected_events,
            w.received_events,
            w.matched_events,
            w.unmatched_events,
            w.duplicate_events,
            w.watchers_complete,
            w.watchers,
            if w.complete() {
                " (OK)"
            } else {
                " (INCOMPLETE)"
            }
        );
        let _ = writeln!(
            out,
            "  delivery latency (write response → watcher): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {:.0} events/s over {:.2} s; {} events arrived before the write's response",
            w.delivery.p50_ms,
            w.delivery.p99_ms,
            w.delivery.max_ms,
            if w.elapsed_s > 0.0 {
                w.matched_events as f64 / w.elapsed_s
            } else {
                0.0
            },
            w.elapsed_s,
            w.before_response
        );
    }
    if !report.memory.is_empty() {
        let _ = writeln!(out, "\nserver memory:");
        for m in &report.memory {
            let _ = writeln!(
                out,
                "  after {:<28} ({:>6} objects): VmRSS {:>8.1} MiB, VmHWM {:>8.1} MiB",
                m.after,
                m.objects,
                mib(m.status.vm_rss_kib),
                mib(m.status.vm_hwm_kib)
            );
        }
    }
    if report.problems.is_empty() {
        let _ = writeln!(out, "\nno problems");
    } else {
        let _ = writeln!(out, "\nproblems:");
        for p in &report.problems {
            let _ = writeln!(out, "  - {p}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            server: "https://127.0.0.1:1".into(),
            protocol: "http2".into(),
            kind: Kind::Pilot,
            concurrency: 16,
            load_average: vec!["2.00 1.00 0.50".into()],
            cpus: 2,
            phases: vec![PhaseResult {
                name: "create 0→1000".into(),
                ok: 1000,
                throughput_per_s: 512.25,
                latency: LatencySummary {
                    count: 1000,
                    p50_ms: 1.5,
                    p99_ms: 9.25,
                    max_ms: 12.0,
                    mean_ms: 2.0,
                },
                ..PhaseResult::default()
            }],
            watches: vec![WatchResult {
                watchers: 2,
                watchers_established: 2,
                updates: 3,
                updates_landed: 3,
                expected_events: 6,
                received_events: 6,
                matched_events: 6,
                watchers_complete: 2,
                ..WatchResult::default()
            }],
            memory: vec![MemorySample {
                after: "1k".into(),
                objects: 1000,
                status: MemStatus {
                    vm_rss_kib: 2048,
                    vm_hwm_kib: 4096,
                },
            }],
            problems: Vec::new(),
        }
    }

    #[test]
    fn table_has_every_section() {
        let text = render_table(&sample());
        assert!(text.contains("create 0→1000"), "{text}");
        assert!(text.contains("512.2"), "{text}");
        assert!(text.contains("9.25"), "{text}");
        assert!(text.contains("(OK)"), "{text}");
        assert!(
            text.contains("VmRSS      2.0 MiB, VmHWM      4.0 MiB"),
            "{text}"
        );
        assert!(text.contains("no problems"), "{text}");
    }

    #[test]
    fn incomplete_watch_and_problems_are_shown() {
        let mut r = sample();
        if let Some(w) = r.watches.first_mut() {
            w.matched_events = 5;
        }
        r.problems.push("list returned 999 items".into());
        let text = render_table(&r);
        assert!(text.contains("(INCOMPLETE)"), "{text}");
        assert!(text.contains("- list returned 999 items"), "{text}");
    }

    #[test]
    fn json_names_the_fields() {
        let v = serde_json::to_value(sample()).expect("serialises");
        assert_eq!(v["kind"], "pilot");
        assert_eq!(v["phases"][0]["latency"]["p99_ms"], 9.25);
        assert_eq!(v["memory"][0]["status"]["vm_hwm_kib"], 4096);
    }
}
