//! A fresh database per test: a temporary file for SQLite, a schema of its
//! own on PostgreSQL, a database of its own on MySQL, and on PostgreSQL
//! through PgBouncer, a database of its own. Server URLs come from the
//! environment.

use std::io::Write as _;
use std::path::PathBuf;

use diesel::mysql::Mysql;
use diesel::pg::Pg;
use diesel::sqlite::Sqlite;
use diesel::{QueryableByName, SqliteConnection};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, SimpleAsyncConnection,
};

/// The environment variable naming the PostgreSQL server.
pub const POSTGRES_URL: &str = "SESSION_TEST_POSTGRES_URL";
/// The environment variable naming the MySQL or MariaDB server.
pub const MYSQL_URL: &str = "SESSION_TEST_MYSQL_URL";
/// The environment variable naming PgBouncer, in transaction mode in front
/// of the PostgreSQL server of [`POSTGRES_URL`].
pub const PGBOUNCER_URL: &str = "SESSION_TEST_PGBOUNCER_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    Mysql,
}

/// Where a test's database is: on a backend, or on PostgreSQL through
/// PgBouncer in transaction mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Direct(Kind),
    PgBouncer,
}

impl From<Kind> for Target {
    fn from(kind: Kind) -> Self {
        Target::Direct(kind)
    }
}

/// A database that exists for one test only.
pub struct TestDatabase {
    pub kind: Kind,
    /// The URL a store connects to.
    pub url: String,
    /// The URL the test's own SQL connects to: `url`, or for a database
    /// behind PgBouncer, the server's own.
    direct_url: String,
    /// For SQLite, the file to remove.
    file: Option<PathBuf>,
    /// For servers, the admin URL and the statement that removes the
    /// test's schema or database.
    drop_with: Option<(String, String)>,
}

impl Kind {
    /// The server URL of this backend, or `None` when its suite is skipped.
    ///
    /// This follows the decision `tests/build.rs` made when the suite was
    /// built, from the same variables:
    /// - the variable is set: its URL;
    /// - it is unset under `CI=true`, where every backend is required: a
    ///   panic;
    /// - it is unset though it was set at build time (a test binary run
    ///   by hand in another environment): a panic, since the suite's
    ///   tests were compiled to run, not to be ignored;
    /// - otherwise `None`, announced once on stderr. The suite's own tests
    ///   of this backend are then compiled `#[ignore]`d and never get here
    ///   unless asked to with `--include-ignored`; other crates' tests that
    ///   use [`TestDatabase`] return early.
    pub fn server_url(self) -> Option<String> {
        let variable = match self {
            Kind::Sqlite => return Some(String::new()),
            Kind::Postgres => POSTGRES_URL,
            Kind::Mysql => MYSQL_URL,
        };
        required_url(
            variable,
            &format!("{self:?}"),
            self.built_to_run(),
            self as usize,
        )
    }

    /// Whether `tests/build.rs` compiled this backend's tests to run
    /// rather than to be ignored.
    pub fn built_to_run(self) -> bool {
        match self {
            Kind::Sqlite => true,
            Kind::Postgres => cfg!(session_test_postgres),
            Kind::Mysql => cfg!(session_test_mysql),
        }
    }
}

/// The URL in `variable` for the `suite` (a backend, or PgBouncer), or
/// `None` when the suite is skipped, as [`Kind::server_url`] describes.
fn required_url(variable: &str, suite: &str, built_to_run: bool, index: usize) -> Option<String> {
    match std::env::var(variable) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("{variable} is not set, and CI=true requires the {suite} suite")
        }
        _ if built_to_run => panic!(
            "{variable} is not set, but the {suite} tests were built to run (it or CI=true \
             was set when session-tests was built); set it, or rebuild through cargo"
        ),
        _ => {
            announce_skip(variable, suite, index);
            None
        }
    }
}

/// Says once per test binary and suite, on the real stderr (which the
/// test harness does not capture), that a suite was skipped and why.
fn announce_skip(variable: &str, suite: &str, index: usize) {
    static ANNOUNCED: [std::sync::Once; 4] = [const { std::sync::Once::new() }; 4];
    ANNOUNCED[index].call_once(|| {
        let example = match variable {
            POSTGRES_URL => "postgres://postgres@127.0.0.1:5432/test",
            PGBOUNCER_URL => "postgres://postgres@127.0.0.1:6432/test, from .ci/pgbouncer",
            _ => "mysql://root@127.0.0.1:3306/test",
        };
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: the {suite} tests need {variable} (e.g. {example}); set it to run them against a live server ***"
        );
    });
}

