//! Running one statement of a store: on a pooled connection, within the
//! statement timeout, again after a deadlock or a lost connection where
//! that is safe, traced, and with its failure turned into an [`Error`].

use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError, QueryResult};
use diesel_async::SimpleAsyncConnection as _;

use crate::backend::Backend;
use crate::error::with_causes;
use crate::session_table::SessionTable;
use crate::Error;

/// The most times one statement runs, whatever its retry budget: a bound
/// for a clock that does not move.
pub(crate) const MAX_ATTEMPTS: usize = 100;

/// The first wait before a statement runs again after a deadlock or a
/// certification conflict, and the longest.
pub(crate) const CONFLICT_BACKOFF: (Duration, Duration) =
    (Duration::from_millis(1), Duration::from_millis(100));

/// The first wait before a statement runs again on a new connection after
/// its connection was lost or its server turned read-only, and the longest.
pub(crate) const FAILOVER_BACKOFF: (Duration, Duration) =
    (Duration::from_millis(50), Duration::from_millis(500));

/// Runs one statement, the future `$query` makes from `$connection`, on a
/// connection of `$store`'s pool, and ends it with [`finish`], or with
/// [`unanswered`] after the store's statement timeout.
///
/// Within the store's retry budget (the pool's timeout, five seconds by
/// default), with jittered waits between attempts:
///
/// - the statement runs again while the database breaks a deadlock by
///   rolling it back, or a Galera cluster refuses it for a certification
///   conflict: it runs alone, so running it again is what would have
///   happened had it waited. InnoDB does this even to single-row
///   statements;
/// - a statement whose connection turns out lost (the server dropped it
///   while it sat idle in the pool, or died and failed over), or whose
///   server turned read-only (a demoted primary), runs again on a fresh
///   connection, after the pool's other idle connections of that time are
///   dropped too. Only the connection's errors count, not the database's,
///   so that the hot path never pays a validating round trip.
///
/// Each run ends in one `tracing` event; see [`crate::telemetry`]. The
/// `session = digest` form names the session, by a prefix of its digest.
///
/// A macro rather than a function taking an async closure: rustc cannot yet
/// prove such a function's future `Send` for every lifetime, which the
/// `SessionStore` trait requires.
macro_rules! run_statement {
    ($store:expr, $statement:literal, session = $digest:expr, |$connection:ident| $query:expr) => {
        $crate::store::statement::run_statement!(@traced $store, $statement, Some($digest), |$connection| $query)
    };
    ($store:expr, $statement:literal, |$connection:ident| $query:expr) => {
        $crate::store::statement::run_statement!(@traced $store, $statement, None, |$connection| $query)
    };
    (@traced $store:expr, $statement:literal, $session:expr, |$connection:ident| $query:expr) => {{
        let trace = $crate::telemetry::Trace::start(
            $statement,
            $session,
            $store.slow_statement_threshold,
        );
        let mut pooled = $store
            .connection()
            .await
            .map_err(|error| trace.failed::<S, B>(error, 0))?;
        let mut attempts = 1;
        let deadline = std::time::Instant::now() + $store.retry_budget;
        let (first, max) = $crate::store::statement::CONFLICT_BACKOFF;
        let mut conflicts = $crate::backoff::Backoff::until(deadline, first, max);
        let (first, max) = $crate::store::statement::FAILOVER_BACKOFF;
        let mut failover = $crate::backoff::Backoff::until(deadline, first, max);
        let ended = loop {
            let answered = tokio::time::timeout($store.statement_timeout, async {
                let unit = $crate::store::statement::Unit::begin::<B>(&mut *pooled, $store.behind_pgbouncer).await?;
                let $connection = &mut *pooled;
                let result = $query.await;
                unit.end::<B, _>(&mut *pooled, result).await
            })
            .await;
            let Ok(result) = answered else {
                break Err($crate::store::statement::unanswered::<S, B>(
                    pooled,
                    $statement,
                    $store.statement_timeout,
                ));
            };
            let retry = attempts < $crate::store::statement::MAX_ATTEMPTS;
            match result {
                Err(error)
                    if retry
                        && <B as $crate::backend::BackendInternals>::is_deadlock(&error)
                        && conflicts.wait().await =>
                {
                    attempts += 1;
                }
                Err(error)
                    if retry
                        // Every statement is safe to run again even when it
                        // may have run: `create`'s `INSERT` finds its own row.
                        && <B as $crate::backend::BackendInternals>::lost_connection(&error)
                        && !failover.expired() =>
                {
                    let lost_at = std::time::Instant::now();
                    trace.reconnecting::<S, B>(&error);
                    <B as $crate::backend::BackendInternals>::discard(pooled);
                    <B as $crate::backend::BackendInternals>::purge_idle($store.pool(), lost_at);
                    failover.wait().await;
                    pooled = $store
                        .connection()
                        .await
                        .map_err(|error| trace.failed::<S, B>(error, attempts))?;
                    attempts += 1;
                }
                result => break $crate::store::statement::finish::<S, B, _>(pooled, $statement, result),
            }
        };
        match ended {
            Ok(value) => {
                trace.done::<S, B>($crate::telemetry::Rows::rows(&value), attempts);
                Ok(value)
            }
            Err(error) => Err(trace.failed::<S, B>(error, attempts)),
        }
    }};
}
pub(crate) use run_statement;

