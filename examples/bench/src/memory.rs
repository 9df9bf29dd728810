//! The ceiling: tower-sessions' `MemoryStore`, which sends nothing
//! anywhere.

use std::sync::Mutex;

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::{MemoryStore, SessionStore as _};

use crate::contender::{names, Contender, SeedRow, Slot};
use crate::payload::Payload;
use crate::BenchResult;

/// `MemoryStore`, replaced by an empty one on [`Contender::reset`]: it keeps
/// a clone of every session created, and a timed run creates hundreds of
/// thousands.
#[derive(Default)]
pub struct Memory {
    store: Mutex<MemoryStore>,
}

impl Memory {
    fn current(&self) -> BenchResult<MemoryStore> {
        // The store is an `Arc` inside: the clone is a reference count.
        self.store
            .lock()
            .map(|store| store.clone())
            .map_err(|_| "the memory store's lock is poisoned".into())
    }
}

#[async_trait]
impl Contender for Memory {
    fn name(&self) -> &'static str {
        names::CEILING
    }

    async fn reset(&self) -> BenchResult<()> {
        let mut store = self
            .store
            .lock()
            .map_err(|_| "the memory store's lock is poisoned")?;
        *store = MemoryStore::default();
        Ok(())
    }

    async fn seed(&self, rows: &[SeedRow], payload: &Payload) -> BenchResult<()> {
        let store = self.current()?;
        for row in rows {
            let mut record = Record {
                id: Id(row.id),
                data: payload.map.clone(),
                expiry_date: row.expiry(),
            };
            store.create(&mut record).await?;
        }
        Ok(())
    }

    async fn create(&self, slot: &mut Slot, id: i128) -> BenchResult<()> {
        slot.record.id = Id(id);
        Ok(self.current()?.create(&mut slot.record).await?)
    }

    async fn save(&self, slot: &mut Slot, id: i128) -> BenchResult<()> {
        slot.record.id = Id(id);
        Ok(self.current()?.save(&slot.record).await?)
    }

    async fn load(&self, id: i128) -> BenchResult<Option<usize>> {
        let record = self.current()?.load(&Id(id)).await?;
        Ok(record.map(|record| record.data.len()))
    }

    async fn delete(&self, id: i128) -> BenchResult<()> {
        Ok(self.current()?.delete(&Id(id)).await?)
    }

    fn has_delete_expired(&self) -> bool {
        // MemoryStore skips expired sessions on load and never deletes them.
        false
    }

    async fn delete_expired(&self) -> BenchResult<()> {
        Err("MemoryStore has no delete_expired".into())
    }
}
