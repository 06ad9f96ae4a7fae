//! Watches: an etcd watch per [`Watch`], resumed after connection loss from the last delivered
//! revision, ended with [`StoreError::Compacted`] when etcd no longer has the history.
//!
//! ```text
//!   open(start = after + 1) ──► created ──► responses ──plan──► Deliver / Progress ──► client
//!        ▲                                      │                Compacted ─► Err, end
//!        └──── backoff 100 ms … 2 s ◄── stream error / end (etcd restarted, connection lost)
//! ```
//!
//! The position is the last revision whose events were all delivered (events of one revision
//! always arrive in one response, fragmentation is off). A resumed watch starts at position + 1,
//! so nothing is lost and nothing is delivered twice; if etcd compacted past the position in
//! the meantime, it cancels the new watch with its compacted revision and the client gets
//! `Compacted` (410: relist). Progress notifications (etcd sends them to idle watches) move
//! the position forward so an idle watch does not resume from an old, compacted revision.

use crate::keys::{RawEvent, prefix_range_end, rev_to_i64, rev_to_u64, watch_event};
use crate::store::EtcdStore;
use apimachinery::store::{EventKind, StoreError, Watch, WatchEvent};
use etcd_client::{EventType, WatchOptions, WatchResponse, WatchStream};
use std::time::Duration;
use tokio::sync::mpsc;

/// Events buffered per watcher before reading from etcd waits.
const WATCH_BUFFER: usize = 256;
/// First and largest pause between attempts to re-establish a lost watch.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// One etcd watch response, as far as the plan needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response<'a> {
    pub(crate) created: bool,
    pub(crate) canceled: bool,
    pub(crate) cancel_reason: &'a str,
    pub(crate) compact_revision: i64,
    pub(crate) header_revision: i64,
    pub(crate) events: Vec<RawEvent<'a>>,
}

/// What to do with a response, given the position (last fully delivered revision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Send these events, then the position is the given revision.
    Deliver(Vec<WatchEvent>, u64),
    /// Nothing to send; the position moves to the given revision (progress notification).
    Progress(u64),
    /// History after the position is gone: etcd's compacted revision.
    Compacted(u64),
    /// etcd ended the watch for another reason.
    Canceled(String),
    /// Nothing to do (the creation acknowledgement).
    Nothing,
}

/// Decides what a response means. Pure.
pub(crate) fn plan(position: u64, resp: &Response<'_>) -> Result<Step, StoreError> {
    if resp.compact_revision > 0 {
        return Ok(Step::Compacted(rev_to_u64(resp.compact_revision)));
    }
    if resp.canceled {
        return Ok(Step::Canceled(resp.cancel_reason.to_owned()));
    }
    if resp.events.is_empty() {
        if resp.created {
            return Ok(Step::Nothing);
        }
        // A progress notification: every event up to the header revision was sent.
        let header = rev_to_u64(resp.header_revision);
        return Ok(if header > position {
            Step::Progress(header)
        } else {
            Step::Nothing
        });
    }
    let mut events = Vec::with_capacity(resp.events.len());
    let mut last = position;
    for raw in &resp.events {
        let rev = rev_to_u64(raw.revision);
        if rev <= position {
            continue;
        }
        events.push(watch_event(raw)?);
        last = last.max(rev);
    }
    Ok(Step::Deliver(events, last))
}

/// The plan's view of an etcd response.
fn response(resp: &WatchResponse) -> Response<'_> {
    Response {
        created: resp.created(),
        canceled: resp.canceled(),
        cancel_reason: resp.cancel_reason(),
        compact_revision: resp.compact_revision(),
        header_revision: resp
            .header()
            .map_or(0, etcd_client::ResponseHeader::revision),
        events: resp
            .events()
            .iter()
            .filter_map(|e| {
                let kv = e.kv()?;
                Some(RawEvent {
                    kind: match e.event_type() {
                        EventType::Put => EventKind::Put,
                        EventType::Delete => EventKind::Delete,
                    },
                    key: kv.key(),
                    revision: kv.mod_revision(),
                    create_revision: kv.create_revision(),
                    value: kv.value(),
                    prev: e.prev_kv().map(|p| (p.create_revision(), p.value())),
                })
            })
            .collect(),
    }
}

