//! Elasticsearch and OpenSearch in end-to-end tests: the database's own REST API from the host
//! (the pod network and the ClusterIPs are reachable from it) through `curl` — health, shard
//! copies, allocation and voting exclusions, the cluster manager, documents — and two
//! background clients: a [`ContinuousIndexer`] that indexes documents one by one and records
//! every acknowledged id (read back with [`verify_acked`]), and a [`ManagerWatch`] that asks
//! for the cluster manager every so often and records every failed answer.
//!
//! Every function takes the node's (or Service's) address, `host`, and talks HTTP to
//! `<host>:9200`. Errors are strings saying what was asked and what came back, for tests'
//! failure messages.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::ops::Range;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The HTTP port of every node (and of the client Service).
pub const HTTP_PORT: u16 = 9200;

/// The longest one request may take unless said otherwise.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------------------------------------
// Requests

/// `curl` against `http://<host>:9200<path>` with an optional JSON (or NDJSON, for `_bulk`)
/// body; the parsed reply, or an error with what curl or the node said (a reply with an
/// `error` is an error).
pub fn rest(method: &str, host: &str, path: &str, body: Option<&str>) -> Result<Value, String> {
    rest_within(method, host, path, body, REQUEST_TIMEOUT)
}

/// [`rest`] with a bound on the whole request.
pub fn rest_within(
    method: &str,
    host: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Result<Value, String> {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "--max-time",
        &format!("{:.1}", timeout.as_secs_f64()),
        "-X",
        method,
    ])
    .arg(format!("http://{host}:{HTTP_PORT}{path}"))
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if body.is_some() {
        let kind = if path.contains("_bulk") {
            "application/x-ndjson"
        } else {
            "application/json"
        };
        cmd.args([
            "-H",
            &format!("Content-Type: {kind}"),
            "--data-binary",
            "@-",
        ]);
    }
    let mut child = cmd.spawn().map_err(|e| format!("run curl: {e}"))?;
    {
        let mut stdin = child.stdin.take().ok_or("curl has no stdin")?;
        if let Some(body) = body {
            stdin
                .write_all(body.as_bytes())
                .map_err(|e| format!("write the request body: {e}"))?;
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("wait for curl: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "{method} {host}{path}: curl: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let v: Value =
        serde_json::from_str(&text).map_err(|e| format!("{method} {host}{path}: {e}: {text}"))?;
    if v.get("error").is_some_and(|e| !e.is_null()) {
        return Err(format!("{method} {host}{path}: {v}"));
    }
    Ok(v)
}

/// [`rest`] that must succeed; panics with the error.
pub fn rest_ok(method: &str, host: &str, path: &str, body: Option<&str>) -> Value {
    rest(method, host, path, body).unwrap_or_else(|e| panic!("{e}"))
}

// ------------------------------------------------------------------------------------------------
// The cluster

/// `_cluster/health`.
pub fn health(host: &str) -> Result<Value, String> {
    rest("GET", host, "/_cluster/health", None)
}

/// `_cluster/health` when the cluster is green with `nodes` nodes and nothing relocating or
/// initialising; otherwise an error showing it.
pub fn green(host: &str, nodes: u64) -> Result<Value, String> {
    let h = health(host)?;
    (h["status"] == "green"
        && h["number_of_nodes"] == nodes
        && h["relocating_shards"] == 0
        && h["initializing_shards"] == 0)
        .then(|| h.clone())
        .ok_or_else(|| h.to_string())
}

/// The names of the nodes in the cluster (`_cat/nodes`), sorted.
pub fn node_names(host: &str) -> Result<BTreeSet<String>, String> {
    let v = rest("GET", host, "/_cat/nodes?format=json&h=name", None)?;
    Ok(v.as_array()
        .ok_or_else(|| format!("not a list: {v}"))?
        .iter()
        .filter_map(|n| n["name"].as_str().map(str::to_owned))
        .collect())
}

/// The role name a flavour reports for master-eligible nodes: `cluster_manager` on
/// OpenSearch, `master` on Elasticsearch.
pub fn master_role(flavor: &str) -> &'static str {
    if flavor == "opensearch" {
        "cluster_manager"
    } else {
        "master"
    }
}

/// The elected cluster manager's (master's) node name, as `_cat/cluster_manager` (OpenSearch)
/// or `_cat/master` (Elasticsearch) reports it; an error when there is none.
pub fn cluster_manager(host: &str, flavor: &str) -> Result<String, String> {
    cluster_manager_within(host, flavor, REQUEST_TIMEOUT)
}

fn cluster_manager_within(host: &str, flavor: &str, timeout: Duration) -> Result<String, String> {
    let path = if flavor == "opensearch" {
        "/_cat/cluster_manager?format=json"
    } else {
        "/_cat/master?format=json"
    };
    let v = rest_within("GET", host, path, None, timeout)?;
    v[0]["node"]
        .as_str()
        .filter(|s| !s.is_empty() && *s != "-")
        .map(str::to_owned)
        .ok_or_else(|| format!("no cluster manager: {v}"))
}

/// Sets (or, with `null`, clears) a persistent cluster setting.
pub fn set_persistent_setting(host: &str, key: &str, value: Value) -> Result<Value, String> {
    rest(
        "PUT",
        host,
        "/_cluster/settings",
        Some(&json!({"persistent": {key: value}}).to_string()),
    )
}

// ------------------------------------------------------------------------------------------------
// Shards and exclusions

/// One shard copy as `_cat/shards` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardCopy {
    /// The index.
    pub index: String,
    /// The shard number.
    pub shard: String,
    /// `p` or `r`.
    pub prirep: String,
    /// `STARTED`, `RELOCATING`, `INITIALIZING`, `UNASSIGNED`.
    pub state: String,
    /// The node holding it (a relocating copy counts for its source node); empty when
    /// unassigned.
    pub node: String,
}