/// The transaction one operation runs in behind a transaction-mode
/// pooler (see [`PoolOptions::pgbouncer`](crate::PoolOptions::pgbouncer)),
/// which keeps its statements on one server connection; elsewhere, none.
#[must_use = "a unit that began must end"]
pub(crate) struct Unit {
    began: bool,
}

impl Unit {
    /// Opens the operation's transaction, if `behind_pgbouncer`.
    pub(crate) async fn begin<B: Backend>(
        connection: &mut B::Connection,
        behind_pgbouncer: bool,
    ) -> QueryResult<Unit> {
        if behind_pgbouncer {
            connection.batch_execute("BEGIN").await?;
        }
        Ok(Unit {
            began: behind_pgbouncer,
        })
    }

    /// Commits the transaction after `result`, or rolls it back after its
    /// error; an error of the commit is the operation's.
    pub(crate) async fn end<B: Backend, T>(
        self,
        connection: &mut B::Connection,
        result: QueryResult<T>,
    ) -> QueryResult<T> {
        if !self.began {
            return result;
        }
        match result {
            Ok(value) => connection.batch_execute("COMMIT").await.map(|()| value),
            Err(error) => {
                // A failed rollback leaves the connection unusable; its
                // error says so, and the store drops it.
                connection.batch_execute("ROLLBACK").await?;
                Err(error)
            }
        }
    }

    /// After a statement inside a unit failed and its operation goes on
    /// (a `create` that draws a new id after a duplicate): the database
    /// refuses every statement of a failed transaction, so a new one starts.
    pub(crate) async fn restart<B: Backend>(
        connection: &mut B::Connection,
        behind_pgbouncer: bool,
    ) -> QueryResult<()> {
        if behind_pgbouncer {
            connection.batch_execute("ROLLBACK; BEGIN").await?;
        }
        Ok(())
    }
}

