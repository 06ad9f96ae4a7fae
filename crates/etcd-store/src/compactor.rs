//! Periodic compaction shared by every server using one etcd, as kube-apiserver does it
//! (`k8s.io/apiserver/pkg/storage/etcd3/compact.go`).
//!
//! All servers keep a logical clock in the key [`COMPACT_REV_KEY`] (its etcd `version`). Each
//! tick a server runs one transaction: *if the key's version is the time I last saw, put the
//! revision I saw at my previous tick (which bumps the version), else read the key*. Only the
//! server whose transaction succeeds compacts, to the revision it saw one interval earlier;
//! the others adopt the newer time and the revision of their transaction. So however many
//! servers (this one, more replicas, kube-apiserver itself on the same etcd) share etcd, it is
//! compacted about once per interval and keeps at least one interval of history — the window
//! a watch may lag behind before it gets 410 Gone.

use crate::keys::rev_to_u64;
use crate::store::EtcdStore;
use apimachinery::store::{Storage, StoreError};
use etcd_client::{Compare, CompareOp, Txn, TxnOp, TxnOpResponse};
use std::time::Duration;

/// The key kube-apiserver's compactor uses (outside any prefix, so all servers share it).
pub const COMPACT_REV_KEY: &str = "compact_rev_key";

/// A compactor's memory between ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactorState {
    /// The logical time: the version of [`COMPACT_REV_KEY`] last seen.
    pub time: i64,
    /// The etcd revision seen at the last tick: what the next successful tick compacts to.
    pub revision: u64,
}

/// What one tick's transaction returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickOutcome {
    /// Our transaction won (the key was at our time); etcd's revision after it.
    Won {
        /// The transaction's header revision.
        revision: u64,
    },
    /// Someone else ticked first; the key's version and etcd's revision now.
    Lost {
        /// The version of [`COMPACT_REV_KEY`].
        time: i64,
        /// The transaction's header revision.
        revision: u64,
    },
}

/// The state after a tick and the revision to compact to now, if any (never on the first win,
/// which only records a revision, as Go does "on bootstrap"). Pure.
pub fn next(state: CompactorState, outcome: TickOutcome) -> (CompactorState, Option<u64>) {
    match outcome {
        TickOutcome::Won { revision } => {
            let target = Some(state.revision).filter(|r| *r > 0);
            (
                CompactorState {
                    time: state.time + 1,
                    revision,
                },
                target,
            )
        }
        TickOutcome::Lost { time, revision } => (CompactorState { time, revision }, None),
    }
}

/// Errors of a compaction tick.
#[derive(Debug, thiserror::Error)]
pub enum CompactorError {
    /// The transaction or the compaction failed; the next tick tries again.
    #[error("etcd compaction: {0}")]
    Store(#[from] StoreError),
}

impl EtcdStore {
    /// One compactor tick (see the module documentation): returns the new state and the
    /// revision compacted to, if this tick compacted.
    ///
    /// # Errors
    /// [`CompactorError`] if etcd fails; the state to keep is then the one passed in.
    pub async fn compact_tick(
        &self,
        state: CompactorState,
    ) -> Result<(CompactorState, Option<u64>), CompactorError> {
        let txn = Txn::new()
            .when([Compare::version(
                COMPACT_REV_KEY,
                CompareOp::Equal,
                state.time,
            )])
            .and_then([TxnOp::put(
                COMPACT_REV_KEY,
                state.revision.to_string(),
                None,
            )])
            .or_else([TxnOp::get(COMPACT_REV_KEY, None)]);
        let resp = self
            .call("txn", |mut c| {
                let txn = txn.clone();
                async move { c.txn(txn).await }
            })
            .await
            .map_err(crate::store::StoreFailure::into_backend)?;
        let revision = resp.header().map_or(0, |h| rev_to_u64(h.revision()));
        let outcome = if resp.succeeded() {
            TickOutcome::Won { revision }
        } else {
            let kv = resp.op_responses().into_iter().find_map(|r| match r {
                TxnOpResponse::Get(g) => g.kvs().first().cloned(),
                _ => None,
            });
            if let Some(rev) = kv
                .as_ref()
                .and_then(|kv| std::str::from_utf8(kv.value()).ok())
                .and_then(|v| v.parse::<u64>().ok())
            {
                // Another server compacted (or is compacting) to this revision.
                self.observe_compacted(rev);
            }
            TickOutcome::Lost {
                time: kv.map_or(0, |kv| kv.version()),
                revision,
            }
        };
        let (new_state, target) = next(state, outcome);
        if let Some(target) = target {
            self.compact(target).await?;
        }
        Ok((new_state, target))
    }

    /// Runs [`Self::compact_tick`] every `interval` (kube-apiserver's
    /// `--etcd-compaction-interval`, 5 min by default) until the task is aborted. Use this
    /// instead of `apimachinery::store::spawn_compactor` for etcd, so servers sharing etcd
    /// compact once per interval between them.
    pub fn spawn_compactor(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut state = CompactorState::default();
            loop {
                tokio::time::sleep(interval).await;
                match store.compact_tick(state).await {
                    Ok((next_state, compacted)) => {
                        state = next_state;
                        if let Some(rev) = compacted {
                            tracing::info!(revision = rev, "etcd compacted");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "etcd compaction failed; retrying next interval")
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_follow_kube_apiservers_compactor() {
        let s0 = CompactorState::default();
        // First win: records the revision, compacts nothing (bootstrap).
        let (s1, c) = next(s0, TickOutcome::Won { revision: 10 });
        assert_eq!(
            (s1, c),
            (
                CompactorState {
                    time: 1,
                    revision: 10
                },
                None
            )
        );
        // Second win: compacts to what the first saw.
        let (s2, c) = next(s1, TickOutcome::Won { revision: 50 });
        assert_eq!(
            (s2, c),
            (
                CompactorState {
                    time: 2,
                    revision: 50
                },
                Some(10)
            )
        );
        // Another server ticked first: adopt its time, compact nothing.
        let (s3, c) = next(
            s2,
            TickOutcome::Lost {
                time: 3,
                revision: 70,
            },
        );
        assert_eq!(
            (s3, c),
            (
                CompactorState {
                    time: 3,
                    revision: 70
                },
                None
            )
        );
        // And the next win compacts to the revision seen when losing.
        let (s4, c) = next(s3, TickOutcome::Won { revision: 90 });
        assert_eq!(
            (s4, c),
            (
                CompactorState {
                    time: 4,
                    revision: 90
                },
                Some(70)
            )
        );
    }
}
