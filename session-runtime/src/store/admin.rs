//! Operations on the whole table rather than one session: its DDL and
//! migration, cleanup of expired sessions, counting and clearing.

use time::OffsetDateTime;

use crate::backend::lifetime_sql::LiveAt;
use crate::backend::Backend;
use crate::error::Error;
use crate::schema::ddl::Migration;
use crate::schema::diff::SchemaDiff;
use crate::schema::table_def::DataType;
use crate::session_table::SessionTable;
use crate::store::statement::{run_statement, unanswered};
use crate::store::DieselStore;

impl<S: SessionTable<B>, B: Backend> DieselStore<S, B> {
    /// How many loads the store remembers now, and the bytes they take,
    /// which stay within [`with_load_memo_bytes`](Self::with_load_memo_bytes).
    pub fn load_memo_usage(&self) -> (usize, usize) {
        self.loaded.usage()
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
        let migrating = crate::store::migrate::migrate::<S, B>(&mut connection);
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
            crate::store::migrate::check::<S, B>(connection)
        })?;
        match diff.missing_references_report() {
            Some(report) => Err(Error::Schema(report)),
            None => Ok(diff),
        }
    }

    /// Checks, before the first request, that the store can serve one, and
    /// reports every problem it finds at once: the database cannot be
    /// reached; the table is missing or differs from the struct (run
    /// [`migrate`](Self::migrate), or apply [`check_schema`](Self::check_schema)'s
    /// SQL); a struct with `data = encrypted` has no
    /// [keys](Self::with_encryption_keys). Each is an [`Error::Config`]
    /// naming the fix, or the database's own [`Error::Backend`] when none
    /// of the rest could be checked.
    ///
    /// ```
    /// use session_runtime::SessionStore;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite)]
    /// pub struct AppSession {}
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let dir = std::env::temp_dir().join(format!("doc-verify-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # let path = dir.join("sessions.db");
    /// # let _ = std::fs::remove_file(&path);
    /// let store = AppSessionStore::connect(path.to_str().unwrap())?;
    /// let error = store.verify().await.unwrap_err();
    /// assert!(error.to_string().contains("run `migrate()`"), "{error}");
    /// store.migrate().await?;
    /// store.verify().await?;
    /// # Ok::<_, session_runtime::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn verify(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        if S::TABLE.data == DataType::Encrypted && self.opening_keys().is_none() {
            problems.push(format!(
                "`{}` encrypts `data` (#[session(data = encrypted)]) and the store has no keys: \
                 give them with `with_encryption_keys`",
                S::TABLE.name
            ));
        }
        match self.check_schema().await {
            Ok(diff) if diff.is_current() => {}
            Ok(diff) => problems.push(format!(
                "{diff}\nrun `migrate()` at start-up to apply it, or apply that SQL out of band"
            )),
            Err(Error::Backend(error)) if problems.is_empty() => return Err(Error::Backend(error)),
            Err(error) => problems.push(error.to_string()),
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(problems.join("\n")))
        }
    }

    /// Deletes every expired session, and every session past the store's
    /// absolute timeout ([`with_max_lifetime`](Self::with_max_lifetime)),
    /// and says how many there were.
    pub async fn delete_expired_sessions(&self) -> Result<usize, Error> {
        let now = self.live_at();
        run_statement!(self, "DELETE", |connection| {
            S::delete_expired(connection, &now)
        })
    }

    /// Deletes at most `limit` expired sessions, or sessions past the
    /// store's absolute timeout, in one short statement, and
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
        let now = self.live_at();
        let table = S::TABLE.name;
        run_statement!(self, "DELETE", |connection| {
            B::delete_expired_batch(
                connection,
                table,
                now.now(),
                now.born_by(),
                i64::from(limit),
            )
        })
    }

    /// Counts the live sessions: neither expired nor past the store's
    /// absolute timeout.
    pub async fn count(&self) -> Result<u64, Error> {
        let now = self.live_at();
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
    /// compare with to keep to live sessions. A method, so that it serves
    /// where the store's type goes unnamed too, as in an arm of a `match`
    /// on an [`AnyStore`](crate::AnyStore).
    ///
    /// ```
    /// use session_runtime::SessionStore;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite)]
    /// pub struct AppSession {}
    ///
    /// let store = AppSessionStore::connect("sessions.db")?;
    /// // SQLite keeps Unix microseconds.
    /// assert!(store.now() > 1_700_000_000_000_000);
    /// # Ok::<_, session_runtime::Error>(())
    /// ```
    pub fn now(&self) -> B::Expiry {
        Self::expiry_now()
    }

    /// This moment, and the creation time at or before which a session
    /// has outlived the store's absolute timeout, for the statements that
    /// read or clean the whole table: they treat such a session as ended,
    /// as `load` does, even if its row was written without the cap.
    pub(crate) fn live_at(&self) -> LiveAt<B> {
        let now = OffsetDateTime::now_utc();
        let born_by = self
            .max_lifetime
            .and_then(|limit| time::Duration::try_from(limit).ok())
            .and_then(|limit| now.checked_sub(limit))
            .map(B::expiry_to_column);
        LiveAt::new(B::expiry_to_column(now), born_by)
    }

    /// [`now`](Self::now), for the store's own statements.
    pub(crate) fn expiry_now() -> B::Expiry {
        B::expiry_to_column(OffsetDateTime::now_utc())
    }
}