/// Ends one statement on a pooled connection. On failure, a connection that
/// may be broken leaves the pool, so that the store recovers by itself once
/// the database is back, and a database error says which statement failed.
pub(crate) fn finish<S: SessionTable<B>, B: Backend, T>(
    connection: B::PooledConnection,
    statement: &str,
    result: QueryResult<T>,
) -> Result<T, Error> {
    let error = match result {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    // Constraint and conversion errors leave the connection as it was;
    // anything else may be a lost connection (MySQL reports those as
    // `Unknown`), and a reconnect is cheap next to a broken pool.
    let intact = matches!(
        &error,
        DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation
                | DatabaseErrorKind::ForeignKeyViolation
                | DatabaseErrorKind::NotNullViolation
                | DatabaseErrorKind::CheckViolation,
            _,
        ) | DieselError::NotFound
            | DieselError::SerializationError(_)
            | DieselError::DeserializationError(_)
    );
    if !intact {
        B::discard(connection);
    }
    if statement == "UPDATE" && is_null_data(&error) {
        return Err(Error::Encode(OVER_LIMIT.to_owned()));
    }
    Err(match error {
        // Diesel names the column; its cause says what is wrong with it.
        DieselError::DeserializationError(cause) => Error::Decode(format!(
            "a stored session in `{}` does not decode: {}",
            S::TABLE.name,
            with_causes(&*cause)
        )),
        error => {
            let in_context = |message: &str| {
                let hint = match statement {
                    _ if B::names_a_missing_table(message) => Some(MISSING_TABLE_HINT),
                    _ if B::statement_failure_hint(message).is_some() => {
                        B::statement_failure_hint(message)
                    }
                    "INSERT" | "UPDATE" => B::write_failure_hint(message),
                    _ => None,
                };
                let message = format!("{statement} on `{}` failed: {message}", S::TABLE.name);
                match hint {
                    Some(hint) => format!("{message} ({hint})"),
                    None => message,
                }
            };
            match Error::from(error) {
                Error::Backend(error) => Error::Backend(error.map_message(in_context)),
                Error::ForeignKeyViolation(error) => {
                    Error::ForeignKeyViolation(error.map_message(in_context))
                }
                other => other,
            }
        }
    })
}

/// What a partial save whose `data` would pass the store's size limit
/// says. Its `UPDATE` sets `data` to NULL then (see
/// `DataBound`), which `data`'s NOT NULL refuses.
const OVER_LIMIT: &str = "the stored session would be over the store's size limit \
     (`DieselStore::with_max_session_bytes`) with this save's keys merged into what is stored, \
     keys that overlapping requests of the session saved included; nothing was written";

/// Whether `error` is a NOT NULL violation on the `data` column, which only
/// the size bound of a partial save causes: every other write of `data`
/// binds a value. Each backend names the column its own way.
fn is_null_data(error: &DieselError) -> bool {
    let DieselError::DatabaseError(DatabaseErrorKind::NotNullViolation, info) = error else {
        return false;
    };
    let message = info.message();
    info.column_name() == Some("data")
        // SQLite: "NOT NULL constraint failed: table.data".
        || message.ends_with(".data")
        // MySQL and MariaDB: "Column 'data' cannot be null".
        || message.contains("'data'")
}

/// What a statement on a table that does not exist adds to its message.
const MISSING_TABLE_HINT: &str = "the session table does not exist: call `migrate()` on the \
     store at start-up, or apply the SQL of `migration().up()`";

/// Ends a statement that got no answer within `timeout`: its connection is
/// in an unknown state, perhaps frozen, and leaves the pool.
pub(crate) fn unanswered<S: SessionTable<B>, B: Backend>(
    connection: B::PooledConnection,
    statement: &str,
    timeout: Duration,
) -> Error {
    B::discard(connection);
    Error::backend_message(format!(
        "{statement} on `{}` got no answer from {} within the statement timeout of \
         {timeout:?}; its connection is dropped",
        S::TABLE.name,
        B::NAME
    ))
}

#[cfg(all(test, feature = "sqlite", feature = "tower-sessions-015"))]
mod tests {
    #[derive(crate::SessionStore, Debug)]
    #[session(crate = crate, table = never_migrated, backend = sqlite)]
    pub struct AppSession {}

    #[tokio::test]
    async fn a_statement_on_a_missing_table_says_to_run_migrate() {
        let dir = std::env::temp_dir().join(format!("missing-table-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sessions.db");
        let _ = std::fs::remove_file(&path);
        let store = AppSessionStore::connect(path.to_str().unwrap()).unwrap();
        let error = store
            .load_record(&tower_sessions::session::Id::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("no such table"), "{error}");
        assert!(error.contains("call `migrate()`"), "{error}");
    }
}
