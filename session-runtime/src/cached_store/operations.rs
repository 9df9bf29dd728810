//! The operations of a cached store: loads served from the cache while
//! its entry is confirmed, writes through to the table and then to the
//! cache, and revocations that evict what they revoked.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::backend::Backend;
use crate::digest::SessionDigest;
use crate::error::Error;
use crate::session_data::SessionData;
use crate::session_table::SessionTable;
use crate::store::per_user::IndexedColumn;
use crate::store::tower_sessions_impl::RecordId;

use super::entry::{fresh_copy, CachedSession};
use super::CachedStore;

impl<S: SessionTable<B>, B: Backend> CachedStore<S, B> {
    /// Loads a live session, from the cache when it holds it:
    /// [`DieselStore::load_record`](crate::DieselStore::load_record), for
    /// the same reason, with the cache in front.
    ///
    /// ```
    /// use session_runtime::{CacheOptions, CachedStore, SessionStore};
    /// use tower_sessions::session::Id;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite)]
    /// pub struct AppSession {}
    ///
    /// async fn show(
    ///     store: &CachedStore<AppSession, session_runtime::backend::Sqlite>,
    ///     id: Id,
    /// ) -> Result<(), session_runtime::Error> {
    ///     let record = store.load_record(&id).await?;
    ///     Ok(())
    /// }
    /// ```
    pub async fn load_record<I: RecordId>(&self, id: &I) -> Result<Option<I::Record>, Error> {
        let loaded = self.load_tracked(id.raw()).await?;
        Ok(loaded.map(|(data, expiry)| id.record(data, expiry)))
    }

    /// Deletes every expired session from the table, as
    /// [`DieselStore::delete_expired_sessions`](crate::DieselStore::delete_expired_sessions):
    /// cached entries end with their session by themselves.
    pub async fn delete_expired_sessions(&self) -> Result<usize, Error> {
        self.store.delete_expired_sessions().await
    }

    /// [`DieselStore::revoke_by`](crate::DieselStore::revoke_by), which
    /// also evicts from this server's cache the sessions it revoked;
    /// other servers stop serving them within `max_staleness`. The
    /// sessions to evict are listed first, by one more statement.
    pub async fn revoke_by<C: IndexedColumn<S, B>>(
        &self,
        column: C,
        value: &C::Value,
    ) -> Result<usize, Error> {
        let listed = self.store.list_by(column, value).await?;
        let revoked = self.store.revoke_by(column, value).await?;
        for session in listed {
            self.shared.cache.invalidate(&session.digest).await;
        }
        Ok(revoked)
    }

    /// [`DieselStore::revoke_by_except`](crate::DieselStore::revoke_by_except),
    /// which also evicts from this server's cache the sessions it
    /// revoked, as [`revoke_by`](Self::revoke_by) does.
    pub async fn revoke_by_except<C: IndexedColumn<S, B>>(
        &self,
        column: C,
        value: &C::Value,
        keep: SessionDigest,
    ) -> Result<usize, Error> {
        let listed = self.store.list_by(column, value).await?;
        let revoked = self.store.revoke_by_except(column, value, keep).await?;
        for session in listed.iter().filter(|session| session.digest != keep) {
            self.shared.cache.invalidate(&session.digest).await;
        }
        Ok(revoked)
    }

    /// [`DieselStore::revoke_one_by`](crate::DieselStore::revoke_one_by),
    /// which also evicts the session from this server's cache.
    pub async fn revoke_one_by<C: IndexedColumn<S, B>>(
        &self,
        column: C,
        value: &C::Value,
        session: SessionDigest,
    ) -> Result<bool, Error> {
        let revoked = self.store.revoke_one_by(column, value, session).await?;
        if revoked {
            self.shared.cache.invalidate(&session).await;
        }
        Ok(revoked)
    }

    /// Whether `session` may be served: it has not ended, and the table
    /// showed it live within `max_staleness`.
    fn serves(&self, session: &CachedSession) -> bool {
        let age = self.shared.clock.now().saturating_sub(session.confirmed());
        age < self.shared.max_staleness && session.ends > OffsetDateTime::now_utc()
    }

