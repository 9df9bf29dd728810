use diesel::sql_types::{
    BigInt, Binary, Bool, Date, Double, Float, Integer, Json, SmallInt, Text, Time, Timestamp,
    TimestamptzSqlite,
};
use diesel::{ConnectionError, SqliteConnection};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use time::OffsetDateTime;

use super::{deadpool_backend, quote_with, sealed, Backend};
use crate::ddl::{column_types, Migration};
use crate::Error;

/// Embedded SQLite (feature `sqlite`, on by default), through diesel-async's
/// `SyncConnectionWrapper` over a bundled libsqlite3.
///
/// Every pooled connection turns on foreign keys, which SQLite leaves off, a
/// five-second busy timeout and, on files, the WAL journal with
/// `synchronous = NORMAL` and reads through a memory map of up to 256 MiB. A database URL is a file path, optionally
/// prefixed with `sqlite://`. `:memory:` gives every pooled connection its
/// own empty database, so use a file.
///
/// `expiry_date` holds Unix time in microseconds (`BIGINT`), which compares
/// correctly as a number; `data` is JSON text.
#[derive(Debug, Clone, Copy)]
pub struct Sqlite;

impl sealed::Sealed for Sqlite {}

const CONNECTION_SETUP: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA foreign_keys = ON; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; \
     PRAGMA mmap_size = 268435456;";

type Connection = SyncConnectionWrapper<SqliteConnection>;

fn establish(url: &str) -> super::SetupFuture<'_, Connection> {
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    Box::pin(async move {
        let mut connection = Connection::establish(path).await?;
        connection
            .batch_execute(CONNECTION_SETUP)
            .await
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
        Ok(connection)
    })
}

impl Backend for Sqlite {
    const NAME: &'static str = "SQLite";
    type Expiry = i64;

    const ID_SQL: &'static str = "BLOB";
    const DATA_SQL: &'static str = "TEXT";
    const EXPIRY_SQL: &'static str = "BIGINT";
    const INLINE_INDEXES: bool = false;
    // The table is looked up by its 32-byte key only; clustering on it saves
    // the rowid index.
    const TABLE_OPTIONS: &'static str = " WITHOUT ROWID";

    deadpool_backend!(Connection, establish);

    fn quote_identifier(name: &str) -> String {
        quote_with('"', name)
    }

    fn expiry_to_column(expiry: OffsetDateTime) -> i64 {
        // Every OffsetDateTime fits: years are bounded to ±9999.
        i64::try_from(expiry.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
    }

    fn expiry_from_column(micros: i64) -> Result<OffsetDateTime, Error> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
            .map_err(|error| Error::Decode(format!("expiry_date {micros}: {error}")))
    }

    async fn migrate(connection: &mut Connection, migration: &Migration) -> Result<(), Error> {
        // IMMEDIATE takes the write lock up front, so two servers migrating
        // at once wait on the busy timeout instead of failing on an upgrade.
        super::run_in_transaction(connection, "BEGIN IMMEDIATE", migration.up_statements()).await
    }
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
