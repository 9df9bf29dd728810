//! One cached session, what it weighs, and how long the cache keeps it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use time::OffsetDateTime;

use crate::digest::SessionDigest;
use crate::session_data::SessionData;

/// A session as the table held it when this server last read or wrote it.
#[derive(Debug)]
pub(crate) struct CachedSession {
    /// The map, never handed out: every hit gets a copy of its own.
    pub(crate) data: SessionData,
    /// The row's `expiry_date`, which revalidation compares with the
    /// table's: every write moves it, so a difference means the row
    /// changed.
    pub(crate) expiry: OffsetDateTime,
    /// The row's `created_at`, when read from the table.
    pub(crate) created: Option<OffsetDateTime>,
    /// When the session ends: its expiry, or its absolute timeout if
    /// earlier.
    pub(crate) ends: OffsetDateTime,
    /// Whether a hit is remembered for the partial save of its map, as
    /// the load it came from was.
    pub(crate) trackable: bool,
    /// When the table last showed the row live with this expiry, on the
    /// store's [`Clock`]: the start of that statement.
    confirmed: AtomicU64,
    /// What the entry counts against the cache's capacity.
    pub(crate) weight: u32,
}

impl CachedSession {
    pub(crate) fn new(
        data: SessionData,
        expiry: OffsetDateTime,
        created: Option<OffsetDateTime>,
        ends: OffsetDateTime,
        trackable: bool,
        confirmed: u64,
    ) -> Self {
        let weight = u32::try_from(approximate_bytes(&data)).unwrap_or(u32::MAX);
        CachedSession {
            data,
            expiry,
            created,
            ends,
            trackable,
            confirmed: AtomicU64::new(confirmed),
            weight,
        }
    }

    /// Records that a statement that started at `at` found the row live
    /// with this entry's expiry.
    pub(crate) fn confirm(&self, at: u64) {
        self.confirmed.fetch_max(at, Ordering::Relaxed);
    }

    /// When the table last showed the row live.
    pub(crate) fn confirmed(&self) -> u64 {
        self.confirmed.load(Ordering::Relaxed)
    }

    /// Whether the stored expiry `expiry` is this entry's, to the
    /// microsecond every backend keeps.
    pub(crate) fn has_expiry(&self, expiry: OffsetDateTime) -> bool {
        let micros = |at: OffsetDateTime| at.unix_timestamp_nanos() / 1_000;
        micros(self.expiry) == micros(expiry)
    }
}

/// A fresh copy of `data`: a map of its own, whose hasher, and so whose
/// token in the store's memo of loads, no other request's map shares.
pub(crate) fn fresh_copy(data: &SessionData) -> SessionData {
    data.iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Microseconds on a monotonic clock that starts with the store: what
/// `confirmed` counts in, so that it fits an atomic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    epoch: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Clock {
            epoch: Instant::now(),
        }
    }

    pub(crate) fn now(self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

/// What one entry keeps resident besides its values: the entry, its
/// `Arc`, and moka's node and key.
const ENTRY_OVERHEAD: usize = 320;
/// A map slot or array item: a `String` key or nothing, a `Value`, and the
/// table's share.
const SLOT: usize = 64;

/// An estimate of the bytes `data` keeps resident, walking its values
/// without recursion.
pub(crate) fn approximate_bytes(data: &SessionData) -> usize {
    let mut bytes = ENTRY_OVERHEAD;
    let mut pending: Vec<&Value> = Vec::new();
    for (key, value) in data {
        bytes += SLOT + key.len();
        pending.push(value);
    }
    while let Some(value) = pending.pop() {
        match value {
            Value::String(text) => bytes += text.len(),
            Value::Array(items) => {
                bytes += SLOT * items.len();
                pending.extend(items);
            }
            Value::Object(members) => {
                for (key, member) in members {
                    bytes += SLOT + key.len();
                    pending.push(member);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    bytes
}

/// moka's expiry of an entry: when its session ends, and `max_age` after
/// it was cached at the latest.
pub(crate) struct Expiry {
    pub(crate) max_age: Duration,
}

impl Expiry {
    fn keep_for(&self, session: &CachedSession) -> Duration {
        let left = session.ends - OffsetDateTime::now_utc();
        Duration::try_from(left)
            .unwrap_or(Duration::ZERO)
            .min(self.max_age)
    }
}

impl moka::Expiry<SessionDigest, std::sync::Arc<CachedSession>> for Expiry {
    fn expire_after_create(
        &self,
        _: &SessionDigest,
        session: &std::sync::Arc<CachedSession>,
        _: Instant,
    ) -> Option<Duration> {
        Some(self.keep_for(session))
    }

    fn expire_after_update(
        &self,
        _: &SessionDigest,
        session: &std::sync::Arc<CachedSession>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.keep_for(session))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn data(value: Value) -> SessionData {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_weight_grows_with_keys_and_values() {
        let empty = approximate_bytes(&SessionData::new());
        let small = approximate_bytes(&data(json!({"theme": "dark"})));
        let nested = approximate_bytes(&data(json!({"theme": "dark", "cart": [1, {"sku": "x"}]})));
        let large = approximate_bytes(&data(json!({"blob": "x".repeat(65_536)})));
        assert_eq!(empty, ENTRY_OVERHEAD);
        assert!(empty < small && small < nested, "{empty} {small} {nested}");
        assert!(large > 65_536);
    }

    #[test]
    fn a_fresh_copy_is_equal_but_another_map() {
        let original = data(json!({"theme": "dark"}));
        let copy = fresh_copy(&original);
        assert_eq!(copy, original);
        let probe = |map: &SessionData| std::hash::BuildHasher::hash_one(map.hasher(), 1_u8);
        assert_ne!(probe(&copy), probe(&original));
        assert_eq!(probe(&original.clone()), probe(&original));
    }

    #[test]
    fn an_entry_is_kept_until_its_session_ends_or_max_age() {
        let now = OffsetDateTime::now_utc();
        let entry = |ends| CachedSession::new(SessionData::new(), ends, None, ends, true, 0);
        let expiry = Expiry {
            max_age: Duration::from_secs(60),
        };
        let soon = expiry.keep_for(&entry(now + time::Duration::seconds(10)));
        assert!(soon <= Duration::from_secs(10) && soon > Duration::from_secs(9));
        let later = expiry.keep_for(&entry(now + time::Duration::hours(1)));
        assert_eq!(later, Duration::from_secs(60));
        let past = expiry.keep_for(&entry(now - time::Duration::seconds(1)));
        assert_eq!(past, Duration::ZERO);
    }

    #[test]
    fn confirmations_only_move_forward() {
        let entry = CachedSession::new(
            SessionData::new(),
            OffsetDateTime::UNIX_EPOCH,
            None,
            OffsetDateTime::UNIX_EPOCH,
            true,
            10,
        );
        entry.confirm(5);
        assert_eq!(entry.confirmed(), 10);
        entry.confirm(20);
        assert_eq!(entry.confirmed(), 20);
    }
}
