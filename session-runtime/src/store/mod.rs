//! The store: [`DieselStore`], its operations, and everything a session
//! goes through between tower-sessions and the table.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use time::OffsetDateTime;

use crate::backend::{Backend, PoolOptions};
use crate::schema::ddl::Migration;
use crate::schema::diff::SchemaDiff;
use crate::schema::table_def::DataType;
use crate::session_table::{SessionRow, SessionTable};
use crate::store::encryption::EncryptionKeys;
use crate::store::key_path::SessionData;
use crate::store::loaded_sessions::{Loaded, LoadedSessions, ValueHashes, DEFAULT_BUDGET};
use crate::store::row_changes::{
    expiry_only, sealed_change, DataChange, ExpiryWrite, KeyChanges, RowChanges, SavePlan,
};
use crate::store::row_codec::{check_size, decode, encode, encode_columns, is_stored, Decoded};
use crate::store::statement::{run_statement, unanswered};
use crate::store::touch_after::TouchAfter;
use crate::store::undecodable::Undecodable;
use crate::telemetry::{refused, undecodable_deleted};
use crate::Error;

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub(crate) mod any_store;
pub(crate) mod cached_update;
pub(crate) mod cleanup;
pub(crate) mod digest;
pub(crate) mod encryption;
pub(crate) mod key_path;
pub(crate) mod loaded_sessions;
pub(crate) mod per_user;
pub(crate) mod row_changes;
pub(crate) mod row_codec;
pub(crate) mod statement;
pub(crate) mod touch_after;
pub(crate) mod tower_sessions_impl;
pub(crate) mod typed_session;
pub(crate) mod undecodable;

pub use digest::SessionDigest;

/// The default limit of an encoded session: 1 MiB, which no ordinary
/// session comes near, and well below what every backend can take in one
/// statement.
pub(crate) const DEFAULT_MAX_SESSION_BYTES: usize = 1 << 20;

/// Inserts tried with fresh ids before `create` gives up. Ids are 128
/// random bits, so a second attempt is already a once-in-the-universe event;
/// the rest are for id generators that collide on purpose in tests.
const CREATE_ATTEMPTS: usize = 16;

/// A tower-sessions store on the Diesel table of a derived session struct.
///
/// `#[derive(SessionStore)]` on `AppSession` names it `AppSessionStore`.
/// Every operation is at most one SQL statement:
///
/// | operation | statement |
/// |---|---|
/// | `create` | `INSERT`; a duplicate id draws a new id and inserts again, so it never overwrites |
/// | `save` | `UPDATE ... WHERE id = ? AND expiry_date > ?` of what the request changed, or none; a row deleted or expired meanwhile stays gone (see the [writes](crate::guide::writes) chapter) |
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
pub struct DieselStore<S: SessionTable<B>, B: Backend> {
    pool: B::Pool,
    pub(crate) statement_timeout: Duration,
    pub(crate) slow_statement_threshold: Duration,
    pub(crate) retry_budget: Duration,
    new_id: fn() -> i128,
    loaded: Arc<LoadedSessions>,
    touch_after: TouchAfter,
    undecodable: Undecodable,
    max_session_bytes: usize,
    max_lifetime: Option<Duration>,
    /// The keys of `data`, for a struct that encrypts it.
    encryption: Option<Arc<EncryptionKeys>>,
    table: PhantomData<fn() -> S>,
}

impl<S: SessionTable<B>, B: Backend> Clone for DieselStore<S, B> {
    fn clone(&self) -> Self {
        DieselStore {
            pool: self.pool.clone(),
            statement_timeout: self.statement_timeout,
            slow_statement_threshold: self.slow_statement_threshold,
            retry_budget: self.retry_budget,
            new_id: self.new_id,
            loaded: Arc::clone(&self.loaded),
            touch_after: self.touch_after,
            undecodable: self.undecodable,
            max_session_bytes: self.max_session_bytes,
            max_lifetime: self.max_lifetime,
            encryption: self.encryption.clone(),
            table: PhantomData,
        }
    }
}

