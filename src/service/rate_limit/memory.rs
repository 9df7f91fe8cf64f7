//! Counters in process memory, bounded: a flood of distinct addresses evicts the oldest keys
//! instead of growing the map. Sharded so concurrent requests rarely wait on one lock.

use crate::domain::rate_limit::{Counter, Rule, Step, decide};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

const SHARDS: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Entry {
    counter: Counter,
    /// Better Auth's `expiresAt`: the last allowed request plus the rule's window.
    expires_at: i64,
}

pub struct MemoryCounters {
    shards: Vec<Mutex<HashMap<String, Entry>>>,
    hasher: RandomState,
    per_shard: usize,
    /// Keys held in all shards, kept on insert and removal (only new keys pay for it).
    total: AtomicUsize,
}

impl MemoryCounters {
    /// At most `max_entries` keys in all (rounded up to a multiple of the shard count).
    pub fn new(max_entries: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            per_shard: max_entries.div_ceil(SHARDS).max(1),
            total: AtomicUsize::new(0),
        }
    }

    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        let i = (self.hasher.hash_one(key) as usize) % SHARDS;
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Better Auth's memory `consume`: an expired entry counts as none; only an allowed request
    /// writes.
    pub fn consume(&self, key: &str, rule: Rule, now_ms: i64) -> Step {
        let mut map = self.shard(key);
        let current = map
            .get(key)
            .filter(|e| now_ms < e.expires_at)
            .map(|e| e.counter);
        let step = decide(current, rule, now_ms);
        if let Step::Allow(counter) = step {
            let entry = Entry {
                counter,
                expires_at: now_ms + i64::from(rule.window) * 1000,
            };
            if let Some(e) = map.get_mut(key) {
                *e = entry;
            } else {
                let before = map.len();
                if before >= self.per_shard {
                    evict(&mut map, now_ms, self.per_shard);
                }
                map.insert(key.to_owned(), entry);
                self.resized(before, map.len());
            }
        }
        step
    }

    pub fn read(&self, key: &str, now_ms: i64) -> Option<Counter> {
        self.shard(key)
            .get(key)
            .filter(|e| now_ms < e.expires_at)
            .map(|e| e.counter)
    }

    pub fn delete(&self, key: &str) -> bool {
        let removed = self.shard(key).remove(key).is_some();
        if removed {
            self.resized(1, 0);
        }
        removed
    }

    fn resized(&self, before: usize, after: usize) {
        let total = if after >= before {
            self.total.fetch_add(after - before, Ordering::Relaxed) + (after - before)
        } else {
            self.total.fetch_sub(before - after, Ordering::Relaxed) - (before - after)
        };
        metrics::gauge!("sessionkeeper_rate_limit_memory_keys").set(total as f64);
    }

    /// Live keys starting with `prefix`, sorted, at most `limit`.
    pub fn list(&self, prefix: &str, now_ms: i64, limit: usize) -> Vec<(String, Counter)> {
        let mut out: Vec<(String, Counter)> = self
            .shards
            .iter()
            .flat_map(|s| {
                let map = s.lock().unwrap_or_else(|p| p.into_inner());
                map.iter()
                    .filter(|(k, e)| k.starts_with(prefix) && now_ms < e.expires_at)
                    .map(|(k, e)| (k.clone(), e.counter))
                    .collect::<Vec<_>>()
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.truncate(limit);
        out
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops expired entries; when that is not enough, the least recently allowed eighth, so a
/// flood pays for a sweep once per `cap / 8` new keys rather than on every one.
fn evict(map: &mut HashMap<String, Entry>, now_ms: i64, cap: usize) {
    map.retain(|_, e| now_ms < e.expires_at);
    if map.len() < cap {
        return;
    }
    let keep = cap - cap.div_ceil(8);
    let mut ages: Vec<i64> = map.values().map(|e| e.counter.last_request).collect();
    let cut = ages.len() - keep;
    let (_, threshold, _) = ages.select_nth_unstable(cut.saturating_sub(1));
    let threshold = *threshold;
    map.retain(|_, e| e.counter.last_request > threshold);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_within_its_bound_under_a_flood_of_keys() {
        let m = MemoryCounters::new(1600);
        let rule = Rule { window: 60, max: 5 };
        for i in 0..50_000 {
            m.consume(
                &format!("10.0.{}.{}|/get-session", i / 256, i % 256),
                rule,
                i,
            );
        }
        assert!(m.len() <= 1600, "{}", m.len());
        // The newest keys survive.
        assert!(m.read("10.0.195.79|/get-session", 50_000).is_some());
    }

    #[test]
    fn refusals_do_not_move_the_window() {
        let m = MemoryCounters::new(100);
        let rule = Rule { window: 10, max: 1 };
        assert!(matches!(m.consume("k", rule, 0), Step::Allow(_)));
        assert_eq!(m.consume("k", rule, 5_000), Step::Refuse { retry_after: 5 });
        assert!(matches!(m.consume("k", rule, 10_000), Step::Allow(_)));
    }
}
