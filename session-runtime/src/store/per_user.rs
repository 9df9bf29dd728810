//! Typed queries over the sessions that share a value in an indexed
//! column: "the sessions of user 42".

use std::future::Future;

use diesel::result::QueryResult;
use time::OffsetDateTime;

use crate::backend::lifetime_sql::LiveAt;
use crate::backend::Backend;
use crate::session_table::SessionTable;
use crate::store::statement::run_statement;
use crate::{DieselStore, Error, SessionDigest};

/// A column of a derived session table that sessions can be looked up by:
/// every field with `references = ...` or `index`, with the type of the
/// values it is looked up by.
///
/// `#[derive(SessionStore)]` implements it for the name the queries of
/// [`DieselStore`] and [`AnyStore`](crate::AnyStore) take:
/// `http_sessions::user_id`, which is the column of the generated
/// `table!` for a struct on one backend, and a name for the column on
/// every backend for a struct with `backend = any`.
pub trait LookupColumn: Copy + Send + Sync + 'static {
    /// The value looked up: the field's type without `Option`.
    type Value: Send + Sync;
}

/// A [`LookupColumn`] of the session table of `S` on the backend `B`: the
/// statements of the per-user queries.
///
/// `#[derive(SessionStore)]` implements it. Each method is one statement on
/// the column's index; they are not a stable interface.
pub trait IndexedColumn<S: SessionTable<B>, B: Backend>: LookupColumn {
    /// Where the column is among the typed columns, in declaration order.
    #[doc(hidden)]
    const POSITION: usize;

    /// The column's value in `fields`; `None` for NULL.
    #[doc(hidden)]
    fn value_in(fields: &S) -> Option<&Self::Value>;

    /// The live rows with this value, latest expiry first.
    #[doc(hidden)]
    fn list<'a>(
        connection: &'a mut B::Connection,
        value: &'a Self::Value,
        now: &'a LiveAt<B>,
    ) -> impl Future<Output = QueryResult<Vec<ListedRow<S, B>>>> + Send + 'a;

    /// How many live rows have this value.
    #[doc(hidden)]
    fn count<'a>(
        connection: &'a mut B::Connection,
        value: &'a Self::Value,
        now: &'a LiveAt<B>,
    ) -> impl Future<Output = QueryResult<i64>> + Send + 'a;

    /// Deletes every row with this value.
    #[doc(hidden)]
    fn delete_all<'a>(
        connection: &'a mut B::Connection,
        value: &'a Self::Value,
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;

    /// Deletes every row with this value but the one with id `keep`.
    #[doc(hidden)]
    fn delete_all_except<'a>(
        connection: &'a mut B::Connection,
        value: &'a Self::Value,
        keep: &'a [u8; 32],
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;

    /// Deletes the live rows with this value but the `keep` newest, and
    /// returns the ids it deleted: the statement of the session cap.
    #[doc(hidden)]
    fn delete_all_but_newest<'a>(
        connection: &'a mut B::Connection,
        value: &'a Self::Value,
        keep: i64,
        now: &'a LiveAt<B>,
    ) -> impl Future<Output = QueryResult<Vec<Vec<u8>>>> + Send + 'a;

    /// Deletes the row with id `id` if it has this value.
    #[doc(hidden)]
    fn delete_one<'a>(
        connection: &'a mut B::Connection,
        value: &'a Self::Value,
        id: &'a [u8; 32],
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;
}

/// A row listed by [`IndexedColumn::list`].
#[derive(Debug)]
pub struct ListedRow<S, B: Backend> {
    /// The stored digest.
    pub id: Vec<u8>,
    /// When the session expires.
    pub expiry: B::Expiry,
    /// When the session was created, if its writer said.
    pub created: Option<B::Expiry>,
    /// When the session's user last authenticated, if the app said.
    pub authenticated: Option<B::Expiry>,
    /// The typed columns.
    pub fields: S,
}

