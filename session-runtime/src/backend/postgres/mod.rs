use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{
    BigInt, Binary, Bool, Date, Double, Float, Integer, Json, Jsonb, SmallInt, Text, Time,
    Timestamp, Timestamptz,
};
use diesel_async::AsyncPgConnection;
use serde_json::Value;
use time::OffsetDateTime;

mod connect;
mod data_column;
mod merge_patch;

use super::{column_types, deadpool_backend, deadpool_internals, Backend, BackendInternals};
use crate::backend::catalog::{read_live_table, CatalogQueries};
use crate::backend::data_column::DataJson;
use crate::backend::data_patch::{DataChange, KeyChanges};
use crate::backend::lifetime_sql::LIFETIME_START_SQL;
use crate::schema::dialect::Dialect;
use crate::schema::table_def::ColumnDef;
use crate::session_data::SessionData;
use crate::Error;
use data_column::PlainFloats;
use merge_patch::merge_patch;

/// PostgreSQL (feature `postgres`), through diesel-async's
/// `AsyncPgConnection`, a pure-Rust driver.
///
/// `data` is `JSONB` and `expiry_date` is `TIMESTAMPTZ`. JSONB cannot hold
/// the character U+0000, so a session containing it, in a key or in a
/// string, is refused with [`Error::Encode`] before anything is written.
#[derive(Debug, Clone, Copy)]
pub struct Postgres;

impl Backend for Postgres {
    type Expiry = OffsetDateTime;

    deadpool_backend!(AsyncPgConnection, url => connect::setup);

    fn expiry_to_column(expiry: OffsetDateTime) -> OffsetDateTime {
        expiry
    }

    fn expiry_from_column(expiry: OffsetDateTime) -> Result<OffsetDateTime, Error> {
        Ok(expiry)
    }
}

impl BackendInternals for Postgres {
    const DIALECT: Dialect = Dialect::Postgres;

    fn names_a_missing_table(message: &str) -> bool {
        message.starts_with("relation \"") && message.ends_with("does not exist")
    }

