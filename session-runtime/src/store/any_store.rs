//! [`AnyStore`]: one session struct on whichever database its URL names,
//! among the backends this crate is built with.

use std::fmt;
use std::time::Duration;

#[cfg(feature = "mysql")]
use crate::backend::Mysql;
#[cfg(feature = "postgres")]
use crate::backend::Postgres;
#[cfg(feature = "sqlite")]
use crate::backend::Sqlite;
use crate::backend::{Backend, PoolOptions};
use crate::encryption::EncryptionKeys;
use crate::schema::ddl::Migration;
use crate::schema::diff::SchemaDiff;
use crate::session_table::{SessionFields, SessionTable};
use crate::store::cleanup::{CleanupHandle, CleanupOptions};
use crate::store::encryption::EncryptedTable;
use crate::store::per_user::{LookupColumn, SessionInfo};
use crate::store::row_codec::Decoded;
use crate::store::touch_after::TouchAfter;
use crate::store::tower_sessions_impl::RecordId;
use crate::store::undecodable::Undecodable;
use crate::{DieselStore, Error, SessionDigest};

/// A store on the database its URL names, for a struct derived with
/// `#[session(backend = any)]`: the same struct, typed columns, foreign
/// keys and queries on SQLite, PostgreSQL or MySQL/MariaDB, chosen at run
/// time, as Django or Rails pick their database from configuration.
///
/// `#[derive(SessionStore)]` names it `AppSessionStore` for `AppSession`.
/// Each variant is a [`DieselStore`] on one backend, and each operation
/// matches on it once, then runs exactly as that store's would. The
/// variants are the backends this crate is built with, one cargo feature
/// each (`sqlite`, `postgres`, `mysql`); which exist depends on the
/// features, so a `match` ends with `_`.
///
/// ```
/// use session_runtime::SessionStore;
/// use tower_sessions::{Expiry, SessionManagerLayer};
///
/// diesel::table! { users (id) { id -> BigInt } }
///
/// #[derive(SessionStore, Debug, Clone)]
/// #[session(table = http_sessions, backend = any)]
/// pub struct AppSession {
///     #[session(references = users)]
///     pub user_id: Option<i64>,
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let dir = std::env::temp_dir().join(format!("doc-any-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let path = dir.join("sessions.db");
/// # std::env::set_var("DATABASE_URL", path.to_str().unwrap());
/// # let mut connection = <diesel::SqliteConnection as diesel::Connection>::establish(path.to_str().unwrap()).unwrap();
/// # diesel::RunQueryDsl::execute(diesel::sql_query("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY)"), &mut connection).unwrap();
/// // `sessions.db`, `postgres://...` or `mysql://...`: the same code.
/// let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sessions.db".into());
/// let store = AppSessionStore::connect(&url)?;
/// store.migrate().await?;
/// assert_eq!(store.backend_name(), "SQLite");
/// let layer = SessionManagerLayer::new(store)
///     .with_expiry(Expiry::OnInactivity(time::Duration::hours(1)));
/// # Ok::<_, session_runtime::Error>(())
/// # }).unwrap();
/// ```
///
/// The app's own Diesel queries run per backend: `http_sessions::sqlite`,
/// `http_sessions::postgres` and `http_sessions::mysql` are the table on
/// each, and a `match` on the store gives the [`DieselStore`] whose
/// connection fits it. See the guide's
/// [users and sessions](crate::guide::users_and_sessions) chapter.
#[non_exhaustive]
pub enum AnyStore<S: AnyTable> {
    /// The store on SQLite.
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    Sqlite(DieselStore<S, Sqlite>),
    /// The store on PostgreSQL.
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    Postgres(DieselStore<S, Postgres>),
    /// The store on MySQL or MariaDB.
    #[cfg(feature = "mysql")]
    #[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
    Mysql(DieselStore<S, Mysql>),
}

/// Runs `$body` with `$store` bound to the [`DieselStore`] inside `$any`.
macro_rules! dispatch {
    ($any:expr, |$store:ident| $body:expr) => {
        match $any {
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite($store) => $body,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres($store) => $body,
            #[cfg(feature = "mysql")]
            AnyStore::Mysql($store) => $body,
        }
    };
}

/// Builds an [`AnyStore`] of the same variant, from `$store` bound to the
/// [`DieselStore`] inside `$any`.
macro_rules! map {
    ($any:expr, |$store:ident| $body:expr) => {
        match $any {
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite($store) => AnyStore::Sqlite($body),
            #[cfg(feature = "postgres")]
            AnyStore::Postgres($store) => AnyStore::Postgres($body),
            #[cfg(feature = "mysql")]
            AnyStore::Mysql($store) => AnyStore::Mysql($body),
        }
    };
}

impl<S: AnyTable> Clone for AnyStore<S> {
    fn clone(&self) -> Self {
        map!(self, |store| store.clone())
    }
}

impl<S: AnyTable> fmt::Debug for AnyStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        dispatch!(self, |store| f
            .debug_tuple("AnyStore")
            .field(store)
            .finish())
    }
}

