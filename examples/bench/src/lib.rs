//! The benchmark of the derived session store.
//!
//! It compares, side by side in one run and on every backend:
//!
//! - **ours plain**: the store `#[derive(SessionStore)]` generates for a
//!   struct without fields, which has the peer's features;
//! - **ours typed**: the store of a struct with two typed columns, one a
//!   foreign key to a users table;
//! - **peer**: `tower-sessions-sqlx-store`, the store users would otherwise
//!   pick, migrated by its own `migrate()`;
//! - **same-schema floor**: the one SQL statement each operation of ours
//!   typed needs, sent by hand through the same diesel-async driver and
//!   pool with the same parameters;
//! - **physical floor**: one prepared statement per operation on a table of
//!   the three fixed columns and a primary key, through sqlx;
//! - **ceiling**: tower-sessions' `MemoryStore`.
//!
//! `--only dispatch` times instead **ours any**, the struct without fields
//! derived with `backend = any` and driven through `AnyStore`, against the
//! single-backend store of the same struct alone, for what the dispatch on
//! the backend costs.
//!
//! Through axum and the session middleware it also times a handler that
//! writes on every request and one under rolling expiry that writes on one
//! in ten, and counts the changes lost when two requests of one session
//! overlap. Beside them, it times what encryption at rest of `data` costs
//! each operation: ours encrypted against ours plain.
//!
//! It prints markdown tables, each figure the median of several runs, and
//! draws an SVG chart of ours/peer; it is not a timed test. Run it with
//! `cargo run --release -p example-bench` (`-- --help` lists the flags).

pub mod cache;
pub mod chart;
pub mod cli;
pub mod contender;
pub mod e2e;
pub mod encryption;
pub mod figure;
pub mod floor;
pub mod measure;
pub mod memory;
pub mod ours;
pub mod overlap;
pub mod payload;
pub mod peer;
pub mod percentile;
pub mod physical_floor;
pub mod report;
pub mod runner;
pub mod schema;

/// The benchmark's session struct, users table and store on SQLite.
pub mod sqlite {
    crate::bench_schema!(sqlite);
}

/// The benchmark's session struct, users table and store on PostgreSQL.
pub mod postgres {
    crate::bench_schema!(postgres, plain: (, data = json));
}

/// The benchmark's session struct, users table and store on MySQL and
/// MariaDB. `backend = any` takes no `data = blob`, a type of MySQL alone:
/// its any struct keeps `data` as `JSON`, and `--only dispatch` measures it
/// against a plain struct with `data = json`, not against ours plain.
pub mod mysql {
    crate::bench_schema!(mysql, plain: (, data = blob), any: (, data = json));
}

/// Any error of a benchmark step; the program reports it and moves on to
/// the next backend.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The result of a benchmark step.
pub type BenchResult<T> = Result<T, BoxError>;
