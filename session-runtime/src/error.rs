//! What can go wrong in a store operation, in kinds a caller can match.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// Why a store operation failed.
///
/// `Encode`, `Decode` and the rest map onto
/// `tower_sessions::session_store::Error`'s `Encode`, `Decode` and
/// `Backend`, so a store used as a tower-sessions store reports the same
/// kind and the same message. New kinds may be added: match with a `_` arm.
///
/// ```
/// use session_runtime::Error;
///
/// fn explain(error: &Error) -> &'static str {
///     match error {
///         Error::ForeignKeyViolation(_) => "the user this session points at does not exist",
///         Error::Schema(_) => "run migrate(), or fix the table by hand as the message says",
///         Error::Encode(_) => "a session value does not fit its column",
///         _ => "the database failed",
///     }
/// }
///
/// let error = Error::Encode("field `user_id`: invalid type: string \"x\", expected i64".into());
/// assert!(error.to_string().contains("user_id"));
/// assert_eq!(explain(&error), "a session value does not fit its column");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// A session value does not fit the column that holds its key, or the
    /// session cannot be written by this backend. Nothing was written.
    Encode(String),
    /// A stored row cannot be turned back into a session.
    Decode(String),
    /// A typed column references a row that does not exist: a session
    /// saved with the id of a user who was deleted meanwhile, or never
    /// existed. Nothing was written.
    ForeignKeyViolation(DatabaseError),
    /// The live session table differs from its struct in a way `migrate()`
    /// does not change by itself, or a table its foreign keys reference is
    /// missing; the message names each column or table, what was found,
    /// what was expected, and the SQL that fixes it. Nothing was changed.
    Schema(String),
    /// The database or the pool failed; the message is the database's own,
    /// and [`source`](StdError::source) is the driver's error.
    Backend(DatabaseError),
    /// The store is not set up for what its struct asks: a struct with
    /// `#[session(data = encrypted)]` whose store was given no keys with
    /// [`with_encryption_keys`](crate::DieselStore::with_encryption_keys).
    /// Nothing was read or written; unlike [`Error::Decode`], it never
    /// makes [`Undecodable::StartOver`](crate::Undecodable::StartOver)
    /// delete a row.
    Config(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Encode(message) => write!(f, "cannot encode session: {message}"),
            Error::Decode(message) => write!(f, "cannot decode stored session: {message}"),
            Error::ForeignKeyViolation(error) => {
                write!(f, "session references a missing row: {error}")
            }
            Error::Schema(message) => write!(f, "session table schema: {message}"),
            Error::Backend(error) => write!(f, "session store backend: {error}"),
            Error::Config(message) => write!(f, "session store configuration: {message}"),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::ForeignKeyViolation(error) | Error::Backend(error) => error.source(),
            Error::Encode(_) | Error::Decode(_) | Error::Schema(_) | Error::Config(_) => None,
        }
    }
}

/// A failure of the database or of the pool: what failed, in the
/// database's own words, and the driver's error behind it.
///
/// ```
/// use session_runtime::Error;
/// # fn failed() -> Result<(), Error> { Ok(()) }
///
/// if let Err(Error::Backend(error)) = failed() {
///     eprintln!("{}", error.message());
/// }
/// ```
#[derive(Debug, Clone)]
pub struct DatabaseError {
    message: String,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl DatabaseError {
    /// What failed and why, as one line.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A failure with a message of its own and no underlying error.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        DatabaseError {
            message: message.into(),
            source: None,
        }
    }

    /// The driver's `error`, in its own words.
    fn of_driver(error: impl StdError + Send + Sync + 'static) -> Self {
        DatabaseError {
            message: with_causes(&error),
            source: Some(Arc::new(error)),
        }
    }

    /// `error`, said in `context`.
    pub(crate) fn caused_by(
        context: impl fmt::Display,
        error: impl StdError + Send + Sync + 'static,
    ) -> Self {
        DatabaseError {
            message: format!("{context}: {}", with_causes(&error)),
            source: Some(Arc::new(error)),
        }
    }

    /// The same failure with its message rewritten, its source kept.
    pub(crate) fn map_message(self, rewrite: impl FnOnce(&str) -> String) -> Self {
        DatabaseError {
            message: rewrite(&self.message),
            source: self.source,
        }
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for DatabaseError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

impl Error {
    /// A backend failure caused by `error`, said in `context`.
    pub(crate) fn backend(
        context: impl fmt::Display,
        error: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Error::Backend(DatabaseError::caused_by(context, error))
    }

    /// A backend failure that no underlying error stands behind.
    pub(crate) fn backend_message(message: impl Into<String>) -> Self {
        Error::Backend(DatabaseError::new(message))
    }
}

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as Diesel};
        match error {
            Diesel::DeserializationError(cause) => Error::Decode(cause.to_string()),
            Diesel::SerializationError(cause) => Error::Encode(cause.to_string()),
            Diesel::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                Error::ForeignKeyViolation(DatabaseError::of_driver(error))
            }
            other => Error::Backend(DatabaseError::of_driver(other)),
        }
    }
}

/// An error's message followed by those of its causes that it does not
/// already say: pools and drivers often print only their own words
/// ("error connecting to server") and keep the reason ("Connection
/// refused") in `source()`, where a log line would lose it.
pub(crate) fn with_causes(error: &(dyn StdError + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error as Diesel};

    #[test]
    fn a_foreign_key_violation_is_its_own_kind_and_keeps_its_source() {
        let diesel = Diesel::DatabaseError(
            DatabaseErrorKind::ForeignKeyViolation,
            Box::new("FOREIGN KEY constraint failed".to_owned()),
        );
        let error = Error::from(diesel);
        let Error::ForeignKeyViolation(database) = &error else {
            panic!("expected a foreign key violation, got {error:?}");
        };
        assert_eq!(database.message(), "FOREIGN KEY constraint failed");
        let source = error.source().expect("the driver's error");
        assert!(source.downcast_ref::<Diesel>().is_some());
        assert_eq!(
            error.to_string(),
            "session references a missing row: FOREIGN KEY constraint failed"
        );
    }

    #[test]
    fn context_prefixes_the_message_and_the_source_stays() {
        let error = Error::backend("cannot get a database connection", std::fmt::Error);
        assert_eq!(
            error.to_string(),
            "session store backend: cannot get a database connection: an error occurred when formatting an argument"
        );
        assert!(error.source().is_some());
    }
}