/// The backends a URL can name, and the cargo feature of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UrlBackend {
    Sqlite,
    Postgres,
    Mysql,
}

impl UrlBackend {
    /// The backend `url` names: `postgres://` or `postgresql://`,
    /// `mysql://` or `mariadb://`, and for SQLite `sqlite://`, `file:`,
    /// `:memory:` or a path. Another scheme names none.
    fn of(url: &str) -> Result<Self, Error> {
        let Some((scheme, _)) = url.split_once("://") else {
            return Ok(UrlBackend::Sqlite);
        };
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Ok(UrlBackend::Postgres),
            "mysql" | "mariadb" => Ok(UrlBackend::Mysql),
            "sqlite" | "file" => Ok(UrlBackend::Sqlite),
            // A Windows path such as `C:\sessions.db` has no `://`; a
            // scheme of one letter is a drive all the same.
            drive if drive.len() == 1 => Ok(UrlBackend::Sqlite),
            _ => Err(Error::backend_message(format!(
                "the database URL's scheme `{scheme}://` names no backend; a session store takes \
                 {}",
                enabled_schemes()
            ))),
        }
    }

    /// The error for a URL of a backend this crate is built without.
    fn not_built(self) -> Error {
        let (name, feature) = match self {
            UrlBackend::Sqlite => ("SQLite", "sqlite"),
            UrlBackend::Postgres => ("PostgreSQL", "postgres"),
            UrlBackend::Mysql => ("MySQL", "mysql"),
        };
        Error::backend_message(format!(
            "the database URL names {name}, but session-runtime is built without its \
             `{feature}` feature; this build takes {}",
            enabled_schemes()
        ))
    }
}

/// The URLs this build takes, for messages.
fn enabled_schemes() -> String {
    let schemes: Vec<&str> = [
        (cfg!(feature = "sqlite"), "a SQLite path or `sqlite://`"),
        (cfg!(feature = "postgres"), "`postgres://`"),
        (cfg!(feature = "mysql"), "`mysql://` (or `mariadb://`)"),
    ]
    .into_iter()
    .filter_map(|(enabled, schemes)| enabled.then_some(schemes))
    .collect();
    match schemes.as_slice() {
        [] => "none: session-runtime is built without a backend feature".to_owned(),
        [only] => format!("{only} only"),
        [first, last] => format!("{first} or {last}"),
        [first @ .., last] => format!("{}, or {last}", first.join(", ")),
    }
}

