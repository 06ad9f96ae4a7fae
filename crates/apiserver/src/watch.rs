//! Watch responses (Go's `endpoints/handlers/watch.go`): newline-delimited compact JSON, one
//! chunk per event, ending cleanly when the watch's time is up, the server shuts down or the
//! registry's stream ends.

use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apimachinery::registry::{WatchEvent, WatchStream};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

/// One event as written on the wire: compact JSON and `\n`.
pub fn encode_event(event: &WatchEvent) -> Bytes {
    let mut out = serde_json::to_vec(event).unwrap_or_default();
    out.push(b'\n');
    Bytes::from(out)
}

/// How long a watch lasts: `timeoutSeconds` when given, else a random duration in
/// `[min, 2·min)` (Go's `--min-request-timeout` rule, which spreads reconnects out).
pub fn watch_duration(timeout_seconds: Option<u64>, min: Duration) -> Duration {
    match timeout_seconds {
        Some(s) => Duration::from_secs(s),
        None => {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let fraction = f64::from(nanos % 1000) / 1000.0;
            min.mul_f64(1.0 + fraction)
        }
    }
}

/// The body stream of a watch: each event encoded by [`encode_event`]; `on_event` runs per
/// event (metrics); `keep` lives as long as the stream (e.g. a gauge guard). Ends after
/// `duration`, when `shutdown` is cancelled, or when the registry's stream ends.
pub fn watch_stream<K: Send + 'static>(
    events: WatchStream,
    duration: Duration,
    shutdown: CancellationToken,
    on_event: impl Fn() + Send + 'static,
    keep: K,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let stop = async move {
        tokio::select! {
            () = tokio::time::sleep(duration) => {}
            () = shutdown.cancelled_owned() => {}
        }
    };
    events.take_until(Box::pin(stop)).map(move |event| {
        let _alive = &keep;
        on_event();
        Ok(encode_event(&event))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn frames_events_and_stops() {
        let events: WatchStream = Box::pin(
            futures::stream::iter(vec![
                json!({"type": "ADDED", "object": {"a": 1}}),
                json!({"type": "MODIFIED", "object": {"a": 2}}),
            ])
            .chain(futures::stream::pending()),
        );
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let s = watch_stream(
            events,
            Duration::from_millis(50),
            CancellationToken::new(),
            move || {
                c.fetch_add(1, Ordering::SeqCst);
            },
            (),
        );
        let chunks: Vec<Bytes> = s.map(|r| r.unwrap_or_default()).collect().await;
        assert_eq!(
            chunks,
            vec![
                Bytes::from_static(b"{\"type\":\"ADDED\",\"object\":{\"a\":1}}\n"),
                Bytes::from_static(b"{\"type\":\"MODIFIED\",\"object\":{\"a\":2}}\n"),
            ]
        );
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn shutdown_ends_the_stream() {
        let token = CancellationToken::new();
        let events: WatchStream = Box::pin(futures::stream::pending());
        let s = watch_stream(events, Duration::from_secs(3600), token.clone(), || {}, ());
        token.cancel();
        let chunks: Vec<_> = s.collect().await;
        assert!(chunks.is_empty());
    }

    #[test]
    fn durations() {
        assert_eq!(
            watch_duration(Some(5), Duration::from_secs(1800)),
            Duration::from_secs(5)
        );
        let d = watch_duration(None, Duration::from_secs(1800));
        assert!(d >= Duration::from_secs(1800) && d < Duration::from_secs(3600));
    }
}
