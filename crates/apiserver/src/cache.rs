//! A small time-to-live cache for webhook answers (Go's `util/cache.LRUExpireCache` as used by
//! the cached token authenticator and the webhook authorizer): entries expire after the TTL
//! they were stored with; when full, expired entries are dropped first, then the oldest.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A bounded map whose entries expire.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// An empty cache holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The value under `key`, if stored and not yet expired at `now`.
    pub fn get_at(&self, key: &K, now: Instant) -> Option<V> {
        let mut map = match self.entries.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        match map.get(key) {
            Some((expires, v)) if *expires > now => Some(v.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    /// [`TtlCache::get_at`] now.
    pub fn get(&self, key: &K) -> Option<V> {
        self.get_at(key, Instant::now())
    }

    /// Stores `value` until `now + ttl`; a zero TTL stores nothing.
    pub fn insert_at(&self, key: K, value: V, ttl: Duration, now: Instant) {
        if ttl.is_zero() {
            return;
        }
        let mut map = match self.entries.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        if map.len() >= self.capacity && !map.contains_key(&key) {
            map.retain(|_, (expires, _)| *expires > now);
            if map.len() >= self.capacity
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, (expires, _))| *expires)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(key, (now + ttl, value));
    }

    /// [`TtlCache::insert_at`] now.
    pub fn insert(&self, key: K, value: V, ttl: Duration) {
        self.insert_at(key, value, ttl, Instant::now());
    }

    /// Number of entries held (expired ones included until they are dropped).
    pub fn len(&self) -> usize {
        match self.entries.lock() {
            Ok(m) => m.len(),
            Err(p) => p.into_inner().len(),
        }
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_capacity_is_kept() {
        let c = TtlCache::new(2);
        let t0 = Instant::now();
        c.insert_at("a", 1, Duration::from_secs(10), t0);
        assert_eq!(c.get_at(&"a", t0 + Duration::from_secs(9)), Some(1));
        assert_eq!(c.get_at(&"a", t0 + Duration::from_secs(10)), None);
        assert!(c.is_empty());

        c.insert_at("a", 1, Duration::from_secs(5), t0);
        c.insert_at("b", 2, Duration::from_secs(10), t0);
        c.insert_at("c", 3, Duration::from_secs(10), t0);
        assert_eq!(c.len(), 2);
        // The entry closest to expiry made room.
        assert_eq!(c.get_at(&"a", t0), None);
        assert_eq!(c.get_at(&"c", t0), Some(3));

        c.insert_at("z", 9, Duration::ZERO, t0);
        assert_eq!(c.get_at(&"z", t0), None);
    }
}