impl<S: AnyTable> AnyStore<S> {
    /// A store with its own pool of [`PoolOptions::default`] on the database
    /// at `url`, whose scheme picks the backend. Connections are opened
    /// when first needed.
    ///
    /// A URL of a backend this crate is not built with is an
    /// [`Error::Backend`] that names the cargo feature to enable.
    pub fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, &PoolOptions::default())
    }

    /// A store with its own pool on the database at `url`, whose scheme
    /// picks the backend.
    ///
    /// ```
    /// use session_runtime::{PoolOptions, SessionStore};
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = any)]
    /// pub struct AppSession {}
    ///
    /// let error = AppSessionStore::connect_with("redis://localhost", &PoolOptions::default())
    ///     .unwrap_err();
    /// assert!(error.to_string().contains("`redis://` names no backend"));
    /// ```
    pub fn connect_with(url: &str, options: &PoolOptions) -> Result<Self, Error> {
        let backend = UrlBackend::of(url)?;
        match backend {
            #[cfg(feature = "sqlite")]
            UrlBackend::Sqlite => DieselStore::connect_with(url, options).map(AnyStore::Sqlite),
            #[cfg(feature = "postgres")]
            UrlBackend::Postgres => DieselStore::connect_with(url, options).map(AnyStore::Postgres),
            #[cfg(feature = "mysql")]
            UrlBackend::Mysql => {
                // The driver knows the `mysql` scheme only.
                let url = match url.get(..10) {
                    Some(scheme) if scheme.eq_ignore_ascii_case("mariadb://") => {
                        format!("mysql://{}", &url[10..])
                    }
                    _ => url.to_owned(),
                };
                DieselStore::connect_with(&url, options).map(AnyStore::Mysql)
            }
            #[allow(unreachable_patterns)]
            _ => Err(backend.not_built()),
        }
    }

    /// The backend's name: `"SQLite"`, `"PostgreSQL"` or `"MySQL"`.
    pub fn backend_name(&self) -> &'static str {
        dispatch!(self, |store| backend_name(store))
    }

    /// The error for the `_` arm of a `match` on the store in the app's
    /// own queries: `AnyStore` is `#[non_exhaustive]`, since which
    /// backends exist depends on cargo features that any crate of the
    /// build may turn on, so a `match` that covers the backends the app
    /// was written for ends with `_ => return Err(store.unmatched())`.
    ///
    /// ```
    /// use session_runtime::{AnyStore, Error, SessionStore};
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = any)]
    /// pub struct AppSession {}
    ///
    /// fn dialect(store: &AppSessionStore) -> Result<&'static str, Error> {
    ///     Ok(match store {
    ///         AnyStore::Sqlite(_) => "sqlite",
    ///         _ => return Err(store.unmatched()),
    ///     })
    /// }
    ///
    /// let store = AppSessionStore::connect("sessions.db")?;
    /// assert_eq!(dialect(&store)?, "sqlite");
    /// # Ok::<_, Error>(())
    /// ```
    pub fn unmatched(&self) -> Error {
        Error::backend_message(format!(
            "the app's code has no arm for {}, the backend this session store runs on",
            self.backend_name()
        ))
    }

    /// See [`DieselStore::with_statement_timeout`].
    pub fn with_statement_timeout(self, timeout: Duration) -> Self {
        map!(self, |store| store.with_statement_timeout(timeout))
    }

    /// See [`DieselStore::with_retry_budget`].
    pub fn with_retry_budget(self, budget: Duration) -> Self {
        map!(self, |store| store.with_retry_budget(budget))
    }

    /// See [`DieselStore::with_slow_statement_threshold`].
    pub fn with_slow_statement_threshold(self, threshold: Duration) -> Self {
        map!(self, |store| store.with_slow_statement_threshold(threshold))
    }

    /// See [`DieselStore::with_touch_after`].
    pub fn with_touch_after(self, touch_after: TouchAfter) -> Self {
        map!(self, |store| store.with_touch_after(touch_after))
    }

    /// See [`DieselStore::with_max_lifetime`].
    pub fn with_max_lifetime(self, max_lifetime: Option<Duration>) -> Self {
        map!(self, |store| store.with_max_lifetime(max_lifetime))
    }

    /// See [`DieselStore::with_undecodable`].
    pub fn with_undecodable(self, undecodable: Undecodable) -> Self {
        map!(self, |store| store.with_undecodable(undecodable))
    }

    /// See [`DieselStore::with_max_session_bytes`].
    pub fn with_max_session_bytes(self, bytes: usize) -> Self {
        map!(self, |store| store.with_max_session_bytes(bytes))
    }

    /// See [`DieselStore::with_load_memo_bytes`].
    pub fn with_load_memo_bytes(self, bytes: usize) -> Self {
        map!(self, |store| store.with_load_memo_bytes(bytes))
    }

    /// See [`DieselStore::with_encryption_keys`].
    pub fn with_encryption_keys(self, keys: EncryptionKeys) -> Self
    where
        S: EncryptedTable,
    {
        map!(self, |store| store.with_encryption_keys(keys))
    }

    /// See [`DieselStore::load_memo_usage`].
    pub fn load_memo_usage(&self) -> (usize, usize) {
        dispatch!(self, |store| store.load_memo_usage())
    }

    /// See [`DieselStore::with_id_generator`].
    pub fn with_id_generator(self, new_id: fn() -> i128) -> Self {
        map!(self, |store| store.with_id_generator(new_id))
    }

    /// The table's DDL on this store's backend; see
    /// [`DieselStore::migration`] for one backend's, without a store.
    pub fn migration(&self) -> Migration {
        dispatch!(self, |store| migration(store))
    }

    /// See [`DieselStore::migrate`].
    pub async fn migrate(&self) -> Result<SchemaDiff, Error> {
        dispatch!(self, |store| store.migrate().await)
    }

    /// See [`DieselStore::check_schema`].
    pub async fn check_schema(&self) -> Result<SchemaDiff, Error> {
        dispatch!(self, |store| store.check_schema().await)
    }

    /// See [`DieselStore::delete_expired_sessions`].
    pub async fn delete_expired_sessions(&self) -> Result<usize, Error> {
        dispatch!(self, |store| store.delete_expired_sessions().await)
    }

    /// See [`DieselStore::delete_expired_batch`].
    pub async fn delete_expired_batch(&self, limit: u32) -> Result<usize, Error> {
        dispatch!(self, |store| store.delete_expired_batch(limit).await)
    }

    /// See [`DieselStore::count`].
    pub async fn count(&self) -> Result<u64, Error> {
        dispatch!(self, |store| store.count().await)
    }

    /// See [`DieselStore::clear`].
    pub async fn clear(&self) -> Result<usize, Error> {
        dispatch!(self, |store| store.clear().await)
    }

    /// See [`DieselStore::spawn_cleanup`].
    pub fn spawn_cleanup(&self, options: CleanupOptions) -> CleanupHandle {
        dispatch!(self, |store| store.spawn_cleanup(options))
    }

    /// See [`DieselStore::load_record`].
    pub async fn load_record<I: RecordId>(&self, id: &I) -> Result<Option<I::Record>, Error> {
        dispatch!(self, |store| store.load_record(id).await)
    }

    /// See [`DieselStore::list_by`].
    pub async fn list_by<C: AnyIndexedColumn<S>>(
        &self,
        column: C,
        value: &C::Value,
    ) -> Result<Vec<SessionInfo<S>>, Error> {
        dispatch!(self, |store| store.list_by(column, value).await)
    }

    /// See [`DieselStore::count_by`].
    pub async fn count_by<C: AnyIndexedColumn<S>>(
        &self,
        column: C,
        value: &C::Value,
    ) -> Result<u64, Error> {
        dispatch!(self, |store| store.count_by(column, value).await)
    }

    /// See [`DieselStore::revoke_by`].
    pub async fn revoke_by<C: AnyIndexedColumn<S>>(
        &self,
        column: C,
        value: &C::Value,
    ) -> Result<usize, Error> {
        dispatch!(self, |store| store.revoke_by(column, value).await)
    }

    /// See [`DieselStore::revoke_by_except`].
    pub async fn revoke_by_except<C: AnyIndexedColumn<S>>(
        &self,
        column: C,
        value: &C::Value,
        keep: SessionDigest,
    ) -> Result<usize, Error> {
        dispatch!(self, |store| store
            .revoke_by_except(column, value, keep)
            .await)
    }

    /// See [`DieselStore::revoke_one_by`].
    pub async fn revoke_one_by<C: AnyIndexedColumn<S>>(
        &self,
        column: C,
        value: &C::Value,
        session: SessionDigest,
    ) -> Result<bool, Error> {
        dispatch!(self, |store| store
            .revoke_one_by(column, value, session)
            .await)
    }

    pub(crate) async fn create_session(
        &self,
        id: &mut i128,
        data: &crate::SessionData,
        expiry: time::OffsetDateTime,
    ) -> Result<(), Error> {
        dispatch!(self, |store| store.create_session(id, data, expiry).await)
    }

    pub(crate) async fn save_session(
        &self,
        id: i128,
        data: &crate::SessionData,
        expiry: time::OffsetDateTime,
    ) -> Result<(), Error> {
        dispatch!(self, |store| store.save_session(id, data, expiry).await)
    }

    pub(crate) async fn load_tracked(
        &self,
        id: i128,
    ) -> Result<Option<(crate::SessionData, time::OffsetDateTime)>, Error> {
        dispatch!(self, |store| store.load_tracked(id).await)
    }

    pub(crate) async fn delete_session(&self, id: i128) -> Result<(), Error> {
        dispatch!(self, |store| store.delete_session(id).await)
    }

    #[allow(dead_code)]
    pub(crate) async fn load_session(&self, id: i128) -> Result<Option<Decoded>, Error> {
        dispatch!(self, |store| store.load_session(id).await)
    }
}

