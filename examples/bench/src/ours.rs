//! The derived store, driven through the tower-sessions 0.15 traits and its
//! own per-user queries, exactly as an app calls it: `ours plain` (a struct
//! without fields), `ours typed` (two typed columns, one a foreign key),
//! both a [`DieselStore`] of one backend, and `ours any` (the struct without
//! fields derived with `backend = any`), an [`AnyStore`] that dispatches
//! each operation to the [`DieselStore`] of the backend its URL names.

use std::sync::Arc;

use async_trait::async_trait;
use session_runtime::backend::Backend;
use session_runtime::{
    AnyIndexedColumn, AnyStore, AnyTable, DieselStore, IndexedColumn, SessionTable,
};
use tower_sessions::session::Id;
use tower_sessions::{ExpiredDeletion, SessionStore};

use crate::contender::{names, Contender, SeedRow, Seeder, Slot};
use crate::payload::Payload;
use crate::BenchResult;

/// A derived store as the benchmark drives it: tower-sessions'
/// `SessionStore` and `ExpiredDeletion`, which [`DieselStore`] and
/// [`AnyStore`] both implement.
pub trait Store: SessionStore + ExpiredDeletion {}

impl<T: SessionStore + ExpiredDeletion> Store for T {}

/// A [`Store`] whose struct has a user column `C`: its per-user queries.
#[async_trait]
pub trait PerUserStore<C>: Store {
    /// The live sessions of `user`; how many there are.
    async fn list_by_user(&self, column: C, user: i64) -> BenchResult<usize>;

    /// Deletes every session of `user`; how many there were.
    async fn revoke_by_user(&self, column: C, user: i64) -> BenchResult<usize>;
}

#[async_trait]
impl<S, B, C> PerUserStore<C> for DieselStore<S, B>
where
    S: SessionTable<B>,
    B: Backend,
    C: IndexedColumn<S, B, Value = i64>,
{
    async fn list_by_user(&self, column: C, user: i64) -> BenchResult<usize> {
        Ok(self.list_by(column, &user).await?.len())
    }

    async fn revoke_by_user(&self, column: C, user: i64) -> BenchResult<usize> {
        Ok(self.revoke_by(column, &user).await?)
    }
}

#[async_trait]
impl<S, C> PerUserStore<C> for AnyStore<S>
where
    S: AnyTable,
    C: AnyIndexedColumn<S, Value = i64>,
{
    async fn list_by_user(&self, column: C, user: i64) -> BenchResult<usize> {
        Ok(self.list_by(column, &user).await?.len())
    }

    async fn revoke_by_user(&self, column: C, user: i64) -> BenchResult<usize> {
        Ok(self.revoke_by(column, &user).await?)
    }
}

/// The per-user queries of a derived store `T`, where its struct has a
/// user column.
#[async_trait]
pub trait UserQueries<T>: Send + Sync + 'static {
    /// Whether the store can list and revoke by user at all.
    fn supported(&self) -> bool;

    /// The live sessions of `user`; how many there are.
    async fn list(&self, store: &T, user: i64) -> BenchResult<usize>;

    /// Deletes every session of `user`; how many there were.
    async fn revoke(&self, store: &T, user: i64) -> BenchResult<usize>;
}

/// A struct without fields has no column to query by.
pub struct NoUserColumn;

#[async_trait]
impl<T: Sync> UserQueries<T> for NoUserColumn {
    fn supported(&self) -> bool {
        false
    }

    async fn list(&self, _: &T, _: i64) -> BenchResult<usize> {
        Err("a store without a user column has no per-user list".into())
    }

    async fn revoke(&self, _: &T, _: i64) -> BenchResult<usize> {
        Err("a store without a user column has no per-user revoke".into())
    }
}

/// The user column of a typed struct, an indexed foreign key.
pub struct UserColumn<C>(pub C);

#[async_trait]
impl<T, C> UserQueries<T> for UserColumn<C>
where
    T: PerUserStore<C>,
    C: Copy + Send + Sync + 'static,
{
    fn supported(&self) -> bool {
        true
    }

    async fn list(&self, store: &T, user: i64) -> BenchResult<usize> {
        store.list_by_user(self.0, user).await
    }

    async fn revoke(&self, store: &T, user: i64) -> BenchResult<usize> {
        store.revoke_by_user(self.0, user).await
    }
}

/// A derived store `T`, its per-user queries and the bulk writer of its
/// rows.
pub struct Ours<T, Q> {
    name: &'static str,
    store: T,
    user_queries: Q,
    /// Writes rows as the store does, for seeding.
    seeder: Arc<dyn Seeder>,
}

impl<S: SessionTable<B>, B: Backend> Ours<DieselStore<S, B>, NoUserColumn> {
    /// `ours plain`: the store of a struct without fields.
    pub fn plain(store: DieselStore<S, B>, seeder: Arc<dyn Seeder>) -> Self {
        Ours {
            name: names::OURS_PLAIN,
            store,
            user_queries: NoUserColumn,
            seeder,
        }
    }
}

impl<S: AnyTable> Ours<AnyStore<S>, NoUserColumn> {
    /// `ours any`: the store of a struct without fields derived with
    /// `backend = any`, driven as `ours plain` is: only the store type
    /// differs.
    pub fn any(store: AnyStore<S>, seeder: Arc<dyn Seeder>) -> Self {
        Ours {
            name: names::OURS_ANY,
            store,
            user_queries: NoUserColumn,
            seeder,
        }
    }
}

impl<S: SessionTable<B>, B: Backend, C> Ours<DieselStore<S, B>, UserColumn<C>> {
    /// `ours typed`: the store of a struct with typed columns, queried per
    /// user by `column`.
    pub fn typed(store: DieselStore<S, B>, column: C, seeder: Arc<dyn Seeder>) -> Self {
        Ours {
            name: names::OURS_TYPED,
            store,
            user_queries: UserColumn(column),
            seeder,
        }
    }
}

#[async_trait]
impl<T, Q> Contender for Ours<T, Q>
where
    T: Store,
    Q: UserQueries<T>,
{
    fn name(&self) -> &'static str {
        self.name
    }

    async fn reset(&self) -> BenchResult<()> {
        self.seeder.clear().await
    }

    async fn seed(&self, rows: &[SeedRow], payload: &Payload) -> BenchResult<()> {
        self.seeder.seed(rows, payload).await
    }

    async fn create(&self, slot: &mut Slot, id: i128) -> BenchResult<()> {
        slot.record.id = Id(id);
        Ok(self.store.create(&mut slot.record).await?)
    }

    async fn save(&self, slot: &mut Slot, id: i128) -> BenchResult<()> {
        slot.record.id = Id(id);
        Ok(self.store.save(&slot.record).await?)
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

    fn has_user_queries(&self) -> bool {
        self.user_queries.supported()
    }

    async fn list(&self, user: i64) -> BenchResult<usize> {
        self.user_queries.list(&self.store, user).await
    }

    async fn revoke(&self, user: i64) -> BenchResult<usize> {
        self.user_queries.revoke(&self.store, user).await
    }
}
