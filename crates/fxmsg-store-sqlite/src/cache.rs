//! Write-through caches for what the send path reads on every request: tokens, apps, corps,
//! service accounts and each corp's employee directory. Only this process writes the database, and
//! every write invalidates what it changed after it commits, so a cache is never older than the
//! last committed write.
//!
//! A read that misses loads from the database and fills the cache, unless a write happened since
//! the read began (the generation moved): then the loaded value may predate that write, and is
//! dropped.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

/// A map whose fills lose to concurrent invalidations.
#[derive(Debug)]
pub struct CacheMap<K, V> {
    map: RwLock<HashMap<K, V>>,
    generation: AtomicU64,
}

impl<K, V> Default for CacheMap<K, V> {
    fn default() -> Self {
        CacheMap {
            map: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }
}

impl<K: Eq + Hash, V: Clone> CacheMap<K, V> {
    /// The cached value. Looked up by a borrowed key (`&str` for `String`), so a hit allocates
    /// nothing but the value's clone.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.map.read().expect("cache lock").get(key).cloned()
    }

    /// Read before loading from the database; pass to [`CacheMap::fill`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches a value loaded from the database, if no write happened since `generation`.
    pub fn fill(&self, generation: u64, key: K, value: V) {
        let mut map = self.map.write().expect("cache lock");
        if self.generation.load(Ordering::Acquire) == generation {
            map.insert(key, value);
        }
    }

    /// Forgets `key` after a committed write changed it.
    pub fn invalidate(&self, key: &K) {
        let mut map = self.map.write().expect("cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.remove(key);
    }

    /// Drops entries `keep` rejects.
    pub fn retain(&self, keep: impl Fn(&K, &V) -> bool) {
        let mut map = self.map.write().expect("cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.retain(|k, v| keep(k, v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fill_that_raced_with_a_write_is_dropped() {
        let cache: CacheMap<&str, u32> = CacheMap::default();
        let before = cache.generation();
        cache.invalidate(&"k"); // a write commits while the read is loading
        cache.fill(before, "k", 1);
        assert_eq!(cache.get(&"k"), None);
        let now = cache.generation();
        cache.fill(now, "k", 2);
        assert_eq!(cache.get(&"k"), Some(2));
        cache.retain(|_, v| *v != 2);
        assert_eq!(cache.get(&"k"), None);
    }
}
