//! The leader among a cluster's pilots (Lease `es-<cluster>-pilot-leader`, through
//! `navigator_client::leader`): it owns the allocation exclusions and the voting
//! configuration exclusions, resumes replica allocation paused for a data node's restart, and
//! (through the adapter's observations) reports cluster health. Thin I/O around the pure
//! decisions in [`crate::exclusions`], [`crate::allocation`] and [`crate::voting`].

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::ListParams;
use kube::runtime::{WatchStreamExt, watcher};
use navigator_api::pilot_contract::ELASTICSEARCH_CLUSTER_NAME_LABEL;
use navigator_api::v1beta1::Pilot;
use navigator_client::leader::{Attempt, Elector};
use navigator_pilot::RequestedState;
use tokio::sync::watch;

use crate::allocation::{self, PauseClock, Resume};
use crate::exclusions;
use crate::flavor::Dialect;
use crate::replies::{self, EXCLUDE_NAME};
use crate::rest::{RestClient, RestError};
use crate::voting::{self, VotingAction};
use crate::wake;

/// What went wrong in one round of the leader's work.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The Kubernetes API failed.
    #[error("listing the cluster's Pilots: {0}")]
    Pilots(#[from] kube::Error),
    /// The database's REST API failed.
    #[error(transparent)]
    Rest(#[from] RestError),
}

/// Settings of the leader loop.
#[derive(Clone, Debug)]
pub struct LeaderConfig {
    /// The Lease's name.
    pub lease_name: String,
    /// This candidate's identity (the pod name).
    pub identity: String,
    /// The namespace of the Lease and the Pilots.
    pub namespace: String,
    /// The cluster label's value.
    pub cluster: String,
    /// The Lease's duration.
    pub lease_duration: Duration,
    /// How often the election runs (renewing the Lease while leading), each followed by a
    /// round: the fallback to the watch's wake-ups.
    pub interval: Duration,
    /// A kubeconfig (else inferred).
    pub kubeconfig: Option<PathBuf>,
    /// The dialect (voting exclusions or not).
    pub dialect: Dialect,
    /// How long replica allocation may stay paused for a restart (`primaries`) before the
    /// leader resumes it even though an expected node has not come back.
    pub allocation_pause_timeout: Duration,
}

/// What the leader remembers between rounds.
#[derive(Clone, Debug, Default)]
pub struct LeaderState {
    /// Since when it has seen replica allocation paused.
    pub pause: PauseClock,
    /// The last "waiting for" message about the pause (logged when it changes).
    last_wait: String,
}

/// What the leader loop shares with the adapter.
#[derive(Clone)]
pub struct Flags {
    /// Whether this pilot leads (the adapter then reports cluster health). Written here.
    pub leading: Arc<AtomicBool>,
    /// Whether the local node has joined a cluster. Written by the adapter's observations:
    /// only a pilot whose node is in the cluster competes for the Lease.
    pub ready: Arc<AtomicBool>,
    /// The elector, once built (the adapter releases the Lease at shutdown).
    pub elector: Arc<Mutex<Option<Elector>>>,
    /// Set by the adapter when the pilot stops: it no longer competes or reconciles.
    pub stopping: Arc<AtomicBool>,
}

/// How long a wake-up waits for more changes before its round runs (a burst of Pilot events,
/// e.g. a scale-in writing several Pilots, is one round).
pub const WAKE_DEBOUNCE: Duration = Duration::from_millis(50);

/// Runs forever: while the local node is in a cluster, competes for the Lease every interval,
/// and while leading reconciles the exclusions after every election round (the periodic
/// fallback) and as soon as a watch of the cluster's Pilots sees a change the round reads
/// ([`crate::wake`]). The three run side by side: a wake-up neither writes the Lease nor
/// delays its renewal, and a slow round does not delay the renewal either.
pub async fn run(config: LeaderConfig, rest: RestClient, flags: Flags) {
    let Flags {
        leading,
        ready,
        elector: shared_elector,
        stopping,
    } = flags;
    let client = loop {
        match navigator_client::client(config.kubeconfig.as_deref()).await {
            Ok(c) => break c,
            Err(e) => {
                tracing::warn!(error = %e, "leader election: no API client yet");
                tokio::time::sleep(config.interval).await;
            }
        }
    };
    let elector = Elector::new(
        Api::<Lease>::namespaced(client.clone(), &config.namespace),
        config.lease_name.clone(),
        config.identity.clone(),
        config.lease_duration,
        config.interval.max(Duration::from_secs(1)),
    );
    *shared_elector
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(elector.clone());
    let pilots = Api::<Pilot>::namespaced(client, &config.namespace);
    let (wake, woken) = watch::channel(());
    tokio::join!(
        elect(&config, &elector, &ready, &leading, &stopping, &wake),
        watch_pilots(&pilots, &config.cluster, &wake),
        rounds(&config, &pilots, &rest, &leading, &stopping, woken),
    );
}

/// The election, every interval: competes for the Lease while the local node is in a
/// cluster, records the outcome in `leading`, then wakes the rounds (the periodic round).
async fn elect(
    config: &LeaderConfig,
    elector: &Elector,
    ready: &AtomicBool,
    leading: &AtomicBool,
    stopping: &AtomicBool,
    wake: &watch::Sender<()>,
) {
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_election_error = String::new();
    loop {
        tick.tick().await;
        if stopping.load(Ordering::SeqCst) {
            // The adapter's shutdown releases the Lease; never take it again.
            leading.store(false, Ordering::SeqCst);
            continue;
        }
        let now_leading = if !ready.load(Ordering::SeqCst) {
            // Not in a cluster: let the Lease expire (or stay with another pilot).
            false
        } else {
            match elector.attempt().await {
                Ok(Attempt::Leading) => {
                    last_election_error.clear();
                    true
                }
                Ok(Attempt::Following(_)) => {
                    last_election_error.clear();
                    false
                }
                Err(e) => {
                    let text = e.to_string();
                    if text != last_election_error {
                        tracing::warn!(error = %text, "leader election (logged again when the error changes)");
                        last_election_error = text;
                    }
                    false
                }
            }
        };
        if leading.swap(now_leading, Ordering::SeqCst) != now_leading {
            tracing::info!(lease = %config.lease_name, leading = now_leading, "leadership changed");
        }
        wake.send_replace(());
    }
}

/// Watches the Pilots labelled with `cluster` in `pilots`' namespace and wakes the rounds when
/// one changes what a round reads, or appears or goes ([`wake::Seen`]). Runs in every pilot
/// (a follower's wake-ups find it not leading and do nothing; a new leader has the watch
/// warm). A failing watch is logged (again when the error changes) and retried with the
/// watcher's backoff; meanwhile the periodic round stands in.
pub async fn watch_pilots(pilots: &Api<Pilot>, cluster: &str, wake: &watch::Sender<()>) {
    let selector = format!("{ELASTICSEARCH_CLUSTER_NAME_LABEL}={cluster}");
    let stream =
        watcher(pilots.clone(), watcher::Config::default().labels(&selector)).default_backoff();
    let mut stream = std::pin::pin!(stream);
    let mut seen = wake::Seen::default();
    let mut last_error = String::new();
    while let Some(item) = stream.next().await {
        let event = match item {
            Ok(event) => {
                last_error.clear();
                event
            }
            Err(e) => {
                let text = e.to_string();
                if text != last_error {
                    tracing::warn!(error = %text, "leader: watching the cluster's Pilots (the periodic round stands in; logged again when the error changes)");
                    last_error = text;
                }
                continue;
            }
        };
        let read = |p: &Pilot| wake::Read {
            requested_state: p.spec.requested_state.clone(),
            ready: allocation::pilot_ready(p),
        };
        let name = |p: &Pilot| p.metadata.name.clone().unwrap_or_default();
        let change = match event {
            watcher::Event::Apply(p) => wake::Change::Applied(name(&p), read(&p)),
            watcher::Event::Delete(p) => wake::Change::Deleted(name(&p)),
            watcher::Event::Init => wake::Change::ListStarted,
            watcher::Event::InitApply(p) => wake::Change::Listed(name(&p), read(&p)),
            watcher::Event::InitDone => wake::Change::ListDone,
        };
        if seen.observe(change) {
            wake.send_replace(());
        }
    }
}

/// The leader's rounds: one per wake-up (from the election every interval, or from the
/// watch), each after [`WAKE_DEBOUNCE`] so that a burst is one round; wake-ups during a round
/// give one more round after it. Only while `leading` and not `stopping`; the state is reset
/// when a wake-up finds it not leading. Never touches the Lease.
pub async fn rounds(
    config: &LeaderConfig,
    pilots: &Api<Pilot>,
    rest: &RestClient,
    leading: &AtomicBool,
    stopping: &AtomicBool,
    mut woken: watch::Receiver<()>,
) {
    let mut last_error = String::new();
    let mut state = LeaderState::default();
    while woken.changed().await.is_ok() {
        tokio::time::sleep(WAKE_DEBOUNCE).await;
        woken.mark_unchanged();
        if stopping.load(Ordering::SeqCst) || !leading.load(Ordering::SeqCst) {
            state = LeaderState::default();
            continue;
        }
        match reconcile(config, pilots, rest, &mut state).await {
            Ok(()) => last_error.clear(),
            Err(e) => {
                let text = e.to_string();
                if text != last_error {
                    tracing::warn!(error = %text, "leader: reconciling the exclusions");
                    last_error = text;
                }
            }
        }
    }
}

/// One round: the allocation exclusion, replica allocation paused for a restart, then the
/// voting configuration exclusions.
pub async fn reconcile(
    config: &LeaderConfig,
    pilots: &Api<Pilot>,
    rest: &RestClient,
    state: &mut LeaderState,
) -> Result<(), LeaderError> {
    // The settings before the Pilots: a stopping pilot has its status say `Ready=False`
    // before it pauses allocation, so a pause seen here comes with that status below.
    let settings = rest.get(replies::SETTINGS).await?;
    let selector = format!("{ELASTICSEARCH_CLUSTER_NAME_LABEL}={}", config.cluster);
    let list = pilots
        .list(&ListParams::default().labels(&selector))
        .await?;
    let requests: Vec<(String, Option<String>, bool)> = list
        .items
        .iter()
        .filter_map(|p| {
            Some((
                p.metadata.name.clone()?,
                p.spec.requested_state.clone(),
                allocation::pilot_ready(p),
            ))
        })
        .collect();
    let desired = exclusions::desired(requests.iter().map(|(n, r, _)| (n.as_str(), r.as_deref())));
    let current = replies::setting(&settings, EXCLUDE_NAME);
    if let Some(body) = exclusions::change(&current, &desired) {
        tracing::info!(from = ?current.effective(), to = ?desired, "leader: setting {EXCLUDE_NAME}");
        rest.put(replies::PUT_SETTINGS, &body).await?;
    }

    let enable = replies::setting(&settings, allocation::ENABLE);
    let paused_for = state
        .pause
        .observe(allocation::paused(&enable), Instant::now());
    let mut nodes = None;
    if allocation::paused(&enable) {
        let in_cluster = replies::nodes(&rest.get(replies::NODES).await?);
        let names: BTreeSet<String> = in_cluster.iter().map(|n| n.name.clone()).collect();
        let members = allocation::members(
            requests
                .iter()
                .map(|(n, r, ready)| (n.as_str(), r.as_deref(), *ready)),
        );
        let bound = config.allocation_pause_timeout;
        match allocation::decide(&enable, &members, &names, paused_for, bound) {
            Resume::NotPaused => {}
            Resume::Wait(missing) => {
                let text = missing
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                if text != state.last_wait {
                    tracing::info!(
                        waiting_for = %text,
                        paused_for = ?paused_for,
                        "leader: replica allocation paused ({} = {}) until every node is back",
                        allocation::ENABLE,
                        allocation::PAUSED
                    );
                    state.last_wait = text;
                }
            }
            Resume::AllJoined => {
                tracing::info!(
                    paused_for = ?paused_for,
                    "leader: every node is back in the cluster: resuming replica allocation ({} = null)",
                    allocation::ENABLE
                );
                rest.put(replies::PUT_SETTINGS, &allocation::resume_body())
                    .await?;
                state.pause.reset();
                state.last_wait.clear();
            }
            Resume::TimedOut(missing) => {
                tracing::warn!(
                    missing = ?missing.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    ?bound,
                    "leader: replica allocation paused for longer than the bound: resuming it ({} = null) without these nodes",
                    allocation::ENABLE
                );
                rest.put(replies::PUT_SETTINGS, &allocation::resume_body())
                    .await?;
                state.pause.reset();
                state.last_wait.clear();
            }
        }
        nodes = Some(in_cluster);
    } else {
        state.last_wait.clear();
    }

    if !config.dialect.has_voting_exclusions() {
        return Ok(());
    }
    let decommissioning: BTreeSet<String> = requests
        .iter()
        .filter(|(_, r, _)| {
            r.as_deref().and_then(|r| r.parse().ok()) == Some(RequestedState::Decommissioned)
        })
        .map(|(n, _, _)| n.clone())
        .collect();
    let nodes = match nodes {
        Some(n) => n,
        None => replies::nodes(&rest.get(replies::NODES).await?),
    };
    let want = voting::desired(&decommissioning, &nodes);
    let current = replies::voting_exclusions(&rest.get(replies::VOTING_EXCLUSIONS).await?);
    let long = rest.with_timeout(Duration::from_secs(40));
    let names_in_path = config.dialect.voting_names_in_path();
    match voting::action(&current, &want) {
        VotingAction::Nothing => {}
        VotingAction::Add(names) => {
            tracing::info!(?names, "leader: adding voting configuration exclusions");
            long.post(
                &replies::add_voting_exclusions_path(&names, names_in_path),
                None,
            )
            .await?;
        }
        VotingAction::ClearThenAdd(names) => {
            tracing::info!(
                current = ?current.iter().map(|e| &e.node_name).collect::<Vec<_>>(),
                keep = ?names,
                "leader: clearing the voting configuration exclusions"
            );
            long.delete(replies::CLEAR_VOTING_EXCLUSIONS).await?;
            if !names.is_empty() {
                long.post(
                    &replies::add_voting_exclusions_path(&names, names_in_path),
                    None,
                )
                .await?;
            }
        }
    }
    Ok(())
}