/// The name of the backend of `store`.
fn backend_name<S: SessionTable<B>, B: Backend>(store: &DieselStore<S, B>) -> &'static str {
    let _ = store;
    B::NAME
}

/// The DDL of the table of `store`.
fn migration<S: SessionTable<B>, B: Backend>(store: &DieselStore<S, B>) -> Migration {
    let _ = store;
    DieselStore::<S, B>::migration()
}

/// A session struct with a table on every backend this crate is built
/// with: what `#[session(backend = any)]` derives, and what [`AnyStore`]
/// needs. It is [`SessionTable<B>`](crate::SessionTable) for each `B`.
pub trait AnyTable:
    SessionFields + on_backend::Sqlite + on_backend::Postgres + on_backend::Mysql
{
}

impl<S> AnyTable for S where
    S: SessionFields + on_backend::Sqlite + on_backend::Postgres + on_backend::Mysql
{
}

/// A [`LookupColumn`] on every backend this crate is built with: what the
/// per-user queries of [`AnyStore`] take, such as `http_sessions::user_id`
/// of a struct with `backend = any`.
pub trait AnyIndexedColumn<S: AnyTable>:
    LookupColumn
    + on_backend::SqliteColumn<S>
    + on_backend::PostgresColumn<S>
    + on_backend::MysqlColumn<S>
{
}

