//! Reflectors for the pod-network services ([`crate::dns`], [`crate::service_proxy`],
//! [`crate::provisioner`]): each keeps an in-memory copy of one kind, cluster-wide, and reports
//! "something changed" so the service can re-plan from the copies. Thin I/O; the planning is pure
//! in each service's own module.

use std::fmt::Debug;

use futures::stream::{BoxStream, SelectAll};
use futures::{FutureExt as _, StreamExt as _};
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;

/// A stream of change notifications from several reflectors; a watch error (the watcher retries
/// with backoff by itself) is reported as `Err` so the caller can log it.
pub type Changes = SelectAll<BoxStream<'static, Result<(), watcher::Error>>>;

/// Starts a cluster-wide reflector of `K` and adds its change notifications to `changes`.
/// The reflector runs as long as `changes` is polled.
pub fn reflect<K>(client: &Client, changes: &mut Changes) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store::<K>();
    let stream = watcher(Api::<K>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .map(|event| event.map(|_| ()))
        .boxed();
    changes.push(stream);
    reader
}

/// Waits for the next change, then takes every change already queued with it, so a burst of
/// events leads to one re-plan. `None` when every stream ended; watch errors are returned so
/// the caller can log them (the watchers keep retrying).
pub async fn next_batch(changes: &mut Changes) -> Option<Vec<watcher::Error>> {
    let mut errors = Vec::new();
    match changes.next().await? {
        Ok(()) => {}
        Err(e) => errors.push(e),
    }
    while let Some(Some(item)) = changes.next().now_or_never() {
        if let Err(e) = item {
            errors.push(e);
        }
    }
    Some(errors)
}

/// Whether every store has seen its initial list (so a plan made now is complete).
pub fn all_ready<'a>(stores: impl IntoIterator<Item = &'a dyn Ready>) -> bool {
    stores.into_iter().all(Ready::ready)
}

/// A store whose initial list may or may not have arrived yet.
pub trait Ready {
    /// Whether the initial list has been received.
    fn ready(&self) -> bool;
}

impl<K> Ready for Store<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    fn ready(&self) -> bool {
        matches!(self.wait_until_ready().now_or_never(), Some(Ok(())))
    }
}

/// A log line on standard error (the supervisor's log), prefixed with the service's name.
pub fn log(service: &str, msg: &str) {
    let now = time::OffsetDateTime::now_utc();
    eprintln!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z devenv {service}: {msg}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
}
