//! What `load` does with a stored session that no longer decodes.

/// What `load` does with a stored session that no longer decodes: a
/// renamed enum variant under a typed field, a row edited by hand, `data`
/// that is no JSON object.
///
/// ```
/// use session_runtime::{SessionStore, Undecodable};
///
/// #[derive(SessionStore, Debug)]
/// #[session(table = http_sessions, backend = sqlite)]
/// pub struct AppSession {}
///
/// let store = AppSessionStore::connect("sessions.db")?.with_undecodable(Undecodable::StartOver);
/// # Ok::<_, session_runtime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Undecodable {
    /// Fail the load with [`Error::Decode`](crate::Error::Decode), which
    /// tower-sessions turns into a 500 for every request of that session
    /// until the row is fixed or deleted. The row stays as it is, to be
    /// looked at. The default.
    #[default]
    Fail,
    /// Treat it as no session: log a `WARN` "undecodable session deleted"
    /// with the table and the prefix of the session's digest (never the
    /// data), delete the row, and answer the load with nothing, so that
    /// the request starts a fresh session. Its user is logged out.
    StartOver,
}
