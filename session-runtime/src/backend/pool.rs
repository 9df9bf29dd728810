//! The connection pool every backend shares: deadpool through
//! diesel-async, with the setup, recycling and timeouts of
//! [`PoolOptions`].

use std::time::{Duration, Instant};

use deadpool::managed::{PoolError, TimeoutType};

use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};

use crate::backoff::Backoff;
use crate::Error;

/// The first wait before a checkout tries again to make a connection, and
/// the longest.
const CHECKOUT_BACKOFF: (Duration, Duration) =
    (Duration::from_millis(50), Duration::from_millis(500));

/// The size and timeouts of a store's connection pool.
///
/// | field | default |
/// |---|---|
/// | [`max_size`](Self::max_size) | 16 connections |
/// | [`retry_budget`](Self::retry_budget) | 5 s |
/// | [`statement_timeout`](Self::statement_timeout) | 30 s |
/// | [`slow_statement_threshold`](Self::slow_statement_threshold) | 500 ms |
/// | [`sqlite_busy_timeout`](Self::sqlite_busy_timeout) | 5 s |
/// | [`validate_after_idle`](Self::validate_after_idle) | 30 s |
/// | [`pgbouncer`](Self::pgbouncer) | `false` |
/// | [`causal_reads`](Self::causal_reads) | `true` |
///
/// ```
/// use std::time::Duration;
/// use session_runtime::PoolOptions;
///
/// let options = PoolOptions::default()
///     .with_max_size(4)
///     .with_validate_after_idle(None);
/// assert_eq!(options.max_size, 4);
/// assert_eq!(options.retry_budget, Duration::from_secs(5));
/// assert_eq!(options.statement_timeout, Duration::from_secs(30));
/// assert_eq!(options.slow_statement_threshold, Duration::from_millis(500));
/// assert_eq!(options.sqlite_busy_timeout, Duration::from_secs(5));
/// assert_eq!(options.validate_after_idle, None);
/// assert!(!options.pgbouncer);
/// assert!(options.causal_reads);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolOptions {
    /// The most connections open at once.
    pub max_size: usize,
    /// How long one operation keeps trying before it fails with
    /// [`Error::Backend`]: it waits this long at most for a pooled
    /// connection and for a new one to be established, tries again, with
    /// jittered waits, to establish one while the server restarts or fails
    /// over, and runs again a statement whose connection was lost or that
    /// lost a deadlock, until this has passed. The store's
    /// [`DieselStore::with_retry_budget`](crate::DieselStore::with_retry_budget)
    /// sets the same value.
    pub retry_budget: Duration,
    /// How long one statement of the store may go unanswered before the
    /// store gives up on it, drops its connection and fails with
    /// [`Error::Backend`]. It bounds a request whose connection a network
    /// fault froze without closing it, which TCP alone would let hang for
    /// many minutes. A statement the database had already received may
    /// still complete there.
    pub statement_timeout: Duration,
    /// How long an operation (the wait for a connection included) may take
    /// before its event is logged at `WARN` as slow instead of at `DEBUG`.
    /// 500 ms by default: a session operation is one indexed single-row
    /// statement, which takes a millisecond or two on a healthy database.
    pub slow_statement_threshold: Duration,
    /// SQLite only: how long a statement waits for another connection's
    /// (or process's) lock before failing with "database is locked", set on
    /// every pooled connection as `PRAGMA busy_timeout`. 5 s by default.
    /// SQLite has one writer at a time; this is how long a write queues.
    pub sqlite_busy_timeout: Duration,
    /// A pooled connection unused for longer than this is pinged
    /// (`SELECT 1`) before it is handed out, and replaced if the ping
    /// fails; `None` never pings. 30 s by default: a connection in steady
    /// use never pays the round trip, and one that sat idle long enough for
    /// a server's `wait_timeout`, a failover or a firewall to drop it is
    /// caught before a statement (a `create`'s `INSERT` above all, which
    /// cannot always run again) is lost on it.
    pub validate_after_idle: Option<Duration>,
    /// PostgreSQL only: a pooler in transaction mode (PgBouncer, or the
    /// pooler of a hosted PostgreSQL) stands between the store and the
    /// server, so that consecutive transactions of one connection may run
    /// on different server connections. The URL parameter `pgbouncer=true`
    /// sets it too. `false` by default.
    ///
    /// With it, the store keeps no state on a server connection: each
    /// operation runs in a transaction of its own, and statements are
    /// prepared inside it and closed before it ends, with no
    /// prepared-statement cache. That costs two round trips per operation
    /// more (`BEGIN` and `COMMIT`) and the prepare each time. `migrate()`
    /// runs in one transaction under `pg_advisory_xact_lock`, which holds
    /// through the pooler. The app's own statements on
    /// [`DieselStore::connection`](crate::DieselStore::connection) need the
    /// same: plain SQL through `batch_execute`, or diesel queries inside
    /// `connection.transaction(..)`. A store on another backend given it
    /// fails with [`Error::Config`].
    pub pgbouncer: bool,
    /// MariaDB only: every pooled connection sets `wsrep_sync_wait = 3`,
    /// so that on a Galera cluster a read, update or delete first waits
    /// for the node to apply every write the cluster committed before it.
    /// `true` by default: without it, a session created through one node
    /// is now and then missing from the next, which behind a load balancer
    /// logs a user out right after the login. The wait costs one round of
    /// the cluster's messages per statement; turn it off only where every
    /// app server talks to the same node. See the
    /// [clusters](crate::guide::clusters) chapter. A server without Galera
    /// does not wait either way, and MySQL, which has no such variable, is
    /// left alone.
    pub causal_reads: bool,
}

