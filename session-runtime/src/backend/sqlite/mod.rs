use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError, QueryResult};
use diesel::sql_types::{
    BigInt, Binary, Bool, Date, Double, Float, Integer, Json, SmallInt, Text, Time, Timestamp,
    TimestamptzSqlite,
};
use diesel::{ConnectionError, SqliteConnection};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use time::OffsetDateTime;

mod connection_thread;
mod data_column;
mod path;

pub use connection_thread::ConnectionThread;
use path::sqlite_path;

use super::{column_types, deadpool_backend, deadpool_internals, Backend, BackendInternals};
use crate::schema::dialect::Dialect;

use crate::backend::catalog::{read_live_table, CatalogQueries};
use crate::backend::lifetime_sql::LIFETIME_START_SQL;
use crate::Error;

/// Embedded SQLite (feature `sqlite`, on by default), through diesel-async's
/// `SyncConnectionWrapper` over a bundled libsqlite3, each connection
/// running its statements on a thread of its own ([`ConnectionThread`]).
///
/// Every pooled connection turns on foreign keys, which SQLite leaves off, a
/// busy timeout ([`PoolOptions::sqlite_busy_timeout`](super::PoolOptions::sqlite_busy_timeout),
/// five seconds by default) and, on files, the WAL journal with
/// `synchronous = NORMAL`. A database URL is a file path, optionally
/// prefixed with `sqlite://`. `:memory:` gives every pooled connection its
/// own empty database, so use a file.
///
/// `expiry_date` holds Unix time in microseconds (`BIGINT`), which compares
/// correctly as a number; `data` is JSON text.
#[derive(Debug, Clone, Copy)]
pub struct Sqlite;

/// Reads go through SQLite's page cache, not a memory map (`mmap_size`
/// stays 0): with a connection thread per pooled connection, a mapped
/// database made every write's remapping interrupt the other threads, and
/// end to end at 8 clients ran at 0.82-0.89 of the peer against 1.28-1.68
/// without it.
const CONNECTION_SETUP: &str = "PRAGMA foreign_keys = ON; \
     PRAGMA synchronous = NORMAL;";

type Connection = SyncConnectionWrapper<SqliteConnection, ConnectionThread>;

/// The setup of every pooled connection of the database `url` names,
/// with the pool's busy timeout; the error of a value that names none.
fn setup(
    url: &str,
    options: &super::PoolOptions,
) -> Result<diesel_async::pooled_connection::SetupCallback<Connection>, Error> {
    let path: std::sync::Arc<str> = sqlite_path(url)?.into();
    let busy_timeout = options.sqlite_busy_timeout;
    Ok(crate::backend::setup_callback(move |_url| {
        establish(std::sync::Arc::clone(&path), busy_timeout)
    }))
}

fn establish(
    path: std::sync::Arc<str>,
    busy_timeout: Duration,
) -> crate::backend::SetupFuture<'static, Connection> {
    Box::pin(async move {
        let mut connection = Connection::establish(&path)
            .await
            .map_err(|error| match error {
                // SQLite's own words name neither the file nor how the URL was read.
                ConnectionError::BadConnection(message) => ConnectionError::BadConnection(format!(
                    "cannot open `{path}`, read as a SQLite database path: {message}"
                )),
                other => other,
            })?;
        let pragma = format!("PRAGMA busy_timeout = {};", busy_timeout.as_millis());
        connection
            .batch_execute(&(pragma + CONNECTION_SETUP))
            .await
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
        use_wal(&mut connection, busy_timeout)
            .await
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
        Ok(connection)
    })
}

/// Switches the database to the WAL journal, which it keeps from then on.
///
/// A new database switches under an exclusive lock, and SQLite answers a
/// second connection switching at the same moment (several servers starting
/// on one file) with "database is locked" at once instead of waiting, lest
/// the two deadlock; so this waits and tries again, up to the busy timeout.
async fn use_wal(connection: &mut Connection, busy_timeout: Duration) -> QueryResult<()> {
    const PAUSE: Duration = Duration::from_millis(5);
    let mut waited = Duration::ZERO;
    loop {
        match connection.batch_execute("PRAGMA journal_mode = WAL").await {
            Err(DieselError::DatabaseError(DatabaseErrorKind::Unknown, info))
                if info.message() == "database is locked" && waited < busy_timeout =>
            {
                tokio::time::sleep(PAUSE).await;
                waited += PAUSE;
            }
            switched => return switched,
        }
    }
}

impl Backend for Sqlite {
    type Expiry = i64;

    deadpool_backend!(Connection, url => setup);

    fn expiry_to_column(expiry: OffsetDateTime) -> i64 {
        // Every OffsetDateTime fits: years are bounded to ±9999.
        i64::try_from(expiry.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
    }

    fn expiry_from_column(micros: i64) -> Result<OffsetDateTime, Error> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
            .map_err(|error| Error::Decode(format!("expiry_date {micros}: {error}")))
    }
}

impl BackendInternals for Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;

    fn names_a_missing_table(message: &str) -> bool {
        message.starts_with("no such table")
    }

    fn delete_expired_batch<'a>(
        connection: &'a mut Connection,
        table: &'static str,
        now: &'a i64,
        born_by: Option<&'a i64>,
        limit: i64,
    ) -> impl std::future::Future<Output = QueryResult<usize>> + Send + 'a {
        // SQLite's `DELETE ... LIMIT` needs a compile-time option the
        // bundled library lacks; the subquery scans in rowid order,
        // oldest rows first, where expired sessions gather.
        let table = Self::DIALECT.quote_identifier(table);
        let sql = format!(
            "DELETE FROM {table} WHERE id IN \
             (SELECT id FROM {table} WHERE expiry_date <= ? LIMIT ?)"
        );
        // Past the absolute timeout: a row written before the limit capped
        // every expiry, or by a server without it.
        super::execute_cleanup_batch::<_, BigInt, _>(
            connection,
            sql,
            |sql| {
                sql.replace(
                    "expiry_date <= ?",
                    &format!("(expiry_date <= ? OR {LIFETIME_START_SQL} <= ?)"),
                )
            },
            now,
            born_by,
            limit,
        )
    }

    read_live_table!(CatalogQueries {
        columns: "SELECT name, type AS sql_type, \"notnull\" AS not_null, \
                  dflt_value IS NOT NULL AS has_default \
                  FROM pragma_table_info(?) ORDER BY cid",
        indexes: "SELECT name FROM pragma_index_list(?)",
        foreign_keys: "SELECT \"from\" AS column_name, \"table\" AS referenced_table, \
                       COALESCE(\"to\", '') AS referenced_column, on_delete \
                       FROM pragma_foreign_key_list(?)",
        storage: None,
    });

    deadpool_internals!();
}

column_types!(Sqlite {
    SmallInt => "SMALLINT";
    Integer => "INTEGER";
    BigInt => "BIGINT";
    Float => "REAL";
    Double => "DOUBLE";
    Bool => "BOOLEAN";
    Text => "TEXT";
    Binary => "BLOB";
    Json => "TEXT";
    TimestamptzSqlite => "TEXT";
    Timestamp => "TEXT";
    Date => "TEXT";
    Time => "TEXT";
});
