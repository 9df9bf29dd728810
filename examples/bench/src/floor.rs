//! The same-schema floor: the one statement each operation needs, written by hand with
//! the Diesel DSL on the derived table and sent through the same
//! diesel-async driver and the same kind of pool as ours, with the same
//! parameters.
//!
//! The parameters are prepared once per payload (the map already split into
//! the `data` object and the typed columns), so the floor pays for binding,
//! sending and decoding only: nothing a store could skip. What ours spends
//! above it is the store's own overhead.

/// Inserts the rows of `$values` (a `Vec` of Diesel insertable tuples)
/// into `$table`: in one multi-row `INSERT` where Diesel supports it
/// (`batch`), or one `INSERT` per row inside a transaction on SQLite, where
/// Diesel's batch insert does not take these tuples (`one_by_one`).
macro_rules! insert_rows {
    (batch, $connection:expr, $table:expr, $values:expr) => {
        diesel::insert_into($table)
            .values($values)
            .execute($connection)
            .await?;
    };
    (one_by_one, $connection:expr, $table:expr, $values:expr) => {
        $connection.batch_execute("BEGIN").await?;
        for row in $values {
            if let Err(error) = diesel::insert_into($table)
                .values(row)
                .execute($connection)
                .await
            {
                // The insert's error is the one worth reporting.
                let _ = $connection.batch_execute("ROLLBACK").await;
                return Err(error.into());
            }
        }
        $connection.batch_execute("COMMIT").await?;
    };
}

