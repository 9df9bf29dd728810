//! An axum app whose sessions live in a Diesel table derived from a struct.
//!
//! Visitors register and log in with a form; the session then carries the
//! user's id, browser and login time in typed columns of `demo_sessions`,
//! and the user's id is a real foreign key to `demo_users`. The home page
//! shows the session through the `Session` handle and as the stored row,
//! and lists the user's other sessions, which can be logged out.
//!
//! It runs on a SQLite file by default, and on PostgreSQL or MySQL when
//! given their URL: see [`config::USAGE`].

#![warn(missing_docs)]

pub mod config;
pub mod database;
pub mod pages;
pub mod routes;
pub mod schema;
pub mod server;
pub mod users;

pub use config::{Config, ConfigError, DatabaseConfig, DatabaseKind};
pub use database::Database;
pub use routes::router;
pub use server::{run, serve, Error};
