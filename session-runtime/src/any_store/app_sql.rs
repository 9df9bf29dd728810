//! The app's own SQL on an [`AnyStore`]: its DDL, such as the tables its
//! session table references, run in one call on whichever backend the
//! store runs on. The app's Diesel queries go through
//! [`on_backend!`](crate::on_backend) instead.

use diesel_async::SimpleAsyncConnection;

use super::{dispatch, AnyStore, AnyTable};
use crate::backend::Backend;
use crate::error::Error;
use crate::session_table::SessionTable;
use crate::store::DieselStore;

impl<S: AnyTable> AnyStore<S> {
    /// Runs `sql`, one or more statements separated by `;`, on a
    /// connection of the store's pool: the app's own DDL, such as the
    /// table its sessions reference, where every backend takes the same
    /// SQL. Where the dialects differ, see
    /// [`batch_execute_per_backend`](Self::batch_execute_per_backend).
    ///
    /// The statements run once, as written, outside a transaction unless
    /// they open one; a failure is an [`Error`] in the database's words.
    ///
    /// ```
    /// use session_runtime::SessionStore;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = any)]
    /// pub struct AppSession {}
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let dir = std::env::temp_dir().join(format!("doc-batch-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # let url = dir.join("sessions.db").to_str().unwrap().to_owned();
    /// let store = AppSessionStore::connect(&url)?;
    /// store
    ///     .batch_execute("CREATE TABLE IF NOT EXISTS audit (id BIGINT PRIMARY KEY, note TEXT)")
    ///     .await?;
    /// let error = store.batch_execute("INSERT INTO missing VALUES (1)").await.unwrap_err();
    /// assert!(error.to_string().contains("no such table: missing"), "{error}");
    /// # Ok::<_, session_runtime::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn batch_execute(&self, sql: &str) -> Result<(), Error> {
        dispatch!(self, |store| batch_execute(store, sql).await)
    }

    /// Runs the SQL of the backend the store runs on: `sqlite` on SQLite,
    /// `postgres` on PostgreSQL, `mysql` on MySQL and MariaDB, as
    /// [`batch_execute`](Self::batch_execute) runs it. The app's DDL is
    /// where the dialects differ most (`INTEGER PRIMARY KEY`, `BIGSERIAL`,
    /// `AUTO_INCREMENT`), and one call runs it on any backend, with no
    /// `match` on the store. The SQL of a backend the build lacks is
    /// never run.
    ///
    /// ```
    /// use session_runtime::SessionStore;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = any)]
    /// pub struct AppSession {}
    ///
    /// const SQLITE_USERS: &str = "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY)";
    /// const POSTGRES_USERS: &str = "CREATE TABLE IF NOT EXISTS users (id BIGSERIAL PRIMARY KEY)";
    /// const MYSQL_USERS: &str =
    ///     "CREATE TABLE IF NOT EXISTS users (id BIGINT AUTO_INCREMENT PRIMARY KEY)";
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let dir = std::env::temp_dir().join(format!("doc-per-backend-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # let url = dir.join("sessions.db").to_str().unwrap().to_owned();
    /// let store = AppSessionStore::connect(&url)?;
    /// store
    ///     .batch_execute_per_backend(SQLITE_USERS, POSTGRES_USERS, MYSQL_USERS)
    ///     .await?;
    /// store.migrate().await?;
    /// # Ok::<_, session_runtime::Error>(())
    /// # }).unwrap();
    /// ```
    // The SQL of a backend the build lacks goes unused.
    #[cfg_attr(
        not(all(feature = "sqlite", feature = "postgres", feature = "mysql")),
        allow(unused_variables)
    )]
    pub async fn batch_execute_per_backend(
        &self,
        sqlite: &str,
        postgres: &str,
        mysql: &str,
    ) -> Result<(), Error> {
        match self {
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite(store) => batch_execute(store, sqlite).await,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(store) => batch_execute(store, postgres).await,
            #[cfg(feature = "mysql")]
            AnyStore::Mysql(store) => batch_execute(store, mysql).await,
        }
    }
}

/// Runs `sql` on a connection of `store`'s pool, and says which backend
/// failed it.
async fn batch_execute<S: SessionTable<B>, B: Backend>(
    store: &DieselStore<S, B>,
    sql: &str,
) -> Result<(), Error> {
    let mut connection = store.connection().await?;
    connection
        .batch_execute(sql)
        .await
        .map_err(|error| match Error::from(error) {
            Error::Backend(error) => {
                Error::Backend(error.map_message(|message| {
                    format!("the app's SQL failed on {}: {message}", B::NAME)
                }))
            }
            other => other,
        })
}