fn unique_name() -> String {
    format!("s{}_{:016x}", std::process::id(), rand::random::<u64>())
}

impl TestDatabase {
    /// A new empty database with a `users` table and users 1, 2 and 3, or
    /// `None` when this backend's suite is skipped.
    pub async fn new(kind: Kind) -> Option<TestDatabase> {
        Self::at(Target::Direct(kind)).await
    }

    /// [`TestDatabase::new`], on a backend or behind PgBouncer.
    pub async fn at(target: Target) -> Option<TestDatabase> {
        let kind = match target {
            Target::Direct(kind) => kind,
            Target::PgBouncer => return Self::behind_pgbouncer().await,
        };
        let server = kind.server_url()?;
        let name = unique_name();
        let database = match kind {
            Kind::Sqlite => {
                let file = std::env::temp_dir().join(format!("session-tests-{name}.db"));
                let url = file.to_string_lossy().into_owned();
                TestDatabase {
                    kind,
                    direct_url: url.clone(),
                    url,
                    file: Some(file),
                    drop_with: None,
                }
            }
            Kind::Postgres => {
                let mut admin = AsyncPgConnection::establish(&server)
                    .await
                    .expect("PostgreSQL is reachable");
                admin
                    .batch_execute(&format!("CREATE SCHEMA {name}"))
                    .await
                    .expect("create a test schema");
                let separator = if server.contains('?') { '&' } else { '?' };
                let url = format!("{server}{separator}options=-csearch_path%3D{name}");
                TestDatabase {
                    kind,
                    direct_url: url.clone(),
                    url,
                    file: None,
                    drop_with: Some((server, format!("DROP SCHEMA {name} CASCADE"))),
                }
            }
            Kind::Mysql => {
                let mut admin = AsyncMysqlConnection::establish(&server)
                    .await
                    .expect("MySQL is reachable");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create a test database");
                let base = server
                    .rsplit_once('/')
                    .map_or(server.as_str(), |(base, _)| base);
                TestDatabase {
                    kind,
                    url: format!("{base}/{name}"),
                    direct_url: format!("{base}/{name}"),
                    file: None,
                    drop_with: Some((server.clone(), format!("DROP DATABASE {name}"))),
                }
            }
        };
        Some(database.with_users().await)
    }

    /// A new database of its own on the PostgreSQL server, which the store
    /// reaches through PgBouncer in transaction mode (with `pgbouncer=true`)
    /// and the test's own SQL directly. A schema of its own would not do:
    /// PgBouncer refuses the `options` that would select it.
    async fn behind_pgbouncer() -> Option<TestDatabase> {
        let server = Kind::Postgres.server_url()?;
        let built_to_run = cfg!(session_test_pgbouncer);
        let pgbouncer = required_url(PGBOUNCER_URL, "PgBouncer", built_to_run, 3)?;
        let name = unique_name();
        let mut admin = AsyncPgConnection::establish(&server)
            .await
            .expect("PostgreSQL is reachable");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create a test database");
        let on_database = |url: &str| {
            let (base, query) = url.split_once('?').unwrap_or((url, ""));
            let base = base.rsplit_once('/').map_or(base, |(base, _)| base);
            (format!("{base}/{name}"), query.to_owned())
        };
        let with_query = |(base, query): (String, String), extra: &str| {
            let query = [query.as_str(), extra].join("&");
            match query.trim_matches('&') {
                "" => base,
                query => format!("{base}?{query}"),
            }
        };
        let database = TestDatabase {
            kind: Kind::Postgres,
            url: with_query(on_database(&pgbouncer), "pgbouncer=true"),
            direct_url: with_query(on_database(&server), ""),
            file: None,
            drop_with: Some((server, format!("DROP DATABASE {name} WITH (FORCE)"))),
        };
        Some(database.with_users().await)
    }

    async fn with_users(self) -> Self {
        self.execute(USERS[self.kind as usize]).await;
        self.execute("INSERT INTO users (id, login) VALUES (1, 'ada'), (2, 'brian'), (3, 'carol')")
            .await;
        self
    }

