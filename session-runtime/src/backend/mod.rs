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
use crate::schema::live_table::LiveTable;
use crate::schema::table_def::ColumnDef;
use crate::store::key_path::SessionData;
use crate::store::row_changes::{paths_patch, DataChange, KeyChanges};
use crate::Error;

mod column_type;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod connect_error;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod connect_url;
pub(crate) mod data_column;
mod dialect;
#[cfg(feature = "mysql")]
mod mysql;
mod pool;
#[cfg(feature = "postgres")]
mod postgres;
pub(crate) mod sealed_column;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod tls;

pub(crate) use column_type::column_types;
pub use column_type::ColumnType;
pub(crate) use dialect::Dialect;
#[cfg(feature = "mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
pub use mysql::Mysql;
#[cfg(feature = "sqlite")]
pub(crate) use pool::setup_callback;
pub use pool::PoolOptions;
#[cfg(feature = "sqlite")]
pub(crate) use pool::SetupFuture;
pub(crate) use pool::{checkout, deadpool_backend, deadpool_pool};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::Postgres;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{ConnectionThread, Sqlite};

/// A database a derived store can run on. Implemented by [`Sqlite`],
/// [`Postgres`] and [`Mysql`]; it is sealed.
pub trait Backend: sealed::Sealed + Send + Sync + Sized + 'static {
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

    /// The SQL it speaks, which the DDL and the schema diff are functions of.
    #[doc(hidden)]
    const DIALECT: Dialect;
    /// The `expiry_date` value of an expiry.
    fn expiry_to_column(expiry: OffsetDateTime) -> Self::Expiry;

    /// The expiry that an `expiry_date` value stands for.
    fn expiry_from_column(value: Self::Expiry) -> Result<OffsetDateTime, Error>;

    /// The `data` column's JSON: the session map without the values of the
    /// typed `columns`.
    #[doc(hidden)]
    fn data_to_column(
        data: &SessionData,
        columns: &'static [ColumnDef],
    ) -> Result<DataJson, Error> {
        DataJson::without_typed(data, columns, serde_json::ser::CompactFormatter)
    }

    /// How a save that changed `changes` patches the `data` column.
    #[doc(hidden)]
    fn data_patch(
        data: &SessionData,
        columns: &'static [ColumnDef],
        changes: &KeyChanges,
    ) -> Result<DataChange, Error> {
        paths_patch(data, columns, changes, serde_json::ser::CompactFormatter)
    }

    /// The deepest nesting of arrays and objects a session can have, its
    /// map counting as one level, so that this backend stores it and
    /// serde_json parses it back (at most 127 levels).
    #[doc(hidden)]
    const MAX_DEPTH: usize = 127;

    /// Refuses, before anything is sent, a session this backend cannot store.
    #[doc(hidden)]
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

    /// Whether `error` says the connection was lost, or that its server
    /// refuses writes as read-only (a demoted primary, a standby), rather
    /// than that the database refused the statement. SQLite has no
    /// connection to lose.
    #[doc(hidden)]
    fn lost_connection(error: &DieselError) -> bool {
        let _ = error;
        false
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

    /// Reads the live shape of a table from the catalog; `None` if there is
    /// no such table.
    #[doc(hidden)]
    fn read_live_table(
        connection: &mut Self::Connection,
        catalog_name: &str,
    ) -> impl Future<Output = diesel::QueryResult<Option<LiveTable>>> + Send;
}

mod sealed {
    pub trait Sealed {}
}
