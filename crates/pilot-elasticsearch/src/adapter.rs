//! The runtime's `DatabaseAdapter` for Elasticsearch and OpenSearch: the I/O glue around the
//! pure decisions (configuration, bootstrap, drain progress) and the REST client.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use navigator_api::pilot_contract::{
    ELASTICSEARCH_CLUSTER_NAME_LABEL, ELASTICSEARCH_CLUSTER_UUID_ANNOTATION,
};
use navigator_api::v1beta1::{ElasticsearchPilotStatus, Pilot};
use navigator_api::version::ElasticsearchVersion;
use navigator_pilot::supervisor::Supervisor;
use navigator_pilot::{
    AdapterError, DatabaseAdapter, NodeFacts, Observation, PilotContext, Progress, RequestedState,
    StartCommand,
};

use crate::allocation::{self, PauseStep};
use crate::bootstrap::{self, Bootstrap, BootstrapFacts, PeerState};
use crate::config::{self, NodeConfig};
use crate::drain::{self, NodeView};
use crate::exclusions;
use crate::flavor::{Dialect, Flavor, version_from_lib};
use crate::heap;
use crate::home::{self, Home, PluginSource};
use crate::leader::{self, LeaderConfig};
use crate::options::ElasticsearchOptions;
use crate::replies::{self, EXCLUDE_NAME};
use crate::rest::{RestClient, RestError};
use crate::roles::Role;
use crate::stuck::{self, Due, Examination, Remaining, Step};
use navigator_client::leader::Elector;

/// How often the pilot tries to list its cluster's Pilots before deciding whether its node
/// forms the cluster (each try bounded to 5 s, 1 s apart).
const PILOT_LIST_ATTEMPTS: u32 = 6;

/// How long recording the cluster UUID on the Pilot may take, and how long after a failed
/// try the next one waits.
const RECORD_BOUND: Duration = Duration::from_secs(3);
const RECORD_RETRY: Duration = Duration::from_secs(15);

/// The image as the pilot resolved it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The flavour.
    pub flavor: Flavor,
    /// The version (`X.Y.Z`).
    pub version: String,
    /// The dialect.
    pub dialect: Dialect,
    /// The image's installation.
    pub image_home: PathBuf,
}

/// Resolves flavour, version and the image's installation from the options and the image.
pub fn resolve(options: &ElasticsearchOptions) -> Result<Resolved, AdapterError> {
    let flavor = match options.flavor {
        Some(f) => f,
        None => {
            let mut candidates: Vec<&Path> = Vec::new();
            if let Some(h) = &options.home {
                candidates.push(h);
            }
            let os = Flavor::Opensearch.default_home();
            let es = Flavor::Elasticsearch.default_home();
            candidates.push(&os);
            candidates.push(&es);
            Flavor::detect(&candidates).ok_or_else(|| {
                AdapterError::Config(
                    "no --flavor and no bin/opensearch or bin/elasticsearch in --home".into(),
                )
            })?
        }
    };
    let image_home = options
        .home
        .clone()
        .unwrap_or_else(|| flavor.default_home());
    let version = match &options.db_version {
        Some(v) => v.clone(),
        None => version_from_lib(&image_home, flavor).ok_or_else(|| {
            AdapterError::Config(format!(
                "no --version and no lib/{flavor}-<version>.jar in {}",
                image_home.display()
            ))
        })?,
    };
    let dialect =
        Dialect::new(flavor, &version).map_err(|e| AdapterError::Config(e.to_string()))?;
    Ok(Resolved {
        flavor,
        version,
        dialect,
        image_home,
    })
}

/// The Elasticsearch adapter.
pub struct ElasticsearchAdapter {
    options: ElasticsearchOptions,
    kubeconfig: Option<PathBuf>,
    rest: RestClient,
    leading: Arc<AtomicBool>,
    ready: Arc<AtomicBool>,
    elector: Arc<Mutex<Option<Elector>>>,
    stopping: Arc<AtomicBool>,
    leader_started: AtomicBool,
    dialect: Mutex<Option<Dialect>>,
    examination: Mutex<Examination>,
    record: Mutex<Record>,
}

