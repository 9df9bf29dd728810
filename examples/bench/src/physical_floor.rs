//! The physical floor: the least any SQL session store can do per
//! operation.
//!
//! Its table has the three columns every store needs, `id`, `data` and
//! `expiry_date`, with the same types as ours plain (a 32-byte digest, JSON
//! text, the backend's timestamp; `data` is `JSON` with lz4 compression on
//! PostgreSQL and `LONGBLOB` on MySQL, the cheapest of ours's `data` types)
//! and nothing
//! else: a primary key, no index on the expiry,
//! no foreign key. Each operation is one statement, prepared once
//! per connection and sent through sqlx, the fastest async driver for each
//! backend here (on SQLite it runs every connection on a worker thread of
//! its own, as ours does). It still does the work no store can skip: the
//! digest of the id, the map to JSON and back.
//!
//! The same rows, written in bulk, also seed `ours plain`: a struct without
//! fields has exactly these columns.

use session_runtime::SessionDigest;

use crate::contender::SeedRow;
use crate::payload::Payload;

/// The physical floor's table on PostgreSQL and MySQL, next to ours; on
/// SQLite in a database file of its own.
pub const PHYSICAL_TABLE: &str = "bench_physical_sessions";

/// The statements of the physical floor on one table.
struct Statements {
    insert: String,
    update: String,
    load: String,
    delete: String,
    delete_expired: String,
}

impl Statements {
    /// The statements on `table`, with parameters written by `parameter`
    /// (`$1` on PostgreSQL, `?` elsewhere) from 1 on, and the JSON text of
    /// `data` by `data`.
    fn new(table: &str, parameter: fn(usize) -> String, data: fn(usize) -> String) -> Statements {
        let p = parameter;
        Statements {
            insert: format!(
                "INSERT INTO {table} (id, data, expiry_date) VALUES ({}, {}, {})",
                p(1),
                data(2),
                p(3)
            ),
            update: format!(
                "UPDATE {table} SET data = {}, expiry_date = {} WHERE id = {}",
                data(1),
                p(2),
                p(3)
            ),
            load: format!(
                "SELECT data, expiry_date FROM {table} WHERE id = {} AND expiry_date > {}",
                p(1),
                p(2)
            ),
            delete: format!("DELETE FROM {table} WHERE id = {}", p(1)),
            delete_expired: format!("DELETE FROM {table} WHERE expiry_date <= {}", p(1)),
        }
    }
}

/// The `CREATE TABLE` of the minimal schema, with ours's column types
/// (those of the guide's schema chapter) and `data_sql` for `data`.
fn create_table<B: session_runtime::backend::Backend>(
    table: &str,
    data_sql: &str,
    suffix: &str,
) -> String {
    let (id_sql, expiry_sql) = match B::NAME {
        "SQLite" => ("BLOB", "BIGINT"),
        "PostgreSQL" => ("BYTEA", "TIMESTAMPTZ"),
        _ => ("BINARY(32)", "DATETIME(6)"),
    };
    format!(
        "CREATE TABLE {table} (id {id_sql} PRIMARY KEY NOT NULL, data {data_sql} NOT NULL, expiry_date {expiry_sql} NOT NULL){suffix}"
    )
}

/// The `id` column's value of a session: its digest, as ours stores it.
fn id_column(id: i128) -> Vec<u8> {
    SessionDigest::of_id(id).as_bytes().to_vec()
}

/// Groups `rows` for multi-row inserts of `payload`.
fn insert_chunks<'a>(rows: &'a [SeedRow], payload: &Payload) -> std::slice::Chunks<'a, SeedRow> {
    rows.chunks(payload.rows_per_insert())
}