impl PoolOptions {
    crate::setters::setters! {
        with_max_size => max_size: usize,
        with_retry_budget => retry_budget: Duration,
        with_statement_timeout => statement_timeout: Duration,
        with_slow_statement_threshold => slow_statement_threshold: Duration,
        with_sqlite_busy_timeout => sqlite_busy_timeout: Duration,
        with_validate_after_idle => validate_after_idle: Option<Duration>,
        with_pgbouncer => pgbouncer: bool,
        with_causal_reads => causal_reads: bool,
    }
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 16,
            retry_budget: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            slow_statement_threshold: Duration::from_millis(500),
            sqlite_busy_timeout: Duration::from_secs(5),
            validate_after_idle: Some(Duration::from_secs(30)),
            pgbouncer: false,
            causal_reads: true,
        }
    }
}

/// The deadpool pool of a diesel-async connection type, with the setup,
/// the recycling and the timeouts every backend shares.
///
/// Recycling does not ping a connection in steady use: a ping is one more
/// round trip per operation. Only one idle for longer than
/// [`PoolOptions::validate_after_idle`] is pinged. A connection that broke
/// is dropped instead after its first failure: by deadpool when the driver
/// knows it is closed (PostgreSQL), and by the store through
/// [`Backend::discard`](crate::backend::Backend::discard) otherwise (MySQL), which then runs the statement
/// again on a fresh connection where that is safe.
pub(crate) fn deadpool_pool<C>(
    url: &str,
    options: &PoolOptions,
    custom_setup: diesel_async::pooled_connection::SetupCallback<C>,
) -> Result<diesel_async::pooled_connection::deadpool::Pool<C>, Error>
where
    C: diesel_async::pooled_connection::PoolableConnection + Send + 'static,
    AsyncDieselConnectionManager<C>:
        deadpool::managed::Manager<Type = C, Error = diesel_async::pooled_connection::PoolError>,
{
    let mut config = ManagerConfig::default();
    config.recycling_method = diesel_async::pooled_connection::RecyclingMethod::Fast;
    config.custom_setup = custom_setup;
    let manager = AsyncDieselConnectionManager::<C>::new_with_config(url, config);
    let mut builder = diesel_async::pooled_connection::deadpool::Pool::builder(manager)
        .max_size(options.max_size)
        // The most recently used connection is the one whose caches are warm
        // (SQLite's page cache, the servers' prepared statements).
        .queue_mode(deadpool::managed::QueueMode::Lifo)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(options.retry_budget))
        .create_timeout(Some(options.retry_budget));
    if let Some(idle) = options.validate_after_idle {
        builder = builder.pre_recycle(validate_after_idle::<C>(idle, options.retry_budget));
    }
    builder
        .build()
        .map_err(|error| Error::backend("cannot build the connection pool", error))
}

/// A checkout hook that pings a connection unused for longer than `idle`
/// (as HikariCP does), so that one the server or a firewall dropped
/// meanwhile leaves the pool before a statement is sent on it. A
/// connection in steady use is never pinged. A failed or unanswered ping
/// drops the connection, and deadpool hands out another.
fn validate_after_idle<C>(
    idle: Duration,
    timeout: Duration,
) -> deadpool::managed::Hook<AsyncDieselConnectionManager<C>>
where
    C: diesel_async::pooled_connection::PoolableConnection + Send + 'static,
    AsyncDieselConnectionManager<C>:
        deadpool::managed::Manager<Type = C, Error = diesel_async::pooled_connection::PoolError>,
{
    deadpool::managed::Hook::async_fn(move |connection: &mut C, metrics| {
        let stale = metrics.last_used() > idle;
        Box::pin(async move {
            if !stale {
                return Ok(());
            }
            let ping = diesel_async::SimpleAsyncConnection::batch_execute(connection, "SELECT 1");
            match tokio::time::timeout(timeout, ping).await {
                Ok(Ok(())) => Ok(()),
                _ => Err(deadpool::managed::HookError::Message(
                    "an idle connection failed its ping".into(),
                )),
            }
        })
    })
}

