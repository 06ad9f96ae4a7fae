//! The embedded single-file store: [`Storage`] on redb.
//!
//! # Layout
//! * `meta`: `rev` (current revision, 1 for an empty store, like etcd) and `compact`.
//! * `log`: `revision → entry` (put or delete, key, create/previous revision, value); this is
//!   the watch history. A delete entry carries the deleted object.
//! * `latest`: `key → revision` of its live value, for reads at the current revision.
//! * `history`: `(key, revision)` index, for reads at an older revision (newest entry ≤ it).
//!
//! # Guarantees
//! Writes go through one writer thread that takes every write queued at that moment (up to
//! [`MAX_BATCH`]), applies them in order in one redb transaction (each with its own revision,
//! each compare-and-swap seeing the ones before it) and commits it with
//! `Durability::Immediate` (fsync) before answering any of them. So an acknowledged write
//! survives `kill -9`, an unacknowledged one is wholly present or absent, and concurrent
//! writers share fsyncs (group commit) instead of queueing for one each.
//!
//! # Watch fan-out
//! After each commit the new revision is sent on a `tokio::sync::broadcast` channel. It is only
//! a wake-up: each watcher task re-reads the log after its last delivered revision, so a
//! watcher that lags behind the broadcast buffer loses nothing, and a slow consumer only slows
//! itself (its bounded channel fills and its task waits). A watcher whose position has been
//! compacted away receives [`StoreError::Compacted`] and ends.

use super::{
    EventKind, KeyValue, ListPage, ListRequest, Preconditions, Storage, StoreError, Watch,
    WatchEvent,
};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;
use std::sync::Arc;

const META: TableDefinition<'static, &str, u64> = TableDefinition::new("meta");
const LOG: TableDefinition<'static, u64, &[u8]> = TableDefinition::new("log");
const LATEST: TableDefinition<'static, &str, u64> = TableDefinition::new("latest");
const HISTORY: TableDefinition<'static, (&str, u64), ()> = TableDefinition::new("history");

const REV: &str = "rev";
const COMPACT: &str = "compact";

/// How many log entries a watcher reads per batch.
const WATCH_BATCH: usize = 512;
/// Events buffered per watcher before its reader waits.
const WATCH_BUFFER: usize = 256;

macro_rules! backend_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Backend(e.to_string())
            }
        }
    )*};
}

backend_errors!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError,
    tokio::task::JoinError
);

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    kind: EventKind,
    key: String,
    create_revision: u64,
    /// The key's previous mod revision (0 for a create).
    prev_revision: u64,
    /// The new value for a put, the deleted value for a delete.
    value: Vec<u8>,
}

