//! The side-by-side comparison: one column per target (navigator-apiserver, kube-apiserver
//! serving a CRD, raw etcd), one row per measured quantity, and the ratios of the first target
//! to each other one. Rendered as a Markdown table so that it can go into `docs/benchmarks.md`
//! as printed.

use std::fmt::Write as _;

use serde::Serialize;

use crate::promtext::HistogramMean;
use crate::report::{MemorySample, Report};

/// Whether a larger value is better (throughput) or worse (latency, memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Better {
    /// Throughput, events delivered.
    Higher,
    /// Latency, memory.
    Lower,
}

/// Where the time went inside a server, from its own `/metrics`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Breakdown {
    /// `apiserver_request_duration_seconds` per verb, for the benchmarked resource.
    pub request: Vec<HistogramMean>,
    /// `etcd_request_duration_seconds` per operation, for the benchmarked resource.
    pub storage: Vec<HistogramMean>,
}

/// One benchmarked target.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// Column name: `navigator`, `kube-apiserver`, `raw etcd`.
    pub name: String,
    /// How the client authenticates and who authorizes (printed under the table).
    pub auth: String,
    /// What it ran (binary and flags, briefly).
    pub setup: String,
    /// What the run measured.
    pub report: Report,
    /// etcd's memory after this target's run (the etcd all targets share).
    pub etcd_memory: Option<MemorySample>,
    /// Mean bytes of one stored value in etcd, when read back.
    pub stored_bytes: Option<u64>,
    /// The server's own time breakdown, when it has `/metrics`.
    pub breakdown: Option<Breakdown>,
}

/// One row: a quantity in every target.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What is measured, with its unit.
    pub label: String,
    /// One value per target (`None`: not measured there).
    pub values: Vec<Option<f64>>,
    /// Direction of "better".
    pub better: Better,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The rows of the comparison, in the order the first target that has them measured them.
pub fn rows(targets: &[Target]) -> Vec<Row> {
    let mut phase_names: Vec<String> = Vec::new();
    for t in targets {
        for p in &t.report.phases {
            if !phase_names.contains(&p.name) {
                phase_names.push(p.name.clone());
            }
        }
    }
    let mut out = Vec::new();
    for name in &phase_names {
        let get = |f: &dyn Fn(&crate::report::PhaseResult) -> f64| -> Vec<Option<f64>> {
            targets
                .iter()
                .map(|t| {
                    t.report
                        .phases
                        .iter()
                        .find(|p| &p.name == name && p.ok > 0)
                        .map(f)
                })
                .collect()
        };
        out.push(Row {
            label: format!("{name}: ops/s"),
            values: get(&|p| p.throughput_per_s),
            better: Better::Higher,
        });
        out.push(Row {
            label: format!("{name}: p50 ms"),
            values: get(&|p| p.latency.p50_ms),
            better: Better::Lower,
        });
        out.push(Row {
            label: format!("{name}: p99 ms"),
            values: get(&|p| p.latency.p99_ms),
            better: Better::Lower,
        });
    }
    let mut watcher_counts: Vec<usize> = Vec::new();
    for t in targets {
        for w in &t.report.watches {
            if !watcher_counts.contains(&w.watchers) {
                watcher_counts.push(w.watchers);
            }
        }
    }
    for n in watcher_counts {
        let get = |f: &dyn Fn(&crate::report::WatchResult) -> f64| -> Vec<Option<f64>> {
            targets
                .iter()
                .map(|t| t.report.watches.iter().find(|w| w.watchers == n).map(f))
                .collect()
        };
        out.push(Row {
            label: format!("watch ×{n}: events delivered (of expected)"),
            values: get(&|w| w.matched_events as f64),
            better: Better::Higher,
        });
        out.push(Row {
            label: format!("watch ×{n}: expected events"),
            values: get(&|w| w.expected_events as f64),
            better: Better::Higher,
        });
        out.push(Row {
            label: format!("watch ×{n}: delivery p50 ms"),
            values: get(&|w| w.delivery.p50_ms),
            better: Better::Lower,
        });
        out.push(Row {
            label: format!("watch ×{n}: delivery p99 ms"),
            values: get(&|w| w.delivery.p99_ms),
            better: Better::Lower,
        });
        out.push(Row {
            label: format!("watch ×{n}: events/s delivered"),
            values: get(&|w| {
                if w.elapsed_s > 0.0 {
                    w.matched_events as f64 / w.elapsed_s
                } else {
                    0.0
                }
            }),
            better: Better::Higher,
        });
        out.push(Row {
            label: format!("watch ×{n}: writes/s during fan-out"),
            values: get(&|w| w.update_throughput_per_s),
            better: Better::Higher,
        });
        out.push(Row {
            label: format!("watch ×{n}: write p50 ms during fan-out"),
            values: get(&|w| w.update_latency.p50_ms),
            better: Better::Lower,
        });
    }
    let last_memory = |t: &Target| t.report.memory.last().cloned();
    let max_objects = targets
        .iter()
        .filter_map(|t| last_memory(t).map(|m| m.objects))
        .max();
    if let Some(objects) = max_objects {
        let at = |t: &Target| last_memory(t).filter(|m| m.objects == objects);
        out.push(Row {
            label: format!("server VmRSS after {objects} objects, MiB"),
            values: targets
                .iter()
                .map(|t| at(t).map(|m| mib(m.status.vm_rss_kib)))
                .collect(),
            better: Better::Lower,
        });
        out.push(Row {
            label: format!("server VmHWM (peak) at {objects} objects, MiB"),
            values: targets
                .iter()
                .map(|t| at(t).map(|m| mib(m.status.vm_hwm_kib)))
                .collect(),
            better: Better::Lower,
        });
    }
    out.push(Row {
        label: "etcd VmRSS after the run, MiB".to_owned(),
        values: targets
            .iter()
            .map(|t| t.etcd_memory.as_ref().map(|m| mib(m.status.vm_rss_kib)))
            .collect(),
        better: Better::Lower,
    });
    out.push(Row {
        label: "stored bytes per object in etcd".to_owned(),
        values: targets
            .iter()
            .map(|t| t.stored_bytes.map(|b| b as f64))
            .collect(),
        better: Better::Lower,
    });
    out
}