/// The shard copies (`_cat/shards`) of `index` (all indices when `None`).
pub fn shards(host: &str, index: Option<&str>) -> Result<Vec<ShardCopy>, String> {
    let path = match index {
        Some(i) => format!("/_cat/shards/{i}?format=json&h=index,shard,prirep,state,node"),
        None => "/_cat/shards?format=json&h=index,shard,prirep,state,node".to_owned(),
    };
    let v = rest("GET", host, &path, None)?;
    parse_shards(&v)
}

/// The rows of a `_cat/shards?format=json` reply. Pure.
pub fn parse_shards(v: &Value) -> Result<Vec<ShardCopy>, String> {
    let rows = v.as_array().ok_or_else(|| format!("not a list: {v}"))?;
    Ok(rows
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            ShardCopy {
                index: s("index"),
                shard: s("shard"),
                prirep: s("prirep"),
                state: s("state"),
                // "node-a -> 10.0.0.2 id node-b" while relocating: the first word is the source.
                node: s("node").split_whitespace().next().unwrap_or("").to_owned(),
            }
        })
        .collect())
}

/// Shard copies on node `name`, as `_cat/shards` says.
pub fn shards_on(host: &str, name: &str) -> Result<usize, String> {
    Ok(shards(host, None)?
        .iter()
        .filter(|r| r.node == name)
        .count())
}

/// The bytes of the shard copies on node `name` (`_cat/shards` `store`).
pub fn store_bytes_on(host: &str, name: &str) -> Result<u64, String> {
    let v = rest(
        "GET",
        host,
        "/_cat/shards?format=json&bytes=b&h=node,store",
        None,
    )?;
    Ok(v.as_array()
        .ok_or_else(|| format!("not a list: {v}"))?
        .iter()
        .filter(|r| r["node"].as_str().and_then(|n| n.split_whitespace().next()) == Some(name))
        .filter_map(|r| r["store"].as_str().and_then(|b| b.parse::<u64>().ok()))
        .sum())
}

/// The node names in `cluster.routing.allocation.exclude._name` (persistent or transient).
pub fn excluded_names(host: &str) -> Result<BTreeSet<String>, String> {
    Ok(parse_excluded_names(&flat_settings(host)?))
}

/// `_cluster/settings?flat_settings=true`: the persistent and transient settings, each a map
/// of dotted keys.
pub fn flat_settings(host: &str) -> Result<Value, String> {
    rest("GET", host, "/_cluster/settings?flat_settings=true", None)
}

