//! What each request loaded, so that its save writes only what it changed.
//!
//! tower-sessions hands `save` the whole record and nothing about the load
//! it came from, and requests of one session overlap. But it loads and
//! saves a request's session in the request's own task: hyper runs each
//! connection, and each HTTP/2 stream, as a task of its own. So `load`
//! remembers what it read under the tokio task and the session id, and
//! `save` finds its own request's load there, whatever other requests of
//! the session loaded or saved meanwhile. Outside a tokio task there is no
//! task to key on, and a save writes the whole row.
//!
//! What is remembered is a hash of each top-level value, not the value: an
//! entry's size depends on the number and length of the keys only. The
//! hashes are foldhash's quality variant with a seed drawn per process:
//! hashing every value of every load must cost far less than the load
//! itself. A changed value that hashes
//! like the loaded one goes unwritten; by chance that happens once in 2^64
//! compared values, and since the hash is not cryptographic, a user who
//! crafted such a value could at worst keep their own change from being
//! saved, as the values are theirs.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;

use foldhash::quality::RandomState;
use std::mem::size_of;
use std::sync::{Mutex, PoisonError};

use time::OffsetDateTime;
use tokio::task::Id as TaskId;

use crate::session_data::SessionData;

/// The default bound of [`LoadedSessions`]: 8 MiB, about 35 000 loads of
/// sessions with a few keys each.
pub(crate) const DEFAULT_BUDGET: usize = 8 << 20;

/// Each top-level key of a session, in order, with the hash of its value.
pub(crate) type ValueHashes = Vec<(Box<str>, u64)>;

/// A bounded memo of loads, oldest evicted first.
#[derive(Debug)]
pub(crate) struct LoadedSessions {
    memo: Mutex<Memo>,
    hasher: RandomState,
    budget: usize,
}

/// Whose load: the request's task and the session.
type LoadKey = (TaskId, i128);

#[derive(Debug, Default)]
struct Memo {
    entries: HashMap<LoadKey, Loaded>,
    /// Keys in the order they were remembered, each with the generation
    /// of its entry then; an item whose entry was remembered again since
    /// is stale and skipped.
    order: VecDeque<(LoadKey, u64)>,
    generation: u64,
    bytes: usize,
}

/// One load, as its save compares with it.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    generation: u64,
    /// The row's `expiry_date` as this request last read or wrote it.
    pub(crate) expiry: OffsetDateTime,
    /// The row's `created_at`, if it has one.
    pub(crate) created: Option<OffsetDateTime>,
    pub(crate) values: ValueHashes,
}

impl Loaded {
    /// What the entry costs: the entry, its map slot and order slot, and
    /// each key with its hash.
    fn bytes(&self) -> usize {
        size_of::<Loaded>()
            + size_of::<LoadKey>()
            + size_of::<(LoadKey, u64)>()
            + self
                .values
                .iter()
                .map(|(key, _)| size_of::<(Box<str>, u64)>() + key.len())
                .sum::<usize>()
    }
}

impl Memo {
    fn remove(&mut self, key: &LoadKey) {
        if let Some(removed) = self.entries.remove(key) {
            self.bytes -= removed.bytes();
        }
    }

    /// Drops the oldest entries until `bytes` more fit in `budget`.
    fn make_room(&mut self, bytes: usize, budget: usize) {
        while self.bytes + bytes > budget {
            let Some((key, generation)) = self.order.pop_front() else {
                return;
            };
            if self.entries.get(&key).map(|loaded| loaded.generation) == Some(generation) {
                self.remove(&key);
            }
        }
    }
}

impl LoadedSessions {
    /// A memo that holds at most about `budget` bytes; 0 remembers nothing,
    /// and every save then writes the whole row.
    pub(crate) fn new(budget: usize) -> Self {
        LoadedSessions {
            memo: Mutex::default(),
            hasher: RandomState::default(),
            budget,
        }
    }

    /// Each top-level key of `data` with the hash of its value, sorted by
    /// key.
    pub(crate) fn hash_values(&self, data: &SessionData) -> ValueHashes {
        let mut values: ValueHashes = data
            .iter()
            .map(|(key, value)| (key.as_str().into(), self.hasher.hash_one(value)))
            .collect();
        values.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        values
    }

