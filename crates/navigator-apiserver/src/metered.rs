//! A [`Storage`] decorator that records every storage request's latency in the server's
//! Prometheus metrics (`apiserver_storage_*`, by operation and resource).

use std::time::Instant;

use apimachinery::store::{
    KeyValue, ListPage, ListRequest, Preconditions, Storage, StoreError, Watch,
};
use apiserver::StorageMetrics;

/// A store whose requests are timed into [`StorageMetrics`].
pub struct MeteredStore<St> {
    inner: St,
    metrics: StorageMetrics,
    prefix: String,
}

impl<St> MeteredStore<St> {
    /// Wraps `inner`; keys under `prefix` are labelled with their resource segment.
    pub fn new(inner: St, metrics: StorageMetrics, prefix: impl Into<String>) -> Self {
        Self {
            inner,
            metrics,
            prefix: prefix.into(),
        }
    }

    fn observe(&self, operation: &str, key: &str, started: Instant) {
        self.metrics
            .observe(operation, resource_of(&self.prefix, key), started.elapsed());
    }
}

/// The resource segment of a key: `<prefix>/<resource>/…` → `<resource>`.
pub fn resource_of<'a>(prefix: &str, key: &'a str) -> &'a str {
    key.strip_prefix(prefix)
        .map(|rest| rest.trim_start_matches('/'))
        .and_then(|rest| rest.split('/').next())
        .filter(|r| !r.is_empty())
        .unwrap_or("unknown")
}

impl<St: Storage> Storage for MeteredStore<St> {
    async fn current_revision(&self) -> Result<u64, StoreError> {
        self.inner.current_revision().await
    }

    async fn compacted_revision(&self) -> Result<u64, StoreError> {
        self.inner.compacted_revision().await
    }

    async fn get(&self, key: &str, revision: Option<u64>) -> Result<Option<KeyValue>, StoreError> {
        let started = Instant::now();
        let out = self.inner.get(key, revision).await;
        self.observe("get", key, started);
        out
    }

    async fn list(&self, req: ListRequest) -> Result<ListPage, StoreError> {
        let started = Instant::now();
        let prefix = req.prefix.clone();
        let out = self.inner.list(req).await;
        self.observe("list", &prefix, started);
        out
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue, StoreError> {
        let started = Instant::now();
        let out = self.inner.create(key, value).await;
        self.observe("create", key, started);
        out
    }

    async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        preconditions: &Preconditions,
    ) -> Result<KeyValue, StoreError> {
        let started = Instant::now();
        let out = self.inner.update(key, value, preconditions).await;
        self.observe("update", key, started);
        out
    }

    async fn delete(
        &self,
        key: &str,
        preconditions: &Preconditions,
    ) -> Result<(KeyValue, u64), StoreError> {
        let started = Instant::now();
        let out = self.inner.delete(key, preconditions).await;
        self.observe("delete", key, started);
        out
    }

    async fn watch(&self, prefix: &str, after: u64) -> Result<Watch, StoreError> {
        self.inner.watch(prefix, after).await
    }

    async fn compact(&self, revision: u64) -> Result<(), StoreError> {
        self.inner.compact(revision).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_labelled_by_resource() {
        let p = "/registry/navigator.jetstack.io";
        assert_eq!(
            resource_of(p, "/registry/navigator.jetstack.io/pilots/ns/a"),
            "pilots"
        );
        assert_eq!(
            resource_of(p, "/registry/navigator.jetstack.io/cassandraclusters/"),
            "cassandraclusters"
        );
        assert_eq!(resource_of(p, "/elsewhere/x"), "unknown");
        assert_eq!(
            resource_of(p, "/registry/navigator.jetstack.io/"),
            "unknown"
        );
    }
}