/// The node names in `cluster.routing.allocation.exclude._name` of a
/// `_cluster/settings?flat_settings=true` reply (persistent and transient). Pure.
pub fn parse_excluded_names(settings: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for scope in ["persistent", "transient"] {
        if let Some(v) = settings[scope]["cluster.routing.allocation.exclude._name"].as_str() {
            names.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    names
}

/// `cluster.routing.allocation.enable` in effect (transient over persistent); `None` when
/// unset.
pub fn allocation_enable(host: &str) -> Result<Option<String>, String> {
    Ok(parse_allocation_enable(&flat_settings(host)?))
}

/// `cluster.routing.allocation.enable` in effect in a `_cluster/settings?flat_settings=true`
/// reply: the transient value over the persistent one; `None` when neither is set. Pure.
pub fn parse_allocation_enable(settings: &Value) -> Option<String> {
    ["transient", "persistent"]
        .iter()
        .find_map(|scope| settings[*scope]["cluster.routing.allocation.enable"].as_str())
        .map(str::to_owned)
}

/// The node names in the cluster's voting configuration exclusions.
pub fn voting_exclusions(host: &str) -> Result<BTreeSet<String>, String> {
    let s = rest(
        "GET",
        host,
        "/_cluster/state/metadata?filter_path=metadata.cluster_coordination.voting_config_exclusions",
        None,
    )?;
    Ok(
        s["metadata"]["cluster_coordination"]["voting_config_exclusions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["node_name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

// ------------------------------------------------------------------------------------------------
// Documents

/// Refresh, then count the documents of `index`.
pub fn count(host: &str, index: &str) -> Result<u64, String> {
    rest("POST", host, &format!("/{index}/_refresh"), None)?;
    let c = rest("GET", host, &format!("/{index}/_count"), None)?;
    c["count"].as_u64().ok_or_else(|| format!("no count: {c}"))
}

/// The copies of each shard that creating an index waits for (`wait_for_active_shards`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActiveShards {
    /// The primary only (`1`): a one-node cluster cannot hold replicas.
    Primary,
    /// Every copy, the replicas too (`all`).
    All,
}

impl ActiveShards {
    /// The value of `wait_for_active_shards`.
    pub fn param(self) -> &'static str {
        match self {
            ActiveShards::Primary => "1",
            ActiveShards::All => "all",
        }
    }
}

/// Creates `index` with `shards` primaries and `replicas` replicas, waiting for the primaries
/// (`wait_for_active_shards=1`: a one-node cluster cannot hold replicas).
pub fn create_index(host: &str, index: &str, shards: u32, replicas: u32) -> Result<Value, String> {
    create_index_waiting(host, index, shards, replicas, ActiveShards::Primary)
}

/// [`create_index`] waiting for `active` copies of each shard.
pub fn create_index_waiting(
    host: &str,
    index: &str,
    shards: u32,
    replicas: u32,
    active: ActiveShards,
) -> Result<Value, String> {
    rest(
        "PUT",
        host,
        &format!("/{index}?wait_for_active_shards={}", active.param()),
        Some(
            &json!({"settings": {"index": {"number_of_shards": shards,
                                           "number_of_replicas": replicas}}})
            .to_string(),
        ),
    )
}

/// Bulk-indexes documents with ids `ids` (`{"n": id, "msg": "document <id>"}`) into `index`,
/// refreshed; an error when any item failed.
pub fn bulk_index(host: &str, index: &str, ids: Range<u64>) -> Result<(), String> {
    let mut bulk = String::new();
    for i in ids {
        bulk.push_str(&json!({"index": {"_id": i.to_string()}}).to_string());
        bulk.push('\n');
        bulk.push_str(&json!({"n": i, "msg": format!("document {i}")}).to_string());
        bulk.push('\n');
    }
    let r = rest(
        "POST",
        host,
        &format!("/{index}/_bulk?refresh=true"),
        Some(&bulk),
    )?;
    if r["errors"] == false {
        Ok(())
    } else {
        Err(format!("bulk into {index} had errors: {r}"))
    }
}

/// Creates `index` ([`create_index`]) and indexes `docs` documents (ids `0..docs`) into it,
/// then checks the count; panics on any failure.
pub fn index_documents(host: &str, index: &str, shards: u32, replicas: u32, docs: u64) {
    index_documents_waiting(host, index, shards, replicas, docs, ActiveShards::Primary);
}

/// [`index_documents`], the index created waiting for `active` copies of each shard
/// ([`create_index_waiting`]).
pub fn index_documents_waiting(
    host: &str,
    index: &str,
    shards: u32,
    replicas: u32,
    docs: u64,
    active: ActiveShards,
) {
    create_index_waiting(host, index, shards, replicas, active).unwrap_or_else(|e| panic!("{e}"));
    bulk_index(host, index, 0..docs).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        count(host, index).unwrap_or_else(|e| panic!("{e}")),
        docs,
        "documents in {index}"
    );
}

/// Refreshes `index` and fetches every id of `ids` (`_mget`, 500 at a time); returns how many
/// were checked and the ids not found (at most 50). An error when a request fails.
pub fn verify_acked(host: &str, index: &str, ids: &[u64]) -> Result<(usize, Vec<u64>), String> {
    rest("POST", host, &format!("/{index}/_refresh"), None)?;
    let mut missing = Vec::new();
    let mut checked = 0;
    for batch in ids.chunks(500) {
        let body = json!({"ids": batch.iter().map(u64::to_string).collect::<Vec<_>>()});
        let r = rest(
            "POST",
            host,
            &format!("/{index}/_mget?_source=false"),
            Some(&body.to_string()),
        )?;
        let docs = r["docs"]
            .as_array()
            .ok_or_else(|| format!("_mget of {index}: no docs: {r}"))?;
        if docs.len() != batch.len() {
            return Err(format!(
                "_mget of {index}: {} answers for {} ids",
                docs.len(),
                batch.len()
            ));
        }
        for (id, d) in batch.iter().zip(docs) {
            checked += 1;
            if d["found"] != true && missing.len() < 50 {
                missing.push(*id);
            }
        }
    }
    Ok((checked, missing))
}

// ------------------------------------------------------------------------------------------------
// Background clients

/// What a background client saw, shared with its thread.
#[derive(Debug, Default)]
struct Record {
    acked: Vec<u64>,
    failures: Vec<String>,
    attempts: u64,
}

fn lock(record: &Mutex<Record>) -> std::sync::MutexGuard<'_, Record> {
    record.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A background thread indexing documents one at a time into an index, ids 0, 1, 2, …
/// (`PUT /<index>/_doc/<id>`, a 10 s bound each), through `hosts` in turn (e.g. the client
/// Service's ClusterIP), recording every id the database acknowledged (`result` `created` or
/// `updated`) and every failure (with the time since the start). An id that failed is not
/// retried. Stopped on drop.
pub struct ContinuousIndexer {
    index: String,
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<Record>>,
    thread: Option<JoinHandle<()>>,
}

/// What a stopped [`ContinuousIndexer`] did.
#[derive(Clone, Debug)]
pub struct IndexerReport {
    /// The ids acknowledged, in order.
    pub acked: Vec<u64>,
    /// The requests that failed (`<seconds since start>s id <n>: <error>`).
    pub failures: Vec<String>,
    /// Requests made.
    pub attempts: u64,
}

impl ContinuousIndexer {
    /// Starts indexing into `index` (which should exist: otherwise the first document creates
    /// it with the cluster's defaults) through `hosts`, one request every `pause` at most.
    pub fn start(hosts: Vec<String>, index: &str, pause: Duration) -> Self {
        assert!(!hosts.is_empty(), "the indexer needs an address");
        let stop = Arc::new(AtomicBool::new(false));
        let record = Arc::new(Mutex::new(Record::default()));
        let thread = {
            let (stop, record, index) = (stop.clone(), record.clone(), index.to_owned());
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut id: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    let host = &hosts[usize::try_from(id).unwrap_or(0) % hosts.len()];
                    let body = json!({"n": id, "msg": format!("document {id}")}).to_string();
                    let r = rest_within(
                        "PUT",
                        host,
                        &format!("/{index}/_doc/{id}"),
                        Some(&body),
                        Duration::from_secs(10),
                    );
                    {
                        let mut rec = lock(&record);
                        rec.attempts += 1;
                        match r {
                            Ok(v) if v["result"] == "created" || v["result"] == "updated" => {
                                rec.acked.push(id);
                            }
                            Ok(v) => rec.failures.push(format!(
                                "{:.1}s id {id}: {v}",
                                started.elapsed().as_secs_f64()
                            )),
                            Err(e) => rec.failures.push(format!(
                                "{:.1}s id {id}: {e}",
                                started.elapsed().as_secs_f64()
                            )),
                        }
                    }
                    id += 1;
                    std::thread::sleep(pause);
                }
            })
        };
        ContinuousIndexer {
            index: index.to_owned(),
            stop,
            record,
            thread: Some(thread),
        }
    }

    /// The index written to.
    pub fn index(&self) -> &str {
        &self.index
    }

    /// Ids acknowledged so far.
    pub fn acked_count(&self) -> usize {
        lock(&self.record).acked.len()
    }

    /// Failed requests so far.
    pub fn failed_count(&self) -> usize {
        lock(&self.record).failures.len()
    }

    /// The last `n` failures.
    pub fn last_failures(&self, n: usize) -> Vec<String> {
        let rec = lock(&self.record);
        rec.failures[rec.failures.len().saturating_sub(n)..].to_vec()
    }

    /// Whether the thread still runs.
    pub fn running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the thread (after its request in flight) and reports.
    pub fn stop(&mut self) -> IndexerReport {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let rec = lock(&self.record);
        IndexerReport {
            acked: rec.acked.clone(),
            failures: rec.failures.clone(),
            attempts: rec.attempts,
        }
    }
}

