//! Shared pieces of the test suites: the session structs of every backend
//! and fresh, isolated databases to run them against.

pub mod database;
pub mod schema;

pub use database::{Kind, TestDatabase};

/// The suite's structs on embedded SQLite.
pub mod sqlite {
    crate::define_schema!(sqlite);
}

/// The suite's structs on PostgreSQL.
pub mod postgres {
    crate::define_schema!(postgres);
}

/// The suite's structs on MySQL and MariaDB.
pub mod mysql {
    crate::define_schema!(mysql);
}