/// Defines `Floor` for one backend, on that backend's `bench_sessions`.
macro_rules! floor {
    ($module:ident, $backend:ty, $insert:ident) => {
        /// The floor on this backend.
        pub mod $module {
            use async_trait::async_trait;
            use diesel::{BoolExpressionMethods as _, ExpressionMethods as _};
            use diesel::{OptionalExtension as _, QueryDsl as _};
            use diesel_async::RunQueryDsl as _;
            #[allow(unused_imports)] // Only SQLite's seeding runs plain SQL.
            use diesel_async::SimpleAsyncConnection as _;
            use session_runtime::__private::CachedUpdate;
            use session_runtime::backend::Backend;
            use session_runtime::SessionDigest;
            use time::OffsetDateTime;

            use crate::contender::{Contender, SeedRow, Seeder, Slot};
            use crate::payload::Payload;
            use crate::$module::{bench_sessions, bench_users};
            use crate::BenchResult;

            type Pool = <$backend as Backend>::Pool;
            type Expiry = <$backend as Backend>::Expiry;

            /// The expiry column's value for `at`, as ours binds it.
            fn expiry(at: OffsetDateTime) -> Expiry {
                <$backend as Backend>::expiry_to_column(at)
            }

            /// The floor, on its own pool built as ours builds its pool.
            #[derive(Clone)]
            pub struct Floor {
                pool: Pool,
            }

            impl Floor {
                /// The floor on `pool`.
                pub fn new(pool: Pool) -> Self {
                    Floor { pool }
                }

                async fn connection(&self) -> BenchResult<<$backend as Backend>::PooledConnection> {
                    Ok(<$backend as Backend>::connection(&self.pool).await?)
                }

                /// Inserts users `first..first + count` into `bench_users`.
                pub async fn insert_users(&self, first: i64, count: i64) -> BenchResult<()> {
                    let mut connection = self.connection().await?;
                    let ids: Vec<i64> = (first..first + count).collect();
                    for chunk in ids.chunks(5_000) {
                        let logins: Vec<String> =
                            chunk.iter().map(|id| format!("user{id}")).collect();
                        let rows: Vec<_> = chunk
                            .iter()
                            .zip(&logins)
                            .map(|(id, login)| {
                                (
                                    bench_users::id.eq(*id),
                                    bench_users::login.eq(login.as_str()),
                                )
                            })
                            .collect();
                        insert_rows!($insert, &mut *connection, bench_users::table, rows);
                    }
                    Ok(())
                }
            }

            #[async_trait]
            impl Seeder for Floor {
                async fn seed(&self, rows: &[SeedRow], payload: &Payload) -> BenchResult<()> {
                    let mut connection = self.connection().await?;
                    for chunk in rows.chunks(payload.rows_per_insert()) {
                        let digests: Vec<SessionDigest> = chunk
                            .iter()
                            .map(|row| SessionDigest::of_id(row.id))
                            .collect();
                        let expiries: Vec<Expiry> =
                            chunk.iter().map(|row| expiry(row.expiry())).collect();
                        let values: Vec<_> = chunk
                            .iter()
                            .zip(digests.iter().zip(&expiries))
                            .map(|(row, (digest, expiry))| {
                                (
                                    bench_sessions::id.eq(&digest.as_bytes()[..]),
                                    bench_sessions::data.eq(&payload.rest),
                                    bench_sessions::expiry_date.eq(expiry),
                                    bench_sessions::user_id.eq(Some(row.user_id)),
                                    bench_sessions::user_agent
                                        .eq(Some(payload.user_agent.as_str())),
                                )
                            })
                            .collect();
                        insert_rows!($insert, &mut *connection, bench_sessions::table, values);
                    }
                    Ok(())
                }

                async fn clear(&self) -> BenchResult<()> {
                    let mut connection = self.connection().await?;
                    diesel::delete(bench_sessions::table)
                        .execute(&mut *connection)
                        .await?;
                    Ok(())
                }
            }

            #[async_trait]
            impl Contender for Floor {
                fn name(&self) -> &'static str {
                    crate::contender::names::SAME_SCHEMA_FLOOR
                }

                async fn reset(&self) -> BenchResult<()> {
                    self.clear().await
                }

                async fn seed(&self, rows: &[SeedRow], payload: &Payload) -> BenchResult<()> {
                    Seeder::seed(self, rows, payload).await
                }

                async fn create(&self, slot: &mut Slot, id: i128) -> BenchResult<()> {
                    let digest = SessionDigest::of_id(id);
                    let expiry = expiry(slot.record.expiry_date);
                    let payload = &slot.payload;
                    let mut connection = self.connection().await?;
                    diesel::insert_into(bench_sessions::table)
                        .values((
                            bench_sessions::id.eq(&digest.as_bytes()[..]),
                            bench_sessions::data.eq(&payload.rest),
                            bench_sessions::expiry_date.eq(&expiry),
                            bench_sessions::user_id.eq(Some(payload.user_id)),
                            bench_sessions::user_agent.eq(Some(payload.user_agent.as_str())),
                        ))
                        .execute(&mut *connection)
                        .await?;
                    Ok(())
                }

                async fn save(&self, slot: &mut Slot, id: i128) -> BenchResult<()> {
                    let digest = SessionDigest::of_id(id);
                    let expiry = expiry(slot.record.expiry_date);
                    let payload = &slot.payload;
                    let mut connection = self.connection().await?;
                    // `diesel::update` would be prepared again on every
                    // save: Diesel's statement cache keeps no `UPDATE`.
                    CachedUpdate::new(
                        bench_sessions::table,
                        (
                            bench_sessions::data.eq(&payload.rest),
                            bench_sessions::expiry_date.eq(&expiry),
                            bench_sessions::user_id.eq(Some(payload.user_id)),
                            bench_sessions::user_agent.eq(Some(payload.user_agent.as_str())),
                        ),
                        bench_sessions::id.eq(&digest.as_bytes()[..]),
                    )
                    .execute(&mut *connection)
                    .await?;
                    Ok(())
                }

                async fn load(&self, id: i128) -> BenchResult<Option<usize>> {
                    let digest = SessionDigest::of_id(id);
                    let now = expiry(OffsetDateTime::now_utc());
                    let mut connection = self.connection().await?;
                    let row: Option<(serde_json::Value, Expiry, Option<i64>, Option<String>)> =
                        bench_sessions::table
                            .filter(
                                bench_sessions::id
                                    .eq(&digest.as_bytes()[..])
                                    .and(bench_sessions::expiry_date.gt(&now)),
                            )
                            .select((
                                bench_sessions::data,
                                bench_sessions::expiry_date,
                                bench_sessions::user_id,
                                bench_sessions::user_agent,
                            ))
                            .first(&mut *connection)
                            .await
                            .optional()?;
                    Ok(row.map(|(data, _, user_id, user_agent)| {
                        data.as_object().map_or(0, |members| members.len())
                            + usize::from(user_id.is_some())
                            + usize::from(user_agent.is_some())
                    }))
                }

                async fn delete(&self, id: i128) -> BenchResult<()> {
                    let digest = SessionDigest::of_id(id);
                    let mut connection = self.connection().await?;
                    diesel::delete(
                        bench_sessions::table.filter(bench_sessions::id.eq(&digest.as_bytes()[..])),
                    )
                    .execute(&mut *connection)
                    .await?;
                    Ok(())
                }

                async fn delete_expired(&self) -> BenchResult<()> {
                    let now = expiry(OffsetDateTime::now_utc());
                    let mut connection = self.connection().await?;
                    diesel::delete(
                        bench_sessions::table.filter(bench_sessions::expiry_date.le(&now)),
                    )
                    .execute(&mut *connection)
                    .await?;
                    Ok(())
                }

                fn has_user_queries(&self) -> bool {
                    true
                }

                async fn list(&self, user: i64) -> BenchResult<usize> {
                    let now = expiry(OffsetDateTime::now_utc());
                    let mut connection = self.connection().await?;
                    let rows: Vec<(Vec<u8>, Expiry, Option<i64>, Option<String>)> =
                        bench_sessions::table
                            .filter(
                                bench_sessions::user_id
                                    .eq(user)
                                    .and(bench_sessions::expiry_date.gt(&now)),
                            )
                            .order(bench_sessions::expiry_date.desc())
                            .select((
                                bench_sessions::id,
                                bench_sessions::expiry_date,
                                bench_sessions::user_id,
                                bench_sessions::user_agent,
                            ))
                            .load(&mut *connection)
                            .await?;
                    Ok(rows.len())
                }

                async fn revoke(&self, user: i64) -> BenchResult<usize> {
                    let mut connection = self.connection().await?;
                    Ok(diesel::delete(
                        bench_sessions::table.filter(bench_sessions::user_id.eq(user)),
                    )
                    .execute(&mut *connection)
                    .await?)
                }
            }
        }
    };
}

floor!(sqlite, session_runtime::backend::Sqlite, one_by_one);
floor!(postgres, session_runtime::backend::Postgres, batch);
floor!(mysql, session_runtime::backend::Mysql, batch);
