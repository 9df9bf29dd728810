//! The `tracing` events of the store: what operators see.
//!
//! Every statement of the store ends in one event, and the store's other
//! events tell of what it did without being asked. All are under the
//! target `session_runtime` ([`TARGET`]), so any subscriber
//! (`tracing-subscriber`'s `fmt`, OpenTelemetry, ...) sees them:
//!
//! | when | level | message |
//! |---|---|---|
//! | a statement done within the slow threshold | `DEBUG` | `session statement` |
//! | a statement done, slower than the threshold | `WARN` | `slow session statement` |
//! | a stored row does not decode, or a session does not encode | `WARN` | `session statement failed` |
//! | a typed column references a missing row (`kind = foreign_key`) | `WARN` | `session statement failed` |
//! | the database or the pool failed, the table's schema drifted, or the store lacks a setting (`kind = config`) | `ERROR` | `session statement failed` |
//! | a store was built on a URL (`backend`, `host`, `database`; never a user name or password) | `INFO` | `session store opened` |
//! | a session refused before any statement (`Encode`) | `WARN` | `session refused` |
//! | a loaded row does not decode (`kind = decode`), or the store has no key to open it (`kind = config`); with [`Undecodable::StartOver`](crate::Undecodable::StartOver) a deletion follows | `WARN` | `stored session not read` |
//! | the connection was lost; the statement runs again | `WARN` | `session connection lost; running the statement again on a new connection` |
//! | [`Undecodable::StartOver`](crate::Undecodable::StartOver) deleted a row that does not decode | `WARN` | `undecodable session deleted` |
//! | a login revoked its user's oldest sessions beyond the [cap](crate::DieselStore::with_max_sessions_per) (`column`, `limit`, `revoked`, `sessions`: their digest prefixes) | `INFO` | `sessions over the per-user limit revoked` |
//! | MySQL's migration lock was refused (Galera); the migration checks the table after each step instead | `WARN` | `migrating without the migration lock` |
//! | a sweep of the [cleanup task](crate::DieselStore::spawn_cleanup) failed; it retries after `retry_in_ms` | `ERROR` | `expired-session cleanup failed; retrying` |
//! | a revalidation statement of a cached store (feature `cache`) failed; its `ids` entries stop being served once `max_staleness` has passed, and the next round retries | `WARN` | `session cache revalidation failed; retrying next round` |
//!
//! The fields: `table`; `statement` (`INSERT`, `SELECT`, `UPDATE`,
//! `DELETE`, `SELECT COUNT(*)`, ...); `elapsed_us`, from the wait for a
//! pooled connection to the answer, so that an exhausted pool shows up as
//! slow statements; `rows` (affected or returned, where known); `attempts`
//! (above 1 after a deadlock or a lost connection); `session`, the first 8
//! hex digits of the stored SHA-256 digest, for the operations on one
//! session; and, on failure, `kind` and `error`.
//!
//! The slow threshold is
//! [`PoolOptions::slow_statement_threshold`](crate::PoolOptions::slow_statement_threshold),
//! or [`with_slow_statement_threshold`](crate::DieselStore::with_slow_statement_threshold).
//! With `tracing-subscriber`,
//! `tracing_subscriber::fmt().with_env_filter("session_runtime=debug").init()`
//! prints every statement, and `=warn` the slow and failed ones only.
//!
//! An event never holds a session id, a cookie or a session value: only
//! `Backend`, `ForeignKeyViolation` and `Schema` errors carry their
//! message, which is the database's or the pool's own, about a statement
//! whose values are all bound parameters, or the schema report, which
//! names tables and columns.
//! `Encode` and `Decode` messages quote the offending value, so their
//! events give the kind alone.

use std::fmt;
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::digest::SessionDigest;
use crate::error::Error;
use crate::session_table::SessionTable;

/// The target of every event.
pub const TARGET: &str = "session_runtime";

/// How many bytes of the stored digest an event shows (as 8 hex digits):
/// enough to tell sessions apart in one log, far too few to find a row by.
const DIGEST_PREFIX_BYTES: usize = 4;

/// The rows a statement's result tells of, for its event.
pub(crate) trait Rows {
    fn rows(&self) -> Option<u64>;
}

impl Rows for usize {
    fn rows(&self) -> Option<u64> {
        u64::try_from(*self).ok()
    }
}

/// A create's insert: one row when it succeeded.
impl Rows for bool {
    fn rows(&self) -> Option<u64> {
        Some(u64::from(*self))
    }
}