impl<S: AnyTable, C> AnyIndexedColumn<S> for C where
    C: LookupColumn
        + on_backend::SqliteColumn<S>
        + on_backend::PostgresColumn<S>
        + on_backend::MysqlColumn<S>
{
}

/// One trait per backend that is [`SessionTable`](crate::SessionTable) on
/// it when this crate is built with its feature, and holds for every type
/// when not: so that [`AnyTable`] asks for the backends that exist.
mod on_backend {
    macro_rules! on_backend {
        ($feature:literal, $backend:ident, $table:ident, $column:ident) => {
            #[cfg(feature = $feature)]
            pub trait $table: crate::SessionTable<crate::backend::$backend> {}
            #[cfg(feature = $feature)]
            impl<S: crate::SessionTable<crate::backend::$backend>> $table for S {}
            #[cfg(feature = $feature)]
            pub trait $column<S: crate::SessionTable<crate::backend::$backend>>:
                crate::IndexedColumn<S, crate::backend::$backend>
            {
            }
            #[cfg(feature = $feature)]
            impl<S, C> $column<S> for C
            where
                S: crate::SessionTable<crate::backend::$backend>,
                C: crate::IndexedColumn<S, crate::backend::$backend>,
            {
            }

            #[cfg(not(feature = $feature))]
            pub trait $table {}
            #[cfg(not(feature = $feature))]
            impl<S> $table for S {}
            #[cfg(not(feature = $feature))]
            pub trait $column<S> {}
            #[cfg(not(feature = $feature))]
            impl<S, C> $column<S> for C {}
        };
    }

    on_backend!("sqlite", Sqlite, Sqlite, SqliteColumn);
    on_backend!("postgres", Postgres, Postgres, PostgresColumn);
    on_backend!("mysql", Mysql, Mysql, MysqlColumn);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_names_the_backend() {
        for (url, backend) in [
            ("sessions.db", UrlBackend::Sqlite),
            ("/var/lib/app/sessions.db", UrlBackend::Sqlite),
            (":memory:", UrlBackend::Sqlite),
            ("sqlite://sessions.db", UrlBackend::Sqlite),
            ("file:sessions.db?mode=rwc", UrlBackend::Sqlite),
            ("C://sessions.db", UrlBackend::Sqlite),
            ("postgres://app@db/app", UrlBackend::Postgres),
            ("PostgreSQL://app@db/app", UrlBackend::Postgres),
            ("mysql://root@db/app", UrlBackend::Mysql),
            ("mariadb://root@db/app", UrlBackend::Mysql),
        ] {
            assert_eq!(UrlBackend::of(url).unwrap(), backend, "{url}");
        }
        let error = UrlBackend::of("redis://cache/0").unwrap_err().to_string();
        assert!(error.contains("`redis://` names no backend"), "{error}");
    }

    #[test]
    fn a_backend_built_without_names_its_feature() {
        let error = UrlBackend::Mysql.not_built().to_string();
        assert!(
            error.contains("the database URL names MySQL, but session-runtime is built without its `mysql` feature"),
            "{error}"
        );
        assert!(error.contains("this build takes"), "{error}");
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn a_postgres_url_without_the_feature_is_refused() {
        #[derive(crate::SessionStore, Debug)]
        #[session(crate = crate, table = http_sessions, backend = any)]
        pub struct AppSession {}

        let error = AppSessionStore::connect("postgres://localhost/app").unwrap_err();
        assert!(error.to_string().contains("`postgres` feature"), "{error}");
    }
}
