//! A watch multiplexer over any [`Storage`] (the idea of Go's `storage/cacher`): reads and
//! writes go straight to the store, while every watch under one root prefix is served from ONE
//! underlying watch and a bounded in-memory ring of its recent events.
//!
//! ```text
//!   store.watch(root, R) ──► pump ──► ring (last `capacity` events, all after `start`)
//!                                       │  notify (latest revision)
//!                     ┌─────────────────┼─────────────────┐
//!                 watcher 1         watcher 2   …     watcher N   (own task, own position,
//!                 prefix filter     prefix filter     prefix filter  own bounded channel)
//! ```
//!
//! A watch whose start is held by the ring is served from memory; one from before the ring (or
//! a watcher that fell behind it, or any watcher after the underlying watch ended) is handed to
//! the store itself from its position, so the store's contract ([`StoreError::Compacted`],
//! ordering, `prev_value`s) holds unchanged: the wrapper passes the same conformance suite.
//! Watches outside the root prefix are delegated as well.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, watch as notify};

use super::{
    KeyValue, ListPage, ListRequest, Preconditions, Storage, StoreError, Watch, WatchEvent,
};

/// How many events the ring keeps by default.
pub const DEFAULT_CAPACITY: usize = 4096;

/// Events a watcher may have queued before it waits for its reader.
const WATCH_BUFFER: usize = 256;

/// A [`Storage`] whose watches under `root` share one underlying watch. See the module docs.
/// Clones share the feed.
pub struct WatchCache<S>(Arc<Shared<S>>);

impl<S> Clone for WatchCache<S> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

struct Shared<S> {
    store: Arc<S>,
    root: String,
    capacity: usize,
    feed: tokio::sync::Mutex<Option<Arc<Feed>>>,
    /// Dropped with the cache, which stops the pump.
    _stop: notify::Sender<()>,
    stop_rx: notify::Receiver<()>,
}

impl<S> std::fmt::Debug for WatchCache<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchCache")
            .field("root", &self.0.root)
            .field("capacity", &self.0.capacity)
            .finish_non_exhaustive()
    }
}

/// The shared state of one underlying watch.
struct Feed {
    ring: Mutex<Ring>,
    /// The revision of the newest event pushed (or the start); bumped after every push.
    latest: notify::Sender<u64>,
}

impl Feed {
    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The recent events of one underlying watch. Pure; the pump and the watchers do the I/O.
#[derive(Debug, Default)]
struct Ring {
    events: VecDeque<Arc<WatchEvent>>,
    /// Every event with a revision above this is held (those at or below it are not).
    start: u64,
    /// The underlying watch has ended: nothing more will be pushed.
    ended: bool,
}

/// What a watcher at position `pos` finds in the ring.
#[derive(Debug, PartialEq, Eq)]
enum Since {
    /// The events after `pos` (none: wait for more).
    Events(Vec<Arc<WatchEvent>>),
    /// The ring cannot serve `pos` (it starts later, or the feed ended and is drained): the
    /// store must.
    Behind,
}

impl Ring {
    fn new(start: u64) -> Self {
        Self {
            events: VecDeque::new(),
            start,
            ended: false,
        }
    }

    /// Appends an event, dropping the oldest beyond `capacity`.
    fn push(&mut self, event: WatchEvent, capacity: usize) {
        if event.revision <= self.newest() {
            return; // never out of order
        }
        self.events.push_back(Arc::new(event));
        while self.events.len() > capacity.max(1) {
            if let Some(old) = self.events.pop_front() {
                self.start = old.revision;
            }
        }
    }

    /// The revision of the newest event held, or the start.
    fn newest(&self) -> u64 {
        self.events.back().map_or(self.start, |e| e.revision)
    }