/// A count says nothing about rows read; its value is the app's business.
impl Rows for i64 {
    fn rows(&self) -> Option<u64> {
        None
    }
}

impl<T> Rows for Option<T> {
    fn rows(&self) -> Option<u64> {
        Some(u64::from(self.is_some()))
    }
}

impl<T> Rows for Vec<T> {
    fn rows(&self) -> Option<u64> {
        u64::try_from(self.len()).ok()
    }
}

/// The catalog reads of `check_schema()` tell of no session rows.
impl Rows for crate::schema::diff::SchemaDiff {
    fn rows(&self) -> Option<u64> {
        None
    }
}

/// The first [`DIGEST_PREFIX_BYTES`] bytes of a digest in hex, written
/// only when a subscriber records the event: an operation nobody logs pays
/// nothing for it.
#[derive(Clone, Copy)]
struct DigestPrefix(SessionDigest);

impl fmt::Display for DigestPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.as_bytes()[..DIGEST_PREFIX_BYTES]
            .iter()
            .try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// One store statement being timed, from the wait for its connection on.
pub(crate) struct Trace {
    statement: &'static str,
    session: Option<DigestPrefix>,
    started: Instant,
    slow: Duration,
}

impl Trace {
    pub(crate) fn start(
        statement: &'static str,
        session: Option<&SessionDigest>,
        slow: Duration,
    ) -> Trace {
        Trace {
            statement,
            session: session.copied().map(DigestPrefix),
            started: Instant::now(),
            slow,
        }
    }

    fn session(&self) -> Option<tracing::field::DisplayValue<DigestPrefix>> {
        self.session.map(tracing::field::display)
    }

