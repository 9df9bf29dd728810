use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError, QueryResult};
use serde_json::Value;
use time::OffsetDateTime;

use crate::backend::{Backend, Delivery, PoolOptions};
use crate::ddl::Migration;
use crate::key_path::SessionData;
use crate::schema_diff::SchemaDiff;
use crate::session_table::{ExpiryOf, LoadedRow, SessionRow, SessionTable};
use crate::telemetry::refused;
use crate::{Error, SessionDigest};

/// Inserts tried with fresh ids before `create` gives up. Ids are 128
/// random bits, so a second attempt is already a once-in-the-universe event;
/// the rest are for id generators that collide on purpose in tests.
const CREATE_ATTEMPTS: usize = 16;

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
        $crate::store::run_statement!(@traced $store, $statement, Some($digest), true, |$connection| $query)
    };
    ($store:expr, $statement:literal, session = $digest:expr, |$connection:ident| $query:expr) => {
        $crate::store::run_statement!(@traced $store, $statement, Some($digest), false, |$connection| $query)
    };
    ($store:expr, $statement:literal, |$connection:ident| $query:expr) => {
        $crate::store::run_statement!(@traced $store, $statement, None, false, |$connection| $query)
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
                break Err($crate::store::unanswered::<S>(
                    pooled,
                    $statement,
                    $store.statement_timeout,
                ));
            };
            match result {
                Err(error)
                    if attempts < $crate::store::DEADLOCK_ATTEMPTS
                        && <S::Backend as $crate::backend::Backend>::is_deadlock(&error) =>
                {
                    attempts += 1;
                }
                Err(error)
                    if !reconnected
                        && $crate::store::may_run_again::<S>(&error, $not_run_only) =>
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
                result => break $crate::store::finish::<S, _>(pooled, $statement, result),
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

type PoolOf<S> = <<S as SessionTable>::Backend as Backend>::Pool;

/// A tower-sessions store on the Diesel table of a derived session struct.
///
/// `#[derive(SessionStore)]` on `AppSession` names it `AppSessionStore`.
/// Every operation is one SQL statement:
///
/// | operation | statement |
/// |---|---|
/// | `create` | `INSERT`; a duplicate id draws a new id and inserts again, so it never overwrites |
/// | `save` | `UPDATE ... WHERE id = ?`; a row deleted meanwhile stays deleted |
/// | `load` | `SELECT ... WHERE id = ? AND expiry_date > ?` |
/// | `delete` | `DELETE ... WHERE id = ?` |
/// | `delete_expired` | `DELETE ... WHERE expiry_date <= ?` |
///
/// ```
/// use session_runtime::SessionStore;
/// use tower_sessions::{Expiry, SessionManagerLayer};
///
/// #[derive(SessionStore, Debug)]
/// #[session(table = http_sessions, backend = sqlite)]
/// pub struct AppSession {
///     pub optional: Option<String>,
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let dir = std::env::temp_dir().join(format!("doc-store-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let path = dir.join("sessions.db");
/// let store = AppSessionStore::connect(path.to_str().unwrap())?;
/// store.migrate().await?;
/// let layer = SessionManagerLayer::new(store)
///     .with_expiry(Expiry::OnInactivity(time::Duration::hours(1)));
/// # Ok::<_, session_runtime::Error>(())
/// # }).unwrap();
/// ```
pub struct DieselStore<S: SessionTable> {
    pool: PoolOf<S>,
    pub(crate) statement_timeout: Duration,
    pub(crate) slow_statement_threshold: Duration,
    new_id: fn() -> i128,
    table: PhantomData<fn() -> S>,
}

impl<S: SessionTable> Clone for DieselStore<S> {
    fn clone(&self) -> Self {
        DieselStore {
            pool: self.pool.clone(),
            statement_timeout: self.statement_timeout,
            slow_statement_threshold: self.slow_statement_threshold,
            new_id: self.new_id,
            table: PhantomData,
        }
    }
}

impl<S: SessionTable> fmt::Debug for DieselStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DieselStore")
            .field("backend", &S::Backend::NAME)
            .field("table", &S::TABLE.name)
            .finish_non_exhaustive()
    }
}

impl<S: SessionTable> DieselStore<S> {
    /// A store on an existing pool, with the statement timeout and slow
    /// statement threshold of [`PoolOptions::default`].
    pub fn new(pool: PoolOf<S>) -> Self {
        let defaults = PoolOptions::default();
        DieselStore {
            pool,
            statement_timeout: defaults.statement_timeout,
            slow_statement_threshold: defaults.slow_statement_threshold,
            new_id: rand::random,
            table: PhantomData,
        }
    }

    /// A store with its own pool of [`PoolOptions::default`] on the database
    /// at `url`. Connections are opened when first needed.
    pub fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, &PoolOptions::default())
    }

    /// A store with its own pool on the database at `url`.
    pub fn connect_with(url: &str, options: &PoolOptions) -> Result<Self, Error> {
        let pool = S::Backend::build_pool(url, options)?;
        Ok(Self::new(pool)
            .with_statement_timeout(options.statement_timeout)
            .with_slow_statement_threshold(options.slow_statement_threshold))
    }

    /// The connection pool, for the app's own queries.
    pub fn pool(&self) -> &PoolOf<S> {
        &self.pool
    }

    /// Sets how long one statement may go unanswered; see
    /// [`PoolOptions::statement_timeout`].
    pub fn with_statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// Sets how long an operation may take before its `tracing` event is a
    /// `WARN` "slow session statement"; see
    /// [`PoolOptions::slow_statement_threshold`] (500 ms by default).
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
    pub fn with_slow_statement_threshold(mut self, threshold: Duration) -> Self {
        self.slow_statement_threshold = threshold;
        self
    }

    /// Replaces the generator of the fresh ids that `create` draws after a
    /// collision. Tests use it to force collisions.
    pub fn with_id_generator(mut self, new_id: fn() -> i128) -> Self {
        self.new_id = new_id;
        self
    }

    /// The table's DDL on this store's backend.
    pub fn migration() -> Migration {
        Migration::for_table::<S::Backend>(&S::TABLE)
    }

    /// Creates the table and its indexes, or brings an existing table to
    /// the struct, and says what it changed.
    ///
    /// On a table that an earlier version of the struct made, it adds the
    /// columns of new fields (nullable ones start out NULL, required ones
    /// with the field's default), their indexes and foreign keys, and any
    /// missing index. It never drops or converts anything: a column of
    /// another type, a foreign key to another table or with another rule,
    /// or a `NOT NULL` column no field fills, is an [`Error::Schema`] that
    /// names each column, what was found and expected, and the SQL that
    /// fixes it; then nothing is changed. Columns of removed fields stay,
    /// with their data.
    ///
    /// Idempotent, and safe to run from several servers starting at once.
    /// The tables its foreign keys reference must exist first.
    pub async fn migrate(&self) -> Result<SchemaDiff, Error> {
        let mut connection = self.connection().await?;
        let migrating = crate::migrate::migrate::<S>(&mut connection);
        let Ok(migrated) = tokio::time::timeout(self.statement_timeout, migrating).await else {
            return Err(unanswered::<S>(
                connection,
                "migration",
                self.statement_timeout,
            ));
        };
        if matches!(migrated, Err(Error::Backend(_))) {
            S::Backend::discard(connection);
        }
        migrated
    }

    /// How the live table differs from the struct, without changing
    /// anything: for deployments whose DDL runs out of band. Its
    /// [`up`](SchemaDiff::up) and [`down`](SchemaDiff::down) are the SQL of
    /// the change, for a diesel migrations folder.
    pub async fn check_schema(&self) -> Result<SchemaDiff, Error> {
        run_statement!(self, "catalog SELECT", |connection| {
            crate::migrate::check::<S>(connection)
        })
    }

    /// Deletes every expired session and says how many there were.
    pub async fn delete_expired_sessions(&self) -> Result<usize, Error> {
        let now = Self::expiry_now();
        run_statement!(self, "DELETE", |connection| {
            S::delete_expired(connection, &now)
        })
    }

    /// Deletes at most `limit` expired sessions in one short statement, and
    /// says how many there were: fewer than `limit` means none is left.
    ///
    /// This is the statement of the background [cleanup](crate::cleanup),
    /// for apps that schedule their own.
    ///
    /// ```
    /// use session_runtime::SessionStore;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite)]
    /// pub struct AppSession {}
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let dir = std::env::temp_dir().join(format!("doc-batch-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # let path = dir.join("sessions.db");
    /// let store = AppSessionStore::connect(path.to_str().unwrap())?;
    /// store.migrate().await?;
    /// while store.delete_expired_batch(1000).await? == 1000 {}
    /// # Ok::<_, session_runtime::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn delete_expired_batch(&self, limit: u32) -> Result<usize, Error> {
        let now = Self::expiry_now();
        let table = S::TABLE.name;
        run_statement!(self, "DELETE", |connection| {
            S::Backend::delete_expired_batch(connection, table, &now, i64::from(limit))
        })
    }

    /// Counts the live sessions.
    pub async fn count(&self) -> Result<u64, Error> {
        let now = Self::expiry_now();
        let count = run_statement!(self, "SELECT COUNT(*)", |connection| {
            S::count_live(connection, &now)
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Deletes every session, live or expired: everyone is logged out.
    pub async fn clear(&self) -> Result<usize, Error> {
        run_statement!(self, "DELETE", |connection| S::delete_all(connection))
    }

    /// This instant as an `expiry_date` value: what the app's own queries
    /// compare with to keep to live sessions.
    ///
    /// ```
    /// use session_runtime::SessionStore;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite)]
    /// pub struct AppSession {}
    ///
    /// // SQLite keeps Unix microseconds.
    /// assert!(AppSessionStore::expiry_now() > 1_700_000_000_000_000);
    /// ```
    pub fn expiry_now() -> ExpiryOf<S> {
        S::Backend::expiry_to_column(OffsetDateTime::now_utc())
    }

    /// Checks a connection out of the store's pool, for the app's own
    /// queries on the session table or its other tables.
    pub async fn connection(&self) -> Result<<S::Backend as Backend>::PooledConnection, Error> {
        S::Backend::connection(&self.pool).await
    }

    /// Inserts a new session, drawing a new `id` while the current one is
    /// taken.
    pub(crate) async fn create_session(
        &self,
        id: &mut i128,
        data: &SessionData,
        expiry: OffsetDateTime,
    ) -> Result<(), Error> {
        let digest = SessionDigest::of_id(*id);
        let mut row = encode::<S>(*id, data, expiry)
            .map_err(|error| refused::<S>("INSERT", Some(&digest), error))?;
        let inserted = run_statement!(
            self,
            "INSERT",
            session = &digest,
            not_run_only,
            |connection| async {
                for _ in 0..CREATE_ATTEMPTS {
                    match S::insert(connection, &row).await {
                        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                            *id = (self.new_id)();
                            row.id = *SessionDigest::of_id(*id).as_bytes();
                        }
                        inserted => return inserted.map(|_| true),
                    }
                }
                Ok(false)
            }
        )?;
        if inserted {
            Ok(())
        } else {
            Err(Error::Backend(format!(
                "no free session id in {CREATE_ATTEMPTS} attempts; is the id generator random?"
            )))
        }
    }

    /// Updates an existing session. A session whose row is gone (logged out
    /// or revoked while this request ran) stays gone: the write is dropped.
    pub(crate) async fn save_session(
        &self,
        id: i128,
        data: &SessionData,
        expiry: OffsetDateTime,
    ) -> Result<(), Error> {
        let digest = SessionDigest::of_id(id);
        let row = encode::<S>(id, data, expiry)
            .map_err(|error| refused::<S>("UPDATE", Some(&digest), error))?;
        let now = Self::expiry_now();
        run_statement!(self, "UPDATE", session = &digest, |connection| {
            S::update(connection, &row, &now)
        })
        .map(drop)
    }

    pub(crate) async fn load_session(
        &self,
        id: i128,
    ) -> Result<Option<(SessionData, OffsetDateTime)>, Error> {
        let digest = SessionDigest::of_id(id);
        let now = OffsetDateTime::now_utc();
        let now_column = S::Backend::expiry_to_column(now);
        let row = run_statement!(self, "SELECT", session = &digest, |connection| {
            S::select(connection, digest.as_bytes(), &now_column)
        })?;
        match row.map(decode::<S>).transpose()? {
            // The database compared the row as live, yet its expiry reads
            // back as past: SQLite orders a hand-written TEXT expiry after
            // every number, and reads it as a number near 1970. Expired is
            // expired all the same; a live row always reads back as later
            // than `now`, which the database saw truncated.
            Some((_, expiry)) if expiry <= now => Ok(None),
            loaded => Ok(loaded),
        }
    }

    pub(crate) async fn delete_session(&self, id: i128) -> Result<(), Error> {
        let digest = SessionDigest::of_id(id);
        run_statement!(self, "DELETE", session = &digest, |connection| {
            S::delete(connection, digest.as_bytes())
        })
        .map(drop)
    }
}

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
        error => match Error::from(error) {
            Error::Backend(message) => {
                let hint = match statement {
                    "INSERT" | "UPDATE" => S::Backend::write_failure_hint(&message),
                    _ => None,
                };
                let mut message = format!("{statement} on `{}` failed: {message}", S::TABLE.name);
                if let Some(hint) = hint {
                    message = format!("{message} ({hint})");
                }
                Error::Backend(message)
            }
            other => other,
        },
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
    Error::Backend(format!(
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

/// Splits a session into its row: typed values to their columns, the rest
/// of the map to `data`.
fn encode<S: SessionTable>(
    id: i128,
    data: &SessionData,
    expiry: OffsetDateTime,
) -> Result<SessionRow<S>, Error> {
    check_depth::<S>(data)?;
    S::Backend::check_data(data)?;
    let fields = S::read_fields(data)?;
    check_exact::<S>(data, &fields)?;
    check_lengths::<S>(data)?;
    check_precision::<S>(data)?;
    Ok(SessionRow {
        id: *SessionDigest::of_id(id).as_bytes(),
        data: S::Backend::data_to_column(data, S::TABLE.columns)?,
        expiry: S::Backend::expiry_to_column(expiry),
        fields,
    })
}

/// Refuses a typed value that decodes into its field's type but would be
/// read back different: an integer in a float field comes back as a float,
/// and an `f32` field rounds `0.1` and turns `1e300` into infinity, which
/// JSON writes as `null`. A value either round-trips or is refused.
///
/// Only the typed keys are copied; `null` under an `Option` field and a
/// missing value of a required field are the documented exceptions.
fn check_exact<S: SessionTable>(data: &SessionData, fields: &S) -> Result<(), Error> {
    let columns = S::TABLE.columns;
    let mut echo = SessionData::new();
    fields.put_fields(&mut echo)?;
    for column in columns {
        let Some(value) = column.path.get(data).filter(|value| !value.is_null()) else {
            continue;
        };
        let back = column.path.get(&echo);
        if back != Some(value) {
            return Err(Error::Encode(format!(
                "field `{}` (session key `{}`) cannot hold {value} exactly: it would be stored as {}",
                column.path.field,
                column.path,
                back.map_or_else(|| "nothing".to_owned(), Value::to_string)
            )));
        }
    }
    Ok(())
}

/// Refuses a value longer than its column's declared `VARCHAR(n)` or
/// `VARBINARY(n)`, MySQL's indexed text and binary columns. In strict mode
/// MySQL fails the statement with a `Backend` error; without it, MySQL cuts
/// the value short and the session silently changes.
fn check_lengths<S: SessionTable>(data: &SessionData) -> Result<(), Error> {
    for column in S::TABLE.columns {
        let Some((unit, limit)) = declared_length(column.sql_type) else {
            continue;
        };
        let length = match column.path.get(data) {
            Some(Value::String(text)) => text.chars().count(),
            Some(Value::Array(bytes)) => bytes.len(),
            _ => continue,
        };
        if length > limit {
            return Err(Error::Encode(format!(
                "field `{}` (session key `{}`) holds {length} {unit}, more than its column's {}",
                column.path.field, column.path, column.sql_type
            )));
        }
    }
    Ok(())
}

/// Refuses an instant with nanoseconds in a typed column that keeps
/// microseconds (`TIMESTAMPTZ` and `TIMESTAMP` on PostgreSQL,
/// `DATETIME(6)` and `TIMESTAMP(6)` on MySQL), which the database would
/// silently round or cut. A microsecond-exact instant round-trips exactly;
/// SQLite's text column keeps nanoseconds.
///
/// The value is read the way its field reads it, through `time`'s serde;
/// a field of another Rust type (a `sql_type` override) is not checked.
fn check_precision<S: SessionTable>(data: &SessionData) -> Result<(), Error> {
    use serde::Deserialize as _;
    for column in S::TABLE.columns {
        if !matches!(
            column.sql_type,
            "TIMESTAMPTZ" | "TIMESTAMP" | "DATETIME(6)" | "TIMESTAMP(6)"
        ) {
            continue;
        }
        let Some(value) = column.path.get(data).filter(|value| !value.is_null()) else {
            continue;
        };
        let nanosecond = OffsetDateTime::deserialize(value)
            .map(OffsetDateTime::nanosecond)
            .or_else(|_| time::PrimitiveDateTime::deserialize(value).map(|at| at.nanosecond()));
        if let Ok(nanosecond) = nanosecond {
            if nanosecond % 1_000 != 0 {
                return Err(Error::Encode(format!(
                    "field `{}` (session key `{}`) holds an instant with nanoseconds, but its {} \
                     column keeps microseconds; round it first, e.g. \
                     `at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000)`",
                    column.path.field, column.path, column.sql_type
                )));
            }
        }
    }
    Ok(())
}

/// The unit and length limit of a `VARCHAR(n)` or `VARBINARY(n)` column.
fn declared_length(sql_type: &str) -> Option<(&'static str, usize)> {
    let (unit, rest) = if let Some(rest) = sql_type.strip_prefix("VARCHAR(") {
        ("characters", rest)
    } else {
        ("bytes", sql_type.strip_prefix("VARBINARY(")?)
    };
    Some((unit, rest.strip_suffix(')')?.parse().ok()?))
}

/// Refuses a session nested deeper than its backend stores and reads back,
/// before anything recursive touches it. Without this, a session nested 128
/// levels would be stored and then fail every load.
fn check_depth<S: SessionTable>(data: &SessionData) -> Result<(), Error> {
    let max = S::Backend::MAX_DEPTH;
    let is_container = |value: &&Value| value.is_array() || value.is_object();
    // Containers still to look into, with their depth; the map is level 1.
    let mut pending: Vec<(&Value, usize)> = data
        .values()
        .filter(is_container)
        .map(|value| (value, 2))
        .collect();
    while let Some((value, depth)) = pending.pop() {
        if depth > max {
            return Err(Error::Encode(format!(
                "the session nests arrays and objects more than {max} levels deep, the most {} stores and reads back",
                S::Backend::NAME
            )));
        }
        let next = |child| (child, depth + 1);
        match value {
            Value::Array(items) => pending.extend(items.iter().filter(is_container).map(next)),
            Value::Object(members) => {
                pending.extend(members.values().filter(is_container).map(next));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Joins a row back into a session: the typed columns are the truth for
/// their keys.
///
/// Every save takes the typed keys out of `data`, so a typed key still in
/// `data` marks a row saved before its field's column existed: that value
/// is the session's, not the column's NULL or default, until the next save
/// moves it into the column.
fn decode<S: SessionTable>(row: LoadedRow<S>) -> Result<(SessionData, OffsetDateTime), Error> {
    let mut data = row.data;
    let saved_before_column: Vec<_> = S::TABLE
        .columns
        .iter()
        .filter_map(|column| Some((column.path, column.path.get(&data)?.clone())))
        .collect();
    row.fields.put_fields(&mut data)?;
    for (path, value) in saved_before_column {
        path.put(&mut data, &value)?;
    }
    Ok((data, S::Backend::expiry_from_column(row.expiry)?))
}
