//! Object storage with Kubernetes' etcd semantics: a global revision counter, compare-and-swap
//! writes, snapshot lists with continue tokens, ordered watches and compaction.
//!
//! ```text
//!   Storage (trait, async) ──┬── embedded::EmbeddedStore   (redb file, this crate)
//!                            └── etcd_store::EtcdStore    (crate etcd-store, same contract)
//! ```
//!
//! Objects are opaque JSON bytes under keys `/<prefix>/<resource>/<namespace>/<name>`
//! ([`object_key`]). Every write gets the next value of one store-wide revision; an object's
//! resourceVersion is the revision of its last write (`mod_revision`), a list's is the revision
//! it was read at. Reads and watches older than the compacted revision fail with
//! [`StoreError::Compacted`] (410), newer than the current one with
//! [`StoreError::FutureRevision`] (504).
//!
//! # Why async
//! The contract must also fit an etcd backend, which is network I/O; and the embedded backend
//! fsyncs on every commit, which must not stall the runtime's worker threads (it runs on the
//! blocking pool). Methods return `impl Future + Send`, so callers are generic over the backend
//! (static dispatch, no boxing).

use crate::status::{ApiError, GroupResource};
use base64::Engine as _;
use std::future::Future;

#[cfg(any(test, feature = "testing"))]
pub mod conformance;
pub mod embedded;
pub mod watch_cache;

/// One stored object with its revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The full key.
    pub key: String,
    /// The object bytes (JSON).
    pub value: Vec<u8>,
    /// Revision of the write that created the key (etcd `create_revision`).
    pub create_revision: u64,
    /// Revision of the last write to the key (etcd `mod_revision`, the resourceVersion).
    pub mod_revision: u64,
}

/// Conditions a guarded update or delete checks against the current object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// The current `mod_revision` must equal this.
    pub mod_revision: Option<u64>,
    /// The current object's `metadata.uid` must equal this.
    pub uid: Option<String>,
}

