//! The databases a derived store runs on, one cargo feature each.
//!
//! A backend fixes the connection type, the pool, the column types of the
//! three fixed columns and the dialect of the DDL. Everything else about a
//! store is the same on every backend.

use std::future::Future;
use std::ops::DerefMut;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use time::OffsetDateTime;

use crate::backend::data_column::DataJson;
use crate::backend::data_patch::{paths_patch, DataChange, KeyChanges};
use crate::schema::dialect::Dialect;
use crate::schema::live_table::LiveTable;
use crate::schema::table_def::ColumnDef;
use crate::session_data::SessionData;
use crate::Error;

pub(crate) mod cached_update;
pub(crate) mod catalog;
pub(crate) mod column_type;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod connect_error;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod connect_url;
pub(crate) mod data_column;
pub(crate) mod data_patch;
pub(crate) mod lifetime_sql;
#[cfg(feature = "mysql")]
mod mysql;
pub(crate) mod pool;
#[cfg(feature = "postgres")]
mod postgres;
pub(crate) mod rendered_statement;
pub(crate) mod sealed_column;
pub(crate) mod session_cap_sql;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod tls;

pub(crate) use column_type::column_types;
pub(crate) use column_type::ColumnType;
pub(crate) use internals::BackendInternals;
#[cfg(feature = "mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
pub use mysql::Mysql;
#[cfg(feature = "sqlite")]
pub(crate) use pool::setup_callback;
pub(crate) use pool::PoolOptions;
#[cfg(feature = "sqlite")]
pub(crate) use pool::SetupFuture;
pub(crate) use pool::{checkout, deadpool_backend, deadpool_internals, deadpool_pool};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::Postgres;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{ConnectionThread, Sqlite};

/// A database a derived store can run on. Implemented by [`Sqlite`],
/// [`Postgres`] and [`Mysql`]; it is sealed.
pub trait Backend: BackendInternals + Send + Sync + Sized + 'static {
    /// The backend's name in messages.
    const NAME: &'static str = Self::DIALECT.name();
    /// The diesel-async connection.
    type Connection: diesel_async::SimpleAsyncConnection + Send + 'static;
    /// The connection pool.
    type Pool: Clone + Send + Sync + 'static;
    /// A connection checked out of [`Backend::Pool`].
    type PooledConnection: DerefMut<Target = Self::Connection> + Send;
    /// The Rust value bound to the `expiry_date` column.
    type Expiry: std::fmt::Debug + Send + Sync + 'static;

    /// The `expiry_date` value of an expiry.
    fn expiry_to_column(expiry: OffsetDateTime) -> Self::Expiry;

    /// The expiry that an `expiry_date` value stands for.
    fn expiry_from_column(value: Self::Expiry) -> Result<OffsetDateTime, Error>;

    /// Builds a pool whose every connection is set up for session use.
    fn build_pool(url: &str, options: &PoolOptions) -> Result<Self::Pool, Error>;

    /// Checks a connection out of the pool, or fails after the pool's timeout.
    fn connection(
        pool: &Self::Pool,
    ) -> impl Future<Output = Result<Self::PooledConnection, Error>> + Send;
}

/// What the store needs of a backend beyond [`Backend`]'s public face: a
/// supertrait in a private module, so that no crate outside can name or
/// implement it, and `Backend` stays sealed.
pub(crate) mod internals {
    use super::*;

    /// The dialect, the `data` column's JSON, the error classification and
    /// the catalog reads of a backend.
    pub trait BackendInternals {
        /// The SQL it speaks, which the DDL and the schema diff are
        /// functions of.
        const DIALECT: Dialect;

        /// The deepest nesting of arrays and objects a session can have,
        /// its map counting as one level, so that this backend stores it
        /// and serde_json parses it back (at most 127 levels).
        const MAX_DEPTH: usize = 127;

        /// The `data` column's JSON: the session map without the values of
        /// the typed `columns`.
        fn data_to_column(
            data: &SessionData,
            columns: &'static [ColumnDef],
        ) -> Result<DataJson, Error> {
            DataJson::without_typed(data, columns, serde_json::ser::CompactFormatter)
        }

        /// How a save that changed `changes` patches the `data` column.
        fn data_patch(
            data: &SessionData,
            columns: &'static [ColumnDef],
            changes: &KeyChanges,
        ) -> Result<DataChange, Error> {
            paths_patch(data, columns, changes, serde_json::ser::CompactFormatter)
        }

        /// Refuses, before anything is sent, a session this backend cannot
        /// store.
        fn check_data(data: &SessionData) -> Result<(), Error> {
            let _ = data;
            Ok(())
        }