impl Entry {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(21 + self.key.len() + self.value.len());
        out.push(match self.kind {
            EventKind::Put => 0,
            EventKind::Delete => 1,
        });
        out.extend_from_slice(&self.create_revision.to_le_bytes());
        out.extend_from_slice(&self.prev_revision.to_le_bytes());
        out.extend_from_slice(
            &u32::try_from(self.key.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        out.extend_from_slice(self.key.as_bytes());
        out.extend_from_slice(&self.value);
        out
    }

    fn decode(b: &[u8]) -> Result<Self, StoreError> {
        let corrupt = || StoreError::Backend("corrupt log entry".to_owned());
        let u64_at = |i: usize| -> Result<u64, StoreError> {
            let bytes: [u8; 8] = b
                .get(i..i + 8)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(corrupt)?;
            Ok(u64::from_le_bytes(bytes))
        };
        let kind = match b.first() {
            Some(0) => EventKind::Put,
            Some(1) => EventKind::Delete,
            _ => return Err(corrupt()),
        };
        let create_revision = u64_at(1)?;
        let prev_revision = u64_at(9)?;
        let len_bytes: [u8; 4] = b
            .get(17..21)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(corrupt)?;
        let key_len = usize::try_from(u32::from_le_bytes(len_bytes)).map_err(|_| corrupt())?;
        let key = b.get(21..21 + key_len).ok_or_else(corrupt)?;
        let key = String::from_utf8(key.to_vec()).map_err(|_| corrupt())?;
        let value = b.get(21 + key_len..).ok_or_else(corrupt)?.to_vec();
        Ok(Self {
            kind,
            key,
            create_revision,
            prev_revision,
            value,
        })
    }
}

struct Inner {
    db: Arc<Database>,
    notify: tokio::sync::broadcast::Sender<u64>,
    /// Queue of the writer thread; `None` only while dropping.
    writes: Option<std::sync::mpsc::Sender<Pending>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Inner {
    /// Stops the writer thread (after it finishes queued writes) so the file is closed when the
    /// last handle goes.
    fn drop(&mut self) {
        self.writes.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// Most writes committed in one transaction.
const MAX_BATCH: usize = 128;

/// A write waiting for the writer thread.
enum Op {
    Create(String, Vec<u8>),
    Update(String, Vec<u8>, Preconditions),
    Delete(String, Preconditions),
}

/// What a write produced.
enum Outcome {
    Written(KeyValue),
    Deleted(KeyValue, u64),
}

type Reply = tokio::sync::oneshot::Sender<Result<Outcome, StoreError>>;

/// Each write's outcome, and the last revision the batch wrote (if it wrote anything).
type Batch = (Vec<Result<Outcome, StoreError>>, Option<u64>);

struct Pending {
    op: Op,
    reply: Reply,
}

/// Whether an error is the caller's (the batch goes on) or the storage's (the batch aborts,
/// since its transaction may hold part of the failed write).
fn is_request_error(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::NotFound { .. }
            | StoreError::AlreadyExists { .. }
            | StoreError::RevisionConflict { .. }
            | StoreError::UidConflict { .. }
    )
}

/// The writer thread: takes every queued write (up to [`MAX_BATCH`]), applies them in order in
/// one transaction, commits durably once, and only then answers each caller (group commit).
fn writer_loop(
    db: &Database,
    notify: &tokio::sync::broadcast::Sender<u64>,
    queue: &std::sync::mpsc::Receiver<Pending>,
) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let ops: Vec<&Op> = batch.iter().map(|p| &p.op).collect();
        match commit_batch(db, &ops) {
            Ok((outcomes, last)) => {
                for (p, o) in batch.into_iter().zip(outcomes) {
                    let _ = p.reply.send(o);
                }
                if let Some(rev) = last {
                    // Nobody listening is fine.
                    let _ = notify.send(rev);
                }
            }
            Err(e) => {
                for p in batch {
                    let _ = p.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Applies `ops` in one durable transaction; returns each outcome and the last revision
/// written, if any.
fn commit_batch(db: &Database, ops: &[&Op]) -> Result<Batch, StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    let start = read_meta(&txn.open_table(META)?, REV, 1)?;
    let mut rev = start;
    let mut outcomes = Vec::with_capacity(ops.len());
    for op in ops {
        let result = match op {
            Op::Create(key, value) => op_create(&txn, rev + 1, key, value),
            Op::Update(key, value, pre) => op_update(&txn, rev + 1, key, value, pre),
            Op::Delete(key, pre) => op_delete(&txn, rev + 1, key, pre),
        };
        match result {
            Ok((outcome, wrote)) => {
                if wrote {
                    rev += 1;
                }
                outcomes.push(Ok(outcome));
            }
            Err(e) if is_request_error(&e) => outcomes.push(Err(e)),
            Err(e) => return Err(e),
        }
    }
    if rev == start {
        txn.abort()?;
        return Ok((outcomes, None));
    }
    txn.open_table(META)?.insert(REV, rev)?;
    txn.commit()?;
    Ok((outcomes, Some(rev)))
}

fn current_in(txn: &redb::WriteTransaction, key: &str) -> Result<Option<KeyValue>, StoreError> {
    read_latest(&txn.open_table(LATEST)?, &txn.open_table(LOG)?, key)
}

fn append(txn: &redb::WriteTransaction, rev: u64, entry: &Entry) -> Result<(), StoreError> {
    txn.open_table(LOG)?
        .insert(rev, entry.encode().as_slice())?;
    txn.open_table(HISTORY)?
        .insert((entry.key.as_str(), rev), ())?;
    let mut latest = txn.open_table(LATEST)?;
    match entry.kind {
        EventKind::Put => {
            latest.insert(entry.key.as_str(), rev)?;
        }
        EventKind::Delete => {
            latest.remove(entry.key.as_str())?;
        }
    }
    Ok(())
}

/// A create at revision `rev`; the bool is whether it wrote.
fn op_create(
    txn: &redb::WriteTransaction,
    rev: u64,
    key: &str,
    value: &[u8],
) -> Result<(Outcome, bool), StoreError> {
    if current_in(txn, key)?.is_some() {
        return Err(StoreError::AlreadyExists {
            key: key.to_owned(),
        });
    }
    let entry = Entry {
        kind: EventKind::Put,
        key: key.to_owned(),
        create_revision: rev,
        prev_revision: 0,
        value: value.to_vec(),
    };
    append(txn, rev, &entry)?;
    let kv = KeyValue {
        key: key.to_owned(),
        value: value.to_vec(),
        create_revision: rev,
        mod_revision: rev,
    };
    Ok((Outcome::Written(kv), true))
}

/// A guarded update at revision `rev`; identical bytes write nothing.
fn op_update(
    txn: &redb::WriteTransaction,
    rev: u64,
    key: &str,
    value: &[u8],
    pre: &Preconditions,
) -> Result<(Outcome, bool), StoreError> {
    let current = current_in(txn, key)?.ok_or_else(|| StoreError::NotFound {
        key: key.to_owned(),
    })?;
    pre.check(&current)?;
    if current.value == value {
        return Ok((Outcome::Written(current), false));
    }
    let entry = Entry {
        kind: EventKind::Put,
        key: key.to_owned(),
        create_revision: current.create_revision,
        prev_revision: current.mod_revision,
        value: value.to_vec(),
    };
    append(txn, rev, &entry)?;
    let kv = KeyValue {
        key: key.to_owned(),
        value: value.to_vec(),
        create_revision: current.create_revision,
        mod_revision: rev,
    };
    Ok((Outcome::Written(kv), true))
}

/// A guarded delete at revision `rev`.
fn op_delete(
    txn: &redb::WriteTransaction,
    rev: u64,
    key: &str,
    pre: &Preconditions,
) -> Result<(Outcome, bool), StoreError> {
    let current = current_in(txn, key)?.ok_or_else(|| StoreError::NotFound {
        key: key.to_owned(),
    })?;
    pre.check(&current)?;
    let entry = Entry {
        kind: EventKind::Delete,
        key: key.to_owned(),
        create_revision: current.create_revision,
        prev_revision: current.mod_revision,
        value: current.value.clone(),
    };
    append(txn, rev, &entry)?;
    Ok((Outcome::Deleted(current, rev), true))
}

/// The embedded store. Cheap to clone; all clones share one database file.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore").finish_non_exhaustive()
    }
}

fn read_meta<T: ReadableTable<&'static str, u64>>(
    t: &T,
    key: &str,
    default: u64,
) -> Result<u64, StoreError> {
    Ok(t.get(key)?.map_or(default, |g| g.value()))
}

fn read_entry<T: ReadableTable<u64, &'static [u8]>>(
    log: &T,
    rev: u64,
) -> Result<Option<Entry>, StoreError> {
    log.get(rev)?.map(|g| Entry::decode(g.value())).transpose()
}

/// The live value of `key`.
fn read_latest<L, G>(latest: &L, log: &G, key: &str) -> Result<Option<KeyValue>, StoreError>
where
    L: ReadableTable<&'static str, u64>,
    G: ReadableTable<u64, &'static [u8]>,
{
    let Some(rev) = latest.get(key)?.map(|g| g.value()) else {
        return Ok(None);
    };
    let entry = read_entry(log, rev)?
        .ok_or_else(|| StoreError::Backend(format!("log entry {rev} missing")))?;
    Ok(Some(KeyValue {
        key: key.to_owned(),
        value: entry.value,
        create_revision: entry.create_revision,
        mod_revision: rev,
    }))
}

/// The value of `key` as of `revision`, from the history index.
fn read_at<H, G>(
    history: &H,
    log: &G,
    key: &str,
    revision: u64,
) -> Result<Option<KeyValue>, StoreError>
where
    H: ReadableTable<(&'static str, u64), ()>,
    G: ReadableTable<u64, &'static [u8]>,
{
    let newest = history
        .range((key, 0u64)..=(key, revision))?
        .next_back()
        .transpose()?;
    let Some((k, _)) = newest else {
        return Ok(None);
    };
    let rev = k.value().1;
    match read_entry(log, rev)? {
        Some(e) if e.kind == EventKind::Put => Ok(Some(KeyValue {
            key: key.to_owned(),
            value: e.value,
            create_revision: e.create_revision,
            mod_revision: rev,
        })),
        _ => Ok(None),
    }
}

fn check_revision(requested: u64, current: u64, compacted: u64) -> Result<(), StoreError> {
    if requested < compacted {
        return Err(StoreError::Compacted {
            requested,
            compacted,
        });
    }
    if requested > current {
        return Err(StoreError::FutureRevision { requested, current });
    }
    Ok(())
}

impl EmbeddedStore {
    /// Opens (or creates) the store file at `path`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] if the file cannot be opened or is not a store.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let db = Database::create(path)?;
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut meta = txn.open_table(META)?;
            if meta.get(REV)?.is_none() {
                meta.insert(REV, 1)?;
                meta.insert(COMPACT, 0)?;
            }
            txn.open_table(LOG)?;
            txn.open_table(LATEST)?;
            txn.open_table(HISTORY)?;
        }
        txn.commit()?;
        let db = Arc::new(db);
        let (notify, _) = tokio::sync::broadcast::channel(16);
        let (writes, queue) = std::sync::mpsc::channel::<Pending>();
        let writer = {
            let (db, notify) = (Arc::clone(&db), notify.clone());
            std::thread::Builder::new()
                .name("embedded-store-writer".to_owned())
                .spawn(move || writer_loop(&db, &notify, &queue))
                .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?
        };
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                notify,
                writes: Some(writes),
                writer: Some(writer),
            }),
        })
    }

    /// Queues a write for the writer thread and waits for its durable commit.
    async fn submit(&self, op: Op) -> Result<Outcome, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let closed = || StoreError::Backend("the store's writer has stopped".to_owned());
        self.inner
            .writes
            .as_ref()
            .ok_or_else(closed)?
            .send(Pending { op, reply })
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner)).await?
    }
}

