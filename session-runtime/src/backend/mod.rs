//! The databases a derived store runs on, one cargo feature each.
//!
//! A backend fixes the connection type, the pool, the column types of the
//! three fixed columns and the dialect of the DDL. Everything else about a
//! store is the same on every backend.

use std::future::Future;
use std::ops::DerefMut;
use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use time::OffsetDateTime;

use crate::data_column::DataJson;
use crate::key_path::SessionData;
use crate::live_table::LiveTable;
use crate::table_def::ColumnDef;
use crate::Error;

mod column_type;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

pub(crate) use column_type::column_types;
pub use column_type::ColumnType;
#[cfg(feature = "mysql")]
pub use mysql::Mysql;
#[cfg(feature = "postgres")]
pub use postgres::Postgres;
#[cfg(feature = "sqlite")]
pub use sqlite::{ConnectionThread, Sqlite};

/// A database a derived store can run on. Implemented by [`Sqlite`],
/// [`Postgres`] and [`Mysql`]; it is sealed.
pub trait Backend: sealed::Sealed + Send + Sync + Sized + 'static {
    /// The backend's name in messages.
    const NAME: &'static str;
    /// The diesel-async connection.
    type Connection: diesel_async::SimpleAsyncConnection + Send + 'static;
    /// The connection pool.
    type Pool: Clone + Send + Sync + 'static;
    /// A connection checked out of [`Backend::Pool`].
    type PooledConnection: DerefMut<Target = Self::Connection> + Send;
    /// The Rust value bound to the `expiry_date` column.
    type Expiry: std::fmt::Debug + Send + Sync + 'static;

    /// The column type of `id`, which holds a 32-byte digest.
    const ID_SQL: &'static str;
    /// The column type of `data`, which holds the session map as JSON.
    const DATA_SQL: &'static str;
    /// The column type of `expiry_date`.
    const EXPIRY_SQL: &'static str;
    /// How the backend's DDL alters a live table.
    const DIALECT: Dialect;
    /// What follows the closing parenthesis of `CREATE TABLE`.
    const TABLE_OPTIONS: &'static str;
    /// Whether `expiry_date` gets an index, for `delete_expired`. Every
    /// save moves a session's expiry, so the index costs every save an
    /// index update; a backend goes without it where a scan of the table
    /// deletes the expired rows as fast.
    const EXPIRY_INDEX: bool;

    /// Quotes a table or column name.
    fn quote_identifier(name: &str) -> String;

    /// The `expiry_date` value of an expiry.
    fn expiry_to_column(expiry: OffsetDateTime) -> Self::Expiry;

    /// The expiry that an `expiry_date` value stands for.
    fn expiry_from_column(value: Self::Expiry) -> Result<OffsetDateTime, Error>;

    /// The `data` column's JSON: the session map without the values of the
    /// typed `columns`.
    fn data_to_column(
        data: &SessionData,
        columns: &'static [ColumnDef],
    ) -> Result<DataJson, Error> {
        DataJson::without_typed(data, columns, serde_json::ser::CompactFormatter)
    }

    /// The deepest nesting of arrays and objects a session can have, its
    /// map counting as one level, so that this backend stores it and
    /// serde_json parses it back (at most 127 levels).
    const MAX_DEPTH: usize = 127;

    /// Refuses, before anything is sent, a session this backend cannot store.
    fn check_data(data: &SessionData) -> Result<(), Error> {
        let _ = data;
        Ok(())
    }

    /// What to add to the message of a failed write, when the driver's
    /// own words hide the likely cause.
    #[doc(hidden)]
    fn write_failure_hint(message: &str) -> Option<&'static str> {
        let _ = message;
        None
    }

    /// `DELETE` of at most `limit` rows of `table` that expired at or
    /// before `now`: one short statement of a cleanup that deletes a large
    /// backlog in batches, so that no lock is held for long.
    #[doc(hidden)]
    fn delete_expired_batch<'a>(
        connection: &'a mut Self::Connection,
        table: &'static str,
        now: &'a Self::Expiry,
        limit: i64,
    ) -> impl Future<Output = diesel::QueryResult<usize>> + Send + 'a;

    /// Whether `error` says the connection was lost, rather than that the
    /// database refused the statement; and if so, whether the statement is
    /// known not to have run. SQLite has no connection to lose.
    #[doc(hidden)]
    fn lost_connection(error: &DieselError) -> Option<Delivery> {
        let _ = error;
        None
    }

    /// Drops the idle connections of the pool opened before `lost_at`: when
    /// one connection was lost, the server most likely dropped its
    /// siblings too (a restart, a failover, an admin's `KILL`).
    #[doc(hidden)]
    fn purge_idle(pool: &Self::Pool, lost_at: std::time::Instant);

    /// Whether the database rolled a statement back to break a deadlock
    /// with another one. Every statement of the store runs alone, so it can
    /// simply run again.
    #[doc(hidden)]
    fn is_deadlock(error: &DieselError) -> bool {
        matches!(
            error,
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _)
        )
    }

    /// Builds a pool whose every connection is set up for session use.
    fn build_pool(url: &str, options: &PoolOptions) -> Result<Self::Pool, Error>;

    /// Checks a connection out of the pool, or fails after the pool's timeout.
    fn connection(
        pool: &Self::Pool,
    ) -> impl Future<Output = Result<Self::PooledConnection, Error>> + Send;

    /// Takes a connection that may be broken out of the pool for good, so
    /// that the next checkout opens a fresh one instead of failing on it
    /// again. Pool recycling cannot tell a dead MySQL connection from a
    /// live one without a round trip.
    #[doc(hidden)]
    fn discard(connection: Self::PooledConnection);

    /// What `migrate()` runs around its reading and altering of a table, so
    /// that servers migrating at once take turns.
    fn migration_lock(table: &str) -> MigrationLock;

    /// The table's name as the catalog queries of
    /// [`Backend::read_live_table`] take it.
    #[doc(hidden)]
    fn catalog_name(table: &str) -> String {
        table.to_owned()
    }

    /// Reads the live shape of a table from the catalog; `None` if there is
    /// no such table.
    #[doc(hidden)]
    fn read_live_table(
        connection: &mut Self::Connection,
        catalog_name: &str,
    ) -> impl Future<Output = diesel::QueryResult<Option<LiveTable>>> + Send;

    /// A column type in one spelling, so that the type a struct declares
    /// and the one the catalog reports compare equal when they are the same.
    #[doc(hidden)]
    fn canonical_type(sql_type: &str) -> String {
        canonical_spelling(sql_type)
    }

    /// A string literal in SQL.
    #[doc(hidden)]
    fn quote_string(text: &str) -> String {
        quote_with('\'', text)
    }
}