/// What the pilot knows of its cluster-UUID annotation: the UUID it last recorded, and when
/// a try last failed.
#[derive(Debug, Default)]
struct Record {
    written: Option<String>,
    failed_at: Option<Instant>,
}

impl ElasticsearchAdapter {
    /// An adapter with `options`; `kubeconfig` is the runtime's (for the leader's API client).
    pub fn new(options: ElasticsearchOptions, kubeconfig: Option<PathBuf>) -> Self {
        let rest = RestClient::new(
            SocketAddr::from(([127, 0, 0, 1], options.http_port)),
            options.http_timeout(),
        );
        Self {
            options,
            kubeconfig,
            rest,
            leading: Arc::new(AtomicBool::new(false)),
            ready: Arc::new(AtomicBool::new(false)),
            elector: Arc::new(Mutex::new(None)),
            stopping: Arc::new(AtomicBool::new(false)),
            leader_started: AtomicBool::new(false),
            dialect: Mutex::new(None),
            examination: Mutex::new(Examination::default()),
            record: Mutex::new(Record::default()),
        }
    }

    /// The REST client of the local node.
    pub fn rest(&self) -> &RestClient {
        &self.rest
    }

    /// Whether this pilot currently leads its cluster's pilots.
    pub fn is_leading(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    fn examination(&self) -> std::sync::MutexGuard<'_, Examination> {
        self.examination
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn dialect(&self) -> Option<Dialect> {
        *self
            .dialect
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What the pilot gathers before deciding whether the node forms the cluster: node state
    /// in the data directory, and (when there is none) the state of every other node behind
    /// the discovery Service.
    pub async fn bootstrap_facts(&self, ctx: &PilotContext) -> BootstrapFacts {
        let (data_dir, own_ip) = (ctx.data_dir.as_path(), ctx.identity.pod_ip);
        let has_node_state = bootstrap::has_node_state(data_dir);
        if has_node_state {
            return BootstrapFacts {
                has_node_state,
                ..BootstrapFacts::default()
            };
        }
        let host = format!(
            "{}:{}",
            self.options.discovery_service, self.options.http_port
        );
        let addrs: Vec<SocketAddr> = match tokio::time::timeout(
            Duration::from_secs(3),
            tokio::net::lookup_host(&host),
        )
        .await
        {
            Ok(Ok(addrs)) => addrs.filter(|a| a.ip() != own_ip).collect(),
            Ok(Err(e)) => {
                tracing::info!(%host, error = %e, "the discovery Service does not resolve (yet)");
                Vec::new()
            }
            Err(_) => Vec::new(),
        };
        let probes = addrs.into_iter().map(|addr| {
            let client = RestClient::new(addr, self.options.peer_probe_timeout());
            async move {
                let state = match client.get(replies::ROOT).await {
                    Ok(root) => bootstrap::peer_state_from_root(&root),
                    Err(e) => PeerState::Unreachable(e.to_string()),
                };
                (addr.ip().to_string(), state)
            }
        });
        let peers = futures_join_all(probes).await;
        // The Pilots are what says whether the cluster ever formed: a node must never form a
        // second cluster because the API was slow, so the list is retried, and a list that
        // cannot be read means "join" (bootstrap::decide).
        let mut pilots_unknown = None;
        let mut pilots: Vec<Pilot> = Vec::new();
        for attempt in 1..=PILOT_LIST_ATTEMPTS {
            match self.cluster_pilots(&ctx.identity.namespace).await {
                Ok(p) => {
                    pilots = p;
                    pilots_unknown = None;
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "listing the cluster's Pilots before the start");
                    pilots_unknown = Some(e);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        pilots.extend(ctx.pilot.clone());
        BootstrapFacts {
            has_node_state,
            peers,
            joined_pilots: bootstrap::joined_pilots(&pilots),
            pilots_unknown,
        }
    }

    /// The Pilots labelled with this cluster's name, in `namespace` (bounded to 5 s a try).
    async fn cluster_pilots(&self, namespace: &str) -> Result<Vec<Pilot>, String> {
        let list = async {
            let client = navigator_client::client(self.kubeconfig.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            let selector = format!(
                "{ELASTICSEARCH_CLUSTER_NAME_LABEL}={}",
                self.options.cluster_name
            );
            Api::<Pilot>::namespaced(client, namespace)
                .list(&ListParams::default().labels(&selector))
                .await
                .map(|l| l.items)
                .map_err(|e| e.to_string())
        };
        tokio::time::timeout(Duration::from_secs(5), list)
            .await
            .map_err(|_| "no answer within 5 s".to_owned())?
    }

    async fn install_plugins(&self, home: &Home, resolved: &Resolved) -> Result<(), AdapterError> {
        let plugins_dir = home.plugins_dir();
        let mut manifest = home::read_manifest(&home.dir);
        let todo = home::to_install(
            &self.options.plugins,
            &manifest,
            &home::installed_plugins(&plugins_dir),
        );
        if todo.is_empty() {
            return Ok(());
        }
        let tool = home.plugin_tool(resolved.flavor);
        if !tool.exists() {
            return Err(AdapterError::Config(format!(
                "plugins {todo:?} are requested but the image has no {}",
                tool.display()
            )));
        }
        let (home_var, conf_var, _) = resolved.flavor.env_names();
        for entry in todo {
            let before = home::installed_plugins(&plugins_dir);
            let arg = PluginSource::parse(&entry).install_arg();
            tracing::info!(plugin = %entry, "installing a plugin");
            let cmd = StartCommand {
                program: tool.clone(),
                args: vec!["install".into(), "--batch".into(), arg],
                env: vec![
                    (home_var.into(), home.dir.display().to_string()),
                    (conf_var.into(), home.config_dir().display().to_string()),
                ],
                current_dir: Some(home.dir.clone()),
            };
            let child = Supervisor::spawn(&cmd).map_err(|e| AdapterError::Other(e.to_string()))?;
            let code = child.wait().await;
            if code != 0 {
                return Err(AdapterError::Other(format!(
                    "{} install {entry} exited with {code}",
                    tool.display()
                )));
            }
            let added: Vec<String> = home::installed_plugins(&plugins_dir)
                .difference(&before)
                .cloned()
                .collect();
            if let [dir] = added.as_slice() {
                manifest.insert(entry.clone(), dir.clone());
                home::write_manifest(&home.dir, &manifest)
                    .map_err(|e| AdapterError::Config(e.to_string()))?;
            }
            tracing::info!(plugin = %entry, installed = ?added, "plugin installed");
        }
        Ok(())
    }

    fn start_leader(&self, ctx: &PilotContext, dialect: Dialect) {
        if self.leader_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let config = LeaderConfig {
            lease_name: self.options.lease_name(),
            identity: ctx.identity.pod_name.clone(),
            namespace: ctx.identity.namespace.clone(),
            cluster: self.options.cluster_name.clone(),
            lease_duration: Duration::from_secs(self.options.leader_lease_seconds),
            interval: Duration::from_millis(self.options.leader_interval_ms),
            kubeconfig: self.kubeconfig.clone(),
            dialect,
            allocation_pause_timeout: self.options.allocation_pause_timeout(),
        };
        tokio::spawn(leader::run(
            config,
            self.rest.clone(),
            leader::Flags {
                leading: self.leading.clone(),
                ready: self.ready.clone(),
                elector: self.elector.clone(),
                stopping: self.stopping.clone(),
            },
        ));
    }

    /// Observes the node: alive when `GET /` answers; ready when the node knows an elected
    /// master; facts as far as they could be read (a failed read leaves its fact unknown, it
    /// never makes the node "not alive"); the leader adds cluster health.
    pub async fn observe_node(&self) -> Observation {
        self.observe_with_uuid().await.0
    }

    /// Records the cluster UUID on the pilot's own Pilot (annotation
    /// [`ELASTICSEARCH_CLUSTER_UUID_ANNOTATION`], a metadata merge patch) once the node has
    /// joined a formed cluster, unless it is there already ([`bootstrap::uuid_to_record`]).
    /// Bounded; a failed try is logged and retried after [`RECORD_RETRY`].
    async fn record_cluster_uuid(&self, ctx: &PilotContext, ready: bool, root_uuid: Option<&str>) {
        let on_pilot = ctx
            .pilot
            .as_ref()
            .and_then(bootstrap::recorded_cluster_uuid);
        let uuid = {
            let record = self.record.lock().unwrap_or_else(|p| p.into_inner());
            if record.failed_at.is_some_and(|t| t.elapsed() < RECORD_RETRY) {
                return;
            }
            bootstrap::uuid_to_record(ready, root_uuid, on_pilot, record.written.as_deref())
        };
        let Some(uuid) = uuid else {
            return;
        };
        let name = ctx.identity.pod_name.clone();
        let patch = async {
            let client = navigator_client::client(self.kubeconfig.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            Api::<Pilot>::namespaced(client, &ctx.identity.namespace)
                .patch(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(bootstrap::record_patch(&uuid)),
                )
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let result = tokio::time::timeout(RECORD_BOUND, patch)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {RECORD_BOUND:?}")));
        let mut record = self.record.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(()) => {
                tracing::info!(
                    cluster_uuid = %uuid,
                    "recorded on the Pilot that the node joined the cluster ({ELASTICSEARCH_CLUSTER_UUID_ANNOTATION})"
                );
                record.written = Some(uuid);
                record.failed_at = None;
            }
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    cluster_uuid = %uuid,
                    "recording the cluster UUID on the Pilot failed (retried in {RECORD_RETRY:?})"
                );
                record.failed_at = Some(Instant::now());
            }
        }
    }

    /// [`Self::observe_node`], and the `cluster_uuid` of `GET /` when it answered.
    async fn observe_with_uuid(&self) -> (Observation, Option<String>) {
        let root = match self.rest.get(replies::ROOT).await {
            Ok(root) => replies::root(&root),
            Err(e) => {
                self.ready.store(false, Ordering::SeqCst);
                return (Observation::unknown(e.to_string()), None);
            }
        };
        let root_uuid = root.as_ref().map(|r| r.cluster_uuid.clone());
        let local = match self.rest.get(replies::LOCAL_NODE).await {
            Ok(v) => replies::nodes(&v).into_iter().next(),
            Err(e) => {
                tracing::debug!(error = %e, "reading the local node");
                None
            }
        };
        let (master, detail) = match self.rest.get(replies::MASTER).await {
            Ok(v) => match replies::master(&v) {
                Some(m) => (Some(m), String::new()),
                None => (
                    None,
                    "the node has not joined a cluster (no elected master)".to_owned(),
                ),
            },
            Err(e) => (None, format!("reading the elected master: {e}")),
        };
        let mut facts = ElasticsearchPilotStatus {
            version: root
                .as_ref()
                .and_then(|r| ElasticsearchVersion::parse(&r.version).ok()),
            node_id: local.as_ref().map(|n| n.id.clone()),
            roles: local.as_ref().map(|n| n.roles.clone()).unwrap_or_default(),
            ..ElasticsearchPilotStatus::default()
        };
        if master.is_some() {
            if let Ok(v) = self.rest.get(replies::LOCAL_DOCS).await {
                facts.documents = replies::local_docs(&v);
            }
            if let Some(n) = &local
                && let Ok(alloc) = self.rest.get(&replies::allocation_path(&n.name)).await
            {
                facts.shards = replies::allocation_shards(&alloc, &n.name);
            }
            if self.is_leading()
                && let Ok(v) = self.rest.get(replies::HEALTH).await
                && let Some(h) = replies::health(&v)
            {
                facts.cluster_health = Some(h.status);
                facts.relocating_shards = Some(h.relocating);
                facts.initializing_shards = Some(h.initializing);
                facts.unassigned_shards = Some(h.unassigned);
            }
        }
        let ready = master.is_some();
        self.ready.store(ready, Ordering::SeqCst);
        (
            Observation {
                alive: true,
                ready,
                facts: NodeFacts::Elasticsearch(facts),
                detail,
            },
            root_uuid,
        )
    }

    /// Before a data node that is coming back stops: pauses replica allocation (persistent
    /// `cluster.routing.allocation.enable: primaries`, unless someone else set the value) and
    /// flushes, each best effort within its bound, logged. The leader resumes allocation once
    /// every node is back ([`crate::allocation`]).
    pub async fn pause_for_restart(&self) {
        if !self.ready.load(Ordering::SeqCst) {
            tracing::info!(
                "not pausing replica allocation: the node has not joined a cluster (or left it)"
            );
            return;
        }
        let rest = self.rest.with_timeout(PAUSE_BOUND);
        let pause = async {
            let settings = rest.get(replies::SETTINGS).await?;
            let current = replies::setting(&settings, allocation::ENABLE);
            let step = allocation::pause_step(&current);
            if step == PauseStep::Pause {
                rest.put(replies::PUT_SETTINGS, &allocation::pause_body())
                    .await?;
            }
            Ok::<_, RestError>(step)
        };
        match tokio::time::timeout(PAUSE_BOUND, pause).await {
            Ok(Ok(PauseStep::Pause)) => tracing::info!(
                "replica allocation paused for the restart ({} = {})",
                allocation::ENABLE,
                allocation::PAUSED
            ),
            Ok(Ok(PauseStep::AlreadyPaused)) => tracing::info!(
                "replica allocation already paused ({} = {})",
                allocation::ENABLE,
                allocation::PAUSED
            ),
            Ok(Ok(PauseStep::LeaveAlone(value))) => tracing::info!(
                %value,
                "not pausing replica allocation: {} was set by someone else",
                allocation::ENABLE
            ),
            Ok(Err(e)) => tracing::warn!(error = %e, "pausing replica allocation failed"),
            Err(_) => {
                tracing::warn!(bound = ?PAUSE_BOUND, "pausing replica allocation timed out")
            }
        }
        let started = std::time::Instant::now();
        match self
            .rest
            .with_timeout(FLUSH_BOUND)
            .post(replies::FLUSH, None)
            .await
        {
            Ok(reply) => tracing::info!(
                took = ?started.elapsed(),
                shards = %reply.get("_shards").cloned().unwrap_or_default(),
                "flushed"
            ),
            Err(e) => tracing::warn!(error = %e, "flush before the stop failed"),
        }
    }

    async fn node_view(
        &self,
        ctx: &PilotContext,
        last: &Observation,
    ) -> Result<Option<(NodeView, BTreeSet<String>)>, RestError> {
        if !last.ready {
            return Ok(None);
        }
        let shards = match &last.facts {
            NodeFacts::Elasticsearch(f) => f.shards,
            _ => None,
        };
        let name = ctx.identity.pod_name.clone();
        let settings = self.rest.get(replies::SETTINGS).await?;
        let leaving =
            exclusions::parse_names(replies::setting(&settings, EXCLUDE_NAME).effective());
        let excluded = leaving.contains(&name);
        let voting_dialect = self.dialect().is_some_and(|d| d.has_voting_exclusions());
        let needs_voting_exclusion = voting_dialect && self.options.roles.contains(&Role::Master);
        let voting_excluded = if voting_dialect {
            replies::voting_exclusions(&self.rest.get(replies::VOTING_EXCLUSIONS).await?)
                .iter()
                .any(|e| e.node_name == name)
        } else {
            false
        };
        Ok(Some((
            NodeView {
                name,
                shards,
                excluded,
                needs_voting_exclusion,
                voting_excluded,
                remaining: None,
            },
            leaving,
        )))
    }

    /// What the copies left on the draining node mean ([`crate::stuck`]): a pass only when
    /// the node's shard count held since the last observation and the last pass is
    /// [`stuck::EXAMINE_INTERVAL`] old; between passes the last result stands.
    async fn remaining(&self, view: &NodeView, leaving: &BTreeSet<String>) -> Remaining {
        let Some(shards) = view.shards else {
            return Remaining::Moving(None);
        };
        let now = Instant::now();
        if let Due::Later(result) = self.examination().due(shards, now) {
            return result;
        }
        let result = match self.examine(&view.name, leaving, now).await {
            Ok(r) => r,
            Err(e) => Remaining::Moving(Some(format!("examining the shard copies left: {e}"))),
        };
        if let Remaining::Blocked(blocked) = &result
            && self.examination().last() != Some(&result)
        {
            tracing::info!(
                copies = ?blocked.iter().map(|b| b.copy.to_string()).collect::<Vec<_>>(),
                "shard copies that can neither move nor be left behind: the drain waits (logged again when this changes)"
            );
        }
        self.examination().passed(result, now)
    }

    /// One pass: nothing relocating or initialising in the cluster (`_cluster/health`), then
    /// the copies (`_cat/shards`) and at most [`stuck::EXPLAIN_LIMIT`] allocation explains of
    /// the copies on the node.
    async fn examine(
        &self,
        node: &str,
        leaving: &BTreeSet<String>,
        now: Instant,
    ) -> Result<Remaining, RestError> {
        if let Some(h) = replies::health(&self.rest.get(replies::HEALTH).await?)
            && (h.relocating > 0 || h.initializing > 0)
        {
            self.examination().forget_verdicts();
            return Ok(Remaining::Moving(Some(format!(
                "{} shards relocating and {} initializing in the cluster",
                h.relocating, h.initializing
            ))));
        }
        let copies = replies::shard_copies(&self.rest.get(replies::SHARDS).await?);
        let mut verdicts = self.examination().verdicts(now);
        let mut budget = stuck::EXPLAIN_LIMIT;
        loop {
            let keys = match stuck::step(node, &copies, leaving, &verdicts, budget) {
                Step::Done(result) => return Ok(result),
                Step::Explain(keys) => keys,
            };
            budget = budget.saturating_sub(keys.len());
            for key in keys {
                let body = replies::explain_body(&key.index, key.shard, key.primary, node);
                let reply = self
                    .rest
                    .post(replies::ALLOCATION_EXPLAIN, Some(&body))
                    .await?;
                let Some(explain) = replies::explain(&reply) else {
                    return Ok(Remaining::Moving(Some(format!(
                        "{key}: no decision in the allocation explain"
                    ))));
                };
                tracing::debug!(copy = %key, ?explain, "allocation explain");
                let can_move = !stuck::cannot_move(&explain);
                self.examination()
                    .verdict(key.clone(), explain.clone(), now);
                verdicts.insert(key, explain);
                if can_move {
                    // The next step says so; no need to ask about the rest.
                    break;
                }
            }
        }
    }
}

/// How long pausing replica allocation at shutdown may take (read and write the setting).
pub const PAUSE_BOUND: Duration = Duration::from_secs(5);
/// How long the flush at shutdown may take.
pub const FLUSH_BOUND: Duration = Duration::from_secs(10);

/// Runs futures concurrently and collects their outputs in order.
async fn futures_join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(v) = h.await {
            out.push(v);
        }
    }
    out
}

#[async_trait]
impl DatabaseAdapter for ElasticsearchAdapter {
    async fn prepare(&self, ctx: &PilotContext) -> Result<StartCommand, AdapterError> {
        let resolved = resolve(&self.options)?;
        *self
            .dialect
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(resolved.dialect);
        let home = Home {
            image: resolved.image_home.clone(),
            dir: ctx.config_dir.clone(),
        };
        home.build(resolved.flavor)
            .map_err(|e| AdapterError::Config(e.to_string()))?;

        let node_name = ctx.identity.pod_name.clone();
        let facts = self.bootstrap_facts(ctx).await;
        let decision = bootstrap::decide(
            resolved.dialect,
            &self.options.roles,
            &node_name,
            &self.options.initial_master_nodes,
            &facts,
        );
        match &decision {
            Bootstrap::Form(masters) => {
                tracing::info!(?masters, peers = ?facts.peers, "forming a new cluster");
            }
            Bootstrap::Join(why) => tracing::info!(reason = %why, "joining a cluster"),
        }
        let minimum_master_nodes = self
            .options
            .minimum_master_nodes
            .unwrap_or_else(|| config::quorum(self.options.initial_master_nodes.len().max(1)));
        let node = NodeConfig {
            dialect: resolved.dialect,
            cluster_name: self.options.cluster_name.clone(),
            node_name,
            pod_ip: ctx.identity.pod_ip,
            roles: self.options.roles.clone(),
            discovery_service: self.options.discovery_service.clone(),
            data_dir: ctx.data_dir.clone(),
            logs_dir: home.logs_dir(),
            http_port: self.options.http_port,
            transport_port: self.options.transport_port,
            node_pool: self.options.node_pool.clone(),
            node_attributes: self.options.node_attributes.clone(),
            awareness_attributes: self.options.awareness_attributes.clone(),
            bootstrap: decision,
            minimum_master_nodes,
        };
        let image_yml_path = resolved
            .image_home
            .join("config")
            .join(resolved.flavor.config_file());
        let image_yml = std::fs::read_to_string(&image_yml_path).ok();
        let rendered = config::render(
            image_yml.as_deref(),
            &self.options.settings,
            &config::node_settings(&node),
        )
        .map_err(|e| AdapterError::Config(e.to_string()))?;
        let yml = home.config_dir().join(resolved.flavor.config_file());
        std::fs::write(&yml, rendered).map_err(|source| AdapterError::Io {
            context: format!("writing {}", yml.display()),
            source,
        })?;

        self.install_plugins(&home, &resolved).await?;
        self.start_leader(ctx, resolved.dialect);

        let (home_var, conf_var, opts_var) = resolved.flavor.env_names();
        let heap = heap::heap_mib(ctx.identity.memory_limit_bytes, self.options.heap_mib);
        let existing = std::env::var(opts_var).ok();
        let mut env = vec![
            (home_var.to_owned(), home.dir.display().to_string()),
            (conf_var.to_owned(), home.config_dir().display().to_string()),
        ];
        if let Some(opts) = heap::java_opts(existing.as_deref(), heap) {
            env.push((opts_var.to_owned(), opts));
        }
        tracing::info!(
            flavor = %resolved.flavor,
            version = %resolved.version,
            home = %home.dir.display(),
            heap_mib = ?heap,
            "starting the node"
        );
        Ok(StartCommand {
            program: home.launcher(resolved.flavor),
            args: Vec::new(),
            env,
            current_dir: Some(home.dir.clone()),
        })
    }

    async fn observe(&self, ctx: &PilotContext) -> Observation {
        let (observation, root_uuid) = self.observe_with_uuid().await;
        self.record_cluster_uuid(ctx, observation.ready, root_uuid.as_deref())
            .await;
        observation
    }

    async fn perform(
        &self,
        ctx: &PilotContext,
        requested: RequestedState,
        last: &Observation,
    ) -> Progress {
        match self.node_view(ctx, last).await {
            Ok(Some((mut view, leaving))) => {
                if drain::examines(requested, &view) {
                    view.remaining = Some(self.remaining(&view, &leaving).await);
                } else {
                    self.examination().reset();
                }
                drain::progress(requested, Some(&view))
            }
            Ok(None) => {
                self.examination().reset();
                drain::progress(requested, None)
            }
            Err(e) => Progress::Pending(format!("reading the node's exclusions: {e}")),
        }
    }

    async fn shutdown(&self, ctx: &PilotContext) -> Result<(), AdapterError> {
        // The node stops cleanly on the SIGTERM that follows. The pilot stops competing for
        // the Lease and gives it up if it holds it, so another pilot takes over at its next
        // round instead of after the Lease's duration. Then a data node that is coming back
        // pauses replica allocation and flushes.
        self.stopping.store(true, Ordering::SeqCst);
        let was_leading = self.leading.swap(false, Ordering::SeqCst);
        let elector = self
            .elector
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        if let Some(elector) = elector {
            // `release` changes the Lease only when this pilot holds it (a round under way
            // may just have taken it).
            let bound = Duration::from_secs(2);
            match tokio::time::timeout(bound, elector.release()).await {
                Ok(Ok(())) if was_leading => tracing::info!("leader Lease released"),
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "releasing the leader Lease"),
                Err(_) => tracing::warn!(?bound, "releasing the leader Lease timed out"),
            }
        }
        let requested = ctx
            .pilot
            .as_ref()
            .and_then(|p| p.spec.requested_state.as_deref());
        if allocation::pauses_for_restart(&self.options.roles, requested) {
            self.pause_for_restart().await;
        } else {
            tracing::info!(
                roles = ?self.options.roles,
                requested = ?requested,
                "not pausing replica allocation: not a data node, or leaving (Drained/Decommissioned)"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        options: ElasticsearchOptions,
    }

    fn options(extra: &[&str]) -> ElasticsearchOptions {
        let mut argv = vec!["t", "--cluster-name=c", "--discovery-service=d"];
        argv.extend_from_slice(extra);
        Args::parse_from(argv).options
    }

    #[test]
    fn resolves_flavour_and_version_from_flags_or_the_image() {
        let image = tempfile::tempdir().expect("tempdir");
        let home = image.path();
        std::fs::create_dir_all(home.join("bin")).expect("bin");
        std::fs::create_dir_all(home.join("lib")).expect("lib");
        std::fs::write(home.join("bin/opensearch"), "").expect("launcher");
        std::fs::write(home.join("lib/opensearch-2.18.0.jar"), "").expect("jar");
        let h = format!("--home={}", home.display());

        let r = resolve(&options(&[&h])).expect("resolve");
        assert_eq!(
            (r.flavor, r.version.as_str()),
            (Flavor::Opensearch, "2.18.0")
        );
        assert_eq!(r.image_home, home);
        assert_eq!(r.dialect.master_role(), "cluster_manager");

        let r = resolve(&options(&[&h, "--version=1.3.20"])).expect("resolve");
        assert_eq!(r.dialect.master_role(), "master");

        let r =
            resolve(&options(&["--flavor=elasticsearch", "--version=7.10.2"])).expect("resolve");
        assert_eq!(r.image_home, PathBuf::from("/usr/share/elasticsearch"));

        let err = resolve(&options(&[&h, "--flavor=elasticsearch"])).expect_err("no jar");
        assert!(
            err.to_string()
                .contains("no --version and no lib/elasticsearch-<version>.jar"),
            "{err}"
        );
        let err = resolve(&options(&[&h, "--version=5.6.0", "--flavor=elasticsearch"]))
            .expect_err("unsupported");
        assert!(
            err.to_string().contains("elasticsearch 5 is not supported"),
            "{err}"
        );
    }

    #[test]
    fn options_defaults_and_lists() {
        let o = options(&[
            "--roles=data,ingest",
            "--plugin=a,b",
            "--plugin=/p/c.zip",
            "--setting=x.y=1",
            "--node-attribute=zone=a",
            "--initial-master-nodes=m-0,m-1,m-2",
        ]);
        assert_eq!(o.roles, vec![Role::Data, Role::Ingest]);
        assert_eq!(o.plugins, vec!["a", "b", "/p/c.zip"]);
        assert_eq!(o.settings, vec![("x.y".to_owned(), "1".to_owned())]);
        assert_eq!(o.node_attributes, vec![("zone".to_owned(), "a".to_owned())]);
        assert_eq!(o.initial_master_nodes.len(), 3);
        assert_eq!(o.lease_name(), "es-c-pilot-leader");
        let d = options(&[]);
        assert_eq!(d.roles, vec![Role::Master, Role::Data, Role::Ingest]);
        assert_eq!((d.http_port, d.transport_port), (9200, 9300));
        assert_eq!(d.node_pool, "default");
    }
}