    fn statement_failure_hint(message: &str) -> Option<&'static str> {
        connect::names_a_pooler(message).then_some(connect::PGBOUNCER_HINT)
    }

    fn behind_pgbouncer(url: &str, options: &super::PoolOptions) -> Result<bool, Error> {
        connect::behind_pgbouncer(url, options)
    }

    fn data_to_column(
        data: &SessionData,
        columns: &'static [ColumnDef],
    ) -> Result<DataJson, Error> {
        DataJson::without_typed(data, columns, PlainFloats)
    }

    fn data_patch(
        data: &SessionData,
        columns: &'static [ColumnDef],
        changes: &KeyChanges,
    ) -> Result<DataChange, Error> {
        merge_patch(data, columns, changes, PlainFloats)
    }

    fn delete_expired_batch<'a>(
        connection: &'a mut AsyncPgConnection,
        table: &'static str,
        now: &'a OffsetDateTime,
        born_by: Option<&'a OffsetDateTime>,
        limit: i64,
    ) -> impl std::future::Future<Output = diesel::QueryResult<usize>> + Send + 'a {
        // PostgreSQL has no `DELETE ... LIMIT`. `SKIP LOCKED` lets the
        // cleanups of several servers share a backlog instead of queueing
        // on each other's rows, and leaves a row a request is saving for
        // the next batch.
        let table = Self::DIALECT.quote_identifier(table);
        let sql = format!(
            "DELETE FROM {table} WHERE id IN \
             (SELECT id FROM {table} WHERE expiry_date <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"
        );
        // Past the absolute timeout: a row written before the limit capped
        // every expiry, or by a server without it.
        super::execute_cleanup_batch::<_, Timestamptz, _>(
            connection,
            sql,
            |sql| {
                sql.replace(
                    "expiry_date <= $1 LIMIT $2",
                    &format!("(expiry_date <= $1 OR {LIFETIME_START_SQL} <= $2) LIMIT $3"),
                )
            },
            now,
            born_by,
            limit,
        )
    }

    fn lost_connection(error: &DieselError) -> bool {
        // tokio-postgres errors without a SQLSTATE are its own: the
        // connection closed, or its socket failed. A backend terminated by
        // an admin or a shutdown answers with `57P01`..`57P03`, whose code
        // diesel-async drops (see `is_deadlock`); its message names it. A
        // primary demoted to a standby, or a connection that reached the
        // standby before its promotion, refuses every write; a new
        // connection with `target_session_attrs=read-write` finds the
        // primary.
        match error {
            DieselError::DatabaseError(
                DatabaseErrorKind::UnableToSendCommand | DatabaseErrorKind::ReadOnlyTransaction,
                _,
            ) => true,
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
                info.message().starts_with("terminating connection")
            }
            _ => false,
        }
    }

    fn is_deadlock(error: &DieselError) -> bool {
        // By SQLSTATE where diesel-async keeps it: it maps `40001`
        // (`serialization_failure`) to `SerializationFailure`. `40P01`
        // (`deadlock_detected`) becomes `Unknown`, and its code cannot be
        // recovered: the `DbError` that holds it is boxed in diesel-async's
        // private `PostgresDbErrorWrapper` as a `DatabaseErrorInformation`,
        // a trait with no code accessor that cannot be downcast
        // (`pg/error_helper.rs`, diesel-async 0.9). So the message decides,
        // which holds while the server's `lc_messages` is English (the
        // default; only a superuser can change it per session).
        // Translated messages make a deadlock an error instead of a retry.
        match error {
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
                info.message() == "deadlock detected"
            }
            _ => false,
        }
    }

    fn check_data(data: &SessionData) -> Result<(), Error> {
        // Neither the key nor its value goes into the message: either may
        // be a secret, and tower-sessions logs store errors.
        for (index, (key, value)) in data.iter().enumerate() {
            if key.contains('\0') || contains_nul(value) {
                return Err(Error::Encode(format!(
                    "session key {} of {} (a key of {} characters) holds the character U+0000, \
                     which PostgreSQL JSONB cannot store",
                    index + 1,
                    data.len(),
                    key.chars().count()
                )));
            }
        }
        Ok(())
    }

    read_live_table!(CatalogQueries {
        columns: "SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS sql_type, \
                  (CASE WHEN a.attnotnull THEN 1 ELSE 0 END)::int8 AS not_null, \
                  (CASE WHEN a.atthasdef THEN 1 ELSE 0 END)::int8 AS has_default \
                  FROM pg_attribute a \
                  WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
                  ORDER BY a.attnum",
        indexes: "SELECT c.relname::text AS name FROM pg_index i \
                  JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass($1)",
        foreign_keys: "SELECT a.attname::text AS column_name, r.relname::text AS referenced_table, \
                       ra.attname::text AS referenced_column, \
                       CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' \
                       WHEN 'r' THEN 'RESTRICT' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END \
                       AS on_delete \
                       FROM pg_constraint c \
                       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
                       JOIN pg_class r ON r.oid = c.confrelid \
                       JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1] \
                       WHERE c.contype = 'f' AND c.conrelid = to_regclass($1)",
        storage: Some(
            "SELECT (CASE c.relpersistence WHEN 'u' THEN 1 ELSE 0 END)::int8 AS unlogged, \
             (SELECT CASE a.attcompression WHEN 'l' THEN 'lz4' WHEN 'p' THEN 'pglz' ELSE 'default' END \
              FROM pg_attribute a \
              WHERE a.attrelid = c.oid AND a.attname = 'data' AND NOT a.attisdropped) AS data_compression \
             FROM pg_class c WHERE c.oid = to_regclass($1)"
        ),
    });

    deadpool_internals!();
}

fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(members) => members
            .iter()
            .any(|(key, value)| key.contains('\0') || contains_nul(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

column_types!(Postgres {
    SmallInt => "SMALLINT";
    Integer => "INTEGER";
    BigInt => "BIGINT";
    Float => "REAL";
    Double => "DOUBLE PRECISION";
    Bool => "BOOLEAN";
    Text => "TEXT";
    Binary => "BYTEA";
    Json => "JSON";
    Jsonb => "JSONB";
    Timestamptz => "TIMESTAMPTZ";
    Timestamp => "TIMESTAMP";
    Date => "DATE";
    Time => "TIME";
});
