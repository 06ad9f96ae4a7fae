//! Latency percentiles (nearest-rank) and summaries.

use std::time::Duration;

use serde::Serialize;

/// The `p`-th percentile (0 < p <= 100) of `sorted` (ascending), by the nearest-rank method:
/// the smallest value such that at least `p`% of the values are less than or equal to it.
/// `None` for an empty slice.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    let n = sorted.len();
    // Rank in 1..=n; f64 holds every realistic sample count exactly.
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    let index = rank.clamp(1, n) - 1;
    sorted.get(index).copied()
}

/// Count, p50, p99, max and mean of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// How many samples.
    pub count: usize,
    /// Median, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Largest sample, ms.
    pub max_ms: f64,
    /// Arithmetic mean, ms.
    pub mean_ms: f64,
}

/// Milliseconds of a duration, as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl LatencySummary {
    /// Summarises `samples` (in any order). All zero when there are none.
    pub fn from_samples(mut samples: Vec<Duration>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let total: Duration = samples.iter().sum();
        let count = samples.len();
        Self {
            count,
            p50_ms: percentile(&samples, 50.0).map_or(0.0, ms),
            p99_ms: percentile(&samples, 99.0).map_or(0.0, ms),
            max_ms: samples.last().copied().map_or(0.0, ms),
            mean_ms: ms(total) / count as f64,
        }
    }
}

/// Operations per second: `count` over `elapsed` (0 when nothing elapsed).
pub fn throughput(count: usize, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        0.0
    } else {
        count as f64 / secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|m| Duration::from_millis(*m)).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let sorted = millis(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&sorted, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&sorted, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&sorted, 100.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&sorted, 0.0), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn small_samples_take_the_upper_value() {
        let sorted = millis(&[10, 20, 30]);
        assert_eq!(percentile(&sorted, 50.0), Some(Duration::from_millis(20)));
        assert_eq!(percentile(&sorted, 99.0), Some(Duration::from_millis(30)));
        let one = millis(&[7]);
        assert_eq!(percentile(&one, 99.0), Some(Duration::from_millis(7)));
    }

    #[test]
    fn summary_sorts_its_input() {
        let s = LatencySummary::from_samples(millis(&[30, 10, 20, 40]));
        assert_eq!(s.count, 4);
        assert!((s.p50_ms - 20.0).abs() < 1e-9);
        assert!((s.p99_ms - 40.0).abs() < 1e-9);
        assert!((s.max_ms - 40.0).abs() < 1e-9);
        assert!((s.mean_ms - 25.0).abs() < 1e-9);
        assert_eq!(
            LatencySummary::from_samples(Vec::new()),
            LatencySummary::default()
        );
    }

    #[test]
    fn throughput_guards_zero_time() {
        assert!((throughput(100, Duration::from_secs(4)) - 25.0).abs() < 1e-9);
        assert!(throughput(5, Duration::ZERO).abs() < 1e-9);
    }
}