/// An etcd watch that was set up (with etcd's current revision then), or refused because its
/// start is compacted.
enum Opened {
    Stream(Box<WatchStream>, u64),
    Compacted(u64),
}

/// Opens an etcd watch on `prefix` from `start` (inclusive) and waits for etcd to confirm it.
async fn open(store: &EtcdStore, prefix: &str, start: u64) -> Result<Opened, StoreError> {
    let opts = WatchOptions::new()
        .with_range(prefix_range_end(prefix.as_bytes()))
        .with_start_revision(rev_to_i64(start.max(1)))
        .with_prev_key()
        .with_progress_notify();
    let (stream, first) = store
        .timed("watch", store.request_timeout(), |m| {
            let (mut client, opts, prefix) = (m.watch.clone(), opts.clone(), prefix.to_owned());
            async move {
                let mut stream = client.watch(prefix, Some(opts)).await?;
                let first = stream.message().await?;
                Ok((stream, first))
            }
        })
        .await
        .map_err(crate::store::StoreFailure::into_backend)?;
    match first {
        None => Err(StoreError::Backend(
            "etcd watch: stream closed before it was created".to_owned(),
        )),
        Some(r) if r.compact_revision() > 0 => {
            Ok(Opened::Compacted(rev_to_u64(r.compact_revision())))
        }
        Some(r) if r.canceled() => Err(StoreError::Backend(format!(
            "etcd watch refused: {}",
            r.cancel_reason()
        ))),
        Some(r) => Ok(Opened::Stream(
            Box::new(stream),
            r.header().map_or(0, |h| rev_to_u64(h.revision())),
        )),
    }
}

/// Starts a watch of `prefix` delivering every change after `after`.
pub(crate) async fn start(
    store: EtcdStore,
    prefix: String,
    after: u64,
) -> Result<Watch, StoreError> {
    let (tx, rx) = mpsc::channel(WATCH_BUFFER);
    match open(&store, &prefix, after.saturating_add(1)).await? {
        Opened::Compacted(compacted) => {
            store.observe_compacted(compacted);
            return Err(StoreError::Compacted {
                requested: after,
                compacted,
            });
        }
        Opened::Stream(stream, _) => {
            tokio::spawn(run(store, prefix, after, *stream, tx));
        }
    }
    Ok(Watch::new(rx))
}

/// Why a stream stopped.
enum Ended {
    /// The consumer went away.
    Dropped,
    /// etcd reported compaction past the position (already sent to the consumer).
    Compacted,
    /// The stream broke or etcd canceled it: resume.
    Lost(String),
}