    /// Remembers the current task's load of session `id`, in place of any
    /// earlier one. Outside a tokio task, or when one entry would not fit
    /// the budget, it remembers nothing.
    pub(crate) fn remember(
        &self,
        id: i128,
        values: ValueHashes,
        expiry: OffsetDateTime,
        created: Option<OffsetDateTime>,
    ) {
        let Some(task) = tokio::task::try_id() else {
            return;
        };
        let key = (task, id);
        let mut memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
        memo.remove(&key);
        memo.generation += 1;
        let loaded = Loaded {
            generation: memo.generation,
            expiry,
            created,
            values,
        };
        let bytes = loaded.bytes();
        if bytes > self.budget {
            return;
        }
        memo.make_room(bytes, self.budget);
        memo.order.push_back((key, loaded.generation));
        memo.entries.insert(key, loaded);
        memo.bytes += bytes;
        // Loads remembered again leave stale order items behind; drop
        // them before they outnumber the entries.
        if memo.order.len() > 2 * memo.entries.len() + 64 {
            let Memo { entries, order, .. } = &mut *memo;
            order.retain(|(key, generation)| {
                entries.get(key).map(|loaded| loaded.generation) == Some(*generation)
            });
        }
    }

    /// Forgets the current task's load of session `id`, if any: a later
    /// load of the same session by the same task that is not remembered
    /// must not leave an earlier one for its save to compare with.
    pub(crate) fn forget(&self, id: i128) {
        let Some(task) = tokio::task::try_id() else {
            return;
        };
        let mut memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
        memo.remove(&(task, id));
    }

    /// The current task's load of session `id`, if it is still remembered.
    pub(crate) fn recall(&self, id: i128) -> Option<Loaded> {
        let key = (tokio::task::try_id()?, id);
        let memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
        memo.entries.get(&key).cloned()
    }

    /// Records what the current task's save wrote, so that a second save
    /// of the same request compares with it.
    pub(crate) fn update(&self, id: i128, values: ValueHashes, expiry: OffsetDateTime) {
        let Some(task) = tokio::task::try_id() else {
            return;
        };
        let mut memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
        let Memo { entries, bytes, .. } = &mut *memo;
        if let Some(loaded) = entries.get_mut(&(task, id)) {
            *bytes -= loaded.bytes();
            loaded.values = values;
            loaded.expiry = expiry;
            *bytes += loaded.bytes();
        }
    }

    /// How many loads and bytes the memo holds now.
    pub(crate) fn usage(&self) -> (usize, usize) {
        let memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
        (memo.entries.len(), memo.bytes)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn session(keys: usize) -> SessionData {
        (0..keys)
            .map(|key| (format!("key{key}"), json!(key)))
            .collect()
    }

    #[tokio::test]
    async fn holds_to_its_budget_evicting_the_oldest() {
        let memo = std::sync::Arc::new(LoadedSessions::new(64 << 10));
        let remembering = std::sync::Arc::clone(&memo);
        tokio::spawn(async move {
            let now = OffsetDateTime::now_utc();
            for id in 0..100_000 {
                let values = remembering.hash_values(&session(3));
                remembering.remember(id, values, now, None);
            }
            assert!(remembering.recall(0).is_none());
            assert!(remembering.recall(99_999).is_some());
        })
        .await
        .unwrap();
        let (entries, bytes) = memo.usage();
        assert!(bytes <= 64 << 10, "{bytes} bytes");
        assert!(entries > 100 && entries < 1_000, "{entries} entries");
    }

    #[tokio::test]
    async fn a_load_is_recalled_only_by_its_own_task() {
        let memo = std::sync::Arc::new(LoadedSessions::new(DEFAULT_BUDGET));
        let own = std::sync::Arc::clone(&memo);
        tokio::spawn(async move {
            let values = own.hash_values(&session(2));
            own.remember(7, values, OffsetDateTime::now_utc(), None);
            assert!(own.recall(7).is_some());
            assert!(own.recall(8).is_none());
        })
        .await
        .unwrap();
        let other = std::sync::Arc::clone(&memo);
        tokio::spawn(async move { assert!(other.recall(7).is_none()) })
            .await
            .unwrap();
        // Outside a task there is nothing to key on.
        assert!(memo.recall(7).is_none());
    }

    #[tokio::test]
    async fn loading_again_replaces_the_entry_and_keeps_the_order_short() {
        let memo = std::sync::Arc::new(LoadedSessions::new(DEFAULT_BUDGET));
        let own = std::sync::Arc::clone(&memo);
        tokio::spawn(async move {
            for _ in 0..10_000 {
                let values = own.hash_values(&session(2));
                own.remember(7, values, OffsetDateTime::now_utc(), None);
            }
            let order = own.memo.lock().unwrap().order.len();
            assert!(order <= 66, "{order} order items");
        })
        .await
        .unwrap();
        assert_eq!(memo.usage().0, 1);
    }

    #[tokio::test]
    async fn a_zero_budget_remembers_nothing() {
        let memo = std::sync::Arc::new(LoadedSessions::new(0));
        let own = std::sync::Arc::clone(&memo);
        tokio::spawn(async move {
            let values = own.hash_values(&session(1));
            own.remember(1, values, OffsetDateTime::now_utc(), None);
        })
        .await
        .unwrap();
        assert_eq!(memo.usage(), (0, 0));
    }
}