        /// What to add to the message of a failed write, when the driver's
        /// own words hide the likely cause.
        fn write_failure_hint(message: &str) -> Option<&'static str> {
            let _ = message;
            None
        }

        /// What to add to the message of any failed statement, when the
        /// driver's own words hide the likely cause.
        fn statement_failure_hint(message: &str) -> Option<&'static str> {
            let _ = message;
            None
        }

        /// Whether the database's message says that a table does not exist,
        /// in this backend's words.
        fn names_a_missing_table(message: &str) -> bool;

        /// Whether a transaction-mode pooler stands in front of the server,
        /// as the URL or [`PoolOptions::pgbouncer`] says: then every
        /// operation of the store runs in a transaction of its own.
        fn behind_pgbouncer(url: &str, options: &PoolOptions) -> Result<bool, Error> {
            let _ = url;
            if options.pgbouncer {
                return Err(Error::Config(format!(
                    "`pgbouncer` is a PostgreSQL setting, and this store is on {}",
                    Self::DIALECT.name()
                )));
            }
            Ok(false)
        }

        /// `DELETE` of at most `limit` rows of `table` that expired at or
        /// before `now`, or whose lifetime began (at login, else at
        /// creation) at or before `born_by` (past the store's absolute
        /// timeout): one short statement of a cleanup that
        /// deletes a large backlog in batches, so that no lock is held for
        /// long.
        fn delete_expired_batch<'a>(
            connection: &'a mut <Self as Backend>::Connection,
            table: &'static str,
            now: &'a <Self as Backend>::Expiry,
            born_by: Option<&'a <Self as Backend>::Expiry>,
            limit: i64,
        ) -> impl Future<Output = diesel::QueryResult<usize>> + Send + 'a
        where
            Self: Backend;

        /// Whether `error` says the connection was lost, or that its server
        /// refuses writes as read-only (a demoted primary, a standby),
        /// rather than that the database refused the statement. SQLite has
        /// no connection to lose.
        fn lost_connection(error: &DieselError) -> bool {
            let _ = error;
            false
        }

        /// Drops the idle connections of the pool opened before `lost_at`:
        /// when one connection was lost, the server most likely dropped its
        /// siblings too (a restart, a failover, an admin's `KILL`).
        fn purge_idle(pool: &<Self as Backend>::Pool, lost_at: std::time::Instant)
        where
            Self: Backend;

        /// Whether the database rolled a statement back to break a deadlock
        /// with another one. Every statement of the store runs alone, so it
        /// can simply run again.
        fn is_deadlock(error: &DieselError) -> bool {
            matches!(
                error,
                DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _)
            )
        }

        /// Takes a connection that may be broken out of the pool for good,
        /// so that the next checkout opens a fresh one instead of failing on
        /// it again. Pool recycling cannot tell a dead MySQL connection from
        /// a live one without a round trip.
        fn discard(connection: <Self as Backend>::PooledConnection)
        where
            Self: Backend;

        /// Reads the live shape of a table from the catalog; `None` if
        /// there is no such table.
        fn read_live_table(
            connection: &mut <Self as Backend>::Connection,
            catalog_name: &str,
        ) -> impl Future<Output = diesel::QueryResult<Option<LiveTable>>> + Send
        where
            Self: Backend;
    }
}

/// Runs one cleanup batch's `DELETE`, `sql` (or, when the store has an
/// absolute timeout, `with_lifetime`), binding `now`, then `born_by` if
/// given, then `limit`: the one way every backend's
/// [`BackendInternals::delete_expired_batch`] sends its statement.
pub(crate) fn execute_cleanup_batch<'a, C, ST, V>(
    connection: &'a mut C,
    sql: String,
    with_lifetime: impl FnOnce(&str) -> String,
    now: &'a V,
    born_by: Option<&'a V>,
    limit: i64,
) -> impl Future<Output = diesel::QueryResult<usize>> + Send + 'a
where
    C: diesel_async::AsyncConnection + 'a,
    C::Backend: diesel::sql_types::HasSqlType<ST>
        + diesel::sql_types::HasSqlType<diesel::sql_types::BigInt>
        + diesel::backend::DieselReserveSpecialization,
    i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, C::Backend>,
    V: diesel::serialize::ToSql<ST, C::Backend> + Copy + Send + Sync + 'a,
    ST: Send + 'a,
{
    let sql = match born_by {
        Some(_) => with_lifetime(&sql),
        None => sql,
    };
    let mut query = diesel::sql_query(sql)
        .into_boxed::<C::Backend>()
        .bind::<ST, _>(*now);
    if let Some(born_by) = born_by {
        query = query.bind::<ST, _>(*born_by);
    }
    let query = query.bind::<diesel::sql_types::BigInt, _>(limit);
    diesel_async::RunQueryDsl::execute(query, connection)
}
