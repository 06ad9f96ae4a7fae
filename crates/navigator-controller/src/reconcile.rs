//! One reconcile of one cluster: observe (from the caches), plan (pure, in navigator-core),
//! carry out exactly that action, write the status if it changed, publish events, and say
//! when to look again. Every log line of a reconcile carries the cluster's namespace and name.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::runtime::controller::Action as Requeue;
use kube::runtime::reflector::ObjectRef;
use navigator_api::v1beta1::Condition;
use navigator_core::observe::Observed;
use navigator_core::plan::{Action, WaitReason};
use tracing::Instrument as _;

use crate::admission::AdmissionError;
pub use crate::context::Context;
use crate::events::{self, Note};
use crate::execute::{ExecuteError, execute};
use crate::expectations::{self, Seen, caught_up};
use crate::kind::ClusterKind;
use crate::observe::{ClusterKey, observed};
use crate::status_writer::{self, StatusError};
use crate::stores::StoresError;

/// After an action: look again at once (the next plan waits for the caches to show the
/// write; a shared child applied twice is harmless). At 1 s, creating a cluster's children
/// (three passes: shared children, Pilot 0, StatefulSet) took 1.8–2.0 s.
pub const AFTER_ACTION: Duration = Duration::from_millis(100);
/// While waiting on pods or pilots: look again at least this often.
pub const WHILE_WAITING: Duration = Duration::from_secs(5);
/// When idle (or waiting on a spec change): look again at least this often.
pub const WHEN_IDLE: Duration = Duration::from_secs(300);
/// How often a reconcile looks again while a cache does not yet show the last write.
pub const CATCH_UP_POLL: Duration = Duration::from_millis(200);
/// How long a reconcile waits for the caches' first lists.
pub const CACHE_TIMEOUT: Duration = Duration::from_secs(30);

/// A reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The caches are not filled.
    #[error(transparent)]
    Stores(#[from] StoresError),
    /// The action's API call failed.
    #[error("carrying out {action}: {source}")]
    Execute {
        /// The kind of action.
        action: &'static str,
        /// The failed call.
        #[source]
        source: ExecuteError,
    },
    /// The status could not be written.
    #[error(transparent)]
    Status(#[from] StatusError),
}

impl ReconcileError {
    /// A short name for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ReconcileError::Stores(_) => "CachesNotReady",
            ReconcileError::Execute { .. } => "ActionFailed",
            ReconcileError::Status(_) => "StatusWriteFailed",
        }
    }
}

/// When to look at a cluster again after `action`. Idle clusters are looked at again when the
/// first fresh pilot report would go stale (so status and the planner see it as Unknown in
/// time), at the latest after [`WHEN_IDLE`]. Waits that only a spec change ends (pause, an
/// invalid spec) are woken by the cluster's watch.
pub fn requeue_after<C: ClusterKind>(
    action: &Action,
    observed: &Observed,
    now: Timestamp,
    settings: &C::Settings,
) -> Duration {
    match action {
        Action::Idle => C::recheck_after(observed, now, settings)
            .unwrap_or(WHEN_IDLE)
            .min(WHEN_IDLE),
        Action::Wait(w) => match w.reason {
            WaitReason::ClusterPaused | WaitReason::InvalidSpec => WHEN_IDLE,
            _ => WHILE_WAITING,
        },
        _ => AFTER_ACTION,
    }
}

/// The backoff after `failures` consecutive failures: 1 s doubling, at most 5 min.
pub fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(9);
    Duration::from_secs(1u64 << exp).min(Duration::from_secs(300))
}

fn progressing(conditions: &[Condition]) -> Option<(&str, &str)> {
    conditions
        .iter()
        .find(|c| c.type_ == "Progressing")
        .map(|c| (c.status.as_str(), c.reason.as_str()))
}

/// Whether the `Progressing` condition's status or reason changed (a new wait is worth an
/// event; a wait that goes on is not).
pub fn progressing_changed(old: &[Condition], new: &[Condition]) -> bool {
    progressing(old) != progressing(new)
}

/// Reconciles `cluster` (the kube-rs reconciler) once it is its turn ([`Context::admission`],
/// first come, first served), from the cache's copy of the cluster at that moment. A cluster
/// deleted meanwhile, or a shutdown before the turn came, ends it without doing anything.
pub async fn reconcile<C: ClusterKind>(
    cluster: Arc<C>,
    ctx: Arc<Context<C>>,
) -> Result<Requeue, ReconcileError> {
    let work_ctx = Arc::clone(&ctx);
    let admitted = ctx
        .admission
        .run(move || async move {
            // The request may have waited for its turn: plan on what the cache holds now.
            match work_ctx.clusters.get(&ObjectRef::from_obj(&*cluster)) {
                Some(current) => reconcile_now(current, work_ctx).await,
                None => Ok(Requeue::await_change()),
            }
        })
        .await;
    match admitted {
        Ok(result) => result,
        Err(AdmissionError::Closed) => Ok(Requeue::await_change()),
    }
}