impl<S: SessionTable<B>, B: Backend> fmt::Debug for DieselStore<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DieselStore")
            .field("backend", &B::NAME)
            .field("table", &S::TABLE.name)
            .finish_non_exhaustive()
    }
}

impl<S: SessionTable<B>, B: Backend> DieselStore<S, B> {
    /// A store on an existing pool, with the statement timeout, slow
    /// statement threshold and retry budget of [`PoolOptions::default`].
    pub fn new(pool: B::Pool) -> Self {
        let defaults = PoolOptions::default();
        DieselStore {
            pool,
            statement_timeout: defaults.statement_timeout,
            slow_statement_threshold: defaults.slow_statement_threshold,
            retry_budget: defaults.timeout,
            new_id: rand::random,
            loaded: Arc::new(LoadedSessions::new(DEFAULT_BUDGET)),
            touch_after: TouchAfter::default(),
            undecodable: Undecodable::default(),
            max_session_bytes: DEFAULT_MAX_SESSION_BYTES,
            max_lifetime: None,
            encryption: None,
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
        let pool = B::build_pool(url, options)?;
        Ok(Self::new(pool)
            .with_statement_timeout(options.statement_timeout)
            .with_slow_statement_threshold(options.slow_statement_threshold)
            .with_retry_budget(options.timeout))
    }

    /// The connection pool, for the app's own queries.
    pub fn pool(&self) -> &B::Pool {
        &self.pool
    }

    /// Sets how long one statement may go unanswered; see
    /// [`PoolOptions::statement_timeout`].
    pub fn with_statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// Sets how long one operation keeps trying while its database fails
    /// over, its connection was lost, or it loses a deadlock or a Galera
    /// certification conflict: [`PoolOptions::timeout`], five seconds by
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
    pub fn with_retry_budget(mut self, budget: Duration) -> Self {
        self.retry_budget = budget;
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

    /// Sets when a save that changes no value writes the session's new
    /// expiry; see [`TouchAfter`] (a hundredth of the session's lifetime,
    /// at least five seconds, by default).
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
    pub fn with_max_lifetime(mut self, max_lifetime: Option<Duration>) -> Self {
        self.max_lifetime = max_lifetime;
        self
    }

    /// When a session created at `created` ends, if the store has an
    /// absolute timeout and the row a creation time.
    fn deadline(&self, created: Option<OffsetDateTime>) -> Option<OffsetDateTime> {
        let lifetime = time::Duration::try_from(self.max_lifetime?).ok()?;
        created?.checked_add(lifetime)
    }

    /// `expiry`, but no later than the session's deadline.
    fn capped(&self, expiry: OffsetDateTime, created: Option<OffsetDateTime>) -> OffsetDateTime {
        self.deadline(created)
            .map_or(expiry, |deadline| expiry.min(deadline))
    }

    /// Sets what `load` does with a stored session that no longer decodes;
    /// see [`Undecodable`] ([`Undecodable::Fail`] by default).
    pub fn with_undecodable(mut self, undecodable: Undecodable) -> Self {
        self.undecodable = undecodable;
        self
    }

    /// Sets the largest session `create` and `save` write, counted as the
    /// JSON of the whole session map, typed values included: 1 MiB by
    /// default. A larger one fails with [`Error::Encode`] naming its size
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
    pub fn with_max_session_bytes(mut self, bytes: usize) -> Self {
        self.max_session_bytes = bytes;
        self
    }

    /// Sets how many bytes the store may use to remember what requests
    /// loaded, so that their saves write only what changed (8 MiB by
    /// default, about 35 000 loads of sessions with a few keys each).
    ///
    /// A load costs about 130 bytes plus 24 bytes and the key's length per
    /// top-level key of its session, whatever the values' size; the oldest
    /// loads are forgotten first. A save whose load was forgotten, or that
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
    pub fn with_load_memo_bytes(mut self, bytes: usize) -> Self {
        self.loaded = Arc::new(LoadedSessions::new(bytes));
        self
    }

    /// How many loads the store remembers now, and the bytes they take,
    /// which stay within [`with_load_memo_bytes`](Self::with_load_memo_bytes).
    pub fn load_memo_usage(&self) -> (usize, usize) {
        self.loaded.usage()
    }

    /// Replaces the generator of the fresh ids that `create` draws after a
    /// collision. Tests use it to force collisions.
    pub fn with_id_generator(mut self, new_id: fn() -> i128) -> Self {
        self.new_id = new_id;
        self
    }

    /// The table's DDL on this store's backend.
    pub fn migration() -> Migration {
        Migration::for_table(B::DIALECT, &S::TABLE)
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
    /// The tables its foreign keys reference must exist first; if one does
    /// not, it fails with an [`Error::Schema`] that names it, and changes
    /// nothing.
    pub async fn migrate(&self) -> Result<SchemaDiff, Error> {
        let mut connection = self.connection().await?;
        let migrating = crate::schema::migrate::migrate::<S, B>(&mut connection);
        let Ok(migrated) = tokio::time::timeout(self.statement_timeout, migrating).await else {
            return Err(unanswered::<S, B>(
                connection,
                "migration",
                self.statement_timeout,
            ));
        };
        if matches!(migrated, Err(Error::Backend(_))) {
            B::discard(connection);
        }
        migrated
    }

    /// How the live table differs from the struct, without changing
    /// anything: for deployments whose DDL runs out of band. Its
    /// [`up`](SchemaDiff::up) and [`down`](SchemaDiff::down) are the SQL of
    /// the change, for a diesel migrations folder.
    ///
    /// Fails with [`Error::Schema`], naming them, when tables the struct's
    /// foreign keys reference do not exist: no session could be written.
    pub async fn check_schema(&self) -> Result<SchemaDiff, Error> {
        let diff = run_statement!(self, "catalog SELECT", |connection| {
            crate::schema::migrate::check::<S, B>(connection)
        })?;
        match diff.missing_references_report() {
            Some(report) => Err(Error::Schema(report)),
            None => Ok(diff),
        }
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
    /// This is the statement of the background [cleanup](DieselStore::spawn_cleanup),
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
            B::delete_expired_batch(connection, table, &now, i64::from(limit))
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
    pub fn expiry_now() -> B::Expiry {
        B::expiry_to_column(OffsetDateTime::now_utc())
    }

    /// [`expiry_now`](Self::expiry_now) on a store at hand: for the app's
    /// own queries where the store's type goes unnamed, as in an arm of a
    /// `match` on an [`AnyStore`](crate::AnyStore).
    ///
    /// ```
    /// use session_runtime::SessionStore;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite)]
    /// pub struct AppSession {}
    ///
    /// let store = AppSessionStore::connect("sessions.db")?;
    /// assert!(store.now() <= AppSessionStore::expiry_now());
    /// # Ok::<_, session_runtime::Error>(())
    /// ```
    pub fn now(&self) -> B::Expiry {
        Self::expiry_now()
    }

    /// Checks a connection out of the store's pool, for the app's own
    /// queries on the session table or its other tables.
    pub async fn connection(&self) -> Result<B::PooledConnection, Error> {
        B::connection(&self.pool).await
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
        let refuse = |error| refused::<S, B>("INSERT", Some(&digest), error);
        let created = OffsetDateTime::now_utc();
        let expiry = self.capped(expiry, Some(created));
        let mut row = encode::<S, B>(*id, data, expiry).map_err(refuse)?;
        check_size::<S, B>(data, Some(&row.data), self.max_session_bytes).map_err(refuse)?;
        self.seal_row(&mut row).map_err(refuse)?;
        row.created = Some(B::expiry_to_column(created));
        // A lost answer may hide a written row, so after one the `INSERT`
        // runs again with the same id, and a duplicate that holds exactly
        // this session is the row that went through.
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let now = Self::expiry_now();
        let inserted = run_statement!(self, "INSERT", session = &digest, |connection| async {
            let rerun = runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed) > 0;
            for attempt in 0..CREATE_ATTEMPTS {
                match S::insert(connection, &row).await {
                    Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                        if rerun
                            && attempt == 0
                            && is_stored::<S, B>(connection, &row, &now).await?
                        {
                            return Ok(true);
                        }
                        *id = (self.new_id)();
                        row.id = *SessionDigest::of_id(*id).as_bytes();
                        // Sealed `data` is bound to its id: seal it again.
                        self.seal_row(&mut row)
                            .map_err(|error| DieselError::SerializationError(Box::new(error)))?;
                    }
                    inserted => return inserted.map(|_| true),
                }
            }
            Ok(false)
        })?;
        if inserted {
            Ok(())
        } else {
            Err(Error::backend_message(format!(
                "no free session id in {CREATE_ATTEMPTS} attempts; is the id generator random?"
            )))
        }
    }

    /// Updates an existing session. A session whose row is gone (logged out
    /// or revoked while this request ran) stays gone: the write is dropped.
    ///
    /// When the record comes from a load the store remembers, only what
    /// changed since that load is written, or nothing; see [`SavePlan`].
    pub(crate) async fn save_session(
        &self,
        id: i128,
        data: &SessionData,
        expiry: OffsetDateTime,
    ) -> Result<(), Error> {
        let digest = SessionDigest::of_id(id);
        let refuse = |error| refused::<S, B>("UPDATE", Some(&digest), error);
        let Some(loaded) = self.loaded.recall(id) else {
            let mut row = encode::<S, B>(id, data, expiry).map_err(refuse)?;
            check_size::<S, B>(data, Some(&row.data), self.max_session_bytes).map_err(refuse)?;
            self.seal_row(&mut row).map_err(refuse)?;
            return self.update_whole(&digest, &row).await;
        };
        check_size::<S, B>(data, None, self.max_session_bytes).map_err(refuse)?;
        let expiry = self.capped(expiry, loaded.created);
        let mut row = encode_columns::<S, B>(id, data, expiry).map_err(refuse)?;
        let values = self.loaded.hash_values(data);
        let (plan, written_expiry) = self
            .plan_save(&loaded, data, &values, expiry)
            .map_err(refuse)?;
        match plan {
            SavePlan::Skip => return Ok(()),
            SavePlan::Whole => {
                row.data = B::data_to_column(data, S::TABLE.columns).map_err(refuse)?;
                self.seal_row(&mut row).map_err(refuse)?;
                self.update_whole(&digest, &row).await?;
            }
            SavePlan::Changes(changes) => {
                let now = Self::expiry_now();
                run_statement!(self, "UPDATE", session = &digest, |connection| {
                    S::update_changes(connection, &row, &changes, &now)
                })?;
            }
        }
        self.loaded.update(id, values, written_expiry);
        Ok(())
    }

    /// What a save of a remembered load sends, and the expiry the row has
    /// after it.
    fn plan_save(
        &self,
        loaded: &Loaded,
        data: &SessionData,
        values: &ValueHashes,
        expiry: OffsetDateTime,
    ) -> Result<(SavePlan, OffsetDateTime), Error> {
        let columns = S::TABLE.columns;
        let keys = KeyChanges::between(&loaded.values, values);
        if keys.is_empty() {
            let now = OffsetDateTime::now_utc();
            return Ok(match expiry_only(loaded, expiry, now, self.touch_after) {
                None => (SavePlan::Skip, loaded.expiry),
                Some(write) => {
                    let written = match write {
                        ExpiryWrite::NeverEarlier => expiry.max(loaded.expiry),
                        ExpiryWrite::Exact => expiry,
                    };
                    let changes = RowChanges::of_expiry(columns.len(), write);
                    (SavePlan::Changes(changes), written)
                }
            });
        }
        // Sealed `data` cannot be patched: a change to it writes it whole.
        let change = match S::TABLE.data {
            DataType::Encrypted => sealed_change(columns, &keys),
            _ => B::data_patch(data, columns, &keys)?,
        };
        let plan = match change {
            DataChange::Whole => SavePlan::Whole,
            DataChange::Unchanged => {
                SavePlan::Changes(RowChanges::of_values(keys.columns(columns), None))
            }
            DataChange::Patch(patch) => {
                let data = Some((patch, S::TABLE.data));
                SavePlan::Changes(RowChanges::of_values(keys.columns(columns), data))
            }
        };
        Ok((plan, expiry))
    }

    /// The `UPDATE` of every column of a session's row.
    async fn update_whole(
        &self,
        digest: &SessionDigest,
        row: &SessionRow<S, B>,
    ) -> Result<(), Error> {
        let now = Self::expiry_now();
        run_statement!(self, "UPDATE", session = digest, |connection| {
            S::update(connection, row, &now)
        })
        .map(drop)
    }

    pub(crate) async fn load_session(&self, id: i128) -> Result<Option<Decoded>, Error> {
        let digest = SessionDigest::of_id(id);
        match self.read_session(&digest).await {
            Err(Error::Decode(_)) if self.undecodable == Undecodable::StartOver => {
                run_statement!(self, "DELETE", session = &digest, |connection| {
                    S::delete(connection, digest.as_bytes())
                })?;
                undecodable_deleted::<S, B>(&digest);
                Ok(None)
            }
            read => read,
        }
    }

    async fn read_session(&self, digest: &SessionDigest) -> Result<Option<Decoded>, Error> {
        let now = OffsetDateTime::now_utc();
        let now_column = B::expiry_to_column(now);
        let row = run_statement!(self, "SELECT", session = digest, |connection| {
            S::select(connection, digest.as_bytes(), &now_column)
        })?;
        let keys = self.opening_keys();
        match row
            .map(|row| decode::<S, B>(row, keys, digest.as_bytes()))
            .transpose()?
        {
            // The database compared the row as live, yet its expiry reads
            // back as past: SQLite orders a hand-written TEXT expiry after
            // every number, and reads it as a number near 1970. Expired is
            // expired all the same; a live row always reads back as later
            // than `now`, which the database saw truncated.
            Some(decoded) if decoded.expiry <= now => Ok(None),
            // Past the absolute timeout, however busy it was kept.
            Some(decoded) if self.deadline(decoded.created).is_some_and(|end| end <= now) => {
                Ok(None)
            }
            loaded => Ok(loaded),
        }
    }

    /// Loads a session for a request, remembering what it loaded so that
    /// the request's save writes only what changed.
    pub(crate) async fn load_tracked(
        &self,
        id: i128,
    ) -> Result<Option<(SessionData, OffsetDateTime)>, Error> {
        let Some(decoded) = self.load_session(id).await? else {
            return Ok(None);
        };
        // A row sealed with an old key is not remembered either, so that
        // its save writes it whole, sealed with the current key.
        if decoded.settled && !decoded.old_key {
            let values = self.loaded.hash_values(&decoded.data);
            self.loaded
                .remember(id, values, decoded.expiry, decoded.created);
        } else {
            self.loaded.forget(id);
        }
        Ok(Some((decoded.data, decoded.expiry)))
    }

    pub(crate) async fn delete_session(&self, id: i128) -> Result<(), Error> {
        let digest = SessionDigest::of_id(id);
        run_statement!(self, "DELETE", session = &digest, |connection| {
            S::delete(connection, digest.as_bytes())
        })
        .map(drop)
    }
}
