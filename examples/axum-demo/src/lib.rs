//! An axum app whose sessions live in a Diesel table derived from a struct.
//!
//! Visitors register and log in with a form; the session then carries the
//! user's id, browser and login time in typed columns of `demo_sessions`,
//! read and written through `session_runtime::TypedSessionExt`, and the
//! user's id is a real foreign key to `demo_users`. The "my sessions" page
//! lists the user's live sessions with the runtime's typed query on that
//! column, and ends one of them, or all but the current one; the admin page
//! counts the live sessions of every user. See [`routes::router`] for the
//! routes.
//!
//! One struct, [`schema::DemoSession`], runs on every backend: it is
//! derived with `backend = any`, and its store picks SQLite, PostgreSQL or
//! MySQL from the database URL when it connects. The handlers are written
//! once, for that struct; only the app's own Diesel queries are compiled
//! per backend (see [`database`]). It runs on a SQLite file by default:
//! see [`config::USAGE`].

#![warn(missing_docs)]

pub mod config;
pub mod database;
pub mod pages;
pub mod routes;
pub mod schema;
pub mod server;
pub mod users;

pub use config::{Config, ConfigError};
pub use database::Database;
pub use routes::router;
pub use server::{run, serve, Error};