/// What a lost connection says about the statement sent on it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The statement never ran: it can run again whatever it is.
    NotRun,
    /// It may have run, its answer lost: only a statement that does the
    /// same when run twice can run again.
    Unknown,
}

/// The size and timeouts of a store's connection pool.
///
/// | field | default |
/// |---|---|
/// | [`max_size`](Self::max_size) | 16 connections |
/// | [`timeout`](Self::timeout) | 5 s |
/// | [`statement_timeout`](Self::statement_timeout) | 30 s |
/// | [`slow_statement_threshold`](Self::slow_statement_threshold) | 500 ms |
/// | [`sqlite_busy_timeout`](Self::sqlite_busy_timeout) | 5 s |
/// | [`validate_after_idle`](Self::validate_after_idle) | 30 s |
///
/// ```
/// use std::time::Duration;
/// use session_runtime::PoolOptions;
///
/// let options = PoolOptions { max_size: 4, ..PoolOptions::default() };
/// assert_eq!(options.timeout, Duration::from_secs(5));
/// assert_eq!(options.statement_timeout, Duration::from_secs(30));
/// assert_eq!(options.slow_statement_threshold, Duration::from_millis(500));
/// assert_eq!(options.sqlite_busy_timeout, Duration::from_secs(5));
/// assert_eq!(options.validate_after_idle, Some(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// The most connections open at once.
    pub max_size: usize,
    /// How long an operation waits for a connection, and for a new one to
    /// be established, before it fails with [`Error::Backend`].
    pub timeout: Duration,
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
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 16,
            timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            slow_statement_threshold: Duration::from_millis(500),
            sqlite_busy_timeout: Duration::from_secs(5),
            validate_after_idle: Some(Duration::from_secs(30)),
        }
    }
}

/// How a backend's DDL differs from the others' where a constant flag
/// would not say enough: altering a live table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: `ADD COLUMN` takes a `REFERENCES` clause, but a foreign key
    /// cannot be added to or dropped from an existing column, and a column's
    /// type cannot change, without rebuilding the table.
    Sqlite,
    /// PostgreSQL: transactional DDL; every change is an `ALTER TABLE`.
    Postgres,
    /// MySQL and MariaDB: DDL commits by itself; no `IF NOT EXISTS` on
    /// indexes in MySQL.
    Mysql,
}

