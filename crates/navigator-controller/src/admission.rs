//! Fair admission of reconciles: at most N run at once, the others wait their turn in the
//! order they became due.
//!
//! kube-rs' `Controller` can limit concurrent reconciles itself (`Config::concurrency`), but
//! while the limit is reached it parks due requests in a hash set and, whenever a slot frees,
//! takes the *first takeable one in the set's iteration order* (kube-runtime 5,
//! `Scheduler::poll_pop_queue_message`). Under sustained overload the set never empties, so a
//! request whose hash sorts late waits as long as the overload lasts: in a 1,000-cluster burst
//! (docs/benchmarks.md, RSS third round, run G) 81 clusters were not reconciled at all for
//! ≈ 5 minutes while the other 911 were re-planned every 5 s. `tests/fairness.rs` shows both
//! behaviours.
//!
//! So the controller lets kube-rs start every due request at once (concurrency 0: a small task
//! each) and every reconcile waits here first: tokio's semaphore is fair (permits are handed
//! out in request order), and the reconcile's own (large) future is only allocated once it
//! holds a permit.

use std::future::Future;

use tokio::sync::Semaphore;

/// The controller is stopping: a waiting reconcile was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    /// [`Admission::close`] was called.
    #[error("the controller is stopping: the reconcile was not started")]
    Closed,
}

/// A first-come, first-served limit on concurrent work.
#[derive(Debug)]
pub struct Admission {
    permits: Semaphore,
}

impl Admission {
    /// At most `limit` (at least 1) pieces of work at once.
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Semaphore::new(limit.max(1)),
        }
    }

    /// Waits for a turn (in arrival order), then runs the future `work` makes, boxed: a
    /// waiting caller holds only `work` itself.
    ///
    /// # Errors
    /// [`AdmissionError::Closed`] when [`Admission::close`] was called before the turn came.
    pub async fn run<F, Fut>(&self, work: F) -> Result<Fut::Output, AdmissionError>
    where
        F: FnOnce() -> Fut,
        Fut: Future,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| AdmissionError::Closed)?;
        Ok(Box::pin(work()).await)
    }

    /// Admits nothing more: every waiting and later [`Admission::run`] returns
    /// [`AdmissionError::Closed`] (work already running goes on).
    pub fn close(&self) {
        self.permits.close();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn admits_in_arrival_order_and_at_most_the_limit() {
        let admission = Arc::new(Admission::new(1));
        let order = Arc::new(Mutex::new(Vec::new()));
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (a, o, r) = (admission.clone(), order.clone(), running.clone());
            tasks.push(tokio::spawn(async move {
                a.run(|| async move {
                    let now = r.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    assert_eq!(now, 0, "two at once");
                    o.lock().unwrap().push(i);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    r.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                })
                .await
            }));
            // Each task queues before the next is spawned.
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn close_turns_away_the_waiting() {
        let admission = Arc::new(Admission::new(1));
        let (hold_tx, hold_rx) = tokio::sync::oneshot::channel::<()>();
        let a = admission.clone();
        let first = tokio::spawn(async move {
            a.run(|| async move {
                let _ = hold_rx.await;
                "ran"
            })
            .await
        });
        tokio::task::yield_now().await;
        let a = admission.clone();
        let second = tokio::spawn(async move { a.run(|| async { "ran" }).await });
        tokio::task::yield_now().await;
        admission.close();
        assert_eq!(second.await.unwrap(), Err(AdmissionError::Closed));
        let _ = hold_tx.send(());
        assert_eq!(first.await.unwrap(), Ok("ran"), "running work goes on");
        assert_eq!(
            admission.run(|| async { "ran" }).await,
            Err(AdmissionError::Closed)
        );
    }
}
