use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{
    BigInt, Binary, Bool, Date, Datetime, Double, Float, Integer, Json, SmallInt, Text, Time,
    Timestamp,
};
use diesel_async::AsyncMysqlConnection;
use time::OffsetDateTime;

mod connect;
mod data_column;

use super::{column_types, deadpool_backend, deadpool_internals, Backend, BackendInternals};
use crate::schema::dialect::Dialect;

use crate::backend::catalog::{read_live_table, CatalogQueries};
use crate::backend::lifetime_sql::LIFETIME_START_SQL;
use crate::Error;

/// MySQL and MariaDB (feature `mysql`), through diesel-async's
/// `AsyncMysqlConnection`, a pure-Rust driver.
///
/// `id` is `BINARY(32)`, so ids compare byte for byte whatever the
/// collation; `data` is `JSON` (up to 4 GiB, bounded in practice by
/// `max_allowed_packet`, and nested at most 31 levels, MariaDB's limit);
/// `expiry_date` is `DATETIME(6)` holding UTC, bound from Rust, so neither
/// the server's nor the connection's time zone matters. Tables are InnoDB
/// with `utf8mb4`.
///
/// Every pooled connection sets a strict `sql_mode` (`STRICT_ALL_TABLES`,
/// `STRICT_TRANS_TABLES`, `NO_ZERO_DATE`, `NO_ZERO_IN_DATE`,
/// `ERROR_FOR_DIVISION_BY_ZERO`, `NO_ENGINE_SUBSTITUTION`) and English
/// messages, for the store's statements and the app's own queries on
/// [`DieselStore::connection`](crate::DieselStore::connection) alike: a
/// value a column cannot hold is an error, never silently cut short.
#[derive(Debug, Clone, Copy)]
pub struct Mysql;

/// Set on every pooled connection, whatever the server's defaults:
///
/// - a strict `sql_mode`, so that a value a column cannot hold fails the
///   statement instead of being cut short or zeroed with a warning;
/// - English messages, so that the deadlock test in `is_deadlock`, the one
///   place that must read a message, reads the words it expects.
const CONNECTION_SETUP: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,STRICT_TRANS_TABLES,\
     NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', \
     SESSION lc_messages = 'en_US'";

/// Set on every pooled connection of a server that knows the variable:
/// on a Galera cluster, a read, update or delete first waits until this
/// node has applied every write the cluster committed before it, so that a
/// session created or saved through one node is what the next request
/// reads through another. Galera applies writes on the other nodes after
/// they commit; without this, one new session in a hundred was missing
/// from the next node at once. A server without Galera ignores it; MySQL,
/// which has no such variable, refuses it, and is left alone.
const CAUSAL_READS: &str = "SET SESSION wsrep_sync_wait = 3";

/// The pool's connection setup for `url`, read once: a URL the store
/// cannot read fails here, before any connection is tried.
fn setup(
    url: &str,
    options: &crate::backend::PoolOptions,
) -> Result<diesel_async::pooled_connection::SetupCallback<AsyncMysqlConnection>, Error> {
    let settings = std::sync::Arc::new(connect::read_url(url).map_err(Error::backend_message)?);
    let causal_reads = options.causal_reads;
    Ok(Box::new(move |_url| {
        let settings = std::sync::Arc::clone(&settings);
        Box::pin(async move { establish(&settings, causal_reads).await })
    }))
}

async fn establish(
    settings: &connect::ConnectSettings,
    causal_reads: bool,
) -> diesel::ConnectionResult<AsyncMysqlConnection> {
    use diesel_async::SimpleAsyncConnection as _;
    let mut connection = connect::open(settings).await?;
    connection
        .batch_execute(CONNECTION_SETUP)
        .await
        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
    if !causal_reads {
        return Ok(connection);
    }
    match connection.batch_execute(CAUSAL_READS).await {
        Err(DieselError::DatabaseError(_, info))
            if info.message().starts_with("Unknown system variable") => {}
        set => set.map_err(diesel::ConnectionError::CouldntSetupConfiguration)?,
    }
    Ok(connection)
}

impl Backend for Mysql {
    type Expiry = OffsetDateTime;

    deadpool_backend!(AsyncMysqlConnection, url => setup);

    fn expiry_to_column(expiry: OffsetDateTime) -> OffsetDateTime {
        expiry
    }

    fn expiry_from_column(expiry: OffsetDateTime) -> Result<OffsetDateTime, Error> {
        Ok(expiry)
    }
}

impl BackendInternals for Mysql {
    const DIALECT: Dialect = Dialect::Mysql;

    // MariaDB's `JSON` is `LONGTEXT CHECK (json_valid(...))`, and
    // `json_valid` refuses documents nested 32 levels or more; MySQL's own
    // limit is 100.
    const MAX_DEPTH: usize = 31;

