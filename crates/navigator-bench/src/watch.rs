//! Watch streams: splitting newline-delimited events and matching received events to the writes
//! that caused them (by resourceVersion).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::Value;

/// Accumulates chunks of a watch body and hands out complete lines.
#[derive(Debug, Default)]
pub struct LineBuffer {
    buf: Vec<u8>,
}

impl LineBuffer {
    /// Appends `chunk` and returns every line it completed (without the newline; empty lines
    /// skipped).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        self.buf.extend_from_slice(chunk);
        let mut lines = Vec::new();
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
            line.pop();
            if !line.iter().all(u8::is_ascii_whitespace) {
                lines.push(line);
            }
        }
        lines
    }

    /// Bytes of an unfinished line.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// The parts of a watch event the benchmark looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    /// `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`.
    pub event_type: String,
    /// `object.metadata.resourceVersion` (empty for an `ERROR` Status without one).
    pub resource_version: String,
}

/// Parses one line of a watch stream. `None` when it is not a JSON watch event.
pub fn parse_event(line: &[u8]) -> Option<WatchEvent> {
    let value: Value = serde_json::from_slice(line).ok()?;
    let event_type = value.get("type")?.as_str()?.to_owned();
    let resource_version = value
        .pointer("/object/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Some(WatchEvent {
        event_type,
        resource_version,
    })
}

/// Delivery of the events one watcher received, matched to the writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchResult {
    /// Delivery latency of each matched event: receipt minus the write's response (0 when the
    /// event arrived before the writer had the response).
    pub latencies: Vec<Duration>,
    /// Events whose resourceVersion is one of the writes'.
    pub matched: usize,
    /// Events with a resourceVersion no measured write returned.
    pub unmatched: usize,
    /// Matched events received before the write's response reached the writer.
    pub before_response: usize,
    /// Events whose resourceVersion this watcher had already received.
    pub duplicates: usize,
}

/// Matches `events` (resourceVersion, time received) of one watcher against `writes`
/// (resourceVersion → time the write's response arrived). Times are offsets from one epoch.
pub fn match_events(
    writes: &HashMap<String, Duration>,
    events: &[(String, Duration)],
) -> MatchResult {
    let mut result = MatchResult::default();
    let mut seen = HashSet::new();
    for (rv, received) in events {
        if !seen.insert(rv.as_str()) {
            result.duplicates += 1;
            continue;
        }
        match writes.get(rv) {
            Some(responded) => {
                result.matched += 1;
                if received < responded {
                    result.before_response += 1;
                }
                result.latencies.push(received.saturating_sub(*responded));
            }
            None => result.unmatched += 1,
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_chunks() {
        let mut buf = LineBuffer::default();
        assert!(buf.push(b"{\"type\":\"ADD").is_empty());
        assert_eq!(buf.pending(), 12);
        let lines = buf.push(b"ED\"}\n\n{\"a\":1}\n{\"b\"");
        assert_eq!(
            lines,
            vec![b"{\"type\":\"ADDED\"}".to_vec(), b"{\"a\":1}".to_vec()]
        );
        assert_eq!(buf.push(b":2}\n"), vec![b"{\"b\":2}".to_vec()]);
        assert_eq!(buf.pending(), 0);
    }

    #[test]
    fn parses_events() {
        let e =
            parse_event(br#"{"type":"MODIFIED","object":{"metadata":{"resourceVersion":"17"}}}"#);
        assert_eq!(
            e,
            Some(WatchEvent {
                event_type: "MODIFIED".into(),
                resource_version: "17".into()
            })
        );
        assert_eq!(parse_event(b"not json"), None);
        assert_eq!(parse_event(br#"{"object":{}}"#), None);
    }

    #[test]
    fn matches_by_resource_version() {
        let ms = Duration::from_millis;
        let writes: HashMap<String, Duration> =
            [("5".to_owned(), ms(100)), ("6".to_owned(), ms(200))].into();
        let events = vec![
            ("5".to_owned(), ms(103)),
            ("6".to_owned(), ms(199)),
            ("6".to_owned(), ms(250)),
            ("9".to_owned(), ms(300)),
        ];
        let r = match_events(&writes, &events);
        assert_eq!(r.matched, 2);
        assert_eq!(r.latencies, vec![ms(3), Duration::ZERO]);
        assert_eq!(r.before_response, 1);
        assert_eq!(r.duplicates, 1);
        assert_eq!(r.unmatched, 1);
    }
}