/// Reconciles `cluster` now.
async fn reconcile_now<C: ClusterKind>(
    cluster: Arc<C>,
    ctx: Arc<Context<C>>,
) -> Result<Requeue, ReconcileError> {
    let key = key_of(&*cluster);
    let span = tracing::info_span!("reconcile", namespace = %key.namespace, cluster = %key.name);
    async move {
        let mut timer = ctx.metrics.reconcile_started();
        ctx.metrics.set_clusters(&C::kind(&()), ctx.clusters.len());
        let result = reconcile_inner(&*cluster, &key, &ctx).await;
        match &result {
            Ok((kind, _)) => {
                timer.set_result(kind);
                if let Ok(mut f) = ctx.failures.lock() {
                    f.remove(&key);
                }
            }
            Err(e) => {
                ctx.metrics.reconcile_error(e.kind());
                tracing::warn!(error = %e, "reconcile failed");
            }
        }
        result.map(|(_, requeue)| requeue)
    }
    .instrument(span)
    .await
}

/// The key of `cluster`: its kind's cluster-name label, namespace and name.
pub fn key_of<C: ClusterKind>(cluster: &C) -> ClusterKey {
    ClusterKey {
        label: C::CLUSTER_LABEL,
        namespace: cluster.meta().namespace.clone().unwrap_or_default(),
        name: cluster.meta().name.clone().unwrap_or_default(),
    }
}

async fn reconcile_inner<C: ClusterKind>(
    cluster: &C,
    key: &ClusterKey,
    ctx: &Context<C>,
) -> Result<(&'static str, Requeue), ReconcileError> {
    if cluster.meta().deletion_timestamp.is_some() {
        tracing::debug!("being deleted: its children go with it (owner references)");
        return Ok(("skipped", Requeue::await_change()));
    }
    ctx.stores.wait_until_ready(CACHE_TIMEOUT).await?;
    if !caches_caught_up(key, ctx) {
        return Ok(("skipped", Requeue::requeue(CATCH_UP_POLL)));
    }
    let observed: Observed = observed(key, &ctx.stores.snapshot_of(key));
    let now = Timestamp::now();
    let action = cluster.plan(&observed, now, &ctx.settings);
    let kind = events::action_kind(&action);
    let reference = cluster.object_ref(&());
    match &action {
        Action::Wait(w) => tracing::debug!(
            reason = w.reason.as_str(),
            object = %w.object,
            message = %w.message,
            "waiting"
        ),
        Action::Idle => tracing::debug!("idle"),
        _ => tracing::info!(action = kind, "acting"),
    }
    let written = execute(&ctx.client, &key.namespace, &action).await;
    if let Ok(Some(w)) = &written
        && let Ok(mut e) = ctx.expectations.lock()
    {
        e.insert(key.clone(), (w.clone(), Instant::now()));
    }
    if let Err(source) = written {
        let error = ReconcileError::Execute {
            action: kind,
            source,
        };
        ctx.events
            .publish(
                &reference,
                &Note {
                    warning: true,
                    reason: "ActionFailed",
                    message: error.to_string(),
                },
            )
            .await;
        return Err(error);
    }
    let result = match &action {
        Action::Idle => "idle",
        Action::Wait(_) => "wait",
        _ => "action",
    };
    if let Some(note) = events::for_action(&action, &observed) {
        ctx.metrics.action(kind);
        tracing::info!(reason = note.reason, "{}", note.message);
        ctx.events.publish(&reference, &note).await;
    }
    let desired = cluster.desired_status(&observed, &action, now, &ctx.settings);
    let api: Api<C> = Api::namespaced(ctx.client.clone(), &key.namespace);
    match status_writer::write(&api, cluster, &desired).await {
        Ok(true) => {
            ctx.metrics.status_written();
            tracing::debug!("status written");
            if let Action::Wait(w) = &action
                && progressing_changed(
                    C::conditions(cluster.current_status()),
                    C::conditions(&desired),
                )
            {
                let note = events::for_wait(w);
                tracing::info!(reason = note.reason, "{}", note.message);
                ctx.events.publish(&reference, &note).await;
            }
        }
        Ok(false) => {}
        Err(e) => {
            ctx.events
                .publish(
                    &reference,
                    &Note {
                        warning: true,
                        reason: "StatusWriteFailed",
                        message: e.to_string(),
                    },
                )
                .await;
            return Err(e.into());
        }
    }
    let after = requeue_after::<C>(&action, &observed, now, &ctx.settings);
    Ok((result, Requeue::requeue(after)))
}

