//! [`CachedStore`]: a [`DieselStore`] with the sessions it serves cached
//! in memory, and every cached session revalidated against the table
//! within a bound; the [caching](crate::guide::caching) chapter explains
//! the design.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use tokio_util::sync::CancellationToken;

use crate::backend::Backend;
use crate::digest::SessionDigest;
use crate::error::Error;
use crate::session_table::SessionTable;
use crate::store::DieselStore;

use self::entry::{CachedSession, Clock, Expiry};

mod entry;
mod operations;
mod revalidation;

/// The settings of a [`CachedStore`], with documented defaults.
///
/// ```
/// use std::time::Duration;
/// use session_runtime::CacheOptions;
///
/// let options = CacheOptions::default();
/// assert_eq!(options.max_staleness, Duration::from_secs(1));
/// assert_eq!(options.max_age, Duration::from_secs(60));
/// assert_eq!(options.max_capacity, 64 << 20);
/// assert_eq!(options.revalidation_batch, 1000);
///
/// let tighter = CacheOptions::default().with_max_staleness(Duration::from_millis(250));
/// assert_eq!(tighter.max_staleness, Duration::from_millis(250));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CacheOptions {
    /// The bound: no server serves a cached session more than this after
    /// the table last showed it live and unchanged. A session revoked,
    /// deleted, expired or saved elsewhere is served by this server for
    /// at most this long after it happened. The cache revalidates what it
    /// holds every half of it. 1 s by default; zero caches nothing.
    pub max_staleness: Duration,
    /// How long an entry is kept at most, revalidated or not, so that a
    /// save on another server that leaves the expiry as it was (with
    /// `Expiry::AtDateTime`) is seen this long after at the latest. 60 s
    /// by default.
    pub max_age: Duration,
    /// The most the cache holds, in bytes as estimated from each session's
    /// keys and values: moka evicts the entries least likely to be used
    /// again beyond it. 64 MiB by default, some 150 000 sessions of a few
    /// keys.
    pub max_capacity: u64,
    /// The most ids one revalidation statement names (0 counts as 1).
    /// 1000 by default: a short statement on every backend, well below
    /// their limits on bound parameters.
    pub revalidation_batch: usize,
}

impl CacheOptions {
    crate::setters::setters! {
        with_max_staleness => max_staleness: Duration,
        with_max_age => max_age: Duration,
        with_max_capacity => max_capacity: u64,
        with_revalidation_batch => revalidation_batch: usize,
    }
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            max_staleness: Duration::from_secs(1),
            max_age: Duration::from_secs(60),
            max_capacity: 64 << 20,
            revalidation_batch: 1000,
        }
    }
}

/// What a [`CachedStore`] has done so far.
///
/// ```
/// use session_runtime::CacheStats;
///
/// let stats = CacheStats::default();
/// assert_eq!(stats.hits, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Loads served from the cache.
    pub hits: u64,
    /// Loads that read the table.
    pub misses: u64,
    /// Revalidation rounds that ran to the end.
    pub rounds: u64,
    /// Entries revalidation evicted: gone from the table, ended, or
    /// changed by another server.
    pub evicted: u64,
    /// Revalidation statements that failed.
    pub failures: u64,
    /// Entries the cache holds now.
    pub entries: u64,
    /// Their estimated size in bytes.
    pub bytes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    rounds: AtomicU64,
    evicted: AtomicU64,
    failures: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, count: u64) {
        counter.fetch_add(count, Ordering::Relaxed);
    }
}

