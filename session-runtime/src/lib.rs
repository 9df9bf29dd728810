//! Diesel-backed session stores for [tower-sessions], derived from a struct.
//!
//! `#[derive(SessionStore)]` on a struct generates a Diesel table whose
//! typed columns are the struct's fields, with real foreign keys to the
//! app's own tables, and a store on it:
//!
//! ```
//! use diesel::prelude::*;
//! use session_runtime::SessionStore;
//!
//! diesel::table! { users (id) { id -> BigInt, login -> Text } }
//!
//! #[derive(SessionStore, Debug, Clone, PartialEq)]
//! #[session(table = http_sessions, backend = sqlite)]
//! pub struct AppSession {
//!     /// FK to users(id), ON DELETE CASCADE, indexed, `joinable!`.
//!     #[session(references = users)]
//!     pub user_id: Option<i64>,
//!     /// A nullable text column.
//!     pub optional: Option<String>,
//! }
//!
//! // The table is a Diesel table like any other.
//! let query = http_sessions::table.inner_join(users::table);
//! // The store is `DieselStore<AppSession, Sqlite>`.
//! let up_sql = AppSessionStore::migration().up();
//! assert!(up_sql.contains("REFERENCES \"users\" (\"id\") ON DELETE CASCADE"));
//! ```
//!
//! The derive's reference is [`SessionStore`](macro@SessionStore): what it
//! generates, every attribute key, and the column of each field type. The
//! [`guide`] covers the rest, one chapter each: the
//! [schema per backend](guide::schema), [migrations](guide::migrations),
//! the [guarantees](guide::guarantees), [writes](guide::writes),
//! [users and their sessions](guide::users_and_sessions), the
//! [cap on sessions per user](guide::session_cap),
//! [production](guide::production), [clusters](guide::clusters),
//! [caching](guide::caching), [security](guide::security), the
//! [authentication time](guide::authentication),
//! [bad input](guide::bad_input) and [cargo features](guide::cargo_features).
//!
//! [tower-sessions]: https://docs.rs/tower-sessions

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Without a tower-sessions version the store has nothing to implement.
#![cfg_attr(
    not(any(feature = "tower-sessions-015", feature = "tower-sessions-014")),
    allow(dead_code, unused_macros)
)]

// The modules, lowest first. Each imports only from the modules above it
// in this list (`.ci/check_layers.py` checks it), so that none can be
// understood only together with one that depends on it:
//
// - leaves: `error`, `touch_after` and `undecodable` (the store's
//   policies), `backoff`, `setters`, `session_data`,
//   `authentication`, `digest`, `encryption` (keys and sealing; no
//   database, no store);
// - `schema`: the table as data, DDL and diff, with no database;
// - `backend`: each database, its pool, and how it renders a partial save;
// - `session_table`: the contract between the derive and the runtime;
// - `typed_session`: the struct read from and written to a `Session`;
// - `telemetry`: the `tracing` events operators see;
// - `store`: `DieselStore`, which runs the statements;
// - `any_store`: `AnyStore`, a `DieselStore` of the backend its URL names;
// - `cached_store`: `CachedStore`, a `DieselStore` with a cache in front;
// - `__private` and `guide`, which nothing imports.

// What can go wrong, in kinds a caller can match.
mod error;
// When a save that changed nothing still writes the expiry.
mod touch_after;
// What a load does with a row that no longer decodes.
mod undecodable;
// Jittered waits between attempts, within a deadline.
mod backoff;
// The `with_*` methods of the options structs.
mod setters;
// The session map, and the paths of the keys typed columns take.
mod session_data;
// When the session's user last authenticated, as the session map carries it.
mod authentication;
// The SHA-256 digest a session id is stored as.
mod digest;
// Encryption at rest of `data`: the keys and the sealed format.
mod encryption;
// The table as a schema: definition, dialect, DDL, live table, diff.
mod schema;
// The databases, one folder each, and the pool they share.
pub mod backend;
// The contract between the derive and the runtime.
mod session_table;
// Reading and writing the typed struct through a tower-sessions `Session`.
mod typed_session;
// The `tracing` events operators see.
pub mod telemetry;
// The store: its API, statement running and retries, the row codec,
// per-user queries, cleanup, migration, the tower-sessions traits.
mod store;
// One struct on whichever backend its URL names.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod any_store;
// A store with the sessions it serves cached, and revalidated.
#[cfg(feature = "cache")]
mod cached_store;
// How a derived store behaves, chapter by chapter.
pub mod guide;
// What generated code names, and nothing else.
#[doc(hidden)]
pub mod __private;

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub use any_store::{AnyIndexedColumn, AnyStore, AnyTable};
pub use backend::column_type::ColumnType;
pub use backend::pool::PoolOptions;
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub use cached_store::{CacheOptions, CacheStats, CachedStore};
pub use digest::{ParseDigestError, SessionDigest};
pub use encryption::{DataKey, EncryptionKeys, ParseKeyError};
pub use error::{DatabaseError, Error};
pub use schema::ddl::Migration;
pub use schema::diff::{SchemaChange, SchemaConflict, SchemaDiff};
pub use session_data::SessionData;
pub use session_table::{SessionFields, SessionTable};
pub use store::cleanup::{CleanupHandle, CleanupOptions, CleanupStats};
pub use store::encryption::EncryptedTable;
pub use store::per_user::{IndexedColumn, LookupColumn, SessionInfo};
#[cfg(any(feature = "tower-sessions-015", feature = "tower-sessions-014"))]
pub use store::tower_sessions_impl::RecordId;
pub use store::DieselStore;
pub use touch_after::TouchAfter;
pub use typed_session::TypedSessionExt;
pub use undecodable::Undecodable;

#[doc = include_str!("derive.md")]
pub use session_derive::SessionStore;

/// The diesel-async this crate is built on, for the app's own queries on
/// [`DieselStore::connection`]: its connection types are the store's, so a
/// query through this path always fits the pooled connection, whatever
/// diesel-async version the app depends on itself. The
/// [production](guide::production) chapter shows a query next to the
/// store, and [users and sessions](guide::users_and_sessions) one per
/// backend.
pub use diesel_async;
