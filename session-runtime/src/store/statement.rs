//! Running one statement of a store: on a pooled connection, within the
//! statement timeout, again after a deadlock or a lost connection where
//! that is safe, traced, and with its failure turned into an [`Error`].

use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError, QueryResult};

use crate::backend::{Backend, Delivery};
use crate::session_table::SessionTable;
use crate::Error;

/// How many times a statement runs while the database picks it as a
/// deadlock's victim.
pub(crate) const DEADLOCK_ATTEMPTS: usize = 4;

/// Whether a statement that failed with `error` may run again on a fresh
/// connection: its connection was lost, and either it never ran or it is
/// safe to run twice.
pub(crate) fn may_run_again<S: SessionTable>(error: &DieselError, not_run_only: bool) -> bool {
    match S::Backend::lost_connection(error) {
        Some(Delivery::NotRun) => true,
        Some(Delivery::Unknown) => !not_run_only,
        None => false,
    }
}

/// Runs one statement, the future `$query` makes from `$connection`, on a
/// connection of `$store`'s pool, and ends it with [`finish`], or with
/// [`unanswered`] after the store's statement timeout.
///
/// The statement runs again while the database breaks a deadlock by
/// rolling it back: it runs alone, so running it again is what would have
/// happened had it waited. InnoDB does this even to single-row statements.
///
/// A statement whose connection turns out lost (the server dropped it
/// while it sat idle in the pool) runs once more on a fresh connection,
/// after the pool's other idle connections of that time are dropped too:
/// once, and only when the error is the connection's, not the database's,
/// so that the hot path never pays a validating round trip. Every
/// statement of the store is safe to run twice except `create`'s
/// `INSERT`, whose lost answer may hide a written row; with
/// `not_run_only` it runs again only when the error proves it never ran.
///
/// Each run ends in one `tracing` event; see [`crate::telemetry`]. The
/// `session = digest` form names the session, by a prefix of its digest.
///
/// A macro rather than a function taking an async closure: rustc cannot yet
/// prove such a function's future `Send` for every lifetime, which the
/// `SessionStore` trait requires.
macro_rules! run_statement {
    ($store:expr, $statement:literal, session = $digest:expr, not_run_only, |$connection:ident| $query:expr) => {
        $crate::store::statement::run_statement!(@traced $store, $statement, Some($digest), true, |$connection| $query)
    };
    ($store:expr, $statement:literal, session = $digest:expr, |$connection:ident| $query:expr) => {
        $crate::store::statement::run_statement!(@traced $store, $statement, Some($digest), false, |$connection| $query)
    };
    ($store:expr, $statement:literal, |$connection:ident| $query:expr) => {
        $crate::store::statement::run_statement!(@traced $store, $statement, None, false, |$connection| $query)
    };
    (@traced $store:expr, $statement:literal, $session:expr, $not_run_only:expr, |$connection:ident| $query:expr) => {{
        let trace = $crate::telemetry::Trace::start(
            $statement,
            $session,
            $store.slow_statement_threshold,
        );
        let mut pooled = $store
            .connection()
            .await
            .map_err(|error| trace.failed::<S>(error, 0))?;
        let mut attempts = 1;
        let mut reconnected = false;
        let ended = loop {
            let $connection = &mut *pooled;
            let answered = tokio::time::timeout($store.statement_timeout, $query).await;
            let Ok(result) = answered else {
                break Err($crate::store::statement::unanswered::<S>(
                    pooled,
                    $statement,
                    $store.statement_timeout,
                ));
            };
            match result {
                Err(error)
                    if attempts < $crate::store::statement::DEADLOCK_ATTEMPTS
                        && <S::Backend as $crate::backend::Backend>::is_deadlock(&error) =>
                {
                    attempts += 1;
                }
                Err(error)
                    if !reconnected
                        && $crate::store::statement::may_run_again::<S>(&error, $not_run_only) =>
                {
                    let lost_at = std::time::Instant::now();
                    trace.reconnecting::<S>(&error);
                    <S::Backend as $crate::backend::Backend>::discard(pooled);
                    <S::Backend as $crate::backend::Backend>::purge_idle($store.pool(), lost_at);
                    pooled = $store
                        .connection()
                        .await
                        .map_err(|error| trace.failed::<S>(error, attempts))?;
                    reconnected = true;
                    attempts += 1;
                }
                result => break $crate::store::statement::finish::<S, _>(pooled, $statement, result),
            }
        };
        match ended {
            Ok(value) => {
                trace.done::<S>($crate::telemetry::Rows::rows(&value), attempts);
                Ok(value)
            }
            Err(error) => Err(trace.failed::<S>(error, attempts)),
        }
    }};
}
pub(crate) use run_statement;

/// Ends one statement on a pooled connection. On failure, a connection that
/// may be broken leaves the pool, so that the store recovers by itself once
/// the database is back, and a database error says which statement failed.
pub(crate) fn finish<S: SessionTable, T>(
    connection: <S::Backend as Backend>::PooledConnection,
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
        S::Backend::discard(connection);
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
                    "INSERT" | "UPDATE" => S::Backend::write_failure_hint(message),
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

/// Ends a statement that got no answer within `timeout`: its connection is
/// in an unknown state, perhaps frozen, and leaves the pool.
pub(crate) fn unanswered<S: SessionTable>(
    connection: <S::Backend as Backend>::PooledConnection,
    statement: &str,
    timeout: Duration,
) -> Error {
    S::Backend::discard(connection);
    Error::backend_message(format!(
        "{statement} on `{}` got no answer from {} within the statement timeout of \
         {timeout:?}; its connection is dropped",
        S::TABLE.name,
        S::Backend::NAME
    ))
}

/// An error's message followed by those of its causes.
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
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