    /// When a session of this expiry ends, if its lifetime began at
    /// `start`: its authentication time, else its creation.
    fn ends(&self, expiry: OffsetDateTime, start: Option<OffsetDateTime>) -> OffsetDateTime {
        self.store
            .deadline(start)
            .map_or(expiry, |deadline| deadline.min(expiry))
    }

    /// A hit hands out a map of its own, remembered as a load of the
    /// table would be, so that its save writes only what its request
    /// changed; a miss loads from the table and caches what it read.
    pub(crate) async fn load_tracked(
        &self,
        id: i128,
    ) -> Result<Option<(SessionData, OffsetDateTime)>, Error> {
        let digest = SessionDigest::of_id(id);
        let counters = &self.shared.counters;
        if let Some(session) = self.shared.cache.get(&digest).await {
            if self.serves(&session) {
                counters.hits.fetch_add(1, Ordering::Relaxed);
                let data = fresh_copy(&session.data);
                if session.trackable {
                    self.store
                        .remember_load(id, &data, session.expiry, session.created);
                }
                return Ok(Some((data, session.expiry)));
            }
        }
        counters.misses.fetch_add(1, Ordering::Relaxed);
        let started = self.shared.clock.now();
        let Some(decoded) = self.store.load_session(id).await? else {
            self.shared.cache.invalidate(&digest).await;
            return Ok(None);
        };
        let trackable = decoded.settled && !decoded.old_key;
        if trackable {
            self.store
                .remember_load(id, &decoded.data, decoded.expiry, decoded.created);
        }
        let session = CachedSession::new(
            decoded.data.clone(),
            decoded.expiry,
            decoded.created,
            self.ends(decoded.expiry, decoded.authenticated.or(decoded.created)),
            trackable,
            started,
        );
        self.shared.cache.insert(digest, Arc::new(session)).await;
        Ok(Some((decoded.data, decoded.expiry)))
    }

    /// Inserts the session, then caches what was written.
    pub(crate) async fn create_session(
        &self,
        id: &mut i128,
        data: &SessionData,
        expiry: OffsetDateTime,
    ) -> Result<OffsetDateTime, Error> {
        let started = self.shared.clock.now();
        // No later than the creation time the row gets, so that the
        // entry ends no later than the session.
        let created = OffsetDateTime::now_utc();
        let stored = self.store.create_session(id, data, expiry).await?;
        let session = CachedSession::new(
            data.clone(),
            stored,
            None,
            self.ends(stored, Some(created)),
            true,
            started,
        );
        let digest = SessionDigest::of_id(*id);
        self.shared.cache.insert(digest, Arc::new(session)).await;
        Ok(stored)
    }

    /// Saves the session, then keeps its entry only if the entry holds
    /// what was saved. A save that changed values wrote only what its
    /// request changed, merged in the table with what other requests
    /// wrote, which this server does not know without reading the row:
    /// the entry is evicted, and the next load reads it.
    pub(crate) async fn save_session(
        &self,
        id: i128,
        data: &SessionData,
        expiry: OffsetDateTime,
    ) -> Result<(), Error> {
        let saved = self.store.save_session(id, data, expiry).await;
        let digest = SessionDigest::of_id(id);
        let unchanged = saved.is_ok()
            && self
                .shared
                .cache
                .get(&digest)
                .await
                .is_none_or(|session| session.data == *data);
        if !unchanged {
            self.shared.cache.invalidate(&digest).await;
        }
        saved
    }

    /// Deletes the session, and its entry.
    pub(crate) async fn delete_session(&self, id: i128) -> Result<(), Error> {
        let deleted = self.store.delete_session(id).await;
        self.shared
            .cache
            .invalidate(&SessionDigest::of_id(id))
            .await;
        deleted
    }
}

// tower-sessions' traits, as `DieselStore` implements them.
#[cfg(feature = "tower-sessions-015")]
crate::store::tower_sessions_impl::impl_session_store!(
    tower_sessions_core,
    "tower-sessions-015",
    [S: SessionTable<B>, B: Backend],
    CachedStore<S, B>
);
#[cfg(feature = "tower-sessions-014")]
crate::store::tower_sessions_impl::impl_session_store!(
    tower_sessions_core_014,
    "tower-sessions-014",
    [S: SessionTable<B>, B: Backend],
    CachedStore<S, B>
);
