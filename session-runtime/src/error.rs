use std::fmt;

/// Why a store operation failed.
///
/// The three kinds match `tower_sessions::session_store::Error`, into which
/// this converts, so a store used as a tower-sessions store reports the same
/// kind and the same message.
///
/// ```
/// use session_runtime::Error;
///
/// let error = Error::Encode("field `user_id`: invalid type: string \"x\", expected i64".into());
/// assert!(error.to_string().contains("user_id"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A session value does not fit the column that holds its key, or the
    /// session cannot be written by this backend. Nothing was written.
    #[error("cannot encode session: {0}")]
    Encode(String),
    /// A stored row cannot be turned back into a session.
    #[error("cannot decode stored session: {0}")]
    Decode(String),
    /// The database or the pool failed; the message is the database's own.
    #[error("session store backend: {0}")]
    Backend(String),
    /// The live session table differs from its struct in a way `migrate()`
    /// does not change by itself; the message names each column, what was
    /// found, what was expected, and the SQL that fixes it. Nothing was
    /// changed. As a tower-sessions error it is a backend error.
    #[error("session table schema: {0}")]
    Schema(String),
}

impl Error {
    pub(crate) fn backend(context: &str, error: impl fmt::Display) -> Self {
        Error::Backend(format!("{context}: {error}"))
    }
}

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::Error as Diesel;
        match error {
            Diesel::DeserializationError(cause) => Error::Decode(cause.to_string()),
            Diesel::SerializationError(cause) => Error::Encode(cause.to_string()),
            other => Error::Backend(other.to_string()),
        }
    }
}
