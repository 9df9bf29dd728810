//! The cap on the sessions per user: a login revokes the oldest beyond it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::backend::Backend;
use crate::digest::SessionDigest;
use crate::error::Error;
use crate::schema::table_def::ColumnDef;
use crate::session_table::SessionTable;
use crate::store::loaded_sessions::ValueHashes;
use crate::store::per_user::IndexedColumn;
use crate::store::statement::run_statement;
use crate::store::DieselStore;
use crate::telemetry::over_limit_revoked;

/// The cap's `DELETE`, running.
type Revoking<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

/// A store's cap on the sessions that share a value of one indexed column,
/// whose type is erased, so that the store's type does not name it.
pub(crate) struct SessionCap<S: SessionTable<B>, B: Backend> {
    /// The most live sessions one value keeps.
    limit: u32,
    column: &'static ColumnDef,
    /// The `DELETE` for the column's value in the typed columns of a
    /// written row; nothing for NULL.
    revoke: for<'a> fn(&'a DieselStore<S, B>, &'a S, &'a Self) -> Option<Revoking<'a>>,
}

impl<S: SessionTable<B>, B: Backend> DieselStore<S, B> {
    /// Caps the live sessions that share a value of `column` at `limit`
    /// ("at most 3 sessions per user"): each login revokes the user's
    /// oldest sessions beyond it, by creation time, and logs them at
    /// `INFO` by digest prefix. No cap by default; a limit of 0 removes
    /// it, and a second call replaces the first.
    ///
    /// A login is a `create` whose session holds a value in `column` (at
    /// login, after `cycle_id`), or a `save` that changes it; it sends a
    /// second statement, a `DELETE` that holds under concurrent logins.
    /// Anonymous sessions and other saves pay nothing. See the guide's
    /// [users and sessions](crate::guide::users_and_sessions) chapter.
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
        let revoke = revoke_over_limit::<S, B, C>;
        let column = S::TABLE.columns.get(C::POSITION).filter(|_| limit > 0);
        self.session_cap = column.map(|column| {
            Arc::new(SessionCap {
                limit,
                column,
                revoke,
            })
        });
        self
    }

    /// Whether a save of a remembered load changes the capped column: its
    /// key's value differs from the load's.
    pub(crate) fn changes_capped_value(&self, loaded: &ValueHashes, saved: &ValueHashes) -> bool {
        self.session_cap.as_ref().is_some_and(|cap| {
            let key = cap.column.path.key;
            let hash = |of: &ValueHashes| of.iter().find(|(k, _)| &**k == key).map(|e| e.1);
            hash(loaded) != hash(saved)
        })
    }

    /// After a login wrote a row with the typed columns `fields`: revokes
    /// the sessions of its value beyond the store's cap, if it has one.
    pub(crate) async fn enforce_session_cap(&self, fields: &S) -> Result<(), Error> {
        let cap = self.session_cap.as_deref();
        match cap.and_then(|cap| (cap.revoke)(self, fields, cap)) {
            Some(revoking) => revoking.await,
            None => Ok(()),
        }
    }
}

/// The cap's `DELETE` on `C`, for the value `fields` hold there.
fn revoke_over_limit<'a, S: SessionTable<B>, B: Backend, C: IndexedColumn<S, B>>(
    store: &'a DieselStore<S, B>,
    fields: &'a S,
    cap: &'a SessionCap<S, B>,
) -> Option<Revoking<'a>> {
    let value = C::value_in(fields)?;
    Some(Box::pin(async move {
        let now = store.live_at();
        // Two logins' `DELETE`s can deadlock on InnoDB; the statement runs
        // again, as any statement of the store does.
        let revoked = run_statement!(store, "DELETE", |connection| {
            C::delete_all_but_newest(connection, value, i64::from(cap.limit), &now)
        })?;
        let digests: Vec<_> = revoked
            .iter()
            .filter_map(|id| SessionDigest::from_slice(id))
            .collect();
        if !digests.is_empty() {
            over_limit_revoked::<S, B>(cap.column.name, cap.limit, &digests);
        }
        Ok(())
    }))
}