/// Defines the physical floor on one sqlx database.
macro_rules! physical_floor {
    (
        $module:ident,
        $backend:ty,
        $database:ty,
        $pool:ty,
        $parameter:expr,
        data: ($data_sql:expr, $data_parameter:expr),
        $table_suffix:expr
    ) => {
        /// The physical floor on this backend.
        pub mod $module {
            use std::collections::HashMap;

            use async_trait::async_trait;
            use session_runtime::backend::Backend;
            use sqlx::types::Json;
            use time::OffsetDateTime;

            use super::{create_table, id_column, insert_chunks, Statements};
            use crate::contender::{names, Contender, SeedRow, Seeder, Slot};
            use crate::payload::Payload;
            use crate::BenchResult;

            type Expiry = <$backend as Backend>::Expiry;

            /// The expiry column's value for `at`, as ours binds it.
            fn expiry(at: OffsetDateTime) -> Expiry {
                <$backend as Backend>::expiry_to_column(at)
            }

            /// The physical floor, or the bulk writer of any table of its
            /// three columns.
            pub struct PhysicalFloor {
                pool: $pool,
                table: String,
                statements: Statements,
            }

            impl PhysicalFloor {
                /// The floor on `table`, which exists already.
                pub fn on_table(pool: $pool, table: &str) -> Self {
                    PhysicalFloor {
                        pool,
                        table: table.to_owned(),
                        statements: Statements::new(table, $parameter, $data_parameter),
                    }
                }

                /// Creates `table` with the minimal schema, and the floor on
                /// it.
                pub async fn create(pool: $pool, table: &str) -> BenchResult<Self> {
                    let ddl = create_table::<$backend>(table, $data_sql, $table_suffix);
                    sqlx::query(&ddl)
                        .execute(&pool)
                        .await
                        .map_err(|error| format!("{ddl}: {error}"))?;
                    Ok(PhysicalFloor::on_table(pool, table))
                }
            }

            #[async_trait]
            impl Seeder for PhysicalFloor {
                async fn seed(&self, rows: &[SeedRow], payload: &Payload) -> BenchResult<()> {
                    for chunk in insert_chunks(rows, payload) {
                        let mut query = sqlx::QueryBuilder::<$database>::new(format!(
                            "INSERT INTO {} (id, data, expiry_date) ",
                            self.table
                        ));
                        query.push_values(chunk, |mut values, row| {
                            values
                                .push_bind(id_column(row.id))
                                .push_bind(Json(&payload.map))
                                .push_bind(expiry(row.expiry()));
                        });
                        query.build().execute(&self.pool).await?;
                    }
                    Ok(())
                }

                async fn clear(&self) -> BenchResult<()> {
                    sqlx::query(&format!("DELETE FROM {}", self.table))
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }
            }

            #[async_trait]
            impl Contender for PhysicalFloor {
                fn name(&self) -> &'static str {
                    names::PHYSICAL_FLOOR
                }

                async fn reset(&self) -> BenchResult<()> {
                    self.clear().await
                }

                async fn seed(&self, rows: &[SeedRow], payload: &Payload) -> BenchResult<()> {
                    Seeder::seed(self, rows, payload).await
                }

                async fn create(&self, slot: &mut Slot, id: i128) -> BenchResult<()> {
                    sqlx::query(&self.statements.insert)
                        .bind(id_column(id))
                        .bind(serde_json::to_string(&slot.record.data)?)
                        .bind(expiry(slot.record.expiry_date))
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn save(&self, slot: &mut Slot, id: i128) -> BenchResult<()> {
                    sqlx::query(&self.statements.update)
                        .bind(serde_json::to_string(&slot.record.data)?)
                        .bind(expiry(slot.record.expiry_date))
                        .bind(id_column(id))
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn load(&self, id: i128) -> BenchResult<Option<usize>> {
                    let row: Option<(Json<HashMap<String, serde_json::Value>>, Expiry)> =
                        sqlx::query_as(&self.statements.load)
                            .bind(id_column(id))
                            .bind(expiry(OffsetDateTime::now_utc()))
                            .fetch_optional(&self.pool)
                            .await?;
                    Ok(row.map(|(Json(data), _)| data.len()))
                }

                async fn delete(&self, id: i128) -> BenchResult<()> {
                    sqlx::query(&self.statements.delete)
                        .bind(id_column(id))
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn delete_expired(&self) -> BenchResult<()> {
                    sqlx::query(&self.statements.delete_expired)
                        .bind(expiry(OffsetDateTime::now_utc()))
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }
            }
        }
    };
}

fn question_mark(_: usize) -> String {
    "?".to_owned()
}

fn dollar(index: usize) -> String {
    format!("${index}")
}

/// JSON text sent as `text`, which PostgreSQL checks into a `JSON` value.
fn dollar_json(index: usize) -> String {
    format!("${index}::json")
}

physical_floor!(
    sqlite,
    session_runtime::backend::Sqlite,
    sqlx::Sqlite,
    sqlx::SqlitePool,
    super::question_mark,
    data: ("TEXT", super::question_mark),
    ""
);
physical_floor!(
    postgres,
    session_runtime::backend::Postgres,
    sqlx::Postgres,
    sqlx::PgPool,
    super::dollar,
    data: ("JSON COMPRESSION lz4", super::dollar_json),
    ""
);
physical_floor!(
    mysql,
    session_runtime::backend::Mysql,
    sqlx::MySql,
    sqlx::MySqlPool,
    super::question_mark,
    data: ("LONGBLOB", super::question_mark),
    " ENGINE=InnoDB"
);