    fn delete_expired_batch<'a>(
        connection: &'a mut AsyncMysqlConnection,
        table: &'static str,
        now: &'a OffsetDateTime,
        born_by: Option<&'a OffsetDateTime>,
        limit: i64,
    ) -> impl std::future::Future<Output = diesel::QueryResult<usize>> + Send + 'a {
        // MySQL refuses `LIMIT` in an `IN` subquery, and has `DELETE ...
        // LIMIT` instead; it walks the expiry index.
        let sql = format!(
            "DELETE FROM {} WHERE expiry_date <= ? LIMIT ?",
            Self::DIALECT.quote_identifier(table)
        );
        // Past the absolute timeout: a row written before the limit capped
        // every expiry, or by a server without it.
        super::execute_cleanup_batch::<_, Datetime, _>(
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

    fn names_a_missing_table(message: &str) -> bool {
        message.starts_with("Table '") && message.ends_with("doesn't exist")
    }

    fn statement_failure_hint(message: &str) -> Option<&'static str> {
        // MySQL has no `DELETE ... RETURNING`, which the session cap's
        // statement ends with.
        (message.starts_with("You have an error in your SQL syntax")
            && message.contains("RETURNING"))
        .then_some(
            "the per-user session cap (`with_max_sessions_per`) needs `DELETE ... RETURNING`, \
                 which MariaDB has since 10.5 and MySQL lacks",
        )
    }

    fn write_failure_hint(message: &str) -> Option<&'static str> {
        // The server answers a packet over `max_allowed_packet` by closing
        // the connection while the client still writes.
        (message.contains("Broken pipe") || message.contains("Connection reset")).then_some(
            "if the session is large: MySQL closes the connection on a statement \
             larger than its `max_allowed_packet`",
        )
    }

    fn lost_connection(error: &DieselError) -> bool {
        // diesel-async flattens mysql_async's error into its message (see
        // `is_deadlock`), so the variant is read from the prefix its
        // `Display` gives: `Input/output error: ...` for the socket, and
        // the driver's "Connection to the server is closed." for a
        // connection already known dead. A server error has no prefix: the
        // server answered, the connection is fine; but a server running
        // `--read-only` (1290), as a replica or a demoted primary is,
        // refuses every write, and a new connection may reach the new
        // primary.
        let DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) = error else {
            return false;
        };
        let message = info.message();
        message.starts_with("Input/output error:")
            || message.starts_with("Driver error: `Connection to the server is closed.")
            || message.contains("running with the --read-only option")
            || message.starts_with("Cannot execute statement in a READ ONLY transaction")
    }

    fn is_deadlock(error: &DieselError) -> bool {
        // By message, because the code is gone: diesel-async 0.9 turns
        // mysql_async's `ServerError { code, message, state }` into
        // `DatabaseError(Unknown, Box<String>)` holding the message alone
        // (`mysql/error_helper.rs`), and a boxed `DatabaseErrorInformation`
        // cannot be downcast. Every pooled connection pins `lc_messages` to
        // English, so the words are the ones below. InnoDB can pick a single
        // UPDATE as a deadlock's victim (1213, `ER_LOCK_DEADLOCK`) when the
        // optimizer walks the `expiry_date` index towards a row another
        // statement is deleting; a lock wait timeout (1205) rolls back the
        // statement alone, so it too can run again.
        matches!(
            error,
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().starts_with("Deadlock found")
                    || info.message().starts_with("Lock wait timeout exceeded")
        )
    }

    read_live_table!(CatalogQueries {
        columns: "SELECT COLUMN_NAME AS name, COLUMN_TYPE AS sql_type, \
                  CAST(IS_NULLABLE = 'NO' AS SIGNED) AS not_null, \
                  CAST(COLUMN_DEFAULT IS NOT NULL AS SIGNED) AS has_default \
                  FROM information_schema.COLUMNS \
                  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        indexes: "SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS \
                  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        foreign_keys: "SELECT k.COLUMN_NAME AS column_name, \
                       k.REFERENCED_TABLE_NAME AS referenced_table, \
                       k.REFERENCED_COLUMN_NAME AS referenced_column, r.DELETE_RULE AS on_delete \
                       FROM information_schema.KEY_COLUMN_USAGE k \
                       JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
                       ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA \
                       AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME \
                       WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = ? \
                       AND k.REFERENCED_TABLE_NAME IS NOT NULL",
        storage: None,
    });

    deadpool_internals!();
}

column_types!(Mysql {
    SmallInt => "SMALLINT";
    Integer => "INT";
    BigInt => "BIGINT";
    Float => "FLOAT";
    Double => "DOUBLE";
    Bool => "BOOLEAN";
    Text => "LONGTEXT", indexed "VARCHAR(255)";
    Binary => "LONGBLOB", indexed "VARBINARY(255)";
    Json => "JSON";
    Datetime => "DATETIME(6)";
    Timestamp => "TIMESTAMP(6)";
    Date => "DATE";
    Time => "TIME";
});
