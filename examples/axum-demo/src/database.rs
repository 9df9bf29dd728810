//! What the app asks of its database, whichever backend serves it.
//!
//! The derive fixes one backend per session struct, so the app is generic
//! over [`Database`], which the session store of each backend implements
//! (see [`crate::schema`]). Every Diesel query is written once, in a macro,
//! and compiled for concrete tables: no Diesel trait bound appears here.

use std::future::Future;

use session_runtime::{Error, SessionDigest};
use time::OffsetDateTime;
use tower_sessions::{ExpiredDeletion, SessionStore};

use crate::users::User;

/// A session store that also holds the app's users.
pub trait Database: SessionStore + ExpiredDeletion + Clone {
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

    /// The live row of a session, read straight from the session table.
    fn stored_session(
        &self,
        digest: SessionDigest,
    ) -> impl Future<Output = Result<Option<StoredSession>, Error>> + Send;

    /// The live sessions of a user, newest login first.
    fn sessions_of(
        &self,
        user_id: i64,
    ) -> impl Future<Output = Result<Vec<DeviceSession>, Error>> + Send;

    /// Deletes every session of a user but one, and says how many went.
    fn revoke_other_sessions(
        &self,
        user_id: i64,
        keep: SessionDigest,
    ) -> impl Future<Output = Result<usize, Error>> + Send;
}

/// The outcome of [`Database::create_user`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// The account exists now.
    Created,
    /// Another account has this login.
    LoginTaken,
}

/// A session row as the database holds it: the typed columns, the user
/// they join to, and the JSON of every other key.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    /// The `user_id` column, a foreign key to `demo_users`.
    pub user_id: Option<i64>,
    /// The login of `user_id`, through a join.
    pub login: Option<String>,
    /// The `user_agent` column.
    pub user_agent: Option<String>,
    /// The `created_at` column.
    pub created_at: Option<OffsetDateTime>,
    /// The `data` column: the keys that have no column of their own.
    pub data: serde_json::Value,
}

/// One of a user's sessions, for the "your devices" list.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSession {
    /// Identifies the row without revealing its cookie.
    pub digest: Option<SessionDigest>,
    /// The browser that logged in.
    pub user_agent: Option<String>,
    /// When it logged in.
    pub created_at: Option<OffsetDateTime>,
}
