//! The operations on one session behind the tower-sessions traits:
//! create, save, load and delete, each one statement at most, and a login
//! on a store with a cap on the sessions per user a second.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use time::OffsetDateTime;

use crate::authentication;
use crate::backend::lifetime_sql::LifetimeLimit;
use crate::backend::Backend;
use crate::digest::SessionDigest;
use crate::error::Error;
use crate::session_data::SessionData;
use crate::session_table::{SessionRow, SessionTable};
use crate::store::loaded_sessions::token_of;
use crate::store::row_codec::{
    check_size, data_bound, decode, encode, encode_columns, is_stored, Decoded,
};
use crate::store::save_plan::{plan_save, SavePlan};
use crate::store::statement::{run_statement, Unit};
use crate::store::DieselStore;
use crate::telemetry::{not_decoded, refused, undecodable_deleted};
use crate::undecodable::Undecodable;

/// Inserts tried with fresh ids before `create` gives up. Ids are 128
/// random bits, so a second attempt is already a once-in-the-universe event;
/// the rest are for id generators that collide on purpose in tests.
const CREATE_ATTEMPTS: usize = 16;

impl<S: SessionTable<B>, B: Backend> DieselStore<S, B> {
    /// When a session whose lifetime began at `start` ends, if the store
    /// has an absolute timeout and the session a start: its authentication
    /// time, else its creation.
    pub(crate) fn deadline(&self, start: Option<OffsetDateTime>) -> Option<OffsetDateTime> {
        let lifetime = time::Duration::try_from(self.max_lifetime?).ok()?;
        start?.checked_add(lifetime)
    }

    /// `expiry`, but no later than the deadline of a session whose
    /// lifetime began at `start`.
    fn capped(&self, expiry: OffsetDateTime, start: Option<OffsetDateTime>) -> OffsetDateTime {
        self.deadline(start)
            .map_or(expiry, |deadline| expiry.min(deadline))
    }

    /// The store's absolute timeout, as its `UPDATE`s cap expiries at it.
    fn lifetime(&self) -> LifetimeLimit {
        LifetimeLimit::of(self.max_lifetime)
    }

