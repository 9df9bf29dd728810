//! What the app asks of its database, whichever backend serves it.
//!
//! The derive fixes one backend per session struct, so the app is generic
//! over [`Database`], which the session store of each backend implements
//! (see [`crate::schema`]). The sessions themselves are queried through the
//! runtime's typed operations on [`Database::sessions`] and
//! [`Database::USER_ID`]; only the app's own tables need queries of its
//! own, written once in a macro and compiled for concrete tables. No Diesel
//! trait bound appears here or in the handlers.

use std::future::Future;

use session_runtime::{DieselStore, Error, IndexedColumn, SessionTable};
use time::OffsetDateTime;

use crate::users::User;

/// The typed columns of a demo session, the same on every backend.
///
/// Each backend has its own session struct ([`Database::Session`]) with
/// exactly these fields; handlers convert to this one to read them without
/// naming a backend.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFields {
    /// The logged-in account; the `user_id` column, a foreign key to
    /// `demo_users`.
    pub user_id: Option<i64>,
    /// The browser that logged in; the `user_agent` column.
    pub user_agent: Option<String>,
    /// When the login happened; the `logged_in_at` column.
    pub logged_in_at: Option<OffsetDateTime>,
}

/// A session store that also holds the app's users.
pub trait Database: Clone + Send + Sync + 'static {
    /// The derived session struct of this backend, read from and written to
    /// a request's session with `session_runtime::TypedSessionExt`.
    type Session: SessionTable + Clone + From<SessionFields> + Into<SessionFields>;

    /// The type of [`Database::USER_ID`].
    type UserIdColumn: IndexedColumn<Self::Session, Value = i64>;

    /// The session table's `user_id` column, by which the runtime lists,
    /// counts and revokes a user's sessions.
    const USER_ID: Self::UserIdColumn;

    /// The session store: the session layer's store, and the runtime's
    /// per-user queries.
    fn sessions(&self) -> &DieselStore<Self::Session>;

    /// The backend's name, shown on the page.
    fn backend_name(&self) -> &'static str;

    /// Creates the users table and then the session table, whose foreign
    /// key needs the users table to exist. Idempotent.
    fn prepare(&self) -> impl Future<Output = Result<(), Error>> + Send;

    /// Adds an account, unless the login is taken.
    fn create_user(
        &self,
        login: &str,
        password_hash: &str,
    ) -> impl Future<Output = Result<Registration, Error>> + Send;

    /// The account with this login.
    fn user_by_login(
        &self,
        login: &str,
    ) -> impl Future<Output = Result<Option<User>, Error>> + Send;

    /// The account with this id.
    fn user_by_id(&self, id: i64) -> impl Future<Output = Result<Option<User>, Error>> + Send;

    /// Every account with its number of live sessions, by login: one
    /// `GROUP BY` over `demo_users` left-joined to the session table.
    fn session_counts(&self) -> impl Future<Output = Result<Vec<UserSessions>, Error>> + Send;
}

/// The outcome of [`Database::create_user`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// The account exists now.
    Created,
    /// Another account has this login.
    LoginTaken,
}

/// A line of the admin view: an account and how many live sessions it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSessions {
    /// The account's id.
    pub id: i64,
    /// The account's login.
    pub login: String,
    /// Its live sessions.
    pub sessions: u64,
}
