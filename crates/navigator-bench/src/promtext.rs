//! Reading a server's `/metrics` (Prometheus text format) for the time breakdown: the mean of a
//! histogram (`_sum` / `_count`) per value of one label, over the series a filter keeps.

use std::collections::BTreeMap;

use serde::Serialize;

/// One sample line: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name (with its `_sum`/`_count`/`_bucket` suffix).
    pub name: String,
    /// Label pairs in the order written.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// The value of label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_labels(s: &str) -> Option<Vec<(String, String)>> {
    let mut labels = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        if rest.is_empty() {
            return Some(labels);
        }
        let eq = rest.find('=')?;
        let key = rest[..eq].trim().to_owned();
        rest = rest[eq + 1..].strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        labels.push((key, value));
        rest = &rest[end + 1..];
    }
}

/// Every sample of a Prometheus text exposition (comments and unparsable lines skipped).
pub fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = match line.find('{') {
            Some(open) => {
                let Some(close) = line.rfind('}') else {
                    continue;
                };
                let Some(labels) = parse_labels(&line[open + 1..close]) else {
                    continue;
                };
                (
                    (line[..open].to_owned(), labels),
                    line[close + 1..].split_whitespace().next(),
                )
            }
            None => {
                let mut parts = line.split_whitespace();
                let name = parts.next().unwrap_or_default().to_owned();
                ((name, Vec::new()), parts.next())
            }
        };
        let Some(value) = value.and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        out.push(Sample {
            name: series.0,
            labels: series.1,
            value,
        });
    }
    out
}

/// Count and mean of a histogram for one value of the grouping label.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HistogramMean {
    /// The grouping label's value (e.g. the verb).
    pub key: String,
    /// Observations.
    pub count: f64,
    /// Mean, milliseconds.
    pub mean_ms: f64,
}

/// Per value of label `by`, the count and mean (ms) of histogram `metric` (seconds) over the
/// series `keep` accepts.
pub fn histogram_means(
    samples: &[Sample],
    metric: &str,
    by: &str,
    keep: impl Fn(&Sample) -> bool,
) -> Vec<HistogramMean> {
    let (sum_name, count_name) = (format!("{metric}_sum"), format!("{metric}_count"));
    let mut acc: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for s in samples {
        let is_sum = s.name == sum_name;
        if !(is_sum || s.name == count_name) || !keep(s) {
            continue;
        }
        let entry = acc
            .entry(s.label(by).unwrap_or_default().to_owned())
            .or_default();
        if is_sum {
            entry.0 += s.value;
        } else {
            entry.1 += s.value;
        }
    }
    acc.into_iter()
        .filter(|(_, (_, count))| *count > 0.0)
        .map(|(key, (sum, count))| HistogramMean {
            key,
            count,
            mean_ms: sum / count * 1000.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP apiserver_request_duration_seconds x
# TYPE apiserver_request_duration_seconds histogram
apiserver_request_duration_seconds_bucket{verb="GET",resource="pilots",le="0.005"} 3
apiserver_request_duration_seconds_sum{verb="GET",resource="pilots",component="apiserver"} 0.5
apiserver_request_duration_seconds_count{verb="GET",resource="pilots",component="apiserver"} 100
apiserver_request_duration_seconds_sum{verb="GET",resource="pods"} 9
apiserver_request_duration_seconds_count{verb="GET",resource="pods"} 1
apiserver_request_duration_seconds_sum{verb="LIST",resource="pilots",scope="namespace"} 2
apiserver_request_duration_seconds_count{verb="LIST",resource="pilots",scope="namespace"} 4
apiserver_request_duration_seconds_sum{verb="LIST",resource="pilots",scope="cluster"} 0
apiserver_request_duration_seconds_count{verb="LIST",resource="pilots",scope="cluster"} 0
etcd_request_duration_seconds_sum{operation="get",type="a \"quoted\", b"} 1e-3
etcd_request_duration_seconds_count{operation="get",type="a \"quoted\", b"} 1
process_resident_memory_bytes 1.5e+07
"#;

    #[test]
    fn parses_samples_and_escapes() {
        let samples = parse(TEXT);
        assert_eq!(samples.len(), 12);
        let last = samples.last().expect("samples");
        assert_eq!(last.name, "process_resident_memory_bytes");
        assert!((last.value - 1.5e7).abs() < 1.0);
        let etcd = &samples[9];
        assert_eq!(etcd.label("type"), Some("a \"quoted\", b"));
        assert_eq!(etcd.label("operation"), Some("get"));
    }

    #[test]
    fn means_per_label() {
        let samples = parse(TEXT);
        let means = histogram_means(
            &samples,
            "apiserver_request_duration_seconds",
            "verb",
            |s| s.label("resource") == Some("pilots"),
        );
        assert_eq!(
            means,
            vec![
                HistogramMean {
                    key: "GET".into(),
                    count: 100.0,
                    mean_ms: 5.0
                },
                HistogramMean {
                    key: "LIST".into(),
                    count: 4.0,
                    mean_ms: 500.0
                },
            ]
        );
        let etcd = histogram_means(
            &samples,
            "etcd_request_duration_seconds",
            "operation",
            |_| true,
        );
        assert_eq!(etcd.len(), 1);
        assert!((etcd[0].mean_ms - 1.0).abs() < 1e-9);
    }
}
