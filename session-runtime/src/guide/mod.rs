//! The guide: how a derived store behaves, chapter by chapter.
//!
//! Each chapter is a Markdown file beside this one, included as the
//! chapter module's documentation, so every example in it is a doctest.
//! Start with the crate's README for a runnable app; the derive's own
//! reference is [`SessionStore`](crate::SessionStore).
//!
//! - [`schema`]: the table each backend gets, and why.
//! - [`migrations`]: `migrate()`, `check_schema()`, changing the struct,
//!   `diesel print-schema`.
//! - [`guarantees`]: one statement per operation, races, errors, faults.
//! - [`writes`]: what a save writes, the expiry threshold, overlapping
//!   requests.
//! - [`users_and_sessions`]: per-user queries, typed access, axum-login,
//!   caches, links from your tables to sessions.
//! - [`session_cap`]: at most n sessions per user, under concurrent logins.
//! - [`production`]: tunables, `tracing`, the cleanup task, strict MySQL,
//!   timestamp precision, your own queries, dropped connections.
//! - [`clusters`]: several app servers, PostgreSQL failover, Galera,
//!   distributed SQL.
//! - [`caching`]: sessions cached in memory per app server, and the bound
//!   within which every way a session ends reaches every cache.
//! - [`tls`]: `sslmode` and `ssl-mode`, and which connection errors
//!   fail at once.
//! - [`security`]: what the store guarantees and what it leaves to you.
//! - [`authentication`]: the time of the last login, re-authentication
//!   before sensitive actions, and the absolute timeout that counts from it.
//! - [`bad_input`]: what each odd value does on each backend.
//! - [`cargo_features`]: features, and choosing a backend with them.

#[doc = include_str!("schema.md")]
pub mod schema {}

#[doc = include_str!("migrations.md")]
pub mod migrations {}

#[doc = include_str!("guarantees.md")]
pub mod guarantees {}

#[doc = include_str!("writes.md")]
pub mod writes {}

#[doc = include_str!("users_and_sessions.md")]
pub mod users_and_sessions {}

#[doc = include_str!("session_cap.md")]
pub mod session_cap {}

#[doc = include_str!("production.md")]
pub mod production {}

#[doc = include_str!("clusters.md")]
pub mod clusters {}

// The chapter names the feature's items, which exist only with it.
#[cfg_attr(feature = "cache", doc = include_str!("caching.md"))]
#[cfg_attr(
    not(feature = "cache"),
    doc = "Sessions cached in memory on each app server: this chapter is \
           built with the cargo feature `cache`, which adds `CachedStore`."
)]
pub mod caching {}

#[doc = include_str!("tls.md")]
pub mod tls {}

#[doc = include_str!("security.md")]
pub mod security {}

#[doc = include_str!("authentication.md")]
pub mod authentication {}

#[doc = include_str!("bad_input.md")]
pub mod bad_input {}

#[doc = include_str!("cargo_features.md")]
pub mod cargo_features {}
