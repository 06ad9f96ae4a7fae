//! Progress of the node's outgoing streams while it leaves the ring, from the
//! `StreamManager` MBean's `CurrentStreams` (one entry per stream plan; a decommission's plan
//! is described as `Unbootstrap`). Pure.

use std::fmt;

use serde_json::Value;

/// The StreamManager MBean.
pub const STREAM_MANAGER: &str = "org.apache.cassandra.net:type=StreamManager";

/// How far the decommission's streams have got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamProgress {
    /// Bytes sent so far.
    pub sent: u64,
    /// Bytes to send in all.
    pub total: u64,
    /// Peers streamed to.
    pub peers: usize,
}

/// The progress of the `Unbootstrap` stream plans in a `CurrentStreams` value; None when
/// there is none (not streaming yet, or done).
pub fn unbootstrap_progress(current_streams: &Value) -> Option<StreamProgress> {
    let plans: Vec<&Value> = current_streams
        .as_array()?
        .iter()
        .filter(|p| p.get("description").and_then(Value::as_str) == Some("Unbootstrap"))
        .collect();
    if plans.is_empty() {
        return None;
    }
    let number = |p: &Value, k: &str| p.get(k).and_then(Value::as_u64).unwrap_or(0);
    let mut peers: Vec<&str> = plans
        .iter()
        .flat_map(|p| {
            p.get("sessions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|s| s.get("peer").and_then(Value::as_str))
        .collect();
    peers.sort_unstable();
    peers.dedup();
    Some(StreamProgress {
        sent: plans.iter().map(|p| number(p, "currentTxBytes")).sum(),
        total: plans.iter().map(|p| number(p, "totalTxBytes")).sum(),
        peers: peers.len(),
    })
}

impl fmt::Display for StreamProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let percent = if self.total == 0 {
            100
        } else {
            (u128::from(self.sent.min(self.total)) * 100 / u128::from(self.total)) as u64
        };
        write!(
            f,
            "sent {} of {} ({percent}%) to {} {}",
            bytes(self.sent),
            bytes(self.total),
            self.peers,
            if self.peers == 1 { "peer" } else { "peers" }
        )
    }
}

/// A byte count for people: `512 B`, `16.4 KiB`, `4.3 MiB`, `1.2 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unbootstrap_plans_are_summed() {
        let streams = json!([
            {"description": "Unbootstrap", "currentTxBytes": 1024, "totalTxBytes": 4096,
             "sessions": [{"peer": "10.0.0.2"}, {"peer": "10.0.0.3"}]},
            {"description": "Unbootstrap", "currentTxBytes": 1024, "totalTxBytes": 4096,
             "sessions": [{"peer": "10.0.0.2"}]},
            {"description": "Repair", "currentTxBytes": 1, "totalTxBytes": 1, "sessions": []},
        ]);
        let p = unbootstrap_progress(&streams).unwrap();
        assert_eq!(
            p,
            StreamProgress {
                sent: 2048,
                total: 8192,
                peers: 2
            }
        );
        assert_eq!(p.to_string(), "sent 2.0 KiB of 8.0 KiB (25%) to 2 peers");
        assert_eq!(unbootstrap_progress(&json!([])), None);
        assert_eq!(
            unbootstrap_progress(&json!([{"description": "Repair"}])),
            None
        );
        assert_eq!(unbootstrap_progress(&json!(null)), None);
    }

    #[test]
    fn byte_counts_read_well() {
        for (n, s) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (16768, "16.4 KiB"),
            (4_496_145, "4.3 MiB"),
            (3 << 30, "3.0 GiB"),
        ] {
            assert_eq!(bytes(n), s);
        }
        let done = StreamProgress {
            sent: 0,
            total: 0,
            peers: 1,
        };
        assert_eq!(done.to_string(), "sent 0 B of 0 B (100%) to 1 peer");
    }
}
