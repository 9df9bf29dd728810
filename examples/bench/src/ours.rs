//! The derived store, driven through the tower-sessions 0.15 traits and its
//! own per-user queries, exactly as an app calls it.

use std::sync::Arc;

use async_trait::async_trait;
use session_runtime::{DieselStore, IndexedColumn, SessionTable};
use tower_sessions::session::Id;
use tower_sessions::{ExpiredDeletion as _, SessionStore as _};

use crate::contender::{Contender, SeedRow, Seeder, Slot};
use crate::payload::Payload;
use crate::BenchResult;

/// The derived store, with the foreign-key column its per-user queries
/// use.
pub struct Ours<S: SessionTable, C> {
    store: DieselStore<S>,
    column: C,
    /// Writes rows as the store does, for seeding.
    seeder: Arc<dyn Seeder>,
}

impl<S: SessionTable, C> Ours<S, C> {
    /// `store`, queried per user by `column`, seeded by `seeder`.
    pub fn new(store: DieselStore<S>, column: C, seeder: Arc<dyn Seeder>) -> Self {
        Ours {
            store,
            column,
            seeder,
        }
    }
}

#[async_trait]
impl<S, C> Contender for Ours<S, C>
where
    S: SessionTable,
    C: IndexedColumn<S, Value = i64>,
{
    fn name(&self) -> &'static str {
        "ours"
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
        true
    }

    async fn list(&self, user: i64) -> BenchResult<usize> {
        Ok(self.store.list_by(self.column, &user).await?.len())
    }

    async fn revoke(&self, user: i64) -> BenchResult<usize> {
        Ok(self.store.revoke_by(self.column, &user).await?)
    }
}
