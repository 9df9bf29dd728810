//! What each request loaded, so that its save writes only what it changed.
//!
//! tower-sessions hands `save` the record alone, and requests of one
//! session overlap: in tasks of their own (as hyper runs them), polled
//! together in one task (`tokio::join!` in an app's tests), or outside any
//! task. What ties a save to its own load, whichever task runs it, is the
//! map the load returned: tower-sessions keeps the record it loaded for the
//! whole request and changes its map in place (`insert`, `remove`, `clear`),
//! and every map carries a `RandomState` of its own, whose keys std draws
//! for each map. The hash of a fixed probe under the map's own hasher
//! therefore names the map: its *token*, the same in every clone of the
//! map and in no other map. `load` remembers what it read under the
//! session id and the token of the map it returns; `save` looks its load
//! up by the token of the map it is given. A map that no load of this
//! store returned (a record the app built itself, or one that went
//! through serialization) has a token nothing is remembered under, and
//! its save writes the whole row.
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
//!
//! The memo is bounded in bytes, counted as what an entry keeps resident
//! (its map slot, queue items and heap blocks). Loads whose request has saved are
//! evicted first, oldest first, and loads still waiting for their save
//! only when those are gone: a request loses its load to eviction only
//! when the loads not yet saved alone fill the budget.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::mem::size_of;
use std::sync::{Mutex, PoisonError};

use foldhash::quality::RandomState;
use time::OffsetDateTime;

use crate::session_data::SessionData;

/// The default bound of [`LoadedSessions`]: 8 MiB, about 25 000 loads of
/// one-key sessions, 19 000 of three keys: far more requests between load
/// and save than a server runs at once. The soak in `examples/bench` found
/// it costs about its own size in resident memory, flat once full.
pub(crate) const DEFAULT_BUDGET: usize = 8 << 20;

/// Each top-level key of a session, in order, with the hash of its value.
pub(crate) type ValueHashes = Vec<(Box<str>, u64)>;

/// What names the map a load returned; see the module's documentation.
pub(crate) type Token = u64;

/// What a map's own hasher hashes to give its token. Any fixed value
/// serves: the map's random keys make the hash.
const TOKEN_PROBE: u64 = 0x7365_7373_696f_6e73;

/// The token of `data`: the same for the map a load returned, for that
/// map changed in place, and for its clones.
pub(crate) fn token_of(data: &SessionData) -> Token {
    data.hasher().hash_one(TOKEN_PROBE)
}

/// A bounded memo of loads, evicting saved loads first, oldest first.
#[derive(Debug)]
pub(crate) struct LoadedSessions {
    memo: Mutex<Memo>,
    hasher: RandomState,
    budget: usize,
}

/// Whose load: the session, and the token of the map the load returned.
/// The id is kept as two halves: an `i128` aligns to 16 bytes, which
/// would pad the key from 24 bytes to 32 in every map slot and queue item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct LoadKey {
    id: [u64; 2],
    token: Token,
}

impl LoadKey {
    fn new(id: i128, token: Token) -> Self {
        let bits = id as u128;
        LoadKey {
            id: [(bits >> 64) as u64, bits as u64],
            token,
        }
    }
}

/// A place in an eviction queue: a load, with the generation its entry
/// had when it was queued; an item whose entry changed since is stale and
/// skipped.
type Queued = (LoadKey, u64);

#[derive(Debug, Default)]
struct Memo {
    /// foldhash, not SipHash (600 instructions a load): no client picks a
    /// key, as ids are of rows found and tokens hashes of random keys.
    entries: HashMap<LoadKey, Loaded, foldhash::fast::RandomState>,
    /// Loads whose request has not saved, oldest first.
    pending: VecDeque<Queued>,
    /// Loads whose request saved, by their last save, oldest first:
    /// evicted before any pending load.
    saved: VecDeque<Queued>,
    generation: u64,
    bytes: usize,
    /// How many entries the map holds without growing, tombstones aside.
    map_capacity: usize,
}

/// One load, as its save compares with it.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    generation: u64,
    /// The row's `expiry_date` as this request last read or wrote it.
    pub(crate) expiry: OffsetDateTime,
    /// The row's `created_at`, if it has one.
    pub(crate) created: Option<OffsetDateTime>,
    /// The values as this request last read or wrote them.
    pub(crate) values: ValueHashes,
}

impl Loaded {
    /// What the entry keeps resident: its map slot and control byte in a
    /// map kept at most half full (whose slots hashbrown fills to 7/8), the
    /// two queue items each load leaves (one pending, one saved) and the
    /// heap blocks of its key list and of each key. The budget bounds
    /// resident memory, not the sum of `size_of`.
    fn bytes(&self) -> usize {
        const SLOT: usize = (size_of::<(LoadKey, Loaded)>() + 1) * 16 / 7;
        SLOT + 2 * size_of::<Queued>()
            + heap_block(self.values.capacity() * size_of::<(Box<str>, u64)>())
            + self
                .values
                .iter()
                .map(|(key, _)| heap_block(key.len()))
                .sum::<usize>()
    }
}

