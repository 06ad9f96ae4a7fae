//! [`CassandraAdapter`]: the pilot runtime's [`DatabaseAdapter`] for Cassandra. The I/O is
//! thin: rendering and every decision are the pure functions of the other modules.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use navigator_pilot::{
    AdapterError, DatabaseAdapter, NodeFacts as PilotFacts, Observation, PilotContext, Progress,
    RequestedState, StartCommand,
};
use serde_json::json;

use crate::compatibility::StorageCompatibility;
use crate::config::{self, NodeConfig, Sizing};
use crate::decommission::{self, Call, Next};
use crate::dialect::Dialect;
use crate::facts::{self, NodeFacts};
use crate::jolokia::{self, ENDPOINT_SNITCH_INFO, Reply, Request, STORAGE_SERVICE};
use crate::mode::OperationMode;
use crate::options::CassandraOptions;
use crate::replication::{self, KeyspaceReplication};
use crate::seeds::{self, SeedDecision};
use crate::sstables::{self, Decision};
use crate::streams::{self, STREAM_MANAGER, StreamProgress};
use crate::{conf_dir, data_version, health};

/// The Cassandra adapter.
pub struct CassandraAdapter {
    options: CassandraOptions,
    jolokia: jolokia::Client,
    /// The pilot's own `decommission` call, shared with the task that makes it.
    decommission: Arc<Mutex<Call>>,
    /// Where the pilot's own `upgradesstables` step is (see [`crate::sstables`]).
    sstables: Arc<Mutex<SstablesStep>>,
}

/// Where the `upgradesstables` step of [`crate::sstables`] is, in this process.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SstablesStep {
    /// Nothing is running; look again at this time.
    Idle {
        /// When to look again.
        next: Instant,
    },
    /// A background task is deciding or running `upgradesstables`.
    Running,
    /// The data is at the running release line: nothing more to do in this process.
    Done,
}

/// How long the `upgradesstables` step waits before looking again while the ring is not
/// ready for it.
const SSTABLES_RECHECK: Duration = Duration::from_secs(15);
/// How long the `upgradesstables` step waits after a failure before trying again.
const SSTABLES_RETRY: Duration = Duration::from_secs(600);