impl Preconditions {
    /// Checks the preconditions against the current object (uid first, as Go does).
    ///
    /// # Errors
    /// [`StoreError::UidConflict`] or [`StoreError::RevisionConflict`].
    pub fn check(&self, current: &KeyValue) -> Result<(), StoreError> {
        if let Some(expected) = self.uid.as_deref() {
            let actual = serde_json::from_slice::<serde_json::Value>(&current.value)
                .ok()
                .and_then(|v| {
                    v.pointer("/metadata/uid")
                        .and_then(|u| u.as_str())
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            if actual != expected {
                return Err(StoreError::UidConflict {
                    key: current.key.clone(),
                    expected: expected.to_owned(),
                    actual,
                });
            }
        }
        if let Some(expected) = self.mod_revision
            && expected != current.mod_revision
        {
            return Err(StoreError::RevisionConflict {
                key: current.key.clone(),
                expected,
                actual: current.mod_revision,
            });
        }
        Ok(())
    }
}

/// Read-modify-write that never loses an update (Go's `GuaranteedUpdate`).
///
/// Reads the current object, checks `preconditions`, computes the new bytes with `update`,
/// and writes them only if nobody wrote in between (compare-and-swap on the mod revision);
/// otherwise it re-reads and re-runs `update` on the fresh object. If `update` returns the
/// current bytes unchanged, nothing is written and the current object (and resourceVersion)
/// is returned.
///
/// # Errors
/// `update`'s error as is; [`StoreError::NotFound`] if the key is (or becomes) absent; a
/// precondition failure as [`StoreError::UidConflict`] / [`StoreError::RevisionConflict`]
/// (a caller-supplied revision is never retried); other storage errors.
pub async fn guaranteed_update<S, E, F>(
    store: &S,
    key: &str,
    preconditions: &Preconditions,
    mut update: F,
) -> Result<KeyValue, E>
where
    S: Storage,
    E: From<StoreError>,
    F: FnMut(&KeyValue) -> Result<Vec<u8>, E>,
{
    loop {
        let current = store
            .get(key, None)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                key: key.to_owned(),
            })?;
        preconditions.check(&current)?;
        let value = update(&current)?;
        if value == current.value {
            return Ok(current);
        }
        let guard = Preconditions {
            mod_revision: Some(current.mod_revision),
            uid: preconditions.uid.clone(),
        };
        match store.update(key, value, &guard).await {
            Ok(kv) => return Ok(kv),
            // Someone wrote in between: run `update` again on what they wrote.
            Err(StoreError::RevisionConflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// A range read over every key starting with `prefix`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    /// Key prefix; include the trailing `/` so `demo` does not match `demo2/…`.
    pub prefix: String,
    /// Read at this revision (a consistent snapshot); `None` reads the latest.
    pub revision: Option<u64>,
    /// At most this many items; `None` or `Some(0)` means all.
    pub limit: Option<usize>,
    /// Start at this key (inclusive), e.g. from a continue token.
    pub start: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// Items in key order.
    pub items: Vec<KeyValue>,
    /// The revision the page was read at.
    pub revision: u64,
    /// How many further keys match after this page (0 when the list is complete).
    pub remaining: u64,
}

impl ListPage {
    /// The continue token for the next page, if there is one (Go's `PrepareContinueToken`).
    ///
    /// # Errors
    /// [`StoreError::InvalidContinue`] if the last key is not under `key_prefix`.
    pub fn continue_token(&self, key_prefix: &str) -> Result<Option<String>, StoreError> {
        match self.items.last() {
            Some(last) if self.remaining > 0 => {
                let next = format!("{}\u{0}", last.key);
                let rev = i64::try_from(self.revision)
                    .map_err(|_| StoreError::InvalidContinue("revision out of range".into()))?;
                encode_continue(&next, key_prefix, rev).map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Created or updated (created iff `create_revision == revision`).
    Put,
    /// Deleted.
    Delete,
}

/// One change, as a watch delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    /// Put or delete.
    pub kind: EventKind,
    /// The key changed.
    pub key: String,
    /// The revision of this change.
    pub revision: u64,
    /// When the key was created (for deletes: the deleted object's).
    pub create_revision: u64,
    /// The new value; `None` for deletes.
    pub value: Option<Vec<u8>>,
    /// The value before this change (`None` for creates); for deletes, the deleted object.
    pub prev_value: Option<Vec<u8>>,
}

impl WatchEvent {
    /// Kubernetes' watch event type: `ADDED`, `MODIFIED` or `DELETED`.
    pub fn watch_type(&self) -> &'static str {
        match self.kind {
            EventKind::Delete => "DELETED",
            EventKind::Put if self.create_revision == self.revision => "ADDED",
            EventKind::Put => "MODIFIED",
        }
    }
}

/// A watch event as one filtered watcher sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered<'a> {
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub event_type: &'static str,
    /// The object to send: the new value, or for `DELETED` the last value that matched (whose
    /// resourceVersion the caller sets to `revision`).
    pub object: &'a [u8],
    /// The event's revision.
    pub revision: u64,
}

impl WatchEvent {
    /// What a watcher with a filter (label/field selectors) receives for this event, as Go's
    /// watch cache decides it: an object entering the filter is `ADDED`, staying in it
    /// `MODIFIED`, leaving it (or deleted while in it) `DELETED` with its previous content;
    /// `None` if the watcher never sees it.
    pub fn filter(&self, mut matches: impl FnMut(&[u8]) -> bool) -> Option<Delivered<'_>> {
        let current = match (self.kind, &self.value) {
            (EventKind::Put, Some(v)) if matches(v) => Some(v.as_slice()),
            _ => None,
        };
        let previous = self.prev_value.as_deref().filter(|p| matches(p));
        let (event_type, object) = match (current, previous) {
            (Some(cur), None) => ("ADDED", cur),
            (Some(cur), Some(_)) => ("MODIFIED", cur),
            (None, Some(prev)) => ("DELETED", prev),
            (None, None) => return None,
        };
        Some(Delivered {
            event_type,
            object,
            revision: self.revision,
        })
    }
}

/// A running watch: events in revision order, ending with an error if it falls behind
/// compaction. Dropping it stops the watch.
#[derive(Debug)]
pub struct Watch {
    rx: tokio::sync::mpsc::Receiver<Result<WatchEvent, StoreError>>,
}

impl Watch {
    /// Wraps the receiving end a backend feeds.
    pub fn new(rx: tokio::sync::mpsc::Receiver<Result<WatchEvent, StoreError>>) -> Self {
        Self { rx }
    }

    /// The next event; `None` once the watch has ended.
    pub async fn next(&mut self) -> Option<Result<WatchEvent, StoreError>> {
        self.rx.recv().await
    }
}

/// Why a storage operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The key does not exist.
    #[error("key not found: {key}")]
    NotFound {
        /// The key.
        key: String,
    },
    /// Create of an existing key.
    #[error("key exists: {key}")]
    AlreadyExists {
        /// The key.
        key: String,
    },
    /// The current object's mod revision differs from the precondition.
    #[error("resource version conflicts: {key}: expected {expected}, found {actual}")]
    RevisionConflict {
        /// The key.
        key: String,
        /// The revision the caller expected.
        expected: u64,
        /// The current revision.
        actual: u64,
    },
    /// The current object's uid differs from the precondition.
    #[error("Precondition failed: UID in precondition: {expected}, UID in object meta: {actual}")]
    UidConflict {
        /// The key.
        key: String,
        /// The uid the caller expected.
        expected: String,
        /// The current uid.
        actual: String,
    },
    /// The revision asked for has been compacted away.
    #[error("required revision {requested} has been compacted (compacted revision {compacted})")]
    Compacted {
        /// The revision asked for.
        requested: u64,
        /// The compacted revision: the oldest one still readable.
        compacted: u64,
    },
    /// The revision asked for is newer than the store's.
    #[error("required revision {requested} is a future revision (current {current})")]
    FutureRevision {
        /// The revision asked for.
        requested: u64,
        /// The current revision.
        current: u64,
    },
    /// A continue token that does not decode (message as Go's `storage.DecodeContinue`).
    #[error("{0}")]
    InvalidContinue(String),
    /// The backend failed (I/O, corruption, a closed database).
    #[error("storage backend: {0}")]
    Backend(String),
    /// The backend could not be reached or lost the connection while the request was under
    /// way (e.g. the etcd member serving it went away, or no leader was elected in time). Worth
    /// retrying: served as a 504 `Timeout` with `retryAfterSeconds`, as kube-apiserver answers
    /// a request its storage did not complete. A write that failed this way may or may not
    /// have been applied; the message says which.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Seconds a client is asked to wait before retrying after [`StoreError::Unavailable`].
pub const UNAVAILABLE_RETRY_AFTER_SECONDS: i32 = 1;

/// Which request a storage error happened in, to pick Go's message for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// get, create, update, delete.
    Object,
    /// list without a continue token.
    List,
    /// list with a continue token.
    ContinueList,
    /// watch.
    Watch,
}

impl StoreError {
    /// The `Status` Go's registry sends for this error on `resource`/`name`.
    pub fn into_api_error(self, op: Operation, resource: &GroupResource, name: &str) -> ApiError {
        let resource = resource.clone();
        let name = name.to_owned();
        match self {
            Self::NotFound { .. } => ApiError::NotFound { resource, name },
            Self::AlreadyExists { .. } => ApiError::AlreadyExists { resource, name },
            Self::RevisionConflict { .. } => ApiError::optimistic_lock(resource, name),
            Self::UidConflict { ref key, .. } => ApiError::Conflict {
                reason: format!(
                    "StorageError: invalid object, Code: 4, Key: {key}, ResourceVersion: 0, AdditionalErrorMsg: {self}"
                ),
                resource,
                name,
            },
            Self::Compacted { .. } => match op {
                Operation::Watch => ApiError::Expired {
                    message: "The resourceVersion for the provided watch is too old.".to_owned(),
                },
                Operation::List | Operation::Object | Operation::ContinueList => {
                    ApiError::list_resource_version_expired()
                }
            },
            Self::FutureRevision { requested, current } => ApiError::TooLargeResourceVersion {
                requested,
                current,
                retry_after_seconds: 1,
            },
            Self::InvalidContinue(msg) => {
                ApiError::bad_request(format!("invalid continue token: {msg}"))
            }
            Self::Backend(msg) => ApiError::InternalError { message: msg },
            Self::Unavailable(msg) => ApiError::Timeout {
                message: format!("request did not complete: {msg}"),
                retry_after_seconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
            },
        }
    }
}

/// A store with etcd's revision semantics. See the module documentation.
pub trait Storage: Send + Sync + 'static {
    /// The current (latest) revision.
    fn current_revision(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The compacted revision: the oldest still readable (0 before any compaction).
    fn compacted_revision(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Reads one key, at `revision` or the latest.
    ///
    /// # Errors
    /// [`StoreError::Compacted`] / [`StoreError::FutureRevision`] for an unreadable revision.
    fn get(
        &self,
        key: &str,
        revision: Option<u64>,
    ) -> impl Future<Output = Result<Option<KeyValue>, StoreError>> + Send;

    /// Reads a page of keys under a prefix, as one consistent snapshot.
    ///
    /// # Errors
    /// [`StoreError::Compacted`] / [`StoreError::FutureRevision`] for an unreadable revision.
    fn list(&self, req: ListRequest) -> impl Future<Output = Result<ListPage, StoreError>> + Send;

    /// Creates `key`; durable when this returns.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] if the key exists.
    fn create(
        &self,
        key: &str,
        value: Vec<u8>,
    ) -> impl Future<Output = Result<KeyValue, StoreError>> + Send;

    /// Replaces `key`'s value if the preconditions hold; durable when this returns. Writing
    /// bytes equal to the current ones is a no-op that keeps the current revision.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::RevisionConflict`], [`StoreError::UidConflict`].
    fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        preconditions: &Preconditions,
    ) -> impl Future<Output = Result<KeyValue, StoreError>> + Send;

    /// Deletes `key` if the preconditions hold; returns the deleted object and the delete's
    /// revision. Durable when this returns.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::RevisionConflict`], [`StoreError::UidConflict`].
    fn delete(
        &self,
        key: &str,
        preconditions: &Preconditions,
    ) -> impl Future<Output = Result<(KeyValue, u64), StoreError>> + Send;

    /// Watches every key under `prefix`, delivering every change with a revision greater than
    /// `after`, in order, then live changes.
    ///
    /// # Errors
    /// [`StoreError::Compacted`] if changes after `after` are no longer all held.
    fn watch(
        &self,
        prefix: &str,
        after: u64,
    ) -> impl Future<Output = Result<Watch, StoreError>> + Send;

    /// Discards history older than `revision`: reads below it and watches from before it fail
    /// afterwards.
    ///
    /// # Errors
    /// [`StoreError::FutureRevision`] if `revision` is ahead of the store.
    fn compact(&self, revision: u64) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The key of one object: `<prefix>/<resource>/<namespace>/<name>`, or without the namespace
/// segment for cluster-scoped kinds. `prefix` is e.g. `/registry/navigator.jetstack.io`.
pub fn object_key(prefix: &str, resource: &str, namespace: Option<&str>, name: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    match namespace {
        Some(ns) => format!("{prefix}/{resource}/{ns}/{name}"),
        None => format!("{prefix}/{resource}/{name}"),
    }
}

/// The list prefix of a resource, optionally within one namespace, with its trailing `/`.
pub fn list_prefix(prefix: &str, resource: &str, namespace: Option<&str>) -> String {
    let prefix = prefix.trim_end_matches('/');
    match namespace {
        Some(ns) => format!("{prefix}/{resource}/{ns}/"),
        None => format!("{prefix}/{resource}/"),
    }
}

/// Go's JSON string encoding (`encoding/json` with HTML escaping, as `json.Marshal` does).
fn go_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Encodes a continue token exactly as Go's `storage.EncodeContinue`:
/// base64url (no padding) of `{"v":"meta.k8s.io/v1","rv":<rv>,"start":"<key minus prefix>"}`.
///
/// # Errors
/// [`StoreError::InvalidContinue`] if `key` is not under `key_prefix`.
pub fn encode_continue(key: &str, key_prefix: &str, rv: i64) -> Result<String, StoreError> {
    let Some(start) = key.strip_prefix(key_prefix) else {
        return Err(StoreError::InvalidContinue(
            "unable to encode next field: the key and key prefix do not match".to_owned(),
        ));
    };
    let json = format!(
        r#"{{"v":"meta.k8s.io/v1","rv":{rv},"start":{}}}"#,
        go_json_string(start)
    );
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
}

/// A decoded continue token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continue {
    /// The full key to resume at (inclusive).
    pub start: String,
    /// The revision to read at; `None` for a token with `rv: -1` ("continue at latest").
    pub revision: Option<u64>,
}

/// Decodes a continue token as Go's `storage.DecodeContinue` does, including its path-traversal
/// check and its error messages.
///
/// # Errors
/// [`StoreError::InvalidContinue`].
pub fn decode_continue(token: &str, key_prefix: &str) -> Result<Continue, StoreError> {
    #[derive(serde::Deserialize)]
    struct Token {
        #[serde(default)]
        v: String,
        #[serde(default)]
        rv: i64,
        #[serde(default)]
        start: String,
    }
    let generic = |e: &dyn std::fmt::Display| {
        StoreError::InvalidContinue(format!("continue key is not valid: {e}"))
    };
    let data = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|e| generic(&e))?;
    let t: Token = serde_json::from_slice(&data).map_err(|e| generic(&e))?;
    if t.v != "meta.k8s.io/v1" {
        return Err(StoreError::InvalidContinue(format!(
            "continue key is not valid: server does not recognize this encoded version {}",
            t.v
        )));
    }
    if t.rv == 0 {
        return Err(StoreError::InvalidContinue(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)".to_owned(),
        ));
    }
    if t.start.is_empty() {
        return Err(StoreError::InvalidContinue(
            "continue key is not valid: encoded start key empty (version meta.k8s.io/v1)"
                .to_owned(),
        ));
    }
    let key = if t.start.starts_with('/') {
        t.start.clone()
    } else {
        format!("/{}", t.start)
    };
    if clean_path(&key) != key {
        return Err(generic(&t.start));
    }
    Ok(Continue {
        start: format!("{key_prefix}{}", &key[1..]),
        revision: u64::try_from(t.rv).ok(),
    })
}

