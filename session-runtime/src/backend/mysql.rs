use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{
    BigInt, Binary, Bool, Date, Datetime, Double, Float, Integer, Json, SmallInt, Text, Time,
    Timestamp,
};
use diesel_async::{AsyncConnection, AsyncMysqlConnection};
use time::OffsetDateTime;

use super::{deadpool_backend, quote_with, sealed, Backend, MigrationLock};
use crate::ddl::{column_types, Dialect};
use crate::live_table::{read_live_table, CatalogQueries};
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
#[derive(Debug, Clone, Copy)]
pub struct Mysql;

impl sealed::Sealed for Mysql {}

/// How long `migrate()` waits for another server's migration of the same
/// table; the statement timeout bounds it as well.
const MIGRATION_LOCK_WAIT_SECONDS: u32 = 60;

fn establish(url: &str) -> super::SetupFuture<'_, AsyncMysqlConnection> {
    Box::pin(AsyncMysqlConnection::establish(url))
}

impl Backend for Mysql {
    const NAME: &'static str = "MySQL";
    type Expiry = OffsetDateTime;

    const ID_SQL: &'static str = "BINARY(32)";
    const DATA_SQL: &'static str = "JSON";
    const EXPIRY_SQL: &'static str = "DATETIME(6)";
    const DIALECT: Dialect = Dialect::Mysql;
    const TABLE_OPTIONS: &'static str = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
    // MariaDB's `JSON` is `LONGTEXT CHECK (json_valid(...))`, and
    // `json_valid` refuses documents nested 32 levels or more; MySQL's own
    // limit is 100.
    const MAX_DEPTH: usize = 31;

    deadpool_backend!(AsyncMysqlConnection, establish);

    fn quote_identifier(name: &str) -> String {
        quote_with('`', name)
    }

    fn expiry_to_column(expiry: OffsetDateTime) -> OffsetDateTime {
        expiry
    }

    fn expiry_from_column(expiry: OffsetDateTime) -> Result<OffsetDateTime, Error> {
        Ok(expiry)
    }

    fn write_failure_hint(message: &str) -> Option<&'static str> {
        // The server answers a packet over `max_allowed_packet` by closing
        // the connection while the client still writes.
        (message.contains("Broken pipe") || message.contains("Connection reset")).then_some(
            "if the session is large: MySQL closes the connection on a statement \
             larger than its `max_allowed_packet`",
        )
    }

    fn is_deadlock(error: &DieselError) -> bool {
        // diesel-async keeps the server's message but not its code (1213,
        // `ER_LOCK_DEADLOCK`). InnoDB can pick a single UPDATE as the victim
        // when the optimizer walks the `expiry_date` index towards a row
        // another statement is deleting.
        matches!(
            error,
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().starts_with("Deadlock found")
        )
    }

    fn migration_lock(table: &str) -> MigrationLock {
        // DDL commits by itself in MySQL, so a transaction would not hold;
        // a named lock, one per database and table, makes servers take
        // turns. It is the connection's: a connection that dies frees it.
        let name = format!(
            "LEFT(CONCAT('session-runtime migrate ', DATABASE(), '.', {}), 64)",
            Self::quote_string(table)
        );
        MigrationLock {
            begin: format!("DO GET_LOCK({name}, {MIGRATION_LOCK_WAIT_SECONDS})"),
            commit: format!("DO RELEASE_LOCK({name})"),
            rollback: format!("DO RELEASE_LOCK({name})"),
        }
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
    });

    fn canonical_type(sql_type: &str) -> String {
        let spelling = super::canonical_spelling(sql_type);
        // MariaDB and MySQL before 8.0.19 report integer display widths,
        // `bigint(20)`; MariaDB's JSON is a LONGTEXT with a check.
        let integer = ["bigint", "int", "mediumint", "smallint"]
            .into_iter()
            .find(|name| spelling.starts_with(&format!("{name}(")));
        match (integer, spelling.as_str()) {
            (Some(name), _) => name.to_owned(),
            (None, "integer") => "int".to_owned(),
            (None, "boolean" | "bool") => "tinyint(1)".to_owned(),
            (None, "json") => "longtext".to_owned(),
            _ => spelling,
        }
    }

    fn quote_string(text: &str) -> String {
        // Without `NO_BACKSLASH_ESCAPES`, MySQL reads a backslash in a
        // string literal as an escape.
        quote_with('\'', &text.replace('\\', "\\\\"))
    }
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