mod sealed {
    pub trait Sealed {}
}

/// The deadpool pool of a diesel-async connection type, with the setup,
/// the recycling and the timeouts every backend shares.
///
/// Recycling does not ping a connection in steady use: a ping is one more
/// round trip per operation. Only one idle for longer than
/// [`PoolOptions::validate_after_idle`] is pinged. A connection that broke
/// is dropped instead after its first failure: by deadpool when the driver
/// knows it is closed (PostgreSQL), and by the store through
/// [`Backend::discard`] otherwise (MySQL), which then runs the statement
/// again on a fresh connection where that is safe.
fn deadpool_pool<C>(
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
        .wait_timeout(Some(options.timeout))
        .create_timeout(Some(options.timeout));
    if let Some(idle) = options.validate_after_idle {
        builder = builder.pre_recycle(validate_after_idle::<C>(idle, options.timeout));
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

async fn checkout<C>(
    pool: &diesel_async::pooled_connection::deadpool::Pool<C>,
) -> Result<diesel_async::pooled_connection::deadpool::Object<C>, Error>
where
    C: diesel_async::pooled_connection::PoolableConnection + Send + 'static,
    AsyncDieselConnectionManager<C>:
        deadpool::managed::Manager<Type = C, Error = diesel_async::pooled_connection::PoolError>,
{
    pool.get()
        .await
        .map_err(|error| Error::backend("cannot get a database connection", error))
}

/// `Backend::connection` and `Backend::build_pool` for a deadpool-pooled
/// diesel-async connection type; every backend uses the same pool.
///
/// `$setup` establishes one connection from a URL; with `options =>`, it
/// is a function of the [`PoolOptions`] that returns such a setup.
macro_rules! deadpool_backend {
    ($connection:ty, $setup:expr) => {
        $crate::backend::deadpool_backend!($connection, options => |_| Box::new($setup));
    };
    ($connection:ty, options => $setup:expr) => {
        type Connection = $connection;
        type Pool = diesel_async::pooled_connection::deadpool::Pool<$connection>;
        type PooledConnection = diesel_async::pooled_connection::deadpool::Object<$connection>;

        fn build_pool(
            url: &str,
            options: &$crate::backend::PoolOptions,
        ) -> Result<Self::Pool, $crate::Error> {
            let setup: fn(
                &$crate::backend::PoolOptions,
            ) -> diesel_async::pooled_connection::SetupCallback<$connection> = $setup;
            $crate::backend::deadpool_pool(url, options, setup(options))
        }

        fn connection(
            pool: &Self::Pool,
        ) -> impl std::future::Future<Output = Result<Self::PooledConnection, $crate::Error>> + Send
        {
            $crate::backend::checkout(pool)
        }

        fn discard(connection: Self::PooledConnection) {
            drop(deadpool::managed::Object::take(connection));
        }

        fn purge_idle(pool: &Self::Pool, lost_at: std::time::Instant) {
            drop(pool.retain(|_, metrics| metrics.created > lost_at));
        }
    };
}
use deadpool_backend;

/// A pool's connection setup from a closure, whose signature this
/// spells out for the compiler.
#[cfg(feature = "sqlite")]
fn setup_callback<C, F>(setup: F) -> diesel_async::pooled_connection::SetupCallback<C>
where
    F: for<'a> Fn(&'a str) -> SetupFuture<'a, C> + Send + Sync + 'static,
{
    Box::new(setup)
}

/// What a pool's connection setup returns; the type diesel-async expects.
type SetupFuture<'a, C> =
    std::pin::Pin<Box<dyn Future<Output = diesel::ConnectionResult<C>> + Send + 'a>>;

/// Quotes an identifier by doubling the quote character inside it.
fn quote_with(quote: char, name: &str) -> String {
    let doubled: String = [quote, quote].iter().collect();
    format!("{quote}{}{quote}", name.replace(quote, &doubled))
}

/// The statements `migrate()` runs before its work, and after it on
/// success or on failure.
#[derive(Debug, Clone)]
pub struct MigrationLock {
    /// Takes the lock (and, where DDL is transactional, opens the transaction).
    pub begin: String,
    /// Ends a migration that succeeded.
    pub commit: String,
    /// Ends a migration that failed.
    pub rollback: String,
}

/// A type name in lower case with single spaces.
fn canonical_spelling(sql_type: &str) -> String {
    sql_type
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}
