//! The session struct the benchmark derives its store from, and the users
//! table its foreign key references, stamped out per backend.

/// The name of the users table the session table references.
pub const USERS_TABLE: &str = "bench_users";
/// The name of the typed derived session table, shared by `ours typed`
/// and the same-schema floor.
pub const SESSIONS_TABLE: &str = "bench_sessions";
/// The name of the plain derived session table, `ours plain`'s.
pub const PLAIN_SESSIONS_TABLE: &str = "bench_plain_sessions";
/// The peer's table name. On PostgreSQL and MySQL it lives in a schema (a
/// database on MySQL) of its own, [`PEER_SCHEMA`]; on SQLite in a file of
/// its own.
pub const PEER_TABLE: &str = "bench_peer_sessions";
/// The schema (PostgreSQL) or database (MySQL) of the peer's table.
pub const PEER_SCHEMA: &str = "bench_peer";

/// The typed session keys, which ours and the floor keep in columns.
pub const TYPED_KEYS: [&str; 2] = ["user_id", "user_agent"];

/// Defines, for one backend, `bench_users`, the session struct
/// `BenchSession` with two typed columns (one a foreign key to
/// `bench_users`) and its store `BenchSessionStore`, and the struct without
/// fields `PlainBenchSession` and its store `PlainBenchSessionStore`.
///
/// `plain: ...` adds container keys to the plain struct only: it stores
/// `data` as `JSON` on PostgreSQL and as `LONGBLOB` on MySQL, the choice
/// for an app that never has the server check or parse its sessions, as
/// the peer's opaque blob is never checked either; the typed struct keeps
/// the defaults, `JSONB` and `JSON`.
#[macro_export]
macro_rules! bench_schema {
    ($backend:ident) => {
        $crate::bench_schema!($backend, plain: ());
    };
    ($backend:ident, plain: ($($plain:tt)*)) => {
        diesel::table! {
            /// The app's users: what a session's `user_id` references.
            bench_users (id) {
                id -> BigInt,
                login -> Text,
            }
        }

        /// A session with two typed columns, as an app with logins has.
        #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
        #[session(table = bench_sessions, backend = $backend)]
        pub struct BenchSession {
            /// Who is logged in: a foreign key to `bench_users(id)`.
            #[session(references = bench_users)]
            pub user_id: Option<i64>,
            /// The browser's user agent: a plain typed column.
            pub user_agent: Option<String>,
        }

        /// A session with the fixed columns only: what the peer stores.
        #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
        #[session(table = bench_plain_sessions, backend = $backend $($plain)*)]
        pub struct PlainBenchSession {}
    };
}

/// The `CREATE TABLE` of the users table on a backend, by its name in
/// `session_runtime::backend::Backend::NAME`.
pub fn users_ddl(backend: &str) -> String {
    match backend {
        "SQLite" => {
            format!("CREATE TABLE {USERS_TABLE} (id BIGINT PRIMARY KEY NOT NULL, login TEXT NOT NULL)")
        }
        "MySQL" => format!(
            "CREATE TABLE {USERS_TABLE} (id BIGINT PRIMARY KEY, login VARCHAR(255) NOT NULL) ENGINE=InnoDB"
        ),
        _ => format!("CREATE TABLE {USERS_TABLE} (id BIGINT PRIMARY KEY, login TEXT NOT NULL)"),
    }
}
