//! The session struct the benchmark derives its store from, and the users
//! table its foreign key references, stamped out per backend.

/// The name of the users table the session table references.
pub const USERS_TABLE: &str = "bench_users";
/// The name of the typed derived session table, shared by `ours typed`
/// and the same-schema floor.
pub const SESSIONS_TABLE: &str = "bench_sessions";
/// The name of the plain derived session table, `ours plain`'s.
pub const PLAIN_SESSIONS_TABLE: &str = "bench_plain_sessions";
/// The name of `ours any`'s table: the plain struct derived with
/// `backend = any` (`--only dispatch`).
pub const ANY_PLAIN_SESSIONS_TABLE: &str = "bench_any_plain_sessions";
/// The name of the table `ours any` is measured against where it cannot be
/// ours plain's (MySQL, where `backend = any` takes no `data = blob`).
pub const DISPATCH_PLAIN_SESSIONS_TABLE: &str = "bench_dispatch_plain_sessions";
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
/// `bench_users`) and its store `BenchSessionStore`, the struct without
/// fields `PlainBenchSession` and its store `PlainBenchSessionStore`, and
/// for `--only dispatch` `AnyPlainBenchSession`, the same struct without
/// fields derived with `backend = any`, whose store
/// `AnyPlainBenchSessionStore` is `session_runtime::AnyStore` (`ours any`),
/// and `DispatchPlainBenchSessionStore`, the single-backend store `ours any`
/// is measured against, with `DISPATCH_PLAIN_TABLE` its table's name.
///
/// `plain: ...` adds container keys to the plain struct: it stores `data`
/// as `JSON` on PostgreSQL and as `LONGBLOB` on MySQL, the choice for an app
/// that never has the server check or parse its sessions, as the peer's
/// opaque blob is never checked either; the typed struct keeps the
/// defaults, `JSONB` and `JSON`. `backend = any` applies each key on the
/// backends that have it, so the any struct with the same keys has ours
/// plain's table on this backend, and ours plain is what it is measured
/// against. `any: ...` gives the any struct other keys, where
/// `backend = any` refuses the plain struct's (`data = blob`, a type of
/// MySQL alone): it is then measured against `DispatchPlainBenchSession`,
/// a single-backend struct without fields with these keys, on a table of
/// its own. Either way the runner checks that both tables' DDL match.
#[macro_export]
macro_rules! bench_schema {
    (@structs $backend:ident, plain: ($($plain:tt)*), any: ($($any:tt)*)) => {
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

        /// A session with the fixed columns only, with a table on every
        /// backend: its store is an `AnyStore`, on the backend its URL
        /// names.
        #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
        #[session(table = bench_any_plain_sessions, backend = any $($any)*)]
        pub struct AnyPlainBenchSession {}
    };
    ($backend:ident) => {
        $crate::bench_schema!($backend, plain: ());
    };
    ($backend:ident, plain: ($($plain:tt)*)) => {
        $crate::bench_schema!(@structs $backend, plain: ($($plain)*), any: ($($plain)*));

        /// The single-backend store `ours any` is measured against: ours
        /// plain, whose table the any struct has here.
        pub type DispatchPlainBenchSessionStore = PlainBenchSessionStore;

        /// The table of [`DispatchPlainBenchSessionStore`].
        pub const DISPATCH_PLAIN_TABLE: &str = $crate::schema::PLAIN_SESSIONS_TABLE;
    };
    ($backend:ident, plain: ($($plain:tt)*), any: ($($any:tt)*)) => {
        $crate::bench_schema!(@structs $backend, plain: ($($plain)*), any: ($($any)*));

        /// The single-backend store `ours any` is measured against: a
        /// struct without fields with the any struct's keys, where ours
        /// plain's cannot be the any struct's.
        #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
        #[session(table = bench_dispatch_plain_sessions, backend = $backend $($any)*)]
        pub struct DispatchPlainBenchSession {}

        /// The table of [`DispatchPlainBenchSessionStore`].
        pub const DISPATCH_PLAIN_TABLE: &str = $crate::schema::DISPATCH_PLAIN_SESSIONS_TABLE;
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