impl Inner {
    fn revisions(&self) -> Result<(u64, u64), StoreError> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        Ok((read_meta(&meta, REV, 1)?, read_meta(&meta, COMPACT, 0)?))
    }

    fn get(&self, key: &str, revision: Option<u64>) -> Result<Option<KeyValue>, StoreError> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        let (current, compacted) = (read_meta(&meta, REV, 1)?, read_meta(&meta, COMPACT, 0)?);
        let log = txn.open_table(LOG)?;
        match revision {
            Some(r) if r != current => {
                check_revision(r, current, compacted)?;
                read_at(&txn.open_table(HISTORY)?, &log, key, r)
            }
            _ => read_latest(&txn.open_table(LATEST)?, &log, key),
        }
    }

    fn list(&self, req: &ListRequest) -> Result<ListPage, StoreError> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        let (current, compacted) = (read_meta(&meta, REV, 1)?, read_meta(&meta, COMPACT, 0)?);
        let revision = req.revision.unwrap_or(current);
        check_revision(revision, current, compacted)?;
        let start = match &req.start {
            Some(s) if s.as_str() > req.prefix.as_str() => s.clone(),
            _ => req.prefix.clone(),
        };
        let limit = req.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let log = txn.open_table(LOG)?;
        let mut items = Vec::new();
        let mut remaining = 0u64;
        if revision == current {
            let latest = txn.open_table(LATEST)?;
            for row in latest.range(start.as_str()..)? {
                let (k, _) = row?;
                let key = k.value();
                if !key.starts_with(&req.prefix) {
                    break;
                }
                if items.len() >= limit {
                    // Every key in `latest` is live: count without reading the value.
                    remaining += 1;
                } else if let Some(kv) = read_latest(&latest, &log, key)? {
                    items.push(kv);
                }
            }
        } else {
            let history = txn.open_table(HISTORY)?;
            let mut last_key: Option<String> = None;
            for row in history.range((start.as_str(), 0u64)..)? {
                let (k, _) = row?;
                let (key, _) = k.value();
                if !key.starts_with(&req.prefix) {
                    break;
                }
                if last_key.as_deref() == Some(key) {
                    continue;
                }
                last_key = Some(key.to_owned());
                if let Some(kv) = read_at(&history, &log, key, revision)? {
                    if items.len() < limit {
                        items.push(kv);
                    } else {
                        remaining += 1;
                    }
                }
            }
        }
        Ok(ListPage {
            items,
            revision,
            remaining,
        })
    }

    /// Events after `after` under `prefix`, at most [`WATCH_BATCH`] log entries scanned; returns
    /// them and the last revision scanned.
    fn read_events(&self, prefix: &str, after: u64) -> Result<(Vec<WatchEvent>, u64), StoreError> {
        let txn = self.db.begin_read()?;
        let compacted = read_meta(&txn.open_table(META)?, COMPACT, 0)?;
        if after < compacted {
            return Err(StoreError::Compacted {
                requested: after,
                compacted,
            });
        }
        let log = txn.open_table(LOG)?;
        let mut events = Vec::new();
        let mut last = after;
        for row in log.range(after + 1..)?.take(WATCH_BATCH) {
            let (k, v) = row?;
            last = k.value();
            let e = Entry::decode(v.value())?;
            if !e.key.starts_with(prefix) {
                continue;
            }
            let event = match e.kind {
                EventKind::Put => WatchEvent {
                    kind: EventKind::Put,
                    revision: last,
                    create_revision: e.create_revision,
                    prev_value: match e.prev_revision {
                        0 => None,
                        p => read_entry(&log, p)?.map(|p| p.value),
                    },
                    value: Some(e.value),
                    key: e.key,
                },
                EventKind::Delete => WatchEvent {
                    kind: EventKind::Delete,
                    revision: last,
                    create_revision: e.create_revision,
                    prev_value: Some(e.value),
                    value: None,
                    key: e.key,
                },
            };
            events.push(event);
        }
        Ok((events, last))
    }

    fn compact(&self, revision: u64) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        let (current, compacted) = {
            let meta = txn.open_table(META)?;
            (read_meta(&meta, REV, 1)?, read_meta(&meta, COMPACT, 0)?)
        };
        if revision > current {
            return Err(StoreError::FutureRevision {
                requested: revision,
                current,
            });
        }
        if revision <= compacted {
            return Ok(());
        }
        // Per key, every entry at or below `revision` except the newest, and that one too when
        // it is a delete: reads at >= `revision` and watches after it never need them.
        let mut doomed: Vec<(String, u64)> = Vec::new();
        {
            let history = txn.open_table(HISTORY)?;
            let log = txn.open_table(LOG)?;
            let mut group: Vec<(String, u64)> = Vec::new();
            let mut flush = |group: &mut Vec<(String, u64)>| -> Result<(), StoreError> {
                if let Some((key, newest)) = group.pop() {
                    doomed.append(group);
                    if read_entry(&log, newest)?.is_none_or(|e| e.kind == EventKind::Delete) {
                        doomed.push((key, newest));
                    }
                }
                Ok(())
            };
            for row in history.iter()? {
                let (k, _) = row?;
                let (key, rev) = k.value();
                if group.last().is_some_and(|(g, _)| g != key) {
                    flush(&mut group)?;
                }
                if rev <= revision {
                    group.push((key.to_owned(), rev));
                }
            }
            flush(&mut group)?;
        }
        {
            let mut history = txn.open_table(HISTORY)?;
            let mut log = txn.open_table(LOG)?;
            for (key, rev) in &doomed {
                history.remove((key.as_str(), *rev))?;
                log.remove(*rev)?;
            }
            txn.open_table(META)?.insert(COMPACT, revision)?;
        }
        txn.commit()?;
        Ok(())
    }
}

