//! Every integration suite of `session-tests` in one test binary: one link
//! of diesel, tokio and the derived stores instead of one per suite.
//!
//! Each module is a former test binary. The suites that run on a server are
//! stamped out per backend; their PostgreSQL and MySQL tests are ignored,
//! with the reason, unless `SESSION_TEST_POSTGRES_URL` /
//! `SESSION_TEST_MYSQL_URL` were set when the suite was built (see
//! `tests/build.rs`). Under `CI=true` they are never ignored, and fail when
//! their server is missing.
//!
//! Run one suite with a filter: `cargo test -p session-tests -- conformance::`.

#[macro_use]
mod common;

mod any_backend;
mod authentication;
mod axum_login;
mod backends;
mod bad_input;
mod cached_store;
mod cleanup;
mod conformance;
mod dropped_connections;
mod encryption;
mod faults;
mod lifetime;
mod mapping_fuzz;
mod no_values_in_errors;
mod observability;
mod one_statement;
mod own_queries;
mod pgbouncer;
mod pool_options;
mod races;
mod round_trip;
mod schema_evolution;
mod security;
mod session_cap;
mod stored_size;
mod strict;
mod tls;
mod topologies;
mod ui;
mod users;
mod writes;