fn cell(v: Option<f64>) -> String {
    match v {
        None => "–".to_owned(),
        Some(v) if v.abs() < f64::EPSILON => "0".to_owned(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

/// `a ÷ b`, when both are measured and `b` is not zero.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

/// The comparison as a Markdown table, then each target's auth mode and setup, its server-side
/// breakdown and its problems.
pub fn render(targets: &[Target]) -> String {
    let mut out = String::new();
    let Some(first) = targets.first() else {
        return "no targets\n".to_owned();
    };
    let _ = write!(out, "| quantity |");
    for t in targets {
        let _ = write!(out, " {} |", t.name);
    }
    for t in &targets[1..] {
        let _ = write!(out, " {} ÷ {} |", first.name, t.name);
    }
    let _ = writeln!(out);
    let _ = write!(out, "|---|");
    for _ in 0..(targets.len() * 2 - 1) {
        let _ = write!(out, "---:|");
    }
    let _ = writeln!(out);
    for row in rows(targets) {
        if row.values.iter().all(Option::is_none) {
            continue;
        }
        let _ = write!(out, "| {} |", row.label);
        for v in &row.values {
            let _ = write!(out, " {} |", cell(*v));
        }
        for v in &row.values[1..] {
            let r = ratio(row.values[0], *v);
            let _ = write!(
                out,
                " {} |",
                r.map_or_else(|| "–".to_owned(), |r| format!("{r:.2}"))
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "\nRatios are {first} ÷ other: above 1 is better for {first} on ops/s and events, below 1 is better on ms and MiB.",
        first = first.name
    );
    for t in targets {
        let _ = writeln!(out, "\n{}: {}", t.name, t.setup);
        let _ = writeln!(out, "  auth: {}", t.auth);
        let _ = writeln!(out, "  load average {}", t.report.load_average.join(" → "));
        if let Some(b) = &t.breakdown {
            if !b.request.is_empty() {
                let _ = write!(
                    out,
                    "  server time per request (mean ms, apiserver_request_duration_seconds):"
                );
                for m in &b.request {
                    let _ = write!(out, " {} {:.2} (n={})", m.key, m.mean_ms, m.count);
                }
                let _ = writeln!(out);
            }
            if !b.storage.is_empty() {
                let _ = write!(
                    out,
                    "  storage time per call (mean ms, etcd_request_duration_seconds):"
                );
                for m in &b.storage {
                    let _ = write!(out, " {} {:.2} (n={})", m.key, m.mean_ms, m.count);
                }
                let _ = writeln!(out);
            }
        }
        for p in &t.report.problems {
            let _ = writeln!(out, "  PROBLEM: {p}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Kind;
    use crate::procfs::MemStatus;
    use crate::report::{PhaseResult, WatchResult};
    use crate::stats::LatencySummary;

    fn report(ops: f64, p50: f64, watch_events: usize) -> Report {
        Report {
            server: "s".into(),
            protocol: "HTTP/2".into(),
            kind: Kind::Pilot,
            concurrency: 16,
            load_average: vec!["1 1 1".into()],
            cpus: 2,
            phases: vec![PhaseResult {
                name: "create 0→1k".into(),
                ok: 1000,
                throughput_per_s: ops,
                latency: LatencySummary {
                    count: 1000,
                    p50_ms: p50,
                    p99_ms: p50 * 2.0,
                    max_ms: p50 * 3.0,
                    mean_ms: p50,
                },
                ..PhaseResult::default()
            }],
            watches: vec![WatchResult {
                watchers: 100,
                watchers_established: 100,
                matched_events: watch_events,
                expected_events: 10_000,
                ..WatchResult::default()
            }],
            memory: vec![MemorySample {
                after: "10k".into(),
                objects: 10_000,
                status: MemStatus {
                    vm_rss_kib: 10 * 1024,
                    vm_hwm_kib: 20 * 1024,
                },
            }],
            problems: Vec::new(),
        }
    }

    fn target(name: &str, r: Report) -> Target {
        Target {
            name: name.into(),
            auth: "token".into(),
            setup: "x".into(),
            report: r,
            etcd_memory: None,
            stored_bytes: Some(700),
            breakdown: None,
        }
    }

    #[test]
    fn rows_align_targets_and_ratios() {
        let targets = vec![
            target("navigator", report(2000.0, 5.0, 10_000)),
            target("kube-apiserver", report(1000.0, 10.0, 9_000)),
        ];
        let rows = rows(&targets);
        let create = rows
            .iter()
            .find(|r| r.label == "create 0→1k: ops/s")
            .expect("row");
        assert_eq!(create.values, vec![Some(2000.0), Some(1000.0)]);
        assert_eq!(create.better, Better::Higher);
        assert_eq!(ratio(create.values[0], create.values[1]), Some(2.0));
        let rss = rows
            .iter()
            .find(|r| r.label.starts_with("server VmRSS after 10000"))
            .expect("rss");
        assert_eq!(rss.values, vec![Some(10.0), Some(10.0)]);
        let text = render(&targets);
        assert!(
            text.contains("| quantity | navigator | kube-apiserver | navigator ÷ kube-apiserver |"),
            "{text}"
        );
        assert!(
            text.contains("| create 0→1k: ops/s | 2000 | 1000 | 2.00 |"),
            "{text}"
        );
        assert!(
            text.contains("| create 0→1k: p50 ms | 5.00 | 10.0 | 0.50 |"),
            "{text}"
        );
        assert!(
            text.contains("| watch ×100: events delivered (of expected) | 10000 | 9000 | 1.11 |"),
            "{text}"
        );
        // The etcd RSS row is left out when no target measured it.
        assert!(!text.contains("etcd VmRSS"), "{text}");
    }

    #[test]
    fn missing_values_and_zero_divisors() {
        assert_eq!(ratio(Some(1.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(1.0)), None);
        let mut raw = report(5000.0, 1.0, 10_000);
        raw.memory.clear();
        raw.phases[0].name = "other".into();
        let targets = vec![
            target("navigator", report(2000.0, 5.0, 10_000)),
            target("raw etcd", raw),
        ];
        let text = render(&targets);
        assert!(
            text.contains("| create 0→1k: ops/s | 2000 | – | – |"),
            "{text}"
        );
        assert!(text.contains("| other: ops/s | – | 5000 | – |"), "{text}");
        assert_eq!(render(&[]), "no targets\n");
    }
}