/// Whether the caches show the cluster's last write (or waited long enough for it); forgets
/// the write once they do.
fn caches_caught_up<C: ClusterKind>(key: &ClusterKey, ctx: &Context<C>) -> bool {
    let Ok(mut expectations) = ctx.expectations.lock() else {
        return true;
    };
    // Writes for clusters that are gone (or never reconciled again) are forgotten.
    expectations.retain(|k, (_, since)| k == key || since.elapsed() < 6 * expectations::MAX_WAIT);
    let Some((written, since)) = expectations.get(key) else {
        return true;
    };
    let seen = ctx
        .stores
        .seen(written.kind(), &key.namespace, written.name());
    let seen = seen.as_ref().map(|(rv, deleting)| Seen {
        resource_version: rv,
        deleting: *deleting,
    });
    if caught_up(written, seen.as_ref()) {
        expectations.remove(key);
        return true;
    }
    if since.elapsed() >= expectations::MAX_WAIT {
        tracing::warn!(
            kind = ?written.kind(),
            name = written.name(),
            "the cache did not show the last write within {:?}; planning anyway",
            expectations::MAX_WAIT
        );
        expectations.remove(key);
        return true;
    }
    tracing::debug!(kind = ?written.kind(), name = written.name(), "waiting for the cache to show the last write");
    false
}

/// The kube-rs error policy: retry with a per-cluster exponential backoff.
pub fn error_policy<C: ClusterKind>(
    cluster: Arc<C>,
    _error: &ReconcileError,
    ctx: Arc<Context<C>>,
) -> Requeue {
    let key = key_of(&*cluster);
    let failures = match ctx.failures.lock() {
        Ok(mut f) => {
            let n = f.entry(key).or_insert(0);
            *n = n.saturating_add(1);
            *n
        }
        Err(_) => 1,
    };
    Requeue::requeue(backoff(failures))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::SignedDuration;
    use navigator_api::v1beta1::{CassandraCluster, CassandraClusterStatus, Pilot, PilotStatus};
    use navigator_core::cassandra::settings::Settings;
    use navigator_core::plan::Wait;

    use super::*;

    fn pilot(heartbeat: Option<Timestamp>) -> Pilot {
        Pilot {
            status: PilotStatus {
                last_heartbeat_time: heartbeat.map(Time),
                ..PilotStatus::default()
            },
            ..Pilot::default()
        }
    }

    fn wait(reason: WaitReason) -> Action {
        Action::Wait(Wait {
            reason,
            object: "x".into(),
            message: "m".into(),
        })
    }

    #[test]
    fn requeue_times() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let ago = |s: i64| Some(now - SignedDuration::from_secs(s));
        let settings = Settings::default(); // freshness 75 s
        let cases: Vec<(&str, Action, Vec<Pilot>, Duration)> = vec![
            ("idle, no pilots", Action::Idle, vec![], WHEN_IDLE),
            (
                "idle: when the oldest fresh report goes stale",
                Action::Idle,
                vec![pilot(ago(10)), pilot(ago(60)), pilot(None)],
                Duration::from_secs(16),
            ),
            (
                "idle: stale reports do not count",
                Action::Idle,
                vec![pilot(ago(100))],
                WHEN_IDLE,
            ),
            (
                "waiting on the ring",
                wait(WaitReason::WaitingForRing),
                vec![],
                WHILE_WAITING,
            ),
            ("paused", wait(WaitReason::ClusterPaused), vec![], WHEN_IDLE),
            (
                "invalid spec",
                wait(WaitReason::InvalidSpec),
                vec![],
                WHEN_IDLE,
            ),
            (
                "after an action",
                Action::DeletePilot { pilot: "p".into() },
                vec![],
                AFTER_ACTION,
            ),
        ];
        for (name, action, pilots, want) in cases {
            let observed = Observed {
                pilots,
                ..Observed::default()
            };
            assert_eq!(
                requeue_after::<CassandraCluster>(&action, &observed, now, &settings),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let got: Vec<u64> = [1, 2, 3, 4, 9, 10, 11, 100]
            .into_iter()
            .map(|n| backoff(n).as_secs())
            .collect();
        assert_eq!(got, vec![1, 2, 4, 8, 256, 300, 300, 300]);
        assert_eq!(backoff(0).as_secs(), 1);
    }

    fn with_progressing(status: &str, reason: &str) -> CassandraClusterStatus {
        CassandraClusterStatus {
            conditions: vec![Condition {
                type_: "Progressing".into(),
                status: status.into(),
                reason: reason.into(),
                message: format!("message {reason}"),
                ..Condition::default()
            }],
            ..CassandraClusterStatus::default()
        }
    }

    #[test]
    fn a_new_wait_is_a_progressing_change_and_a_longer_one_is_not() {
        let ring = with_progressing("True", "WaitingForRing");
        let mut ring_other_message = ring.clone();
        ring_other_message.conditions[0].message = "other".into();
        let c = |s: &CassandraClusterStatus| s.conditions.clone();
        assert!(!progressing_changed(&c(&ring), &c(&ring_other_message)));
        assert!(progressing_changed(
            &c(&ring),
            &c(&with_progressing("True", "WaitingForDecommission"))
        ));
        assert!(progressing_changed(
            &c(&CassandraClusterStatus::default()),
            &c(&ring)
        ));
        assert!(progressing_changed(
            &c(&ring),
            &c(&with_progressing("False", "WaitingForRing"))
        ));
    }
}
