//! The store: [`DieselStore`], its operations, and everything a session
//! goes through between tower-sessions and the table.
//!
//! `DieselStore` is defined here with its constructors; its methods are
//! split by kind: per-session operations (`per_session`), builders
//! (`builders`), table-wide operations and the schema (`admin`), per-user
//! queries (`per_user`), cleanup (`cleanup`) and encryption (`encryption`).

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::{Backend, PoolOptions};
use crate::encryption::EncryptionKeys;
use crate::error::Error;
use crate::session_table::SessionTable;
use crate::store::loaded_sessions::{LoadedSessions, DEFAULT_BUDGET};
use crate::store::session_cap::SessionCap;
use crate::touch_after::TouchAfter;
use crate::undecodable::Undecodable;

mod admin;
mod builders;
pub(crate) mod cleanup;
pub(crate) mod encryption;
pub(crate) mod loaded_sessions;
pub(crate) mod migrate;
mod per_session;
pub(crate) mod per_user;
pub(crate) mod row_codec;
mod save_plan;
mod session_cap;
pub(crate) mod statement;
pub(crate) mod tower_sessions_impl;

/// The default limit of an encoded session: 1 MiB, which no ordinary
/// session comes near, and well below what every backend can take in one
/// statement.
pub(crate) const DEFAULT_MAX_SESSION_BYTES: usize = 1 << 20;

/// A tower-sessions store on the Diesel table of a derived session struct.
///
/// `#[derive(SessionStore)]` on `AppSession` names it `AppSessionStore`.
/// Every operation is at most one SQL statement (a login on a store with
/// a [cap on the sessions per user](DieselStore::with_max_sessions_per):
/// two); the [guarantees](crate::guide::guarantees) chapter lists each
/// one's, and what it promises under races and faults.
///
/// ```
/// use session_runtime::SessionStore;
/// use tower_sessions::{Expiry, SessionManagerLayer};
///
/// #[derive(SessionStore, Debug)]
/// #[session(table = http_sessions, backend = sqlite)]
/// pub struct AppSession {
///     pub optional: Option<String>,
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let dir = std::env::temp_dir().join(format!("doc-store-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let path = dir.join("sessions.db");
/// let store = AppSessionStore::connect(path.to_str().unwrap())?;
/// store.migrate().await?;
/// let layer = SessionManagerLayer::new(store)
///     .with_expiry(Expiry::OnInactivity(time::Duration::hours(1)));
/// # Ok::<_, session_runtime::Error>(())
/// # }).unwrap();
/// ```
pub struct DieselStore<S: SessionTable<B>, B: Backend> {
    pool: B::Pool,
    pub(crate) statement_timeout: Duration,
    pub(crate) slow_statement_threshold: Duration,
    pub(crate) retry_budget: Duration,
    /// Whether each operation runs in a transaction of its own, for a
    /// transaction-mode pooler: see [`PoolOptions::pgbouncer`].
    pub(crate) behind_pgbouncer: bool,
    new_id: fn() -> i128,
    loaded: Arc<LoadedSessions>,
    touch_after: TouchAfter,
    undecodable: Undecodable,
    max_session_bytes: usize,
    max_lifetime: Option<Duration>,
    /// The keys of `data`, for a struct that encrypts it.
    encryption: Option<Arc<EncryptionKeys>>,
    /// The cap on the sessions per user, if any.
    session_cap: Option<Arc<SessionCap<S, B>>>,
    table: PhantomData<fn() -> S>,
}

impl<S: SessionTable<B>, B: Backend> Clone for DieselStore<S, B> {
    fn clone(&self) -> Self {
        DieselStore {
            pool: self.pool.clone(),
            statement_timeout: self.statement_timeout,
            slow_statement_threshold: self.slow_statement_threshold,
            retry_budget: self.retry_budget,
            behind_pgbouncer: self.behind_pgbouncer,
            new_id: self.new_id,
            loaded: Arc::clone(&self.loaded),
            touch_after: self.touch_after,
            undecodable: self.undecodable,
            max_session_bytes: self.max_session_bytes,
            max_lifetime: self.max_lifetime,
            encryption: self.encryption.clone(),
            session_cap: self.session_cap.clone(),
            table: PhantomData,
        }
    }
}

impl<S: SessionTable<B>, B: Backend> fmt::Debug for DieselStore<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DieselStore")
            .field("backend", &B::NAME)
            .field("table", &S::TABLE.name)
            .finish_non_exhaustive()
    }
}

impl<S: SessionTable<B>, B: Backend> DieselStore<S, B> {
    /// A store on an existing pool, with the statement timeout, slow
    /// statement threshold and retry budget of [`PoolOptions::default`].
    /// A pool behind a transaction-mode pooler needs connections set up
    /// for it: use [`connect_with`](Self::connect_with) and
    /// [`PoolOptions::pgbouncer`].
    pub fn new(pool: B::Pool) -> Self {
        let defaults = PoolOptions::default();
        DieselStore {
            pool,
            statement_timeout: defaults.statement_timeout,
            slow_statement_threshold: defaults.slow_statement_threshold,
            retry_budget: defaults.retry_budget,
            behind_pgbouncer: false,
            new_id: rand::random,
            loaded: Arc::new(LoadedSessions::new(DEFAULT_BUDGET)),
            touch_after: TouchAfter::default(),
            undecodable: Undecodable::default(),
            max_session_bytes: DEFAULT_MAX_SESSION_BYTES,
            max_lifetime: None,
            encryption: None,
            session_cap: None,
            table: PhantomData,
        }
    }

    /// A store with its own pool of [`PoolOptions::default`] on the database
    /// at `url`. Connections are opened when first needed.
    pub fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, &PoolOptions::default())
    }

    /// A store with its own pool on the database at `url`.
    pub fn connect_with(url: &str, options: &PoolOptions) -> Result<Self, Error> {
        let behind_pgbouncer = B::behind_pgbouncer(url, options)?;
        let pool = B::build_pool(url, options)?;
        crate::telemetry::store_opened::<S, B>(url);
        let store = DieselStore {
            behind_pgbouncer,
            ..Self::new(pool)
        };
        Ok(store
            .with_statement_timeout(options.statement_timeout)
            .with_slow_statement_threshold(options.slow_statement_threshold)
            .with_retry_budget(options.retry_budget))
    }

    /// The connection pool, for the app's own queries.
    pub fn pool(&self) -> &B::Pool {
        &self.pool
    }

    /// Checks a connection out of the store's pool, for the app's own
    /// queries on the session table or its other tables.
    pub async fn connection(&self) -> Result<B::PooledConnection, Error> {
        B::connection(&self.pool).await
    }
}