/// Feeds `tx` from `stream`, re-opening it after losses, until the consumer goes or history
/// is gone.
async fn run(
    store: EtcdStore,
    prefix: String,
    after: u64,
    mut stream: WatchStream,
    tx: mpsc::Sender<Result<WatchEvent, StoreError>>,
) {
    let mut position = after;
    loop {
        match follow(&store, &mut stream, &mut position, &tx).await {
            Ended::Dropped | Ended::Compacted => return,
            Ended::Lost(why) => {
                tracing::info!(%prefix, position, %why, "etcd watch lost; resuming");
            }
        }
        let mut backoff = BACKOFF_MIN;
        stream = loop {
            tokio::select! {
                () = tx.closed() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            match open(&store, &prefix, position.saturating_add(1)).await {
                // etcd is behind what this watch already delivered: its data was wiped or
                // restored from an older backup, so the history the consumer holds is gone.
                Ok(Opened::Stream(_, current)) if current < position => {
                    tracing::warn!(%prefix, position, current, "etcd's revision went backwards; ending the watch");
                    let _ = tx
                        .send(Err(StoreError::Compacted {
                            requested: position,
                            compacted: current,
                        }))
                        .await;
                    return;
                }
                Ok(Opened::Stream(s, _)) => break *s,
                Ok(Opened::Compacted(compacted)) => {
                    store.observe_compacted(compacted);
                    let _ = tx
                        .send(Err(StoreError::Compacted {
                            requested: position,
                            compacted,
                        }))
                        .await;
                    return;
                }
                Err(e) => {
                    tracing::debug!(%prefix, position, error = %e, "etcd watch not re-established yet");
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        };
    }
}

/// Delivers one stream's responses until it ends.
async fn follow(
    store: &EtcdStore,
    stream: &mut WatchStream,
    position: &mut u64,
    tx: &mpsc::Sender<Result<WatchEvent, StoreError>>,
) -> Ended {
    loop {
        let msg = tokio::select! {
            () = tx.closed() => return Ended::Dropped,
            m = stream.message() => m,
        };
        let resp = match msg {
            Ok(Some(resp)) => resp,
            Ok(None) => return Ended::Lost("stream ended".to_owned()),
            Err(e) => return Ended::Lost(crate::error::describe(&e)),
        };
        let step = match plan(*position, &response(&resp)) {
            Ok(step) => step,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return Ended::Compacted;
            }
        };
        match step {
            Step::Nothing => {}
            Step::Progress(rev) => *position = rev,
            Step::Deliver(events, rev) => {
                for ev in events {
                    if tx.send(Ok(ev)).await.is_err() {
                        return Ended::Dropped;
                    }
                }
                *position = rev;
            }
            Step::Compacted(compacted) => {
                store.observe_compacted(compacted);
                let _ = tx
                    .send(Err(StoreError::Compacted {
                        requested: *position,
                        compacted,
                    }))
                    .await;
                return Ended::Compacted;
            }
            Step::Canceled(reason) => return Ended::Lost(format!("canceled by etcd: {reason}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(rev: i64, key: &'static [u8]) -> RawEvent<'static> {
        RawEvent {
            kind: EventKind::Put,
            key,
            revision: rev,
            create_revision: rev,
            value: b"{}",
            prev: None,
        }
    }

    fn resp(events: Vec<RawEvent<'static>>) -> Response<'static> {
        Response {
            created: false,
            canceled: false,
            cancel_reason: "",
            compact_revision: 0,
            header_revision: 20,
            events,
        }
    }

    #[test]
    fn plans_responses() {
        let created = Response {
            created: true,
            ..resp(vec![])
        };
        assert_eq!(plan(5, &created), Ok(Step::Nothing));
        assert_eq!(
            plan(5, &resp(vec![])),
            Ok(Step::Progress(20)),
            "progress notify"
        );
        assert_eq!(
            plan(25, &resp(vec![])),
            Ok(Step::Nothing),
            "never backwards"
        );
        let compacted = Response {
            canceled: true,
            compact_revision: 9,
            ..resp(vec![])
        };
        assert_eq!(plan(5, &compacted), Ok(Step::Compacted(9)));
        let canceled = Response {
            canceled: true,
            cancel_reason: "permission denied",
            ..resp(vec![])
        };
        assert_eq!(
            plan(5, &canceled),
            Ok(Step::Canceled("permission denied".to_owned()))
        );
    }

    #[test]
    fn delivers_only_events_after_the_position_and_advances_it() {
        let Ok(Step::Deliver(events, pos)) =
            plan(6, &resp(vec![put(6, b"/a"), put(7, b"/b"), put(8, b"/c")]))
        else {
            panic!("deliver")
        };
        let revs: Vec<u64> = events.iter().map(|e| e.revision).collect();
        assert_eq!((revs, pos), (vec![7, 8], 8));
        // Several events of one revision (a Go transaction) are all delivered.
        let Ok(Step::Deliver(events, pos)) = plan(6, &resp(vec![put(7, b"/a"), put(7, b"/b")]))
        else {
            panic!("deliver")
        };
        assert_eq!((events.len(), pos), (2, 7));
    }
}