/// One live session in a list of a user's sessions: a handle to revoke it,
/// its expiry and its typed columns. The cookie value is not in it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SessionInfo<S> {
    /// The handle of the session: what [`DieselStore::revoke_one_by`] takes.
    pub digest: SessionDigest,
    /// When the session expires unless it is used again.
    pub expiry_date: OffsetDateTime,
    /// When the session was created, at login if the app cycles the id
    /// then: the "signed in since" of a devices page. `None` for a row
    /// written by a version of the store that did not know the column.
    pub created_at: Option<OffsetDateTime>,
    /// When the session's user last proved who they are, as the app
    /// marked it with
    /// [`mark_authenticated`](crate::TypedSessionExt::mark_authenticated):
    /// the "last sign-in" of a devices page. It survives id changes;
    /// `None` for a session nobody marked.
    pub authenticated_at: Option<OffsetDateTime>,
    /// The session's typed columns.
    pub fields: S,
}

impl<S: SessionTable<B>, B: Backend> DieselStore<S, B> {
    /// The live sessions whose `column` holds `value`, latest expiry first:
    /// neither expired nor past the store's absolute timeout.
    ///
    /// ```
    /// # use session_runtime::SessionStore;
    /// # diesel::table! { users (id) { id -> BigInt } }
    /// # #[derive(SessionStore, Debug, Clone)]
    /// # #[session(table = http_sessions, backend = sqlite)]
    /// # pub struct AppSession {
    /// #     #[session(references = users)]
    /// #     pub user_id: Option<i64>,
    /// # }
    /// # async fn example(store: AppSessionStore) -> Result<(), session_runtime::Error> {
    /// for session in store.list_by(http_sessions::user_id, &42).await? {
    ///     println!("{} expires at {}", session.digest, session.expiry_date);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_by<C: IndexedColumn<S, B>>(
        &self,
        column: C,
        value: &C::Value,
    ) -> Result<Vec<SessionInfo<S>>, Error> {
        let _ = column;
        let now = self.live_at();
        let rows = run_statement!(self, "SELECT", |connection| {
            C::list(connection, value, &now)
        })?;
        rows.into_iter()
            .map(|row| {
                Ok(SessionInfo {
                    digest: SessionDigest::from_slice(&row.id).ok_or_else(|| {
                        Error::Decode(format!(
                            "a stored id of `{}` is not 32 bytes",
                            S::TABLE.name
                        ))
                    })?,
                    expiry_date: B::expiry_from_column(row.expiry)?,
                    created_at: row.created.map(B::expiry_from_column).transpose()?,
                    authenticated_at: row.authenticated.map(B::expiry_from_column).transpose()?,
                    fields: row.fields,
                })
            })
            .collect()
    }

    /// How many live sessions have `value` in `column`: neither expired nor
    /// past the store's absolute timeout.
    pub async fn count_by<C: IndexedColumn<S, B>>(
        &self,
        column: C,
        value: &C::Value,
    ) -> Result<u64, Error> {
        let _ = column;
        let now = self.live_at();
        let count = run_statement!(self, "SELECT COUNT(*)", |connection| {
            C::count(connection, value, &now)
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Deletes every session with `value` in `column` ("log out
    /// everywhere") and says how many there were.
    pub async fn revoke_by<C: IndexedColumn<S, B>>(
        &self,
        column: C,
        value: &C::Value,
    ) -> Result<usize, Error> {
        let _ = column;
        run_statement!(self, "DELETE", |connection| {
            C::delete_all(connection, value)
        })
    }

    /// Deletes every session with `value` in `column` but `keep` ("log out
    /// my other devices").
    pub async fn revoke_by_except<C: IndexedColumn<S, B>>(
        &self,
        column: C,
        value: &C::Value,
        keep: SessionDigest,
    ) -> Result<usize, Error> {
        let _ = column;
        run_statement!(self, "DELETE", |connection| {
            C::delete_all_except(connection, value, keep.as_bytes())
        })
    }

    /// Deletes the session `session` if it has `value` in `column`, so that
    /// a user can revoke their own sessions and no one else's. Says whether
    /// there was such a session.
    pub async fn revoke_one_by<C: IndexedColumn<S, B>>(
        &self,
        column: C,
        value: &C::Value,
        session: SessionDigest,
    ) -> Result<bool, Error> {
        let _ = column;
        let deleted = run_statement!(self, "DELETE", |connection| {
            C::delete_one(connection, value, session.as_bytes())
        })?;
        Ok(deleted > 0)
    }
}
