//! [`AnyStore`]: one session struct on whichever database its URL names,
//! among the backends this crate is built with. Each operation matches on
//! the backend once and runs the [`DieselStore`] of that backend.

use std::fmt;

#[cfg(feature = "mysql")]
use crate::backend::Mysql;
#[cfg(feature = "postgres")]
use crate::backend::Postgres;
#[cfg(feature = "sqlite")]
use crate::backend::Sqlite;
use crate::backend::{Backend, PoolOptions};
use crate::digest::SessionDigest;
use crate::error::Error;
use crate::schema::ddl::Migration;
use crate::schema::diff::SchemaDiff;
use crate::session_data::SessionData;
use crate::session_table::SessionTable;
use crate::store::cleanup::{CleanupHandle, CleanupOptions};
use crate::store::per_user::SessionInfo;
use crate::store::tower_sessions_impl::RecordId;
use crate::store::DieselStore;

mod app_sql;
mod bounds;
mod builders;
mod query_macro;
mod url;

pub use bounds::{AnyIndexedColumn, AnyTable};
use url::UrlBackend;

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
/// The app's own Diesel queries are written once and run on the store's
/// backend by [`on_backend!`](crate::on_backend), on the table of each
/// backend the derive writes (`http_sessions::sqlite`, `::postgres`,
/// `::mysql`); its own DDL runs with [`batch_execute`](Self::batch_execute)
/// or [`batch_execute_per_backend`](Self::batch_execute_per_backend). See
/// the guide's [users and sessions](crate::guide::users_and_sessions)
/// chapter.
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
    /// [`on_backend!`](crate::on_backend) writes that `match` for the
    /// app's Diesel queries; a hand-written one is for code that is not a
    /// query on the store's connection.
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

    /// See [`DieselStore::load_memo_usage`].
    pub fn load_memo_usage(&self) -> (usize, usize) {
        dispatch!(self, |store| store.load_memo_usage())
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

    /// See [`DieselStore::verify`].
    pub async fn verify(&self) -> Result<(), Error> {
        dispatch!(self, |store| store.verify().await)
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
        data: &SessionData,
        expiry: time::OffsetDateTime,
    ) -> Result<time::OffsetDateTime, Error> {
        dispatch!(self, |store| store.create_session(id, data, expiry).await)
    }

    pub(crate) async fn save_session(
        &self,
        id: i128,
        data: &SessionData,
        expiry: time::OffsetDateTime,
    ) -> Result<(), Error> {
        dispatch!(self, |store| store.save_session(id, data, expiry).await)
    }

    pub(crate) async fn load_tracked(
        &self,
        id: i128,
    ) -> Result<Option<(SessionData, time::OffsetDateTime)>, Error> {
        dispatch!(self, |store| store.load_tracked(id).await)
    }

    pub(crate) async fn delete_session(&self, id: i128) -> Result<(), Error> {
        dispatch!(self, |store| store.delete_session(id).await)
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

use {dispatch, map};

// tower-sessions' traits, as `DieselStore` implements them.
#[cfg(feature = "tower-sessions-015")]
crate::store::tower_sessions_impl::impl_session_store!(
    tower_sessions_core,
    "tower-sessions-015",
    [S: AnyTable],
    AnyStore<S>
);
#[cfg(feature = "tower-sessions-014")]
crate::store::tower_sessions_impl::impl_session_store!(
    tower_sessions_core_014,
    "tower-sessions-014",
    [S: AnyTable],
    AnyStore<S>
);
