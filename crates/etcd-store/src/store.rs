//! [`EtcdStore`]: the [`Storage`] contract on etcd v3.

use crate::config::EtcdConfig;
use crate::error::{EtcdStoreError, Failure, backend, classify, describe};
use crate::failover::{self, Applied, Gate};
use crate::keys::{self, prefix_range_end, rev_to_i64, rev_to_u64};
use apimachinery::store::{
    KeyValue, ListPage, ListRequest, Preconditions, Storage, StoreError, Watch,
};
use etcd_client::{
    Client, CompactionOptions, Compare, CompareOp, ConnectOptions, DeleteOptions, GetOptions,
    KvClient, PutOptions, Txn, TxnOp, TxnOpResponse, WatchClient, WatchOptions,
};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// The largest etcd response accepted (Go's etcd client: `math.MaxInt32`).
const MAX_RESPONSE_BYTES: usize = i32::MAX as usize;

/// A watch key no object uses: watching it from a compacted revision makes etcd answer with
/// its compacted revision, which no other API reports.
const COMPACTION_PROBE_KEY: &str = "\u{0}etcd-store/compaction-probe";

/// The [`Storage`] contract on etcd. Cheap to clone: clones share the gRPC connections (one
/// per endpoint, each reconnecting by itself when its member comes back) and one view of the
/// compacted revision.
///
/// * Keys are used as given (the registry builds them with `object_key`, so the prefix is the
///   caller's); values are the object bytes as they are (JSON), so data written by Go's
///   generic registry reads back unchanged.
/// * resourceVersion = etcd `mod_revision`; list revisions are etcd's header revision.
/// * Reads are linearizable (etcd's default): a read sees every write acknowledged before it.
/// * Create, update and delete are transactions guarded by `create_revision == 0` and
///   `mod_revision == <the revision read>`; an update or delete without a caller revision
///   retries when someone else wrote in between, one with a caller revision fails with
///   [`StoreError::RevisionConflict`].
///
/// With several endpoints, requests go to one member (the last that answered). A request that
/// cannot be sent to it (no connection) goes to the next member at once — safe even for a
/// write, etcd never saw it; after a connection breaks mid-request (the request may have been
/// applied: it fails) later requests go to the next member. Requests carry etcd's
/// require-leader flag; a member's "no leader" refusal (made before processing) is retried,
/// elsewhere, until the request timeout — so an election costs latency, not errors.
#[derive(Clone)]
pub struct EtcdStore {
    shared: Arc<Shared>,
}

/// What all clones share.
struct Shared {
    /// One connection per endpoint, in configuration order.
    members: Vec<Member>,
    /// etcd's id of each member (0: not known yet).
    ids: Vec<AtomicU64>,
    /// The member requests go to first.
    preferred: AtomicUsize,
    /// The member whose connection failed last ([`NO_MEMBER`]: none, or another member has
    /// been seen to follow a live leader since): requests to others are held until they do.
    lost: AtomicUsize,
    request_timeout: Duration,
    /// The highest compacted revision this store performed or observed.
    compacted: AtomicU64,
}