    /// The events after `pos`, at most `max`.
    fn since(&self, pos: u64, max: usize) -> Since {
        if pos < self.start {
            return Since::Behind;
        }
        let from = self.events.partition_point(|e| e.revision <= pos);
        if from == self.events.len() && self.ended {
            return Since::Behind;
        }
        Since::Events(self.events.iter().skip(from).take(max).cloned().collect())
    }
}

impl<S: Storage> WatchCache<S> {
    /// Wraps `store`; watches of prefixes under `root` are multiplexed, keeping `capacity`
    /// events of history ([`DEFAULT_CAPACITY`] is a good default).
    pub fn new(store: Arc<S>, root: &str, capacity: usize) -> Self {
        let (stop, stop_rx) = notify::channel(());
        Self(Arc::new(Shared {
            store,
            root: root.to_owned(),
            capacity,
            feed: tokio::sync::Mutex::new(None),
            _stop: stop,
            stop_rx,
        }))
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<S> {
        &self.0.store
    }

    /// Starts the underlying watch now rather than at the first watch, so that the ring
    /// already holds the events a first watcher asks for.
    ///
    /// # Errors
    /// The store's error reading its revision or starting the watch.
    pub async fn start(&self) -> Result<(), StoreError> {
        self.feed().await.map(drop)
    }

    /// The running feed, started (again) if there is none or it ended.
    async fn feed(&self) -> Result<Arc<Feed>, StoreError> {
        let mut slot = self.0.feed.lock().await;
        if let Some(feed) = slot.as_ref()
            && !feed.ring().ended
        {
            return Ok(Arc::clone(feed));
        }
        let start = self.0.store.current_revision().await?;
        let watch = self.0.store.watch(&self.0.root, start).await?;
        let (latest, _) = notify::channel(start);
        let feed = Arc::new(Feed {
            ring: Mutex::new(Ring::new(start)),
            latest,
        });
        tokio::spawn(pump(
            Arc::clone(&feed),
            watch,
            self.0.capacity,
            self.0.stop_rx.clone(),
        ));
        *slot = Some(Arc::clone(&feed));
        Ok(feed)
    }
}

/// Moves the underlying watch's events into the ring until it ends or the cache is dropped.
async fn pump(feed: Arc<Feed>, mut watch: Watch, capacity: usize, mut stop: notify::Receiver<()>) {
    loop {
        let next = tokio::select! {
            ev = watch.next() => ev,
            _ = stop.changed() => None,
        };
        match next {
            Some(Ok(event)) => {
                let revision = event.revision;
                feed.ring().push(event, capacity);
                feed.latest.send_replace(revision);
            }
            // An error or the end: watchers drain the ring, then go to the store themselves.
            Some(Err(_)) | None => {
                feed.ring().ended = true;
                feed.latest.send_modify(|_| {});
                return;
            }
        }
    }
}

/// Serves one watcher from the ring, then from the store once the ring cannot.
async fn serve<S: Storage>(
    feed: Arc<Feed>,
    store: Arc<S>,
    prefix: String,
    mut pos: u64,
    tx: mpsc::Sender<Result<WatchEvent, StoreError>>,
) {
    let mut wake = feed.latest.subscribe();
    loop {
        wake.borrow_and_update();
        let found = feed.ring().since(pos, WATCH_BUFFER);
        match found {
            Since::Events(events) if events.is_empty() => {
                tokio::select! {
                    changed = wake.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                    () = tx.closed() => return,
                }
            }
            Since::Events(events) => {
                for ev in events {
                    pos = ev.revision;
                    if ev.key.starts_with(&prefix) && tx.send(Ok((*ev).clone())).await.is_err() {
                        return;
                    }
                }
            }
            Since::Behind => {
                drop(wake);
                return forward(store.watch(&prefix, pos).await, tx).await;
            }
        }
    }
}

/// Forwards a store watch (or its error) to a watcher.
async fn forward(
    watch: Result<Watch, StoreError>,
    tx: mpsc::Sender<Result<WatchEvent, StoreError>>,
) {
    let mut watch = match watch {
        Ok(w) => w,
        Err(e) => {
            let _ = tx.send(Err(e)).await;
            return;
        }
    };
    loop {
        let next = tokio::select! {
            ev = watch.next() => ev,
            () = tx.closed() => return,
        };
        match next {
            Some(ev) => {
                if tx.send(ev).await.is_err() {
                    return;
                }
            }
            None => return,
        }
    }
}

impl<S: Storage> Storage for WatchCache<S> {
    async fn current_revision(&self) -> Result<u64, StoreError> {
        self.0.store.current_revision().await
    }

    async fn compacted_revision(&self) -> Result<u64, StoreError> {
        self.0.store.compacted_revision().await
    }

    async fn get(&self, key: &str, revision: Option<u64>) -> Result<Option<KeyValue>, StoreError> {
        self.0.store.get(key, revision).await
    }

    async fn list(&self, req: ListRequest) -> Result<ListPage, StoreError> {
        self.0.store.list(req).await
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StoreError> {
        self.0.store.create(key, value).await
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        preconditions: &Preconditions,
    ) -> Result<KeyValue, StoreError> {
        self.0.store.update(key, value, preconditions).await
    }

    async fn delete(
        &self,
        key: &str,
        preconditions: &Preconditions,
    ) -> Result<(KeyValue, u64), StoreError> {
        self.0.store.delete(key, preconditions).await
    }

    async fn watch(&self, prefix: &str, after: u64) -> Result<Watch, StoreError> {
        if !prefix.starts_with(&self.0.root) {
            return self.0.store.watch(prefix, after).await;
        }
        // The store's contract: a watch from before its compacted revision fails at once.
        let compacted = self.0.store.compacted_revision().await?;
        if after < compacted {
            return Err(StoreError::Compacted {
                requested: after,
                compacted,
            });
        }
        let feed = self.feed().await?;
        if feed.ring().since(after, 0) == Since::Behind {
            return self.0.store.watch(prefix, after).await;
        }
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        tokio::spawn(serve(
            feed,
            Arc::clone(&self.0.store),
            prefix.to_owned(),
            after,
            tx,
        ));
        Ok(Watch::new(rx))
    }

    async fn compact(&self, revision: u64) -> Result<(), StoreError> {
        self.0.store.compact(revision).await
    }
}

#[cfg(test)]
mod tests;