impl Drop for ContinuousIndexer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A background thread asking `host` for the elected cluster manager every `interval`
/// ([`cluster_manager`], a 10 s bound), recording every failed request and every answer
/// without a cluster manager, and the managers seen. Stopped on drop.
pub struct ManagerWatch {
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<(Record, Vec<String>)>>,
    thread: Option<JoinHandle<()>>,
}

/// What a stopped [`ManagerWatch`] saw.
#[derive(Clone, Debug)]
pub struct WatchReport {
    /// Polls made.
    pub polls: u64,
    /// The failed ones (`<seconds since start>s: <error>`).
    pub failures: Vec<String>,
    /// The cluster managers named, in order of change (`<seconds>s <node>`).
    pub managers: Vec<String>,
}

impl ManagerWatch {
    /// Starts polling `host` (of a database of `flavor`) every `interval`.
    pub fn start(host: &str, flavor: &str, interval: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let record = Arc::new(Mutex::new((Record::default(), Vec::<String>::new())));
        let thread = {
            let (stop, record) = (stop.clone(), record.clone());
            let (host, flavor) = (host.to_owned(), flavor.to_owned());
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut last = String::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let r = cluster_manager_within(&host, &flavor, Duration::from_secs(10));
                    {
                        let mut rec = record.lock().unwrap_or_else(PoisonError::into_inner);
                        rec.0.attempts += 1;
                        let at = started.elapsed().as_secs_f64();
                        match r {
                            Ok(m) if m != last => {
                                rec.1.push(format!("{at:.1}s {m}"));
                                last = m;
                            }
                            Ok(_) => {}
                            Err(e) => rec.0.failures.push(format!("{at:.1}s: {e}")),
                        }
                    }
                    std::thread::sleep(interval.saturating_sub(t.elapsed()));
                }
            })
        };
        ManagerWatch {
            stop,
            record,
            thread: Some(thread),
        }
    }

    /// Stops the thread and reports.
    pub fn stop(&mut self) -> WatchReport {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let rec = self.record.lock().unwrap_or_else(PoisonError::into_inner);
        WatchReport {
            polls: rec.0.attempts,
            failures: rec.0.failures.clone(),
            managers: rec.1.clone(),
        }
    }
}