    /// Creates `devices`, whose `session_id` references `http_sessions`
    /// with `ON DELETE SET NULL`; the session table must exist.
    pub async fn create_devices(&self) {
        let session_id = match self.kind {
            Kind::Sqlite => "BLOB",
            Kind::Postgres => "BYTEA",
            Kind::Mysql => "BINARY(32)",
        };
        self.execute(&format!(
            "CREATE TABLE devices (id BIGINT PRIMARY KEY NOT NULL, name TEXT NOT NULL, session_id {session_id} NULL, \
             FOREIGN KEY (session_id) REFERENCES http_sessions (id) ON DELETE SET NULL)"
        ))
        .await;
    }

    /// Runs SQL by hand on a connection of its own.
    pub async fn execute(&self, sql: &str) {
        self.try_execute(sql)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
    }

    /// The rows of a query run by hand on a connection of its own, each
    /// read by name into `U`.
    pub async fn query<U>(&self, sql: &str) -> Vec<U>
    where
        U: QueryableByName<Sqlite> + QueryableByName<Pg> + QueryableByName<Mysql> + Send + 'static,
    {
        // Imported here: its `execute` would shadow `TestDatabase::execute`.
        use diesel_async::RunQueryDsl as _;
        let query = diesel::sql_query(sql);
        let rows = match self.kind {
            Kind::Sqlite => {
                let mut connection =
                    SyncConnectionWrapper::<SqliteConnection>::establish(&self.direct_url)
                        .await
                        .expect("open the SQLite file");
                query.load(&mut connection).await
            }
            Kind::Postgres => {
                let mut connection = AsyncPgConnection::establish(&self.direct_url)
                    .await
                    .expect("connect");
                query.load(&mut connection).await
            }
            Kind::Mysql => {
                let mut connection = AsyncMysqlConnection::establish(&self.direct_url)
                    .await
                    .expect("connect");
                query.load(&mut connection).await
            }
        };
        rows.unwrap_or_else(|error| panic!("{sql}: {error}"))
    }

    /// Runs SQL by hand, returning the database's error.
    pub async fn try_execute(&self, sql: &str) -> Result<(), diesel::result::Error> {
        match self.kind {
            Kind::Sqlite => {
                let mut connection =
                    diesel_async::sync_connection_wrapper::SyncConnectionWrapper::<
                        diesel::SqliteConnection,
                    >::establish(&self.direct_url)
                    .await
                    .expect("open the SQLite file");
                connection.batch_execute("PRAGMA foreign_keys = ON").await?;
                connection.batch_execute(sql).await
            }
            Kind::Postgres => {
                let mut connection = AsyncPgConnection::establish(&self.direct_url)
                    .await
                    .expect("connect");
                connection.batch_execute(sql).await
            }
            Kind::Mysql => {
                let mut connection = AsyncMysqlConnection::establish(&self.direct_url)
                    .await
                    .expect("connect");
                connection.batch_execute(sql).await
            }
        }
    }
}

const USERS: [&str; 3] = [
    "CREATE TABLE users (id BIGINT PRIMARY KEY NOT NULL, login TEXT NOT NULL)",
    "CREATE TABLE users (id BIGINT PRIMARY KEY, login TEXT NOT NULL)",
    "CREATE TABLE users (id BIGINT PRIMARY KEY, login VARCHAR(255) NOT NULL) ENGINE=InnoDB",
];

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server, statement)) = self.drop_with.take() {
            let kind = self.kind;
            // Drop runs inside the test's runtime, which cannot block on a
            // future; a thread with a runtime of its own can.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(async {
                    let result = match kind {
                        Kind::Postgres => match AsyncPgConnection::establish(&server).await {
                            Ok(mut admin) => admin.batch_execute(&statement).await,
                            Err(_) => Ok(()),
                        },
                        _ => match AsyncMysqlConnection::establish(&server).await {
                            Ok(mut admin) => admin.batch_execute(&statement).await,
                            Err(_) => Ok(()),
                        },
                    };
                    drop(result);
                });
                Ok::<_, std::io::Error>(())
            })
            .join();
        }
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let mut path = file.clone().into_os_string();
                path.push(suffix);
                let _ = std::fs::remove_file(path);
            }
        }
    }
}
