//! The `with_*` builders of [`DieselStore`]: each sets one option and
//! returns the store, so that a store is configured where it is made.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::session_table::SessionTable;
use crate::store::loaded_sessions::LoadedSessions;
use crate::store::DieselStore;
use crate::touch_after::TouchAfter;
use crate::undecodable::Undecodable;

impl<S: SessionTable<B>, B: Backend> DieselStore<S, B> {
    /// Sets how long one statement may go unanswered; see
    /// [`PoolOptions::statement_timeout`](crate::PoolOptions::statement_timeout).
    #[must_use]
    pub fn with_statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// Sets how long one operation keeps trying while its database fails
    /// over, its connection was lost, or it loses a deadlock or a Galera
    /// certification conflict: [`PoolOptions::retry_budget`](crate::PoolOptions::retry_budget), five seconds by
    /// default. See the guide's [production](crate::guide::production)
    /// chapter.
    ///
    /// ```
    /// use std::time::Duration;
    /// use session_runtime::SessionStore;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite)]
    /// pub struct AppSession {}
    ///
    /// let store = AppSessionStore::connect("sessions.db")?
    ///     .with_retry_budget(Duration::from_secs(10));
    /// # Ok::<_, session_runtime::Error>(())
    /// ```
    #[must_use]
    pub fn with_retry_budget(mut self, budget: Duration) -> Self {
        self.retry_budget = budget;
        self
    }

    /// Sets how long an operation may take before its `tracing` event is a
    /// `WARN` "slow session statement"; see
    /// [`PoolOptions::slow_statement_threshold`](crate::PoolOptions::slow_statement_threshold) (500 ms by default).
    ///
    /// ```
    /// use std::time::Duration;
    /// use session_runtime::SessionStore;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite)]
    /// pub struct AppSession {}
    ///
    /// let store = AppSessionStore::connect("sessions.db")?
    ///     .with_slow_statement_threshold(Duration::from_millis(100));
    /// # Ok::<_, session_runtime::Error>(())
    /// ```
    #[must_use]
    pub fn with_slow_statement_threshold(mut self, threshold: Duration) -> Self {
        self.slow_statement_threshold = threshold;
        self
    }

    /// Sets when a save that changes no value writes the session's new
    /// expiry; see [`TouchAfter`] (a hundredth of the session's lifetime,
    /// at least five seconds, by default).
    #[must_use]
    pub fn with_touch_after(mut self, touch_after: TouchAfter) -> Self {
        self.touch_after = touch_after;
        self
    }

    /// Sets the absolute timeout: how long after its creation a session
    /// ends, however busy it is kept (`None`, no limit, by default).
    ///
    /// `Expiry::OnInactivity` alone lets a stolen session that is kept
    /// busy live forever; OWASP asks for both timeouts. `load` answers
    /// nothing for a session created longer ago than this, and every write
    /// caps the session's expiry at its creation plus this, so that the
    /// cleanup deletes it then. `cycle_id`, which an app calls at login,
    /// creates the session anew and starts a new lifetime. A row without a
    /// creation time (written by a version of the store that did not know
    /// the column, during a rolling deploy) has no absolute timeout; the
    /// migration that adds the column gives every existing row the time
    /// of the migration.
    ///
    /// ```
    /// use std::time::Duration;
    /// use session_runtime::SessionStore;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite)]
    /// pub struct AppSession {}
    ///
    /// let store = AppSessionStore::connect("sessions.db")?
    ///     .with_max_lifetime(Some(Duration::from_secs(12 * 3600)));
    /// # Ok::<_, session_runtime::Error>(())
    /// ```
    #[must_use]
    pub fn with_max_lifetime(mut self, max_lifetime: Option<Duration>) -> Self {
        self.max_lifetime = max_lifetime;
        self
    }

    /// Sets what `load` does with a stored session that no longer decodes;
    /// see [`Undecodable`] ([`Undecodable::Fail`] by default).
    #[must_use]
    pub fn with_undecodable(mut self, undecodable: Undecodable) -> Self {
        self.undecodable = undecodable;
        self
    }

    /// Sets the largest session `create` and `save` write, counted as the
    /// JSON of the whole session map, typed values included: 1 MiB by
    /// default. A larger one fails with [`Error::Encode`](crate::Error::Encode) naming its size
    /// and the limit, and the stored row stays as it was. It stops a bug
    /// that appends to a session on every request before the database
    /// refuses the row, or every request of that user slows down.
    ///
    /// ```
    /// use session_runtime::SessionStore;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite)]
    /// pub struct AppSession {}
    ///
    /// let store = AppSessionStore::connect("sessions.db")?.with_max_session_bytes(64 << 10);
    /// # Ok::<_, session_runtime::Error>(())
    /// ```
    #[must_use]
    pub fn with_max_session_bytes(mut self, bytes: usize) -> Self {
        self.max_session_bytes = bytes;
        self
    }

    /// Sets how many bytes the store may use to remember what requests
    /// loaded, so that their saves write only what changed (8 MiB by
    /// default, about 19 000 loads of sessions with three keys each).
    ///
    /// The bound is on resident memory: a load costs about 275 bytes plus
    /// 56 per top-level key of its session (for keys of up to 24 bytes),
    /// whatever the values' size, and a full memo stays that size. Loads
    /// whose request has saved are forgotten first, oldest first. A save whose load was forgotten, or that
    /// came from another store, writes the whole row, as with a budget of
    /// 0, which turns tracking off. See the guide's
    /// [writes](crate::guide::writes) chapter.
    ///
    /// ```
    /// use session_runtime::SessionStore;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite)]
    /// pub struct AppSession {}
    ///
    /// let store = AppSessionStore::connect("sessions.db")?.with_load_memo_bytes(64 << 20);
    /// # Ok::<_, session_runtime::Error>(())
    /// ```
    #[must_use]
    pub fn with_load_memo_bytes(mut self, bytes: usize) -> Self {
        self.loaded = Arc::new(LoadedSessions::new(bytes));
        self
    }

    /// Replaces the generator of the fresh ids that `create` draws after a
    /// collision, so that a test can force collisions. Not for production:
    /// ids must stay 128 random bits.
    #[doc(hidden)]
    #[must_use]
    pub fn with_id_generator(mut self, new_id: fn() -> i128) -> Self {
        self.new_id = new_id;
        self
    }
}