/// Go's `path.Clean` for absolute paths.
fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

/// How much history compaction keeps. Pure; the caller owns the timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompactionSchedule {
    /// Go's cadence (`etcd3/compact.go`): each tick compacts to the revision seen at the previous
    /// tick, so between one and two intervals of history are kept.
    PreviousTick {
        /// The revision seen at the previous tick.
        last_seen: Option<u64>,
    },
    /// Keep this many revisions: each tick compacts to `current - n`.
    KeepRevisions(u64),
}

impl Default for CompactionSchedule {
    fn default() -> Self {
        Self::PreviousTick { last_seen: None }
    }
}

impl CompactionSchedule {
    /// Records the current revision and returns the revision to compact to now, if any: never
    /// one at or below `compacted` (the first `PreviousTick` tick never compacts).
    pub fn tick(&mut self, current_revision: u64, compacted: u64) -> Option<u64> {
        let target = match self {
            Self::PreviousTick { last_seen } => last_seen.replace(current_revision),
            Self::KeepRevisions(n) => Some(current_revision.saturating_sub(*n)),
        };
        target.filter(|t| *t > compacted)
    }
}

/// Runs a [`CompactionSchedule`] against `store` every `interval` until the returned task is
/// aborted. A failed compaction is retried at the next tick with a newer revision.
pub fn spawn_compactor<S: Storage>(
    store: std::sync::Arc<S>,
    mut schedule: CompactionSchedule,
    interval: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        loop {
            ticker.tick().await;
            let (Ok(current), Ok(compacted)) = (
                store.current_revision().await,
                store.compacted_revision().await,
            ) else {
                continue;
            };
            if let Some(rev) = schedule.tick(current, compacted) {
                let _ = store.compact(rev).await;
            }
        }
    })
}

#[cfg(test)]
mod tests;
