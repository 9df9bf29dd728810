//! The peer: `tower-sessions-sqlx-store`, driven through the tower-sessions
//! 0.14 traits it implements.

use async_trait::async_trait;
use tower_sessions_core_014::session::{Id, Record};
use tower_sessions_core_014::{ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::sqlx;

use crate::contender::{names, Contender, SeedRow, Seeder, Slot};
use crate::payload::Payload;
use crate::BenchResult;

/// A `tower-sessions-sqlx-store` store and the bulk writer of its rows.
pub struct Peer<T> {
    store: T,
    seeder: Box<dyn Seeder>,
}

impl<T> Peer<T> {
    /// `store`, seeded by `seeder`.
    pub fn new(store: T, seeder: Box<dyn Seeder>) -> Self {
        Peer { store, seeder }
    }
}

#[async_trait]
impl<T> Contender for Peer<T>
where
    T: SessionStore + ExpiredDeletion,
{
    fn name(&self) -> &'static str {
        names::PEER
    }

    async fn reset(&self) -> BenchResult<()> {
        self.seeder.clear().await
    }

    async fn seed(&self, rows: &[SeedRow], payload: &Payload) -> BenchResult<()> {
        self.seeder.seed(rows, payload).await
    }

    async fn create(&self, slot: &mut Slot, id: i128) -> BenchResult<()> {
        slot.record_014.id = Id(id);
        Ok(self.store.create(&mut slot.record_014).await?)
    }

    async fn save(&self, slot: &mut Slot, id: i128) -> BenchResult<()> {
        slot.record_014.id = Id(id);
        Ok(self.store.save(&slot.record_014).await?)
    }

    async fn load(&self, id: i128) -> BenchResult<Option<usize>> {
        let record = self.store.load(&Id(id)).await?;
        Ok(record.map(|record| record.data.len()))
    }

    async fn delete(&self, id: i128) -> BenchResult<()> {
        Ok(self.store.delete(&Id(id)).await?)
    }

    async fn delete_expired(&self) -> BenchResult<()> {
        Ok(self.store.delete_expired().await?)
    }
}

/// The peer's rows for `rows`: its id text, its MessagePack encoding of the
/// whole record, and the expiry, exactly as its `save` writes them.
fn peer_rows(
    rows: &[SeedRow],
    payload: &Payload,
) -> BenchResult<Vec<(String, Vec<u8>, time::OffsetDateTime)>> {
    let mut record = Record {
        id: Id(0),
        data: payload.map.clone(),
        expiry_date: time::OffsetDateTime::now_utc(),
    };
    rows.iter()
        .map(|row| {
            record.id = Id(row.id);
            record.expiry_date = row.expiry();
            Ok((
                record.id.to_string(),
                rmp_serde::to_vec(&record)?,
                record.expiry_date,
            ))
        })
        .collect()
}

/// The size of the peer's encoding of `payload`; MySQL's `BLOB` holds at
/// most 65 535 bytes.
pub fn encoded_size(payload: &Payload) -> usize {
    let record = Record {
        id: Id(0),
        data: payload.map.clone(),
        expiry_date: time::OffsetDateTime::now_utc(),
    };
    rmp_serde::to_vec(&record).map_or(0, |bytes| bytes.len())
}

/// Defines a seeder of the peer's table on one sqlx database.
macro_rules! peer_seeder {
    ($name:ident, $database:ty, $pool:ty) => {
        /// Writes the peer's rows in bulk.
        pub struct $name {
            pool: $pool,
            /// The quoted, schema-qualified table name.
            table: String,
        }

        impl $name {
            /// A seeder of `table` (quoted and qualified as needed).
            pub fn new(pool: $pool, table: String) -> Self {
                $name { pool, table }
            }
        }

        #[async_trait]
        impl Seeder for $name {
            async fn seed(&self, rows: &[SeedRow], payload: &Payload) -> BenchResult<()> {
                for chunk in rows.chunks(payload.rows_per_insert()) {
                    let values = peer_rows(chunk, payload)?;
                    let mut query = sqlx::QueryBuilder::<$database>::new(format!(
                        "INSERT INTO {} (id, data, expiry_date) ",
                        self.table
                    ));
                    query.push_values(values, |mut row, (id, data, expiry)| {
                        row.push_bind(id).push_bind(data).push_bind(expiry);
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
    };
}

peer_seeder!(SqliteSeeder, sqlx::Sqlite, sqlx::SqlitePool);
peer_seeder!(PostgresSeeder, sqlx::Postgres, sqlx::PgPool);
peer_seeder!(MysqlSeeder, sqlx::MySql, sqlx::MySqlPool);
