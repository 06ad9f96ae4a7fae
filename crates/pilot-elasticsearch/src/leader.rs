//! The leader among a cluster's pilots (Lease `es-<cluster>-pilot-leader`, through
//! `navigator_client::leader`): it owns the allocation exclusions and the voting
//! configuration exclusions, and (through the adapter's observations) reports cluster health.
//! Thin I/O around the pure decisions in [`crate::exclusions`] and [`crate::voting`].

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::ListParams;
use navigator_api::pilot_contract::ELASTICSEARCH_CLUSTER_NAME_LABEL;
use navigator_api::v1beta1::Pilot;
use navigator_client::leader::{Attempt, Elector};
use navigator_pilot::RequestedState;

use crate::exclusions;
use crate::flavor::Dialect;
use crate::replies::{self, EXCLUDE_NAME};
use crate::rest::{RestClient, RestError};
use crate::voting::{self, VotingAction};

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
    /// How often to run a round.
    pub interval: Duration,
    /// A kubeconfig (else inferred).
    pub kubeconfig: Option<PathBuf>,
    /// The dialect (voting exclusions or not).
    pub dialect: Dialect,
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
}

/// Runs forever: while the local node is in a cluster, competes for the Lease, and while
/// leading reconciles the exclusions every interval.
pub async fn run(config: LeaderConfig, rest: RestClient, flags: Flags) {
    let Flags {
        leading,
        ready,
        elector: shared_elector,
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
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_error = String::new();
    let mut last_election_error = String::new();
    loop {
        tick.tick().await;
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
        if !now_leading {
            continue;
        }
        match reconcile(&config, &pilots, &rest).await {
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

/// One round: the allocation exclusion, then the voting configuration exclusions.
pub async fn reconcile(
    config: &LeaderConfig,
    pilots: &Api<Pilot>,
    rest: &RestClient,
) -> Result<(), LeaderError> {
    let selector = format!("{ELASTICSEARCH_CLUSTER_NAME_LABEL}={}", config.cluster);
    let list = pilots
        .list(&ListParams::default().labels(&selector))
        .await?;
    let requests: Vec<(String, Option<String>)> = list
        .items
        .iter()
        .filter_map(|p| Some((p.metadata.name.clone()?, p.spec.requested_state.clone())))
        .collect();
    let desired = exclusions::desired(requests.iter().map(|(n, r)| (n.as_str(), r.as_deref())));
    let settings = rest.get(replies::SETTINGS).await?;
    let current = replies::setting(&settings, EXCLUDE_NAME);
    if let Some(body) = exclusions::change(&current, &desired) {
        tracing::info!(from = ?current.effective(), to = ?desired, "leader: setting {EXCLUDE_NAME}");
        rest.put(replies::PUT_SETTINGS, &body).await?;
    }
    if !config.dialect.has_voting_exclusions() {
        return Ok(());
    }
    let decommissioning: BTreeSet<String> = requests
        .iter()
        .filter(|(_, r)| {
            r.as_deref().and_then(|r| r.parse().ok()) == Some(RequestedState::Decommissioned)
        })
        .map(|(n, _)| n.clone())
        .collect();
    let nodes = replies::nodes(&rest.get(replies::NODES).await?);
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