/// What an allocation of `bytes` takes from the allocator: a word of
/// header, rounded up to 16 bytes, 32 at least, as glibc's malloc rounds
/// (other allocators round comparably). An empty one allocates nothing.
fn heap_block(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        (bytes + 8).next_multiple_of(16).max(32)
    }
}

impl Memo {
    fn remove(&mut self, key: &LoadKey) {
        if let Some(removed) = self.entries.remove(key) {
            self.bytes -= removed.bytes();
        }
    }

    fn is_current(&self, (key, generation): &Queued) -> bool {
        self.entries.get(key).map(|loaded| loaded.generation) == Some(*generation)
    }

    /// Drops saved loads, then pending ones, oldest first, until `bytes`
    /// more fit in `budget`.
    fn make_room(&mut self, bytes: usize, budget: usize) {
        while self.bytes + bytes > budget {
            let Some(queued) = self.saved.pop_front().or_else(|| self.pending.pop_front()) else {
                return;
            };
            if self.is_current(&queued) {
                self.remove(&queued.0);
            }
        }
    }

    /// Puts `loaded` in under `key`, in the queue of saved loads or of
    /// pending ones, within `budget`.
    fn insert(&mut self, key: LoadKey, mut loaded: Loaded, saved: bool, budget: usize) {
        self.remove(&key);
        let bytes = loaded.bytes();
        if bytes > budget {
            return;
        }
        self.make_room(bytes, budget);
        self.generation += 1;
        loaded.generation = self.generation;
        let queue = if saved {
            &mut self.saved
        } else {
            &mut self.pending
        };
        queue.push_back((key, loaded.generation));
        // Keep the map at most half full. A full memo removes and inserts
        // on every load, which leaves tombstones; hashbrown clears them by
        // rehashing in place only while the map is at most half full, and
        // otherwise doubles it, so a map more than half full would double
        // long after the budget filled, and resident memory with it.
        // `capacity` counts tombstones as taken, so the map's own size is
        // tracked apart: it only grows here.
        if 2 * (self.entries.len() + 1) > self.map_capacity {
            self.entries.reserve(self.entries.len() + 2);
            self.map_capacity = self.entries.capacity();
        }
        self.entries.insert(key, loaded);
        self.bytes += bytes;
        // Saved loads leave stale items in the pending queue, and saved
        // again in the saved one; drop them before they outnumber the
        // entries.
        if self.pending.len() + self.saved.len() > 2 * self.entries.len() + 64 {
            let Memo {
                entries,
                pending,
                saved,
                ..
            } = self;
            let current = |(key, generation): &Queued| {
                entries.get(key).map(|loaded| loaded.generation) == Some(*generation)
            };
            pending.retain(current);
            saved.retain(current);
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

    /// Each top-level key of `data`, sorted, with the hash of its value.
    pub(crate) fn hash_values(&self, data: &SessionData) -> ValueHashes {
        // Sized to the keys: `collect` from a map's iterator would start at
        // four slots, and a memo entry keeps its list for its lifetime.
        let mut values = ValueHashes::with_capacity(data.len());
        values.extend(
            data.iter()
                .map(|(key, value)| (key.as_str().into(), self.hasher.hash_one(value))),
        );
        values.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        values
    }

    /// Remembers a load of session `id` that returned the map of `token`.
    /// A load that alone would not fit the budget is not remembered.
    pub(crate) fn remember(
        &self,
        id: i128,
        token: Token,
        values: ValueHashes,
        expiry: OffsetDateTime,
        created: Option<OffsetDateTime>,
    ) {
        let loaded = Loaded {
            generation: 0,
            expiry,
            created,
            values,
        };
        let mut memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
        memo.insert(LoadKey::new(id, token), loaded, false, self.budget);
    }

    /// The load of session `id` that returned the map of `token`, if it is
    /// still remembered.
    pub(crate) fn recall(&self, id: i128, token: Token) -> Option<Loaded> {
        let memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
        memo.entries.get(&LoadKey::new(id, token)).cloned()
    }

    /// Records what the save of the map of `token` wrote, so that a second
    /// save of the same map compares with it, and queues the load with the
    /// saved ones.
    pub(crate) fn wrote(
        &self,
        id: i128,
        token: Token,
        values: ValueHashes,
        expiry: OffsetDateTime,
    ) {
        let key = LoadKey::new(id, token);
        let mut memo = self.memo.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(created) = memo.entries.get(&key).map(|loaded| loaded.created) else {
            return;
        };
        let loaded = Loaded {
            generation: 0,
            expiry,
            created,
            values,
        };
        memo.insert(key, loaded, true, self.budget);
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

    /// Remembers a load of session `id` of `keys` keys, and returns its map.
    fn load(memo: &LoadedSessions, id: i128, keys: usize) -> SessionData {
        let data = session(keys);
        let values = memo.hash_values(&data);
        memo.remember(id, token_of(&data), values, OffsetDateTime::now_utc(), None);
        data
    }

    /// Records a save of `data` whose load is remembered.
    fn save(memo: &LoadedSessions, id: i128, data: &SessionData) {
        let values = memo.hash_values(data);
        memo.wrote(id, token_of(data), values, OffsetDateTime::now_utc());
    }

    #[test]
    fn a_map_keeps_its_token_through_changes_and_clones_and_no_other_map_has_it() {
        let mut data = session(3);
        let token = token_of(&data);
        data.insert("new".to_owned(), json!(1));
        data.remove("key0");
        data.clear();
        assert_eq!(token_of(&data), token);
        assert_eq!(token_of(&data.clone()), token);
        let others: std::collections::HashSet<Token> =
            (0..10_000).map(|_| token_of(&session(3))).collect();
        assert_eq!(others.len(), 10_000);
        assert!(!others.contains(&token));
        // On another thread, too.
        let elsewhere = std::thread::spawn(|| token_of(&session(3))).join().unwrap();
        assert!(!others.contains(&elsewhere) && elsewhere != token);
    }

    #[test]
    fn holds_to_its_budget_evicting_the_oldest() {
        let memo = LoadedSessions::new(64 << 10);
        let first = load(&memo, 0, 3);
        let mut last = first.clone();
        for id in 1..100_000 {
            last = load(&memo, id, 3);
        }
        assert!(memo.recall(0, token_of(&first)).is_none());
        assert!(memo.recall(99_999, token_of(&last)).is_some());
        let (entries, bytes) = memo.usage();
        assert!(bytes <= 64 << 10, "{bytes} bytes");
        assert!(entries > 100 && entries < 1_000, "{entries} entries");
    }

    #[test]
    fn saved_loads_are_evicted_before_pending_ones() {
        let memo = LoadedSessions::new(16 << 10);
        let waiting = load(&memo, 0, 3);
        // Many requests load and save while the first one waits.
        for id in 1..10_000 {
            let data = load(&memo, id, 3);
            save(&memo, id, &data);
        }
        assert!(memo.recall(0, token_of(&waiting)).is_some());
        // Requests that never save push it out in the end.
        for id in 10_000..20_000 {
            load(&memo, id, 3);
        }
        assert!(memo.recall(0, token_of(&waiting)).is_none());
        assert!(memo.usage().1 <= 16 << 10);
    }

    #[test]
    fn a_load_is_recalled_only_with_its_own_map() {
        let memo = LoadedSessions::new(DEFAULT_BUDGET);
        let first = load(&memo, 7, 2);
        let second = load(&memo, 7, 2);
        let (a, b) = (
            memo.recall(7, token_of(&first)),
            memo.recall(7, token_of(&second)),
        );
        assert!(a.is_some() && b.is_some());
        assert_ne!(token_of(&first), token_of(&second));
        assert!(memo.recall(8, token_of(&first)).is_none());
        assert!(memo.recall(7, token_of(&session(2))).is_none());
        // A save of a map the store never handed out remembers nothing.
        save(&memo, 7, &session(2));
        assert_eq!(memo.usage().0, 2);
    }

    #[test]
    fn saving_again_replaces_the_entry_and_keeps_the_queues_short() {
        let memo = LoadedSessions::new(DEFAULT_BUDGET);
        let data = load(&memo, 7, 2);
        for _ in 0..10_000 {
            save(&memo, 7, &data);
        }
        let memo_inside = memo.memo.lock().unwrap();
        let queued = memo_inside.pending.len() + memo_inside.saved.len();
        assert!(queued <= 66, "{queued} queued items");
        assert_eq!(memo_inside.entries.len(), 1);
    }

    #[test]
    fn a_full_memo_under_churn_never_grows_its_map() {
        let memo = LoadedSessions::new(1 << 20);
        // The map's size as tracked, and whether the map ever held more
        // than that, which it would only by growing on its own.
        let shape = |memo: &LoadedSessions| {
            let inside = memo.memo.lock().unwrap();
            assert!(inside.entries.capacity() <= inside.map_capacity);
            assert!(2 * inside.entries.len() <= inside.map_capacity);
            inside.map_capacity
        };
        let churn = |from: i128, requests: i128| {
            for id in from..from + requests {
                let data = load(&memo, id, 1);
                save(&memo, id, &data);
                shape(&memo);
            }
        };
        churn(0, 20_000);
        let full = shape(&memo);
        churn(20_000, 200_000);
        assert_eq!(shape(&memo), full);
        assert!(memo.usage().1 <= 1 << 20);
    }

    #[test]
    fn a_zero_budget_remembers_nothing() {
        let memo = LoadedSessions::new(0);
        load(&memo, 1, 1);
        assert_eq!(memo.usage(), (0, 0));
    }
}