    /// Inserts a new session, drawing a new `id` while the current one is
    /// taken. Returns the expiry stored: `expiry`, capped at the store's
    /// absolute timeout.
    pub(crate) async fn create_session(
        &self,
        id: &mut i128,
        data: &SessionData,
        expiry: OffsetDateTime,
    ) -> Result<OffsetDateTime, Error> {
        let digest = SessionDigest::of_id(*id);
        let refuse = |error| refused::<S, B>("INSERT", Some(&digest), error);
        let created = OffsetDateTime::now_utc();
        // `cycle_id` creates the new id with the old map, authentication
        // time included: the lifetime carries over until the next login.
        let authenticated = authentication::read(data).map_err(refuse)?;
        let expiry = self.capped(expiry, authenticated.or(Some(created)));
        let mut row = encode::<S, B>(*id, data, expiry, self.lifetime()).map_err(refuse)?;
        check_size::<S, B>(data, Some(&row.data), self.max_session_bytes).map_err(refuse)?;
        self.seal_row(&mut row).map_err(refuse)?;
        row.created = Some(B::expiry_to_column(created));
        // A lost answer may hide a written row, so after one the `INSERT`
        // runs again with the same id, and a duplicate that holds exactly
        // this session is the row that went through.
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let now = Self::expiry_now();
        let inserted = run_statement!(self, "INSERT", session = &digest, |connection| async {
            let rerun = runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed) > 0;
            for attempt in 0..CREATE_ATTEMPTS {
                match S::insert(connection, &row).await {
                    Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                        Unit::restart::<B>(connection, self.behind_pgbouncer).await?;
                        if rerun
                            && attempt == 0
                            && is_stored::<S, B>(connection, &row, &now).await?
                        {
                            return Ok(true);
                        }
                        *id = (self.new_id)();
                        row.id = *SessionDigest::of_id(*id).as_bytes();
                        // Sealed `data` is bound to its id: seal it again.
                        self.seal_row(&mut row)
                            .map_err(|error| DieselError::SerializationError(Box::new(error)))?;
                    }
                    inserted => return inserted.map(|_| true),
                }
            }
            Ok(false)
        })?;
        if inserted {
            self.enforce_session_cap(&row.fields).await?;
            Ok(expiry)
        } else {
            Err(Error::backend_message(format!(
                "no free session id in {CREATE_ATTEMPTS} attempts; is the id generator random?"
            )))
        }
    }

    /// Updates an existing session. A session whose row is gone (logged out
    /// or revoked while this request ran) stays gone: the write is dropped.
    ///
    /// When `data` is the map of a load the store remembers (see
    /// [`token_of`]), only what changed since that load is written, or
    /// nothing; see [`SavePlan`]. Any other map is written whole.
    pub(crate) async fn save_session(
        &self,
        id: i128,
        data: &SessionData,
        expiry: OffsetDateTime,
    ) -> Result<(), Error> {
        let digest = SessionDigest::of_id(id);
        let refuse = |error| refused::<S, B>("UPDATE", Some(&digest), error);
        let token = token_of(data);
        let Some(loaded) = self.loaded.recall(id, token) else {
            let mut row = encode::<S, B>(id, data, expiry, self.lifetime()).map_err(refuse)?;
            check_size::<S, B>(data, Some(&row.data), self.max_session_bytes).map_err(refuse)?;
            self.seal_row(&mut row).map_err(refuse)?;
            self.update_whole(&digest, &row).await?;
            // Whether this save logs in is unknown: it may.
            return self.enforce_session_cap(&row.fields).await;
        };
        check_size::<S, B>(data, None, self.max_session_bytes).map_err(refuse)?;
        let authenticated = authentication::read(data).map_err(refuse)?;
        let expiry = self.capped(expiry, authenticated.or(loaded.created));
        let mut row = encode_columns::<S, B>(id, data, expiry, self.lifetime()).map_err(refuse)?;
        let values = self.loaded.hash_values(data);
        let logs_in = self.changes_capped_value(&loaded.values, &values);
        let (plan, written_expiry) =
            plan_save::<S, B>(&loaded, data, &values, expiry, self.touch_after).map_err(refuse)?;
        match plan {
            SavePlan::Skip => return Ok(()),
            SavePlan::Whole => {
                row.data = B::data_to_column(data, S::TABLE.columns).map_err(refuse)?;
                self.seal_row(&mut row).map_err(refuse)?;
                self.update_whole(&digest, &row).await?;
            }
            SavePlan::Changes(mut changes) => {
                let limit = self.max_session_bytes;
                changes
                    .limit_data(|| data_bound::<S, B>(data, limit))
                    .map_err(refuse)?;
                let now = Self::expiry_now();
                run_statement!(self, "UPDATE", session = &digest, |connection| {
                    S::update_changes(connection, &row, &changes, &now)
                })?;
            }
        }
        self.loaded.wrote(id, token, values, written_expiry);
        if logs_in {
            self.enforce_session_cap(&row.fields).await?;
        }
        Ok(())
    }

    /// The `UPDATE` of every column of a session's row.
    async fn update_whole(
        &self,
        digest: &SessionDigest,
        row: &SessionRow<S, B>,
    ) -> Result<(), Error> {
        let now = Self::expiry_now();
        run_statement!(self, "UPDATE", session = digest, |connection| {
            S::update(connection, row, &now)
        })
        .map(drop)
    }

    pub(crate) async fn load_session(&self, id: i128) -> Result<Option<Decoded>, Error> {
        let digest = SessionDigest::of_id(id);
        match self.read_session(&digest).await {
            Err(Error::Decode(_)) if self.undecodable == Undecodable::StartOver => {
                run_statement!(self, "DELETE", session = &digest, |connection| {
                    S::delete(connection, digest.as_bytes())
                })?;
                undecodable_deleted::<S, B>(&digest);
                Ok(None)
            }
            read => read,
        }
    }

    async fn read_session(&self, digest: &SessionDigest) -> Result<Option<Decoded>, Error> {
        let now = OffsetDateTime::now_utc();
        let now_column = B::expiry_to_column(now);
        let row = run_statement!(self, "SELECT", session = digest, |connection| {
            S::select(connection, digest.as_bytes(), &now_column)
        })?;
        let keys = self.opening_keys();
        match row
            .map(|row| decode::<S, B>(row, keys, digest.as_bytes()))
            .transpose()
            .map_err(|error| not_decoded::<S, B>(digest, error))?
        {
            // The database compared the row as live, yet its expiry reads
            // back as past: SQLite orders a hand-written TEXT expiry after
            // every number, and reads it as a number near 1970. Expired is
            // expired all the same; a live row always reads back as later
            // than `now`, which the database saw truncated.
            Some(decoded) if decoded.expiry <= now => Ok(None),
            // Past the absolute timeout, however busy it was kept.
            Some(decoded)
                if self
                    .deadline(decoded.authenticated.or(decoded.created))
                    .is_some_and(|end| end <= now) =>
            {
                Ok(None)
            }
            loaded => Ok(loaded),
        }
    }

    /// Loads a session, remembering what it loaded under the map it
    /// returns, so that the save of that map writes only what changed.
    pub(crate) async fn load_tracked(
        &self,
        id: i128,
    ) -> Result<Option<(SessionData, OffsetDateTime)>, Error> {
        let Some(decoded) = self.load_session(id).await? else {
            return Ok(None);
        };
        // A row sealed with an old key is not remembered either, so that
        // its save writes it whole, sealed with the current key.
        if decoded.settled && !decoded.old_key {
            self.remember_load(id, &decoded.data, decoded.expiry, decoded.created);
        }
        Ok(Some((decoded.data, decoded.expiry)))
    }

    /// Remembers a load of session `id` that returned `data`, so that the
    /// save of that map writes only what changed.
    pub(crate) fn remember_load(
        &self,
        id: i128,
        data: &SessionData,
        expiry: OffsetDateTime,
        created: Option<OffsetDateTime>,
    ) {
        let values = self.loaded.hash_values(data);
        self.loaded
            .remember(id, token_of(data), values, expiry, created);
    }

    pub(crate) async fn delete_session(&self, id: i128) -> Result<(), Error> {
        let digest = SessionDigest::of_id(id);
        run_statement!(self, "DELETE", session = &digest, |connection| {
            S::delete(connection, digest.as_bytes())
        })
        .map(drop)
    }
}