impl Drop for ManagerWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_rows_are_parsed() {
        let v = json!([
            {"index": "kept", "shard": "0", "prirep": "p", "state": "STARTED", "node": "es-demo-data-0"},
            {"index": "kept", "shard": "0", "prirep": "r", "state": "RELOCATING",
             "node": "es-demo-data-2 -> 10.244.0.12 abc es-demo-data-1"},
            {"index": "bare", "shard": "1", "prirep": "p", "state": "UNASSIGNED", "node": null},
        ]);
        let rows = parse_shards(&v).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].node, "es-demo-data-2");
        assert_eq!(rows[1].state, "RELOCATING");
        assert_eq!(rows[2].node, "");
        assert!(parse_shards(&json!({"error": 1})).is_err());
    }

    #[test]
    fn exclusions_are_parsed_from_both_scopes() {
        let s = json!({
            "persistent": {"cluster.routing.allocation.exclude._name": "a, b"},
            "transient": {"cluster.routing.allocation.exclude._name": "c"},
        });
        assert_eq!(
            parse_excluded_names(&s),
            BTreeSet::from(["a".to_owned(), "b".to_owned(), "c".to_owned()])
        );
        assert!(parse_excluded_names(&json!({"persistent": {}})).is_empty());
        let empty = json!({"persistent": {"cluster.routing.allocation.exclude._name": ""}});
        assert!(parse_excluded_names(&empty).is_empty());
    }

    #[test]
    fn allocation_enable_transient_over_persistent() {
        let key = "cluster.routing.allocation.enable";
        let cases = [
            (json!({"persistent": {}, "transient": {}}), None),
            (json!({"persistent": {key: "primaries"}}), Some("primaries")),
            (json!({"transient": {key: "none"}}), Some("none")),
            (
                json!({"persistent": {key: "primaries"}, "transient": {key: "all"}}),
                Some("all"),
            ),
        ];
        for (settings, want) in cases {
            assert_eq!(
                parse_allocation_enable(&settings).as_deref(),
                want,
                "{settings}"
            );
        }
    }

    #[test]
    fn active_shards_params() {
        assert_eq!(ActiveShards::Primary.param(), "1");
        assert_eq!(ActiveShards::All.param(), "all");
    }

    #[test]
    fn master_roles_by_flavour() {
        assert_eq!(master_role("opensearch"), "cluster_manager");
        assert_eq!(master_role("elasticsearch"), "master");
    }
}
