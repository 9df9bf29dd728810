//! Shared pieces of the test suites: the session structs of every backend
//! and fresh, isolated databases to run them against.

pub mod database;
pub mod schema;
pub mod suite;

pub use database::{Kind, Target, TestDatabase};
pub use suite::{run, stores, AppStore, BackendSchema, SealedStore, TypedStore};

/// The suite's structs on embedded SQLite.
pub mod sqlite {
    crate::define_schema!(sqlite, Sqlite);
}

/// The suite's structs on PostgreSQL.
pub mod postgres {
    crate::define_schema!(postgres, Postgres);
}

/// The suite's structs on PostgreSQL behind PgBouncer: PostgreSQL's own.
pub mod pgbouncer {
    pub use crate::postgres::*;
}

/// The suite's structs on MySQL and MariaDB.
pub mod mysql {
    crate::define_schema!(mysql, Mysql);
}

/// One struct on every backend, its store connected by URL at run time.
pub mod any {
    diesel::table! {
        users (id) {
            id -> BigInt,
            login -> Text,
        }
    }

    /// Typed columns of each kind the backends type differently (a
    /// timestamp, JSON), a foreign key and an index, on every backend.
    #[derive(session_runtime::SessionStore, Debug, Clone, Default, PartialEq)]
    #[session(table = any_sessions, backend = any)]
    pub struct AnySession {
        #[session(references = users)]
        pub user_id: Option<i64>,
        #[session(index)]
        pub device: Option<String>,
        pub seen_at: Option<time::OffsetDateTime>,
        pub prefs: Option<serde_json::Value>,
        pub visits: Option<i32>,
    }

    /// The same on every backend with `data` encrypted.
    #[derive(session_runtime::SessionStore, Debug, Clone, Default, PartialEq)]
    #[session(table = sealed_sessions, backend = any, data = encrypted)]
    pub struct SealedSession {
        #[session(references = users)]
        pub user_id: Option<i64>,
    }
}
