//! The cap on the sessions of one user: at a login, the user's oldest
//! sessions beyond the limit are revoked.

use std::future::Future;
use std::pin::Pin;

use crate::backend::Backend;
use crate::digest::SessionDigest;
use crate::error::Error;
use crate::session_table::SessionTable;
use crate::store::loaded_sessions::ValueHashes;
use crate::store::per_user::IndexedColumn;
use crate::store::statement::run_statement;
use crate::store::DieselStore;
use crate::telemetry::over_limit_revoked;

/// The cap's `DELETE`, running.
type Revoking<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

/// A store's cap on the sessions that share a value in one indexed column,
/// with the column's type erased, so that the store's type does not name it.
pub(crate) struct SessionCap<S: SessionTable<B>, B: Backend> {
    /// The most live sessions one value keeps.
    limit: u32,
    /// The column's position among the typed columns.
    position: usize,
    /// The `DELETE` for the value the typed columns of a written row hold
    /// in the column, or nothing when they hold NULL.
    revoke: for<'a> fn(&'a DieselStore<S, B>, &'a S, u32) -> Option<Revoking<'a>>,
}

impl<S: SessionTable<B>, B: Backend> Clone for SessionCap<S, B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: SessionTable<B>, B: Backend> Copy for SessionCap<S, B> {}

impl<S: SessionTable<B>, B: Backend> DieselStore<S, B> {
    /// Caps the live sessions that share a value of `column` at `limit`
    /// ("at most 3 sessions per user"): after each login, the user's
    /// oldest sessions beyond the limit are revoked. No cap by default; a
    /// limit of 0 removes it, and a second call replaces the first.
    ///
    /// A login is a `create` whose session holds a value in `column` (an
    /// app that cycles the session id at login, as it should, logs in
    /// there), or a `save` that changes it. It sends a second statement,
    /// a `DELETE` of every live session with that value but the `limit`
    /// newest by creation time, and logs what it revoked at `INFO`, by
    /// digest prefix. Anonymous sessions and saves that leave the value as
    /// it was pay nothing. However many logins of one user run at once, on
    /// however many servers, exactly `limit` sessions remain. See the
    /// guide's [users and sessions](crate::guide::users_and_sessions)
    /// chapter.
    ///
    /// ```
    /// use session_runtime::SessionStore;
    ///
    /// diesel::table! { users (id) { id -> BigInt } }
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite)]
    /// pub struct AppSession {
    ///     #[session(references = users)]
    ///     pub user_id: Option<i64>,
    /// }
    ///
    /// // Each user keeps their three newest sessions.
    /// let store = AppSessionStore::connect("sessions.db")?
    ///     .with_max_sessions_per(http_sessions::user_id, 3);
    /// # Ok::<_, session_runtime::Error>(())
    /// ```
    #[must_use]
    pub fn with_max_sessions_per<C: IndexedColumn<S, B>>(mut self, column: C, limit: u32) -> Self {
        let _ = column;
        self.session_cap = (limit > 0).then_some(SessionCap {
            limit,
            position: C::POSITION,
            revoke: revoke_over_limit::<S, B, C>,
        });
        self
    }

    /// Whether a save of a remembered load changes the capped column: its
    /// key's value differs from the load's.
    pub(crate) fn changes_capped_value(&self, loaded: &ValueHashes, saved: &ValueHashes) -> bool {
        let Some(cap) = &self.session_cap else {
            return false;
        };
        let key = S::TABLE
            .columns
            .get(cap.position)
            .map(|column| column.path.key);
        let hash = |values: &ValueHashes| {
            values
                .iter()
                .find(|(each, _)| Some(&**each) == key)
                .map(|(_, hash)| *hash)
        };
        hash(loaded) != hash(saved)
    }

    /// After a login wrote a row with the typed columns `fields`: revokes
    /// the sessions of its value beyond the store's cap, if it has one.
    pub(crate) async fn enforce_session_cap(&self, fields: &S) -> Result<(), Error> {
        let Some(cap) = self.session_cap else {
            return Ok(());
        };
        match (cap.revoke)(self, fields, cap.limit) {
            Some(revoking) => revoking.await,
            None => Ok(()),
        }
    }
}

/// The cap's `DELETE` on `column`, for the value `fields` hold there.
fn revoke_over_limit<'a, S: SessionTable<B>, B: Backend, C: IndexedColumn<S, B>>(
    store: &'a DieselStore<S, B>,
    fields: &'a S,
    limit: u32,
) -> Option<Revoking<'a>> {
    let value = C::value_in(fields)?;
    Some(Box::pin(async move {
        let now = store.live_at();
        let keep = i64::from(limit);
        // Two logins' `DELETE`s can deadlock on InnoDB; the statement runs
        // again, as any statement of the store does.
        let revoked = run_statement!(store, "DELETE", |connection| {
            C::delete_all_but_newest(connection, value, keep, &now)
        })?;
        if !revoked.is_empty() {
            let column = S::TABLE
                .columns
                .get(C::POSITION)
                .map_or("", |column| column.name);
            let digests: Vec<SessionDigest> = revoked
                .iter()
                .filter_map(|id| SessionDigest::from_slice(id))
                .collect();
            over_limit_revoked::<S, B>(column, limit, &digests);
        }
        Ok(())
    }))
}