impl Storage for EmbeddedStore {
    async fn current_revision(&self) -> Result<u64, StoreError> {
        self.blocking(|i| i.revisions().map(|(rev, _)| rev)).await
    }

    async fn compacted_revision(&self) -> Result<u64, StoreError> {
        self.blocking(|i| i.revisions().map(|(_, compact)| compact))
            .await
    }

    async fn get(&self, key: &str, revision: Option<u64>) -> Result<Option<KeyValue>, StoreError> {
        let key = key.to_owned();
        self.blocking(move |i| i.get(&key, revision)).await
    }

    async fn list(&self, req: ListRequest) -> Result<ListPage, StoreError> {
        self.blocking(move |i| i.list(&req)).await
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StoreError> {
        match self.submit(Op::Create(key.to_owned(), value)).await? {
            Outcome::Written(kv) => Ok(kv),
            Outcome::Deleted(..) => Err(StoreError::Backend("unexpected outcome".to_owned())),
        }
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        preconditions: &Preconditions,
    ) -> Result<KeyValue, StoreError> {
        let op = Op::Update(key.to_owned(), value, preconditions.clone());
        match self.submit(op).await? {
            Outcome::Written(kv) => Ok(kv),
            Outcome::Deleted(..) => Err(StoreError::Backend("unexpected outcome".to_owned())),
        }
    }

    async fn delete(
        &self,
        key: &str,
        preconditions: &Preconditions,
    ) -> Result<(KeyValue, u64), StoreError> {
        match self
            .submit(Op::Delete(key.to_owned(), preconditions.clone()))
            .await?
        {
            Outcome::Deleted(kv, rev) => Ok((kv, rev)),
            Outcome::Written(_) => Err(StoreError::Backend("unexpected outcome".to_owned())),
        }
    }

    async fn watch(&self, prefix: &str, after: u64) -> Result<Watch, StoreError> {
        // Subscribe before the first read so no commit between the two is missed.
        let mut wake = self.inner.notify.subscribe();
        let (compacted, prefix) = (self.compacted_revision().await?, prefix.to_owned());
        if after < compacted {
            return Err(StoreError::Compacted {
                requested: after,
                compacted,
            });
        }
        let (tx, rx) = tokio::sync::mpsc::channel(WATCH_BUFFER);
        let store = self.clone();
        tokio::spawn(async move {
            let mut pos = after;
            loop {
                let p = prefix.clone();
                match store.blocking(move |i| i.read_events(&p, pos)).await {
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                    Ok((events, last)) => {
                        for ev in events {
                            if tx.send(Ok(ev)).await.is_err() {
                                return;
                            }
                        }
                        if last > pos {
                            pos = last;
                            continue;
                        }
                    }
                }
                tokio::select! {
                    () = tx.closed() => return,
                    r = wake.recv() => {
                        if matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                            return;
                        }
                    }
                }
            }
        });
        Ok(Watch::new(rx))
    }

    async fn compact(&self, revision: u64) -> Result<(), StoreError> {
        self.blocking(move |i| i.compact(revision)).await
    }
}

#[cfg(test)]
mod tests;