    fn elapsed_us(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Logs a statement that succeeded.
    pub(crate) fn done<S: SessionTable<B>, B: Backend>(&self, rows: Option<u64>, attempts: usize) {
        let elapsed = self.started.elapsed();
        let elapsed_us = self.elapsed_us();
        let table = S::TABLE.name;
        let session = self.session();
        if elapsed > self.slow {
            let threshold_ms = u64::try_from(self.slow.as_millis()).unwrap_or(u64::MAX);
            tracing::warn!(
                target: TARGET,
                table,
                statement = self.statement,
                session,
                elapsed_us,
                rows,
                attempts,
                threshold_ms,
                "slow session statement"
            );
        } else {
            tracing::debug!(
                target: TARGET,
                table,
                statement = self.statement,
                session,
                elapsed_us,
                rows,
                attempts,
                "session statement"
            );
        }
    }

    /// Logs a lost connection, on which the statement runs again.
    pub(crate) fn reconnecting<S: SessionTable<B>, B: Backend>(
        &self,
        error: &diesel::result::Error,
    ) {
        tracing::warn!(
            target: TARGET,
            table = S::TABLE.name,
            statement = self.statement,
            session = self.session(),
            elapsed_us = self.elapsed_us(),
            error = %error,
            "session connection lost; running the statement again on a new connection"
        );
    }

    /// Logs a statement that failed, and hands its error on.
    pub(crate) fn failed<S: SessionTable<B>, B: Backend>(
        &self,
        error: Error,
        attempts: usize,
    ) -> Error {
        let elapsed_us = self.elapsed_us();
        let table = S::TABLE.name;
        let session = self.session();
        match &error {
            // A schema drift names tables, columns and the fixing SQL,
            // never a session's values; a configuration error names the
            // missing setting.
            Error::Backend(_) | Error::Schema(_) | Error::Config(_) => tracing::error!(
                target: TARGET,
                table,
                statement = self.statement,
                session,
                elapsed_us,
                attempts,
                kind = kind(&error),
                error = detail(&error),
                "session statement failed"
            ),
            // The app's data, not the database, failed: a session points at
            // a row that is gone. The database's message names the
            // constraint, not the session's values.
            Error::ForeignKeyViolation(_) => tracing::warn!(
                target: TARGET,
                table,
                statement = self.statement,
                session,
                elapsed_us,
                attempts,
                kind = kind(&error),
                error = detail(&error),
                "session statement failed"
            ),
            Error::Decode(_) | Error::Encode(_) => tracing::warn!(
                target: TARGET,
                table,
                statement = self.statement,
                session,
                elapsed_us,
                attempts,
                kind = kind(&error),
                "session statement failed"
            ),
        }
        error
    }
}

/// Logs a session that `create` or `save` refused before sending anything.
pub(crate) fn refused<S: SessionTable<B>, B: Backend>(
    statement: &'static str,
    session: Option<&SessionDigest>,
    error: Error,
) -> Error {
    let trace = Trace::start(statement, session, Duration::MAX);
    tracing::warn!(
        target: TARGET,
        table = S::TABLE.name,
        statement,
        session = trace.session(),
        kind = kind(&error),
        "session refused"
    );
    error
}

/// Logs a loaded row that does not decode, or that the store lacks the
/// key to open, and hands its error on.
pub(crate) fn not_decoded<S: SessionTable<B>, B: Backend>(
    session: &SessionDigest,
    error: Error,
) -> Error {
    tracing::warn!(
        target: TARGET,
        table = S::TABLE.name,
        statement = "SELECT",
        session = %DigestPrefix(*session),
        kind = kind(&error),
        "stored session not read"
    );
    error
}

/// Logs, once per store, the backend, host and database its URL names:
/// what an operator checks first when sessions go to the wrong place.
pub(crate) fn store_opened<S: SessionTable<B>, B: Backend>(url: &str) {
    let (host, database) = server_of(url);
    tracing::info!(
        target: TARGET,
        table = S::TABLE.name,
        backend = B::NAME,
        host,
        database,
        "session store opened"
    );
}

/// The host and database of a URL, without its user name, password or
/// parameters; for SQLite, no host and the file.
fn server_of(url: &str) -> (&str, &str) {
    let without_query = url.split(['?', '#']).next().unwrap_or(url);
    if let Some(path) = without_query.strip_prefix("sqlite://") {
        return ("", path);
    }
    if let Some((_, rest)) = without_query.split_once("://") {
        let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        return match rest.split_once('/') {
            Some((host, database)) => (host, database),
            None => (rest, ""),
        };
    }
    if url.contains('=') && !url.contains('/') {
        // libpq's `host=... dbname=...` form.
        let value = |key: &str| {
            url.split_whitespace()
                .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or("")
        };
        return (value("host"), value("dbname"));
    }
    ("", without_query)
}

/// Logs a failed statement of a cached store's revalidation: the entries
/// it named are not confirmed this round, and stop being served once
/// `max_staleness` has passed, unless a later round confirms them.
#[cfg(feature = "cache")]
pub(crate) fn revalidation_failed<S: SessionTable<B>, B: Backend>(ids: usize, error: &Error) {
    tracing::warn!(
        target: TARGET,
        table = S::TABLE.name,
        ids,
        kind = kind(error),
        error = detail(error),
        "session cache revalidation failed; retrying next round"
    );
}

/// Logs an undecodable session deleted by `Undecodable::StartOver`.
pub(crate) fn undecodable_deleted<S: SessionTable<B>, B: Backend>(session: &SessionDigest) {
    tracing::warn!(
        target: TARGET,
        table = S::TABLE.name,
        session = %DigestPrefix(*session),
        kind = "decode",
        "undecodable session deleted"
    );
}

/// Logs the sessions a login revoked beyond the per-user cap, by digest
/// prefix; never the column's value, which is the app's data.
pub(crate) fn over_limit_revoked<S: SessionTable<B>, B: Backend>(
    column: &str,
    limit: u32,
    revoked: &[SessionDigest],
) {
    tracing::info!(
        target: TARGET,
        table = S::TABLE.name,
        column,
        limit,
        revoked = revoked.len(),
        sessions = ?revoked.iter().map(|id| DigestPrefix(*id).to_string()).collect::<Vec<_>>(),
        "sessions over the per-user limit revoked"
    );
}

/// What an event says of an error: the database's words, or the schema
/// report, without the kind's prefix, which the `kind` field holds.
fn detail(error: &Error) -> &str {
    match error {
        Error::Backend(error) | Error::ForeignKeyViolation(error) => error.message(),
        Error::Schema(report) | Error::Config(report) => report,
        // Their messages quote session values; events give the kind alone.
        Error::Encode(_) | Error::Decode(_) => "",
    }
}

fn kind(error: &Error) -> &'static str {
    match error {
        Error::Encode(_) => "encode",
        Error::Decode(_) => "decode",
        Error::Backend(_) => "backend",
        Error::ForeignKeyViolation(_) => "foreign_key",
        Error::Schema(_) => "schema",
        Error::Config(_) => "config",
    }
}

#[cfg(test)]
mod tests;