/// The connection to one etcd endpoint.
#[derive(Clone)]
pub(crate) struct Member {
    /// The endpoint as configured.
    endpoint: String,
    client: Client,
    /// KV calls, without gRPC's 4 MiB response limit (a list of many objects exceeds it;
    /// Go's client lifts it too).
    pub(crate) kv: KvClient,
    /// Watch calls, likewise.
    pub(crate) watch: WatchClient,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("members", &self.shared.members.len())
            .field("preferred", &self.shared.preferred.load(Ordering::Relaxed))
            .field("request_timeout", &self.shared.request_timeout)
            .field("compacted", &self.shared.compacted.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Pause before retrying a request a member refused for want of a leader, and between two
/// looks at a member's leader while a request is held.
const NO_LEADER_PAUSE: Duration = Duration::from_millis(50);

/// No member (of [`Shared::lost`]).
const NO_MEMBER: usize = usize::MAX;

/// How a held request ended its wait for a live leader.
enum Held {
    /// The member follows a live leader (or answered in a way the request should see).
    Ready,
    /// The deadline passed first.
    TimedOut,
    /// The member cannot be reached either (why).
    Unreachable(String),
}

/// Whether etcd refused a request because its member has no leader (with the require-leader
/// option this happens before the request is processed, so a retry cannot apply it twice).
/// Pure.
pub(crate) fn no_leader(message: &str) -> bool {
    message.contains("etcdserver: no leader")
}

/// Whether a failure is the connection's (the member is unreachable or went away) rather than
/// an answer from etcd. Pure.
pub(crate) fn connection_lost(message: &str) -> bool {
    not_sent(message)
        || [
            "transport error",
            "connection closed",
            "broken pipe",
            "ConnectionReset",
        ]
        .iter()
        .any(|m| message.contains(m))
}

/// Whether a failed request never reached etcd (no connection could be made), so sending it
/// to another member cannot apply it twice. Pure.
pub(crate) fn not_sent(message: &str) -> bool {
    ["tcp connect error", "ConnectError", "Connection refused"]
        .iter()
        .any(|m| message.contains(m))
}

/// A connection failure's message, with what probably caused it when the configuration
/// suggests it. Pure.
fn with_hint(cfg: &EtcdConfig, message: String) -> String {
    let https = cfg.endpoints.iter().any(|e| e.starts_with("https://"));
    let hint = match &cfg.tls {
        Some(tls) if tls.cert_file.is_none() && !message.contains("certificate") => {
            " (no client certificate was offered: an etcd started with --client-cert-auth \
             closes such connections; set the client certificate and key)"
        }
        // A TLS server drops a plain-text client in several ways (reset, broken pipe, closed).
        None if !https
            && ["broken pipe", "ConnectionReset", "connection closed"]
                .iter()
                .any(|m| message.contains(m)) =>
        {
            " (is etcd serving TLS? use an https:// endpoint and the TLS files)"
        }
        _ => "",
    };
    format!("{message}{hint}")
}

/// The etcd client options for `cfg`.
fn connect_options(cfg: &EtcdConfig) -> Result<ConnectOptions, EtcdStoreError> {
    let mut opts = ConnectOptions::new()
        .with_connect_timeout(cfg.dial_timeout)
        // HTTP/2 pings on open streams find a dead connection (a partitioned etcd) for the
        // watches; etcd's default minimum ping interval is 5 s.
        .with_keep_alive(Duration::from_secs(15), Duration::from_secs(10))
        // A member without a leader refuses requests at once ("no leader") instead of
        // dropping the proposal and timing out; refused requests are retried (below).
        .with_require_leader(true);
    if let Some(tls) = &cfg.tls {
        let read = |p: &std::path::Path| {
            std::fs::read(p)
                .map_err(|e| EtcdStoreError::Config(format!("cannot read {}: {e}", p.display())))
        };
        let mut options = etcd_client::TlsOptions::new();
        match &tls.ca_file {
            Some(ca) => {
                options = options.ca_certificate(etcd_client::Certificate::from_pem(read(ca)?));
            }
            None => options = options.with_enabled_roots(),
        }
        match (&tls.cert_file, &tls.key_file) {
            (Some(cert), Some(key)) => {
                options =
                    options.identity(etcd_client::Identity::from_pem(read(cert)?, read(key)?));
            }
            (None, None) => {}
            _ => {
                return Err(EtcdStoreError::Config(
                    "a client certificate needs both cert_file and key_file".to_owned(),
                ));
            }
        }
        opts = opts.with_tls(options);
    }
    Ok(opts)
}

impl EtcdStore {
    /// Connects to etcd and checks it answers (one linearizable read within
    /// `cfg.dial_timeout`), so a wrong address or a refused TLS handshake fails here with a
    /// clear message rather than on the first request.
    ///
    /// # Errors
    /// [`EtcdStoreError::Config`] for an unusable configuration, [`EtcdStoreError::Unreachable`]
    /// when etcd does not answer.
    pub async fn connect(cfg: EtcdConfig) -> Result<Self, EtcdStoreError> {
        if cfg.endpoints.is_empty() {
            return Err(EtcdStoreError::Config("no etcd endpoints".to_owned()));
        }
        let endpoints = cfg.endpoints.join(",");
        let unreachable = |message: String| EtcdStoreError::Unreachable {
            endpoints: endpoints.clone(),
            message,
        };
        let opts = connect_options(&cfg)?;
        let mut members = Vec::with_capacity(cfg.endpoints.len());
        for endpoint in &cfg.endpoints {
            // Lazy: no connection is made until the first request.
            let client = tokio::time::timeout(
                cfg.dial_timeout,
                Client::connect([endpoint.as_str()], Some(opts.clone())),
            )
            .await
            .map_err(|_| unreachable(format!("no connection within {:?}", cfg.dial_timeout)))?
            .map_err(|e| unreachable(describe(&e)))?;
            members.push(Member {
                endpoint: endpoint.clone(),
                kv: client
                    .kv_client()
                    .max_decoding_message_size(MAX_RESPONSE_BYTES),
                watch: client
                    .watch_client()
                    .max_decoding_message_size(MAX_RESPONSE_BYTES),
                client,
            });
        }
        let store = Self {
            shared: Arc::new(Shared {
                ids: members.iter().map(|_| AtomicU64::new(0)).collect(),
                members,
                preferred: AtomicUsize::new(0),
                lost: AtomicUsize::new(NO_MEMBER),
                request_timeout: cfg.request_timeout,
                compacted: AtomicU64::new(0),
            }),
        };
        let first = store.timed("status", cfg.dial_timeout, |m| {
            let mut c = m.kv.clone();
            async move {
                c.get(
                    COMPACTION_PROBE_KEY,
                    Some(GetOptions::new().with_count_only()),
                )
                .await
            }
        });
        if let Err(f) = first.await {
            let message = match f.failure {
                Failure::Backend(m) | Failure::Unavailable(m) => m,
                other => format!("{other:?}"),
            };
            return Err(unreachable(with_hint(&cfg, message)));
        }
        if store.shared.members.len() > 1 {
            store
                .learn_member_ids(cfg.dial_timeout.min(Duration::from_secs(2)))
                .await;
        }
        Ok(store)
    }

    /// The etcd client of the member requests currently go to (for tests and tools that
    /// write raw keys).
    pub fn client(&self) -> &Client {
        let i = self.shared.preferred.load(Ordering::Relaxed) % self.shared.members.len();
        &self.shared.members[i].client
    }

    /// The per-request deadline.
    pub(crate) fn request_timeout(&self) -> Duration {
        self.shared.request_timeout
    }

    /// Runs `call` against the preferred member within `timeout`, moving on to the next
    /// members while no connection can be made to one; the member that answers becomes the
    /// preferred one. After a member's connection failed, a request is held (unsent) until the
    /// member it goes to follows a live leader (see [`crate::failover`]). Errors become
    /// [`Failure`]s; failures of reachability are [`Failure::Unavailable`].
    pub(crate) async fn timed<T, F, Fut>(
        &self,
        what: &'static str,
        timeout: Duration,
        call: F,
    ) -> Result<T, StoreFailure>
    where
        F: Fn(&Member) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let members = &self.shared.members;
        let first = self.shared.preferred.load(Ordering::Relaxed) % members.len();
        let deadline = tokio::time::Instant::now() + timeout;
        let unavailable = |why: String, applied| StoreFailure {
            failure: Failure::Unavailable(failover::unavailable(what, &why, applied)),
        };
        let mut attempt = 0;
        loop {
            let i = (first + attempt) % members.len();
            if let Some(lost) = self.lost_member().filter(|lost| *lost != i) {
                match self.await_live_leader(i, lost, deadline).await {
                    Held::Ready => {}
                    Held::TimedOut => {
                        return Err(unavailable(
                            format!("no live etcd leader within {timeout:?}"),
                            Applied::No,
                        ));
                    }
                    Held::Unreachable(why) => {
                        self.avoid(i);
                        if attempt + 1 < members.len() {
                            attempt += 1;
                            continue;
                        }
                        return Err(unavailable(why, Applied::No));
                    }
                }
            }
            match tokio::time::timeout_at(deadline, call(&members[i])).await {
                Err(_) => {
                    self.avoid(i);
                    return Err(unavailable(
                        format!("no answer from {} within {timeout:?}", members[i].endpoint),
                        Applied::Maybe,
                    ));
                }
                Ok(Ok(v)) => {
                    if i != first {
                        self.shared.preferred.store(i, Ordering::Relaxed);
                    }
                    self.found(i);
                    return Ok(v);
                }
                Ok(Err(e)) => {
                    let failure = match classify(&e) {
                        Failure::Backend(_) => Failure::Backend(backend(what, &e)),
                        other => other,
                    };
                    let Failure::Backend(message) = &failure else {
                        return Err(StoreFailure { failure });
                    };
                    if no_leader(message) {
                        // Refused before it was processed: try again (elsewhere) while the
                        // members elect a leader.
                        if tokio::time::Instant::now() + NO_LEADER_PAUSE < deadline {
                            self.avoid(i);
                            tokio::time::sleep(NO_LEADER_PAUSE).await;
                            attempt += 1;
                            continue;
                        }
                        return Err(unavailable(
                            format!("no etcd leader within {timeout:?}"),
                            Applied::No,
                        ));
                    }
                    if connection_lost(message) {
                        // Later requests go elsewhere, after that member follows a live leader;
                        // this one is retried only if unsent.
                        self.avoid(i);
                        self.lose(i);
                        let detail = describe(&e);
                        if not_sent(message) {
                            if attempt + 1 < members.len() {
                                attempt += 1;
                                continue;
                            }
                            return Err(unavailable(
                                format!("no etcd member reachable ({detail})"),
                                Applied::No,
                            ));
                        }
                        return Err(unavailable(
                            format!(
                                "the connection to {} broke while the request was under way ({detail})",
                                members[i].endpoint
                            ),
                            Applied::Maybe,
                        ));
                    }
                    return Err(StoreFailure { failure });
                }
            }
        }
    }

    /// The member whose connection failed last, while no other member has been seen to follow
    /// a live leader since.
    fn lost_member(&self) -> Option<usize> {
        let lost = self.shared.lost.load(Ordering::Relaxed);
        (lost != NO_MEMBER).then_some(lost)
    }

    /// Records that member `i`'s connection failed.
    fn lose(&self, i: usize) {
        if self.shared.members.len() > 1 {
            self.shared.lost.store(i, Ordering::Relaxed);
        }
    }

    /// Records that member `i` answered: if it was the lost one, it is back.
    fn found(&self, i: usize) {
        let _ =
            self.shared
                .lost
                .compare_exchange(i, NO_MEMBER, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Holds a request for member `i` until `i` follows a leader other than the lost member
    /// `lost` (asking `i`'s status every [`NO_LEADER_PAUSE`]), or `deadline`.
    async fn await_live_leader(
        &self,
        i: usize,
        lost: usize,
        deadline: tokio::time::Instant,
    ) -> Held {
        let member = &self.shared.members[i];
        loop {
            let mut maintenance = member.client.maintenance_client();
            let status = match tokio::time::timeout_at(deadline, maintenance.status()).await {
                Err(_) => return Held::TimedOut,
                Ok(Err(e)) => {
                    let message = describe(&e);
                    if connection_lost(&message) {
                        self.lose(i);
                        return Held::Unreachable(format!("{}: {message}", member.endpoint));
                    }
                    if !no_leader(&message) {
                        // Not a question of leadership: let the request itself find out.
                        return Held::Ready;
                    }
                    // The member has no leader (the require-leader refusal): keep holding.
                    if tokio::time::Instant::now() + NO_LEADER_PAUSE >= deadline {
                        return Held::TimedOut;
                    }
                    tokio::time::sleep(NO_LEADER_PAUSE).await;
                    continue;
                }
                Ok(Ok(status)) => status,
            };
            if let Some(h) = status.header() {
                self.shared.ids[i].store(h.member_id(), Ordering::Relaxed);
            }
            let lost_id = self.member_id(lost, i).await;
            match failover::gate(status.leader(), lost_id) {
                Gate::Send => {
                    // Someone follows a live leader: stop holding requests.
                    let _ = self.shared.lost.compare_exchange(
                        lost,
                        NO_MEMBER,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                    return Held::Ready;
                }
                Gate::Wait => {
                    if tokio::time::Instant::now() + NO_LEADER_PAUSE >= deadline {
                        return Held::TimedOut;
                    }
                    tokio::time::sleep(NO_LEADER_PAUSE).await;
                }
            }
        }
    }

    /// etcd's id of member `m`: learned when the store connected, or from the member list as
    /// member `via` sees it (by `m`'s endpoint among the client URLs).
    async fn member_id(&self, m: usize, via: usize) -> Option<u64> {
        let known = self.shared.ids[m].load(Ordering::Relaxed);
        if known != 0 {
            return Some(known);
        }
        let mut cluster = self.shared.members[via].client.cluster_client();
        let list = tokio::time::timeout(NO_LEADER_PAUSE * 10, cluster.member_list())
            .await
            .ok()?
            .ok()?;
        let id = failover::member_with_endpoint(
            list.members().iter().map(|x| (x.id(), x.client_urls())),
            &self.shared.members[m].endpoint,
        )?;
        self.shared.ids[m].store(id, Ordering::Relaxed);
        Some(id)
    }

    /// Learns each member's etcd id from its status (members that do not answer within
    /// `timeout` are looked up in the member list when needed).
    async fn learn_member_ids(&self, timeout: Duration) {
        let asks = self.shared.members.iter().enumerate().map(|(i, m)| {
            let mut maintenance = m.client.maintenance_client();
            async move {
                if let Ok(Ok(status)) = tokio::time::timeout(timeout, maintenance.status()).await
                    && let Some(h) = status.header()
                {
                    self.shared.ids[i].store(h.member_id(), Ordering::Relaxed);
                }
            }
        });
        futures::future::join_all(asks).await;
    }

    /// Moves requests off member `i` (if they still go there) to the next one.
    fn avoid(&self, i: usize) {
        let n = self.shared.members.len();
        if n > 1 {
            let _ = self.shared.preferred.compare_exchange(
                i,
                (i + 1) % n,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// A KV request with the configured timeout (see [`Self::timed`]); `call` gets a KV
    /// client and may run more than once (on different members, only when unsent).
    pub(crate) async fn call<T, F, Fut>(
        &self,
        what: &'static str,
        call: F,
    ) -> Result<T, StoreFailure>
    where
        F: Fn(KvClient) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        self.timed(what, self.shared.request_timeout, |m| call(m.kv.clone()))
            .await
    }

    /// Turns a failed read at `requested` into the contract's error, asking etcd for the
    /// numbers its errors lack (the compacted or current revision).
    async fn revision_error(&self, failure: StoreFailure, requested: u64) -> StoreError {
        match failure.failure {
            Failure::Compacted => StoreError::Compacted {
                requested,
                compacted: self.learn_compacted(requested).await,
            },
            Failure::FutureRevision => match self.current_revision().await {
                Ok(current) => StoreError::FutureRevision { requested, current },
                Err(e) => e,
            },
            Failure::Backend(msg) => StoreError::Backend(msg),
            Failure::Unavailable(msg) => StoreError::Unavailable(msg),
        }
    }

    /// Records that etcd is compacted at least to `revision`.
    pub(crate) fn observe_compacted(&self, revision: u64) {
        self.shared.compacted.fetch_max(revision, Ordering::Relaxed);
    }

    /// The compacted revision, given that `requested` is known to be compacted: etcd reports
    /// it only to a watch started below it, so this opens one on a key nobody uses and reads
    /// the cancellation (etcd sends it within its 100 ms watcher sync). Falls back to
    /// `requested + 1`, the least it can be.
    async fn learn_compacted(&self, requested: u64) -> u64 {
        let floor = requested.saturating_add(1);
        if requested == 0 {
            // A watch from revision 0 means "from now": no probe possible.
            self.observe_compacted(floor);
            return self.shared.compacted.load(Ordering::Relaxed);
        }
        let opts = WatchOptions::new().with_start_revision(rev_to_i64(requested));
        let timeout = self.request_timeout().min(Duration::from_secs(5));
        let probe = self.timed("watch", timeout, |m| {
            let (mut watch_client, opts) = (m.watch.clone(), opts.clone());
            async move {
                let mut stream = watch_client.watch(COMPACTION_PROBE_KEY, Some(opts)).await?;
                while let Some(resp) = stream.message().await? {
                    if resp.compact_revision() > 0 {
                        return Ok(Some(rev_to_u64(resp.compact_revision())));
                    }
                    if resp.canceled() {
                        return Ok(None);
                    }
                }
                Ok(None)
            }
        });
        let learned = probe.await.ok().flatten().unwrap_or(floor).max(floor);
        self.observe_compacted(learned);
        self.shared.compacted.load(Ordering::Relaxed)
    }

    /// The value of `compact_rev_key`, the revision the last compaction by any kube-apiserver-
    /// style compactor sharing this etcd (see [`crate::compactor`]) was made at.
    async fn shared_compact_rev(&self) -> Result<u64, StoreError> {
        let resp = self
            .call("get", |mut c| async move {
                c.get(crate::compactor::COMPACT_REV_KEY, None).await
            })
            .await
            .map_err(StoreFailure::into_backend)?;
        Ok(resp
            .kvs()
            .first()
            .and_then(|kv| std::str::from_utf8(kv.value()).ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0))
    }

    /// Reads `key` at the latest revision (linearizable).
    async fn read_current(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let k = key.to_owned();
        let resp = self
            .call("get", |mut c| {
                let k = k.clone();
                async move { c.get(k, None).await }
            })
            .await
            .map_err(StoreFailure::into_backend)?;
        resp.kvs().first().map(keys::key_value).transpose()
    }

    /// A guarded write: `op` runs if `key` is still at revision `expected`. Returns the
    /// write's revision, or on a lost race what the key holds now.
    async fn cas(&self, key: &str, expected: u64, op: TxnOp) -> Result<CasOutcome, StoreError> {
        let txn = Txn::new()
            .when([Compare::mod_revision(
                key,
                CompareOp::Equal,
                rev_to_i64(expected),
            )])
            .and_then([op])
            .or_else([TxnOp::get(key, None)]);
        let resp = self
            .call("txn", |mut c| {
                let txn = txn.clone();
                async move { c.txn(txn).await }
            })
            .await
            .map_err(StoreFailure::into_backend)?;
        if resp.succeeded() {
            let revision = resp.header().map(|h| rev_to_u64(h.revision())).unwrap_or(0);
            let prev = resp.op_responses().into_iter().find_map(|r| match r {
                TxnOpResponse::Delete(mut d) => d.take_prev_kvs().into_iter().next(),
                _ => None,
            });
            let prev = prev.as_ref().map(keys::key_value).transpose()?;
            return Ok(CasOutcome::Written { revision, prev });
        }
        let now = resp.op_responses().into_iter().find_map(|r| match r {
            TxnOpResponse::Get(g) => g.kvs().first().cloned(),
            _ => None,
        });
        Ok(CasOutcome::Lost(
            now.as_ref().map(keys::key_value).transpose()?,
        ))
    }

    /// An update guarded only by a revision, in one round trip (the registry's
    /// `guaranteed_update` has just read the object): `Txn(mod_revision == expected →
    /// Txn(value == new → Get, else Put(prev_kv)), else Get)`. The inner transaction keeps the
    /// contract's "identical bytes write nothing".
    async fn update_at(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: u64,
    ) -> Result<KeyValue, StoreError> {
        let inner = Txn::new()
            .when([Compare::value(key, CompareOp::Equal, value.clone())])
            .and_then([TxnOp::get(key, None)])
            .or_else([TxnOp::put(
                key,
                value.clone(),
                Some(PutOptions::new().with_prev_key()),
            )]);
        let txn = Txn::new()
            .when([Compare::mod_revision(
                key,
                CompareOp::Equal,
                rev_to_i64(expected),
            )])
            .and_then([TxnOp::txn(inner)])
            .or_else([TxnOp::get(key, None)]);
        let resp = self
            .call("txn", |mut c| {
                let txn = txn.clone();
                async move { c.txn(txn).await }
            })
            .await
            .map_err(StoreFailure::into_backend)?;
        let first = resp.op_responses().into_iter().next();
        let unexpected = || StoreError::Backend("etcd txn: unexpected response".to_owned());
        if !resp.succeeded() {
            let now = match first {
                Some(TxnOpResponse::Get(g)) => g.kvs().first().map(keys::key_value).transpose()?,
                _ => return Err(unexpected()),
            };
            return Err(match now {
                None => StoreError::NotFound {
                    key: key.to_owned(),
                },
                Some(now) => StoreError::RevisionConflict {
                    key: key.to_owned(),
                    expected,
                    actual: now.mod_revision,
                },
            });
        }
        let Some(TxnOpResponse::Txn(inner)) = first else {
            return Err(unexpected());
        };
        match inner.op_responses().into_iter().next() {
            // Identical bytes: the current object, unchanged.
            Some(TxnOpResponse::Get(g)) => g
                .kvs()
                .first()
                .map(keys::key_value)
                .transpose()?
                .ok_or_else(unexpected),
            Some(TxnOpResponse::Put(mut p)) => {
                let prev = p.take_prev_key().ok_or_else(unexpected)?;
                let revision = resp.header().map_or(0, |h| rev_to_u64(h.revision()));
                Ok(KeyValue {
                    key: key.to_owned(),
                    value,
                    create_revision: rev_to_u64(prev.create_revision()),
                    mod_revision: revision,
                })
            }
            _ => Err(unexpected()),
        }
    }

    /// The conflict (or absence) a lost compare-and-swap means, or `None` to retry: a caller
    /// that gave no revision gets its write applied to whatever is current.
    fn lost_race(
        key: &str,
        preconditions: &Preconditions,
        now: Option<&KeyValue>,
    ) -> Option<StoreError> {
        match (now, preconditions.mod_revision) {
            (None, _) => Some(StoreError::NotFound {
                key: key.to_owned(),
            }),
            (Some(now), Some(expected)) => Some(StoreError::RevisionConflict {
                key: key.to_owned(),
                expected,
                actual: now.mod_revision,
            }),
            (Some(_), None) => None,
        }
    }
}

/// What a guarded write did.
enum CasOutcome {
    /// Applied at `revision`; `prev` is the deleted object for a delete.
    Written {
        revision: u64,
        prev: Option<KeyValue>,
    },
    /// Someone wrote first; the key now holds this (or is gone).
    Lost(Option<KeyValue>),
}

/// A classified etcd failure, before the revision numbers are filled in.
#[derive(Debug)]
pub(crate) struct StoreFailure {
    failure: Failure,
}

impl StoreFailure {
    /// For requests that carry no revision: every failure is the backend's.
    pub(crate) fn into_backend(self) -> StoreError {
        match self.failure {
            Failure::Backend(msg) => StoreError::Backend(msg),
            Failure::Unavailable(msg) => StoreError::Unavailable(msg),
            Failure::Compacted => StoreError::Backend("etcd: unexpected compaction error".into()),
            Failure::FutureRevision => {
                StoreError::Backend("etcd: unexpected future revision error".into())
            }
        }
    }
}

impl Storage for EtcdStore {
    async fn current_revision(&self) -> Result<u64, StoreError> {
        let resp = self
            .call("get", |mut c| async move {
                c.get(
                    COMPACTION_PROBE_KEY,
                    Some(GetOptions::new().with_count_only()),
                )
                .await
            })
            .await
            .map_err(StoreFailure::into_backend)?;
        resp.header()
            .map(|h| rev_to_u64(h.revision()))
            .ok_or_else(|| StoreError::Backend("etcd response without a header".to_owned()))
    }

    /// The highest of: compactions this store made, compactions it learned of from etcd's
    /// errors and watch cancellations, and `compact_rev_key` (what kube-apiserver-style
    /// compactors sharing this etcd last compacted to). etcd has no API for its compacted
    /// revision; a compaction by someone else that none of these saw (e.g. `etcdctl compact`)
    /// is learned when a read or watch first runs into it.
    async fn compacted_revision(&self) -> Result<u64, StoreError> {
        let shared = self.shared_compact_rev().await?;
        self.observe_compacted(shared);
        Ok(self.shared.compacted.load(Ordering::Relaxed))
    }

    async fn get(&self, key: &str, revision: Option<u64>) -> Result<Option<KeyValue>, StoreError> {
        let Some(rev) = revision.filter(|r| *r > 0) else {
            return self.read_current(key).await;
        };
        let k = key.to_owned();
        let opts = GetOptions::new().with_revision(rev_to_i64(rev));
        match self
            .call("get", |mut c| {
                let (k, opts) = (k.clone(), opts.clone());
                async move { c.get(k, Some(opts)).await }
            })
            .await
        {
            Ok(resp) => resp.kvs().first().map(keys::key_value).transpose(),
            Err(f) => Err(self.revision_error(f, rev).await),
        }
    }

    async fn list(&self, req: ListRequest) -> Result<ListPage, StoreError> {
        let start = match &req.start {
            Some(s) if s.as_str() > req.prefix.as_str() => s.clone(),
            _ => req.prefix.clone(),
        };
        let mut opts = GetOptions::new().with_range(prefix_range_end(req.prefix.as_bytes()));
        if let Some(limit) = req.limit.filter(|l| *l > 0) {
            opts = opts.with_limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        if let Some(rev) = req.revision.filter(|r| *r > 0) {
            opts = opts.with_revision(rev_to_i64(rev));
        }
        let resp = match self
            .call("list", |mut c| {
                let (start, opts) = (start.clone(), opts.clone());
                async move { c.get(start, Some(opts)).await }
            })
            .await
        {
            Ok(resp) => resp,
            Err(f) => return Err(self.revision_error(f, req.revision.unwrap_or(0)).await),
        };
        let items = resp
            .kvs()
            .iter()
            .map(keys::key_value)
            .collect::<Result<Vec<_>, _>>()?;
        let header_rev = resp.header().map(|h| rev_to_u64(h.revision())).unwrap_or(0);
        Ok(ListPage {
            revision: req.revision.filter(|r| *r > 0).unwrap_or(header_rev),
            remaining: keys::remaining(resp.count(), items.len()),
            items,
        })
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StoreError> {
        let txn = Txn::new()
            .when([Compare::create_revision(key, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, value.clone(), None)]);
        let resp = self
            .call("txn", |mut c| {
                let txn = txn.clone();
                async move { c.txn(txn).await }
            })
            .await
            .map_err(StoreFailure::into_backend)?;
        if !resp.succeeded() {
            return Err(StoreError::AlreadyExists {
                key: key.to_owned(),
            });
        }
        let revision = resp.header().map(|h| rev_to_u64(h.revision())).unwrap_or(0);
        Ok(KeyValue {
            key: key.to_owned(),
            value,
            create_revision: revision,
            mod_revision: revision,
        })
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        preconditions: &Preconditions,
    ) -> Result<KeyValue, StoreError> {
        if let (Some(expected), None) = (preconditions.mod_revision, &preconditions.uid) {
            return self.update_at(key, value, expected).await;
        }
        loop {
            let current = self
                .read_current(key)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    key: key.to_owned(),
                })?;
            preconditions.check(&current)?;
            if current.value == value {
                return Ok(current);
            }
            let op = TxnOp::put(key, value.clone(), None);
            match self.cas(key, current.mod_revision, op).await? {
                CasOutcome::Written { revision, .. } => {
                    return Ok(KeyValue {
                        key: key.to_owned(),
                        value,
                        create_revision: current.create_revision,
                        mod_revision: revision,
                    });
                }
                CasOutcome::Lost(now) => {
                    if let Some(e) = Self::lost_race(key, preconditions, now.as_ref()) {
                        return Err(e);
                    }
                }
            }
        }
    }

    async fn delete(
        &self,
        key: &str,
        preconditions: &Preconditions,
    ) -> Result<(KeyValue, u64), StoreError> {
        if let (Some(expected), None) = (preconditions.mod_revision, &preconditions.uid) {
            // Only a revision to check: one transaction, no read first.
            let op = TxnOp::delete(key, Some(DeleteOptions::new().with_prev_key()));
            return match self.cas(key, expected, op).await? {
                CasOutcome::Written {
                    revision,
                    prev: Some(prev),
                } => Ok((prev, revision)),
                CasOutcome::Written { prev: None, .. } => Err(StoreError::Backend(
                    "etcd delete returned no previous value".to_owned(),
                )),
                CasOutcome::Lost(now) => Err(Self::lost_race(key, preconditions, now.as_ref())
                    .unwrap_or_else(|| StoreError::NotFound {
                        key: key.to_owned(),
                    })),
            };
        }
        loop {
            let current = self
                .read_current(key)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    key: key.to_owned(),
                })?;
            preconditions.check(&current)?;
            let op = TxnOp::delete(key, Some(DeleteOptions::new().with_prev_key()));
            match self.cas(key, current.mod_revision, op).await? {
                CasOutcome::Written { revision, prev } => {
                    return Ok((prev.unwrap_or(current), revision));
                }
                CasOutcome::Lost(now) => {
                    if let Some(e) = Self::lost_race(key, preconditions, now.as_ref()) {
                        return Err(e);
                    }
                }
            }
        }
    }

    async fn watch(&self, prefix: &str, after: u64) -> Result<Watch, StoreError> {
        let compacted = self.shared.compacted.load(Ordering::Relaxed);
        if after < compacted {
            return Err(StoreError::Compacted {
                requested: after,
                compacted,
            });
        }
        crate::watch::start(self.clone(), prefix.to_owned(), after).await
    }

    async fn compact(&self, revision: u64) -> Result<(), StoreError> {
        if revision <= self.shared.compacted.load(Ordering::Relaxed) {
            return Ok(());
        }
        let rev = rev_to_i64(revision);
        let result = self
            .call("compact", |mut c| async move {
                c.compact(rev, Some(CompactionOptions::new().with_physical()))
                    .await
            })
            .await;
        match result {
            Ok(_) => {
                self.observe_compacted(revision);
                Ok(())
            }
            // Already compacted at or past `revision` (by us or someone else): nothing to do.
            Err(StoreFailure {
                failure: Failure::Compacted,
            }) => {
                self.learn_compacted(revision.saturating_sub(1)).await;
                Ok(())
            }
            Err(f) => Err(self.revision_error(f, revision).await),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EtcdTls;

    #[test]
    fn only_connection_failures_count_as_unsent() {
        let cases = [
            (
                "etcd txn: grpc request error: code: 'The service is currently unavailable', \
                 message: \"tcp connect error\", source: tonic::transport::Error(Transport, \
                 ConnectError(ConnectError(\"tcp connect error\", 127.0.0.1:1, Os { code: 111, \
                 kind: ConnectionRefused, message: \"Connection refused\" })))",
                true,
            ),
            // Reset or closed mid-request: etcd may have applied it.
            (
                "etcd txn: grpc request error: code: 'Unknown error', message: \"transport error\", \
                 source: tonic::transport::Error(Transport, hyper::Error(Io, Kind(ConnectionReset)))",
                false,
            ),
            ("etcd txn: no answer within 5s", false),
            ("etcdserver: no leader", false),
        ];
        for (message, want) in cases {
            assert_eq!(not_sent(message), want, "{message}");
        }
        assert!(connection_lost(
            "hyper::Error(Canceled, \"connection closed\")"
        ));
        assert!(connection_lost("hyper::Error(Io, Kind(ConnectionReset))"));
        assert!(!connection_lost(
            "etcdserver: mvcc: required revision has been compacted"
        ));
        assert!(no_leader(
            "etcd txn: grpc request error: code: 'The service is currently unavailable', \
             message: \"etcdserver: no leader\""
        ));
        assert!(!no_leader("etcdserver: leader changed"));
    }

    #[test]
    fn connection_failures_name_the_likely_cause() {
        let plain = EtcdConfig::new(["http://127.0.0.1:2379"]);
        let no_cert = EtcdConfig::new(["https://127.0.0.1:2379"]).with_tls(EtcdTls {
            ca_file: Some("ca.crt".into()),
            cert_file: None,
            key_file: None,
        });
        let with_cert = EtcdConfig::new(["https://127.0.0.1:2379"]).with_tls(EtcdTls {
            ca_file: Some("ca.crt".into()),
            cert_file: Some("c.crt".into()),
            key_file: Some("c.key".into()),
        });
        let cases = [
            (
                &no_cert,
                "connection closed",
                "no client certificate was offered",
            ),
            (
                &plain,
                "stream closed because of a broken pipe",
                "is etcd serving TLS?",
            ),
            (&with_cert, "invalid peer certificate: UnknownIssuer", ""),
            (&plain, "Connection refused", ""),
        ];
        for (cfg, message, hint) in cases {
            let got = with_hint(cfg, message.to_owned());
            assert!(got.starts_with(message), "{got}");
            if hint.is_empty() {
                assert_eq!(got, message);
            } else {
                assert!(got.contains(hint), "{got}");
            }
        }
    }
}