impl CassandraAdapter {
    /// An adapter with these settings.
    pub fn new(options: CassandraOptions) -> Self {
        let jolokia = jolokia::Client::new(SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            options.jolokia_port,
        )));
        Self {
            options,
            jolokia,
            decommission: Arc::new(Mutex::new(Call::NotStarted)),
            sstables: Arc::new(Mutex::new(SstablesStep::Idle {
                next: Instant::now(),
            })),
        }
    }

    /// The Jolokia client (for tests and tools).
    pub fn jolokia(&self) -> &jolokia::Client {
        &self.jolokia
    }

    /// Reads the node's facts; Err when Jolokia did not answer at all.
    pub async fn read_facts(&self) -> Result<NodeFacts, jolokia::client::Error> {
        let replies = self
            .jolokia
            .bulk(&facts::requests(), Some(self.options.jolokia_timeout()))
            .await?;
        Ok(facts::parse(&replies))
    }

    fn dialect(&self) -> Result<(Dialect, String), AdapterError> {
        let version = match &self.options.cassandra_version {
            Some(v) => v.clone(),
            None => {
                let lib = self.options.cassandra_home.join("lib");
                let names: Vec<String> = std::fs::read_dir(&lib)
                    .map_err(|source| AdapterError::Io {
                        context: format!("reading {} for the Cassandra version", lib.display()),
                        source,
                    })?
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect();
                Dialect::version_from_lib_names(names.iter().map(String::as_str))
                    .map_err(|e| AdapterError::Config(format!("{}: {e}", lib.display())))?
            }
        };
        let dialect =
            Dialect::from_version(&version).map_err(|e| AdapterError::Config(e.to_string()))?;
        Ok((dialect, version))
    }

    async fn seeds(&self, ctx: &PilotContext) -> Result<Vec<std::net::IpAddr>, AdapterError> {
        let service = &self.options.seeds_service;
        let deadline = Instant::now() + Duration::from_secs(self.options.seed_wait_seconds);
        loop {
            let resolved = seeds::resolve(service).await;
            match seeds::decide(
                service,
                &resolved,
                &ctx.identity.pod_name,
                ctx.identity.pod_ip,
            ) {
                SeedDecision::Use(seeds) => return Ok(seeds),
                SeedDecision::Wait(why) if Instant::now() >= deadline => {
                    return Err(AdapterError::Other(format!(
                        "{why}; gave up after {} s",
                        self.options.seed_wait_seconds
                    )));
                }
                SeedDecision::Wait(why) => {
                    tracing::info!("{why}; looking again in 2 s");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }

    /// What the safety check needs, read fresh from the node: its datacenter, how many of its
    /// datacenter's up and NORMAL peers would remain, and every replicated keyspace.
    async fn safety_inputs(
        &self,
        self_address: &str,
    ) -> Result<(String, usize, Vec<KeyspaceReplication>), String> {
        let timeout = Some(self.options.jolokia_timeout());
        let node = self.read_facts().await.map_err(|e| e.to_string())?;
        let dc = node
            .datacenter
            .clone()
            .ok_or_else(|| format!("the node's datacenter is unknown: {:?}", node.errors))?;
        let peers = node.normal_live_peers(self_address);
        let keyspaces = self
            .jolokia
            .one(
                Request::read(STORAGE_SERVICE, "NonLocalStrategyKeyspaces"),
                timeout,
            )
            .await
            .map_err(|e| e.to_string())?;
        let keyspaces: Vec<String> = match keyspaces {
            Reply::Value(v) => serde_json::from_value(v).map_err(|e| e.to_string())?,
            err @ Reply::Error { .. } => {
                return Err(format!("reading the keyspaces: {}", err.describe()));
            }
        };
        let mut requests: Vec<Request> = keyspaces
            .iter()
            .map(|k| {
                Request::exec(
                    STORAGE_SERVICE,
                    "getKeyspaceReplicationInfo",
                    vec![json!(k)],
                )
            })
            .collect();
        requests.extend(
            peers
                .iter()
                .map(|p| Request::exec(ENDPOINT_SNITCH_INFO, "getDatacenter", vec![json!(p)])),
        );
        let replies = self
            .jolokia
            .bulk(&requests, timeout)
            .await
            .map_err(|e| e.to_string())?;
        let (ks_replies, peer_replies) = replies.split_at(keyspaces.len());
        let mut replications = Vec::new();
        for (k, reply) in keyspaces.iter().zip(ks_replies) {
            let info = reply
                .value()
                .and_then(|v| v.as_str())
                .ok_or_else(|| format!("replication of {k:?}: {}", reply.describe()))?;
            replications.push(replication::parse(k, info).map_err(|e| e.to_string())?);
        }
        let mut remaining = 0;
        for (p, reply) in peers.iter().zip(peer_replies) {
            let peer_dc = reply
                .value()
                .and_then(|v| v.as_str())
                .ok_or_else(|| format!("datacenter of {p}: {}", reply.describe()))?;
            if peer_dc == dc {
                remaining += 1;
            }
        }
        Ok((dc, remaining, replications))
    }

    /// Calls `decommission` in a background task (it returns only once the node has left).
    fn start_decommission(&self) {
        let call = self.decommission.clone();
        set(&call, Call::Running);
        let client = self.jolokia.clone();
        tokio::spawn(async move {
            // force=true: the pilot's own check has passed (see crate::decommission).
            let request =
                Request::exec(STORAGE_SERVICE, "decommission(boolean)", vec![json!(true)]);
            let outcome = match client.one(request, None).await {
                Ok(Reply::Value(_)) => Call::Returned,
                Ok(err @ Reply::Error { .. }) => Call::Failed(err.describe()),
                Err(e) => Call::Failed(e.to_string()),
            };
            tracing::info!(?outcome, "decommission returned");
            set(&call, outcome);
        });
    }

    /// How far the decommission's streams have got (None when unknown or not streaming).
    async fn stream_progress(&self) -> Option<StreamProgress> {
        let reply = self
            .jolokia
            .one(
                Request::read(STREAM_MANAGER, "CurrentStreams"),
                Some(self.options.jolokia_timeout()),
            )
            .await
            .ok()?;
        streams::unbootstrap_progress(reply.value()?)
    }

    /// Starts the `upgradesstables` step's background task when it is due (never blocks:
    /// the observe loop calls it with every observation).
    fn sstables_tick(&self, ctx: &PilotContext, node: &NodeFacts) {
        {
            let mut step = self.sstables.lock().unwrap_or_else(|p| p.into_inner());
            match *step {
                SstablesStep::Idle { next } if Instant::now() >= next => {
                    *step = SstablesStep::Running;
                }
                SstablesStep::Idle { .. } | SstablesStep::Running | SstablesStep::Done => return,
            }
        }
        let step = self.sstables.clone();
        let client = self.jolokia.clone();
        let timeout = self.options.jolokia_timeout();
        let data_dir = ctx.data_dir.clone();
        let node = node.clone();
        let mode = self.options.storage_compatibility_mode;
        tokio::spawn(async move {
            let after = match sstables_pass(&client, timeout, &data_dir, &node, mode).await {
                Ok(true) => SstablesStep::Done,
                Ok(false) => SstablesStep::Idle {
                    next: Instant::now() + SSTABLES_RECHECK,
                },
                Err(e) => {
                    tracing::warn!(
                        "upgradesstables step failed, trying again in {} s: {e}",
                        SSTABLES_RETRY.as_secs()
                    );
                    SstablesStep::Idle {
                        next: Instant::now() + SSTABLES_RETRY,
                    }
                }
            };
            match step.lock() {
                Ok(mut s) => *s = after,
                Err(p) => *p.into_inner() = after,
            }
        });
    }

    fn forget_failed_call(&self) {
        let mut call = self.decommission.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*call, Call::Failed(_)) {
            *call = Call::NotStarted;
        }
    }

    fn call(&self) -> Call {
        self.decommission
            .lock()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

/// One pass of the `upgradesstables` step: decides ([`sstables::decide`]) and, when due, runs
/// `upgradeSSTables` on every keyspace and records the running release line. Ok(true) when
/// the data is at the running line (nothing more to do), Ok(false) to look again later.
async fn sstables_pass(
    client: &jolokia::Client,
    timeout: Duration,
    data_dir: &std::path::Path,
    node: &NodeFacts,
    mode: StorageCompatibility,
) -> Result<bool, String> {
    let Some(running) = node
        .release_version
        .as_deref()
        .and_then(sstables::ReleaseLine::parse)
    else {
        return Ok(false);
    };
    // The rendered storage_compatibility_mode decides which format the data can be brought to.
    let target = sstables::format_line(running, mode);
    let recorded = data_version::read(data_dir).map_err(|e| e.to_string())?;
    // The gossip read is made only when it can matter.
    let versions = match recorded {
        Some(r) if r.major < target.major => {
            match client
                .one(
                    Request::read(sstables::GOSSIPER, "ReleaseVersionsWithPort"),
                    Some(timeout),
                )
                .await
                .map_err(|e| e.to_string())?
            {
                Reply::Value(v) => {
                    Some(sstables::parse_release_versions(&v).map_err(|e| e.to_string())?)
                }
                err @ Reply::Error { .. } => {
                    return Err(format!("reading the ring's versions: {}", err.describe()));
                }
            }
        }
        _ => None,
    };
    let decision = sstables::decide(
        recorded,
        running,
        mode,
        node.operation_mode.as_ref(),
        node.ring_members.as_deref(),
        versions.as_ref(),
    );
    match decision {
        Decision::UpToDate => Ok(true),
        Decision::Record(line) => {
            data_version::write(data_dir, line).map_err(|e| e.to_string())?;
            tracing::info!(
                "recorded that the data is at Cassandra {line}'s format (no SSTable upgrade \
                 under storage_compatibility_mode {mode})"
            );
            Ok(true)
        }
        Decision::Wait(why) => {
            tracing::debug!("upgradesstables not yet: {why}");
            Ok(false)
        }
        Decision::Run { from, to } => {
            tracing::info!(
                "the SSTables are in Cassandra {from}'s format and every ring member runs \
                 Cassandra {}: upgradesstables to {to}'s format",
                running.major
            );
            let keyspaces = match client
                .one(Request::read(STORAGE_SERVICE, "Keyspaces"), Some(timeout))
                .await
                .map_err(|e| e.to_string())?
            {
                Reply::Value(v) => serde_json::from_value::<Vec<String>>(v)
                    .map_err(|e| format!("reading the keyspaces: {e}"))?,
                err @ Reply::Error { .. } => {
                    return Err(format!("reading the keyspaces: {}", err.describe()));
                }
            };
            for keyspace in &keyspaces {
                tracing::info!(%keyspace, "upgradesstables started");
                let started = Instant::now();
                // excludeCurrentVersion=true (SSTables already in the current format are
                // skipped), jobs=1 (one at a time, beside the node's normal work), all tables.
                let request = Request::exec(
                    STORAGE_SERVICE,
                    sstables::UPGRADE_SSTABLES_OPERATION,
                    vec![json!(keyspace), json!(true), json!(1), json!([])],
                );
                match client.one(request, None).await {
                    Ok(Reply::Value(v)) => sstables::upgrade_succeeded(&v)
                        .map_err(|e| format!("upgradesstables {keyspace}: {e}"))?,
                    Ok(err @ Reply::Error { .. }) => {
                        return Err(format!("upgradesstables {keyspace}: {}", err.describe()));
                    }
                    Err(e) => return Err(format!("upgradesstables {keyspace}: {e}")),
                }
                tracing::info!(
                    %keyspace,
                    seconds = started.elapsed().as_secs(),
                    "upgradesstables finished"
                );
            }
            data_version::write(data_dir, to).map_err(|e| e.to_string())?;
            tracing::info!(
                "upgradesstables done on {} keyspaces: the data is at Cassandra {to}",
                keyspaces.len()
            );
            Ok(true)
        }
    }
}

fn set(call: &Mutex<Call>, value: Call) {
    match call.lock() {
        Ok(mut c) => *c = value,
        Err(p) => *p.into_inner() = value,
    }
}

fn mode_of(last: &Observation) -> Option<OperationMode> {
    match &last.facts {
        PilotFacts::Cassandra(s) => s.operation_mode.as_deref().map(OperationMode::parse),
        PilotFacts::Unknown | PilotFacts::Elasticsearch(_) => None,
    }
}

/// The `-javaagent` option of the Jolokia agent: on 127.0.0.1 only, and with a pool of
/// threads, because `decommission` and `drain` hold their HTTP request until they are done
/// and the agent's default single thread would leave observations unanswered meanwhile (the
/// node would look dead). A Jolokia agent in `JVM_OPTS` replaces the one the image's start
/// script would add.
pub fn jolokia_agent(cassandra_home: &std::path::Path, port: u16) -> String {
    format!(
        "-javaagent:{}=host={},port={port},agentContext=/jolokia,executor=fixed,threadNr=4",
        cassandra_home
            .join("agents/jolokia-agent-jvm-javaagent.jar")
            .display(),
        Ipv4Addr::LOCALHOST
    )
}

/// `JVM_OPTS` for the start script: the agent, then whatever the pod already set.
pub fn jvm_opts(agent: &str, existing: Option<&str>) -> String {
    match existing.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => format!("{agent} {e}"),
        None => agent.to_owned(),
    }
}

/// What a `Running` request needs, from the node's mode.
pub fn running_progress(mode: Option<&OperationMode>) -> Progress {
    match mode {
        Some(OperationMode::Normal) => Progress::Complete("the node is NORMAL".into()),
        Some(OperationMode::Decommissioned) => Progress::Failed(
            "the node was decommissioned; it cannot serve again on this data".into(),
        ),
        Some(m) => Progress::Pending(format!("waiting for the node to be NORMAL (it is {m})")),
        None => Progress::Pending("waiting for Cassandra to answer".into()),
    }
}

#[async_trait]
impl DatabaseAdapter for CassandraAdapter {
    async fn prepare(&self, ctx: &PilotContext) -> Result<StartCommand, AdapterError> {
        let (dialect, version) = self.dialect()?;
        let seeds = self.seeds(ctx).await?;
        let mut sizing = Sizing::for_limit(ctx.identity.memory_limit_bytes);
        if let Some(heap) = self.options.max_heap_mib {
            sizing.heap_mib = heap;
        }
        let data_dir = ctx.data_dir.to_string_lossy().into_owned();
        let node = NodeConfig {
            dialect,
            cluster_name: self.options.cluster_name.clone(),
            datacenter: self.options.datacenter.clone(),
            rack: self.options.rack.clone(),
            num_tokens: self.options.num_tokens,
            address: ctx.identity.pod_ip,
            seeds: seeds.clone(),
            data_dir: data_dir.clone(),
            storage_port: self.options.storage_port,
            native_transport_port: self.options.cql_port,
            sizing,
            ring_delay_ms: self.options.ring_delay_ms,
            storage_compatibility: self.options.storage_compatibility_mode,
        };
        let files = config::render(&node).map_err(|e| AdapterError::Config(e.to_string()))?;
        let home = &self.options.cassandra_home;
        conf_dir::install(&ctx.config_dir, Some(&home.join("conf")), &files)
            .map_err(|e| AdapterError::Config(e.to_string()))?;
        tracing::info!(
            %version, %dialect, storage_compatibility_mode = %self.options.storage_compatibility_mode,
            ?seeds, heap_mib = sizing.heap_mib, profile = ?sizing.profile,
            conf = %ctx.config_dir.display(), "rendered Cassandra's configuration"
        );
        let env = |k: &str, v: String| (k.to_owned(), v);
        Ok(StartCommand {
            program: home.join("bin/cassandra"),
            args: vec!["-f".into()],
            env: vec![
                env("CASSANDRA_HOME", home.to_string_lossy().into_owned()),
                env(
                    "CASSANDRA_CONF",
                    ctx.config_dir.to_string_lossy().into_owned(),
                ),
                env("CASSANDRA_DATA", data_dir),
                env("MAX_HEAP_SIZE", sizing.max_heap_size()),
                env(
                    "JVM_OPTS",
                    jvm_opts(
                        &jolokia_agent(home, self.options.jolokia_port),
                        std::env::var("JVM_OPTS").ok().as_deref(),
                    ),
                ),
            ],
            current_dir: None,
        })
    }

    async fn observe(&self, ctx: &PilotContext) -> Observation {
        let node = match self.read_facts().await {
            Ok(node) => node,
            Err(e) => return Observation::unknown(e.to_string()),
        };
        self.sstables_tick(ctx, &node);
        let mode = node.operation_mode.as_ref();
        let ready = health::ready(mode, node.native_transport_running);
        let detail = if ready {
            String::new()
        } else {
            let mut d = format!(
                "operation mode {}, native transport {}",
                mode.map_or("unknown", OperationMode::as_str),
                match node.native_transport_running {
                    Some(true) => "running",
                    Some(false) => "not running",
                    None => "unknown",
                }
            );
            if !node.errors.is_empty() {
                d.push_str("; ");
                d.push_str(&node.errors.join("; "));
            }
            d
        };
        Observation {
            alive: health::alive(true),
            ready,
            facts: PilotFacts::Cassandra(node.to_status()),
            detail,
        }
    }

    async fn perform(
        &self,
        ctx: &PilotContext,
        requested: RequestedState,
        last: &Observation,
    ) -> Progress {
        let mode = mode_of(last);
        if requested != RequestedState::Decommissioned {
            // A failed decommission is forgotten once the request changes, so that asking
            // again later tries again (a call still running is not forgotten).
            self.forget_failed_call();
        }
        let call = self.call();
        match requested {
            RequestedState::Running => running_progress(mode.as_ref()),
            RequestedState::Drained => Progress::Failed(
                "Cassandra has no Drained state; request Decommissioned to remove the node".into(),
            ),
            RequestedState::Decommissioned => match decommission::next(mode.as_ref(), &call) {
                Next::Complete => Progress::Complete("the node has left the ring".into()),
                Next::Failed(m) => {
                    // Reported now; a node NORMAL again gets a fresh attempt at the runtime's
                    // next retry (crate::decommission, "Attempting again").
                    if decommission::after_report(mode.as_ref(), &call) != call {
                        self.forget_failed_call();
                    }
                    Progress::Failed(m)
                }
                Next::Pending(m) => Progress::Pending(m),
                Next::InProgress(m) => match mode {
                    Some(OperationMode::Leaving) => match self.stream_progress().await {
                        Some(p) => Progress::InProgress(format!("{m}: {p}")),
                        None => Progress::InProgress(m),
                    },
                    _ => Progress::InProgress(m),
                },
                Next::Start => {
                    let me = ctx.identity.pod_ip.to_string();
                    match self.safety_inputs(&me).await {
                        Err(why) => Progress::Pending(format!(
                            "cannot check that decommissioning is safe yet: {why}"
                        )),
                        Ok((dc, remaining, keyspaces)) => match decommission::check_safe(
                            &ctx.identity.pod_name,
                            &dc,
                            remaining,
                            &keyspaces,
                        ) {
                            Err(refusal) => Progress::Failed(refusal),
                            Ok(()) => {
                                self.start_decommission();
                                Progress::InProgress(format!(
                                    "decommission started: {remaining} {} in {dc}",
                                    if remaining == 1 {
                                        "node remains"
                                    } else {
                                        "nodes remain"
                                    }
                                ))
                            }
                        },
                    }
                }
            },
        }
    }

    async fn shutdown(&self, _ctx: &PilotContext) -> Result<(), AdapterError> {
        let timeout = Duration::from_secs(self.options.drain_timeout_seconds);
        drain(&self.jolokia, self.options.jolokia_timeout(), timeout)
            .await
            .map_err(AdapterError::Other)
    }
}

/// Drains Cassandra through Jolokia (flushes memtables and the commit log, stops accepting
/// writes), waiting at most `timeout`; a node already DRAINED (by the preStop hook) or
/// DECOMMISSIONED is left alone. A JVM that does not answer a read within `answer_timeout`
/// (frozen, or gone) is not waited for: the stop that follows must not be delayed by it.
pub async fn drain(
    client: &jolokia::Client,
    answer_timeout: Duration,
    timeout: Duration,
) -> Result<(), String> {
    let mode = client
        .one(
            Request::read(STORAGE_SERVICE, "OperationMode"),
            Some(answer_timeout.min(timeout)),
        )
        .await
        .map_err(|e| format!("not draining: {e}"))?;
    match mode
        .value()
        .and_then(|v| v.as_str())
        .map(OperationMode::parse)
    {
        Some(OperationMode::Drained) => {
            tracing::info!("Cassandra is already drained");
            return Ok(());
        }
        // A node that has left the ring holds no data the cluster needs.
        Some(OperationMode::Decommissioned) => {
            tracing::info!("Cassandra is decommissioned: nothing to drain");
            return Ok(());
        }
        _ => {}
    }
    match client
        .one(
            Request::exec(STORAGE_SERVICE, "drain", vec![]),
            Some(timeout),
        )
        .await
        .map_err(|e| format!("drain: {e}"))?
    {
        Reply::Value(_) => {
            tracing::info!("Cassandra drained");
            Ok(())
        }
        err @ Reply::Error { .. } => Err(format!("drain: {}", err.describe())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jolokia_listens_on_loopback_with_a_thread_pool() {
        let agent = jolokia_agent(std::path::Path::new("/opt/cassandra"), 8778);
        assert_eq!(
            agent,
            "-javaagent:/opt/cassandra/agents/jolokia-agent-jvm-javaagent.jar=host=127.0.0.1,\
             port=8778,agentContext=/jolokia,executor=fixed,threadNr=4"
        );
        assert_eq!(jvm_opts("-a", None), "-a");
        assert_eq!(jvm_opts("-a", Some("  ")), "-a");
        assert_eq!(jvm_opts("-a", Some("-Dx=1")), "-a -Dx=1");
    }

    fn adapter() -> CassandraAdapter {
        CassandraAdapter::new(CassandraOptions {
            cluster_name: "demo".into(),
            datacenter: "dc1".into(),
            rack: "rack1".into(),
            seeds_service: "seeds.invalid".into(),
            seed_wait_seconds: 1,
            cassandra_version: Some("5.0.8".into()),
            num_tokens: 16,
            cassandra_home: "/opt/cassandra".into(),
            storage_port: 7000,
            cql_port: 9042,
            jolokia_port: 1,
            jolokia_timeout_ms: 100,
            max_heap_mib: None,
            ring_delay_ms: None,
            drain_timeout_seconds: 1,
            storage_compatibility_mode: StorageCompatibility::Cassandra4,
        })
    }

    fn ctx() -> PilotContext {
        PilotContext {
            identity: navigator_pilot::Identity {
                pod_name: "cass-1".into(),
                namespace: "db".into(),
                pod_ip: [10, 0, 0, 2].into(),
                memory_limit_bytes: None,
            },
            pilot: None,
            config_dir: "/nonexistent/conf".into(),
            data_dir: "/nonexistent/data".into(),
        }
    }

    #[tokio::test]
    async fn a_failed_decommission_is_forgotten_when_the_request_changes() {
        let a = adapter();
        let normal = Observation {
            alive: true,
            ready: true,
            facts: PilotFacts::Cassandra(navigator_api::v1beta1::CassandraPilotStatus {
                operation_mode: Some("NORMAL".into()),
                ..Default::default()
            }),
            detail: String::new(),
        };
        set(&a.decommission, Call::Failed("boom".into()));
        let p = a
            .perform(&ctx(), RequestedState::Decommissioned, &normal)
            .await;
        assert_eq!(p, Progress::Failed("decommission failed: boom".into()));
        let p = a.perform(&ctx(), RequestedState::Running, &normal).await;
        assert_eq!(p, Progress::Complete("the node is NORMAL".into()));
        assert_eq!(a.call(), Call::NotStarted);
        // A call in flight is kept.
        set(&a.decommission, Call::Running);
        a.perform(&ctx(), RequestedState::Running, &normal).await;
        assert_eq!(a.call(), Call::Running);
        // Asking again without Jolokia: the safety check cannot run, so it waits.
        set(&a.decommission, Call::NotStarted);
        let p = a
            .perform(&ctx(), RequestedState::Decommissioned, &normal)
            .await;
        assert!(
            matches!(&p, Progress::Pending(m) if m.starts_with("cannot check that decommissioning is safe yet")),
            "{p:?}"
        );
    }

    #[tokio::test]
    async fn a_retry_after_a_failure_never_calls_decommission_on_a_leaving_node() {
        let a = adapter();
        let in_mode = |mode: &str| Observation {
            alive: true,
            ready: true,
            facts: PilotFacts::Cassandra(navigator_api::v1beta1::CassandraPilotStatus {
                operation_mode: Some(mode.into()),
                ..Default::default()
            }),
            detail: String::new(),
        };
        let failed = Progress::Failed("decommission failed: boom".into());
        // LEAVING (or stuck): every retry reports the same failure and calls nothing.
        set(&a.decommission, Call::Failed("boom".into()));
        for _ in 0..3 {
            let p = a
                .perform(&ctx(), RequestedState::Decommissioned, &in_mode("LEAVING"))
                .await;
            assert_eq!(p, failed);
            assert_eq!(a.call(), Call::Failed("boom".into()));
        }
        // NORMAL again: reported once, then forgotten, so the next retry starts over with the
        // safety check (here Jolokia is absent: it waits, nothing is called).
        let p = a
            .perform(&ctx(), RequestedState::Decommissioned, &in_mode("NORMAL"))
            .await;
        assert_eq!(p, failed);
        assert_eq!(a.call(), Call::NotStarted);
        let p = a
            .perform(&ctx(), RequestedState::Decommissioned, &in_mode("NORMAL"))
            .await;
        assert!(
            matches!(&p, Progress::Pending(m) if m.starts_with("cannot check that decommissioning is safe yet")),
            "{p:?}"
        );
        assert_eq!(a.call(), Call::NotStarted);
        // DECOMMISSIONED is Complete whatever the call says.
        set(&a.decommission, Call::Failed("late".into()));
        let p = a
            .perform(
                &ctx(),
                RequestedState::Decommissioned,
                &in_mode("DECOMMISSIONED"),
            )
            .await;
        assert_eq!(p, Progress::Complete("the node has left the ring".into()));
    }

    #[test]
    fn running_is_complete_when_normal() {
        use OperationMode as M;
        let cases = [
            (Some(M::Normal), "Complete"),
            (Some(M::Joining), "Pending"),
            (Some(M::Decommissioned), "Failed"),
            (None, "Pending"),
        ];
        for (mode, phase) in cases {
            assert_eq!(running_progress(mode.as_ref()).phase(), phase, "{mode:?}");
        }
    }
}