/// What every clone of one cached store shares; when the last clone goes,
/// its revalidation task stops.
struct Shared {
    cache: Cache<SessionDigest, Arc<CachedSession>>,
    clock: Clock,
    /// `max_staleness` on the [`Clock`], in microseconds.
    max_staleness: u64,
    revalidation_batch: usize,
    counters: Counters,
    stop: CancellationToken,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A [`DieselStore`] with the sessions it serves cached in memory, for
/// loads that skip the database, and with what it caches revalidated
/// against the table in a background task, so that a session that ended
/// anywhere (deleted, revoked, expired, its user deleted, saved by
/// another server) stops being served within
/// [`max_staleness`](CacheOptions::max_staleness).
///
/// Writes go to the table first: a create caches what it wrote, a save
/// that changed values evicts the entry (the table merges it with other
/// requests' changes), a delete evicts it. Loads of a session the cache
/// holds, confirmed live within `max_staleness`, read no row. It implements tower-sessions' `SessionStore` as the store does,
/// and the partial writes of the [writes](crate::guide::writes) chapter
/// hold for cached loads too. The [caching](crate::guide::caching)
/// chapter has the design and the guarantees. Clones share the cache.
///
/// ```
/// use session_runtime::{CacheOptions, CachedStore, SessionStore};
/// use tower_sessions::SessionManagerLayer;
///
/// #[derive(SessionStore, Debug)]
/// #[session(table = http_sessions, backend = sqlite)]
/// pub struct AppSession {}
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let dir = std::env::temp_dir().join(format!("doc-cached-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let path = dir.join("sessions.db");
/// let store = AppSessionStore::connect(path.to_str().unwrap())?;
/// store.migrate().await?;
/// let cached = CachedStore::new(store, CacheOptions::default())?;
/// let layer = SessionManagerLayer::new(cached);
/// # Ok::<_, session_runtime::Error>(())
/// # }).unwrap();
/// ```
pub struct CachedStore<S: SessionTable<B>, B: Backend> {
    store: DieselStore<S, B>,
    shared: Arc<Shared>,
}

impl<S: SessionTable<B>, B: Backend> Clone for CachedStore<S, B> {
    fn clone(&self) -> Self {
        CachedStore {
            store: self.store.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: SessionTable<B>, B: Backend> fmt::Debug for CachedStore<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedStore")
            .field("store", &self.store)
            .field("entries", &self.shared.cache.entry_count())
            .finish_non_exhaustive()
    }
}

impl<S: SessionTable<B>, B: Backend> CachedStore<S, B> {
    /// `store` with a cache in front, and the task that revalidates it
    /// started on the current tokio runtime. The task stops when the last
    /// clone of the cached store is dropped.
    ///
    /// Fails with [`Error::Config`] outside a tokio runtime.
    pub fn new(store: DieselStore<S, B>, options: CacheOptions) -> Result<Self, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Config(
                "a cached session store revalidates its cache in a tokio task: \
                 build it inside a tokio runtime"
                    .to_owned(),
            )
        })?;
        // Nothing could be served, so nothing is kept.
        let capacity = if options.max_staleness.is_zero() {
            0
        } else {
            options.max_capacity
        };
        let cache = Cache::builder()
            .max_capacity(capacity)
            .weigher(|_, session: &Arc<CachedSession>| session.weight)
            .expire_after(Expiry {
                max_age: options.max_age,
            })
            .build();
        let shared = Arc::new(Shared {
            cache,
            clock: Clock::new(),
            max_staleness: u64::try_from(options.max_staleness.as_micros()).unwrap_or(u64::MAX),
            revalidation_batch: options.revalidation_batch,
            counters: Counters::default(),
            stop: CancellationToken::new(),
        });
        runtime.spawn(revalidation::run(
            store.clone(),
            Arc::downgrade(&shared),
            options.max_staleness,
            shared.stop.clone(),
        ));
        Ok(CachedStore { store, shared })
    }

    /// The store behind the cache, for what the cache does not change:
    /// migrations, per-user listings, cleanup, the app's own queries.
    /// Sessions deleted or saved through it directly reach this cache as
    /// they reach other servers', by revalidation.
    pub fn store(&self) -> &DieselStore<S, B> {
        &self.store
    }

    /// What the cache has done so far, and what it holds.
    pub fn stats(&self) -> CacheStats {
        let counters = &self.shared.counters;
        CacheStats {
            hits: counters.hits.load(Ordering::Relaxed),
            misses: counters.misses.load(Ordering::Relaxed),
            rounds: counters.rounds.load(Ordering::Relaxed),
            evicted: counters.evicted.load(Ordering::Relaxed),
            failures: counters.failures.load(Ordering::Relaxed),
            entries: self.shared.cache.entry_count(),
            bytes: self.shared.cache.weighted_size(),
        }
    }

    /// Revalidates every cached session now, as the background task does
    /// every half of `max_staleness`, and says how many it evicted.
    pub async fn revalidate(&self) -> Result<u64, Error> {
        revalidation::round(&self.store, &self.shared).await
    }
}
