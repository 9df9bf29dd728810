//! Why a connection could not be made, and whether trying again can help:
//! a failover, a restart or a full server passes by itself; a wrong
//! password, a missing database or a certificate that does not verify
//! stays until someone changes the server or the URL, and is reported on
//! the first attempt instead of after the pool's whole timeout.

use std::fmt;
use std::io;

use diesel::result::{ConnectionError, Error as DieselError};

/// A failed attempt to connect, in words that name what failed.
#[derive(Debug, Clone)]
pub(crate) struct ConnectFailure {
    message: String,
    permanent: bool,
}

impl ConnectFailure {
    /// A failure that another attempt may not meet: the server is down,
    /// starting, shutting down, full, read-only, or unreachable for now.
    pub(crate) fn transient(message: impl Into<String>) -> Self {
        ConnectFailure {
            message: message.into(),
            permanent: false,
        }
    }

    /// A failure every attempt will meet until the server or the URL
    /// changes.
    pub(crate) fn permanent(message: impl Into<String>) -> Self {
        ConnectFailure {
            message: message.into(),
            permanent: true,
        }
    }

    /// The error a pool's connection setup returns.
    ///
    /// diesel's `ConnectionError` has no variant that holds an error of
    /// ours, and diesel-async's pool error gives no `source()`, so the
    /// failure travels boxed in the one variant that keeps a boxed error
    /// as it is; [`is_permanent`] finds it there. Its message is ours.
    pub(crate) fn into_connection_error(self) -> ConnectionError {
        ConnectionError::CouldntSetupConfiguration(DieselError::QueryBuilderError(Box::new(self)))
    }
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectFailure {}

impl From<ConnectFailure> for ConnectionError {
    fn from(failure: ConnectFailure) -> Self {
        failure.into_connection_error()
    }
}

/// Whether `error`, from a pool's connection setup, says that trying
/// again cannot help.
pub(crate) fn is_permanent(error: &ConnectionError) -> bool {
    match error {
        ConnectionError::InvalidConnectionUrl(_) | ConnectionError::InvalidCString(_) => true,
        ConnectionError::CouldntSetupConfiguration(DieselError::QueryBuilderError(inner)) => inner
            .downcast_ref::<ConnectFailure>()
            .is_some_and(|failure| failure.permanent),
        _ => false,
    }
}

/// Whether a name lookup failed because the name does not exist, rather
/// than because the resolver could not be reached ("Temporary failure in
/// name resolution").
pub(crate) fn unknown_host(error: &io::Error) -> bool {
    let text = error.to_string();
    [
        "Name or service not known",
        "No address associated with hostname",
        "nodename nor servname provided",
        "No such host is known",
    ]
    .iter()
    .any(|words| text.contains(words))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_keeps_its_message_and_its_kind_through_the_connection_error() {
        let permanent = ConnectFailure::permanent("database \"missing\" does not exist")
            .into_connection_error();
        assert!(is_permanent(&permanent));
        assert_eq!(permanent.to_string(), "database \"missing\" does not exist");
        let transient = ConnectFailure::transient("Connection refused").into_connection_error();
        assert!(!is_permanent(&transient));
        assert!(!is_permanent(&ConnectionError::BadConnection(
            "reset".into()
        )));
        assert!(is_permanent(&ConnectionError::InvalidConnectionUrl(
            "bad".into()
        )));
    }

    #[test]
    fn a_missing_name_is_an_unknown_host_and_a_resolver_failure_is_not() {
        let missing =
            io::Error::other("failed to lookup address information: Name or service not known");
        assert!(unknown_host(&missing));
        let flaky = io::Error::other(
            "failed to lookup address information: Temporary failure in name resolution",
        );
        assert!(!unknown_host(&flaky));
    }
}