pub(crate) async fn checkout<C>(
    pool: &diesel_async::pooled_connection::deadpool::Pool<C>,
) -> Result<diesel_async::pooled_connection::deadpool::Object<C>, Error>
where
    C: diesel_async::pooled_connection::PoolableConnection + Send + 'static,
    AsyncDieselConnectionManager<C>:
        deadpool::managed::Manager<Type = C, Error = diesel_async::pooled_connection::PoolError>,
{
    // Waiting for a free connection already took the whole timeout; a
    // connection that could not be made may be made on a later try, while
    // the server restarts or its standby is promoted.
    let budget = pool
        .timeouts()
        .wait
        .unwrap_or(PoolOptions::default().retry_budget);
    let mut backoff = Backoff::until(
        Instant::now() + budget,
        CHECKOUT_BACKOFF.0,
        CHECKOUT_BACKOFF.1,
    );
    loop {
        let error = match pool.get().await {
            Ok(connection) => return Ok(connection),
            Err(error) => error,
        };
        let passing = match &error {
            // A wrong password or a certificate that does not verify
            // fails every attempt alike: said at once, not after the
            // whole budget.
            #[cfg(any(feature = "postgres", feature = "mysql"))]
            PoolError::Backend(diesel_async::pooled_connection::PoolError::ConnectionError(
                failure,
            )) if crate::backend::connect_error::is_permanent(failure) => false,
            PoolError::Backend(_)
            | PoolError::PostCreateHook(_)
            | PoolError::Timeout(TimeoutType::Create | TimeoutType::Recycle) => true,
            _ => false,
        };
        if !(passing && backoff.wait().await) {
            return Err(Error::backend("cannot get a database connection", error));
        }
    }
}

/// `Backend::connection` and `Backend::build_pool` for a deadpool-pooled
/// diesel-async connection type; every backend uses the same pool.
///
/// `$setup` establishes one connection from a URL; with `options =>`, it
/// is a function of the [`PoolOptions`] that returns such a setup; with
/// `url =>`, a function of the URL and the options that returns one, or
/// the error of a URL it cannot read.
macro_rules! deadpool_backend {
    ($connection:ty, $setup:expr) => {
        $crate::backend::deadpool_backend!($connection, options => |_| Box::new($setup));
    };
    ($connection:ty, options => $setup:expr) => {
        $crate::backend::deadpool_backend!($connection, url => |_, options| {
            let setup: fn(
                &$crate::backend::PoolOptions,
            ) -> diesel_async::pooled_connection::SetupCallback<$connection> = $setup;
            Ok(setup(options))
        });
    };
    ($connection:ty, url => $setup:expr) => {
        type Connection = $connection;
        type Pool = diesel_async::pooled_connection::deadpool::Pool<$connection>;
        type PooledConnection = diesel_async::pooled_connection::deadpool::Object<$connection>;

        fn build_pool(
            url: &str,
            options: &$crate::backend::PoolOptions,
        ) -> Result<Self::Pool, $crate::Error> {
            let setup: fn(
                &str,
                &$crate::backend::PoolOptions,
            ) -> Result<diesel_async::pooled_connection::SetupCallback<$connection>, $crate::Error> =
                $setup;
            $crate::backend::deadpool_pool(url, options, setup(url, options)?)
        }

        fn connection(
            pool: &Self::Pool,
        ) -> impl std::future::Future<Output = Result<Self::PooledConnection, $crate::Error>> + Send
        {
            $crate::backend::checkout(pool)
        }

    };
}
pub(crate) use deadpool_backend;

/// `BackendInternals::discard` and `purge_idle` for a backend whose pool
/// [`deadpool_backend!`] made.
macro_rules! deadpool_internals {
    () => {
        fn discard(connection: <Self as $crate::backend::Backend>::PooledConnection) {
            drop(deadpool::managed::Object::take(connection));
        }

        fn purge_idle(
            pool: &<Self as $crate::backend::Backend>::Pool,
            lost_at: std::time::Instant,
        ) {
            drop(pool.retain(|_, metrics| metrics.created > lost_at));
        }
    };
}
pub(crate) use deadpool_internals;

/// A pool's connection setup from a closure, whose signature this
/// spells out for the compiler.
#[cfg(feature = "sqlite")]
pub(crate) fn setup_callback<C, F>(setup: F) -> diesel_async::pooled_connection::SetupCallback<C>
where
    F: for<'a> Fn(&'a str) -> SetupFuture<'a, C> + Send + Sync + 'static,
{
    Box::new(setup)
}

/// What a pool's connection setup returns; the type diesel-async expects.
#[cfg(feature = "sqlite")]
pub(crate) type SetupFuture<'a, C> =
    std::pin::Pin<Box<dyn std::future::Future<Output = diesel::ConnectionResult<C>> + Send + 'a>>;
