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
//! // The store is `DieselStore<AppSession>`.
//! let up_sql = AppSessionStore::migration().up();
//! assert!(up_sql.contains("REFERENCES \"users\" (\"id\") ON DELETE CASCADE"));
//! ```
//!
//! The derive's reference is [`SessionStore`](macro@SessionStore): what it
//! generates, every attribute key, and the column of each field type. The
//! [`guide`] covers the rest, one chapter each: the
//! [schema per backend](guide::schema), [migrations](guide::migrations),
//! the [guarantees](guide::guarantees),
//! [users and their sessions](guide::users_and_sessions),
//! [production](guide::production), [security](guide::security),
//! [bad input](guide::bad_input) and [cargo features](guide::cargo_features).
//!
//! [tower-sessions]: https://docs.rs/tower-sessions

#![warn(missing_docs)]
// Without a tower-sessions version the store has nothing to implement.
#![cfg_attr(
    not(any(feature = "tower-sessions-015", feature = "tower-sessions-014")),
    allow(dead_code, unused_macros)
)]

pub mod backend;
mod cached_update;
pub mod cleanup;
mod data_column;
mod ddl;
mod digest;
mod error;
pub mod guide;
mod indexed_column;
mod key_path;
#[doc(hidden)]
pub mod live_table;
mod migrate;
mod schema_diff;
mod session_table;
mod store;
mod table_def;
pub mod telemetry;
mod tower_sessions_impl;
#[doc(hidden)]
pub mod typed_session;

pub use backend::{ColumnType, Dialect};
pub use backend::{MigrationLock, PoolOptions};
pub use cleanup::{CleanupHandle, CleanupOptions, CleanupStats};
pub use ddl::Migration;
pub use digest::{ParseDigestError, SessionDigest};
pub use error::Error;
pub use indexed_column::{IndexedColumn, ListedRow, SessionInfo};
pub use key_path::{KeyPath, SessionData};
pub use schema_diff::{SchemaChange, SchemaConflict, SchemaDiff};
#[doc = include_str!("derive.md")]
pub use session_derive::SessionStore;
pub use session_table::{ConnectionOf, ExpiryOf, LoadedRow, SessionRow, SessionTable};
pub use store::DieselStore;
pub use table_def::{ColumnDef, Compression, DataType, ForeignKey, OnDelete, TableDef};
pub use tower_sessions_impl::RecordId;
pub use typed_session::TypedSessionExt;

/// The diesel-async this crate is built on, for the app's own queries on
/// [`DieselStore::connection`]: its connection types are the store's, so a
/// query through this path always fits the pooled connection, whatever
/// diesel-async version the app depends on itself.
///
/// ```
/// // Not `diesel::prelude::*`: its synchronous `RunQueryDsl` would clash.
/// use diesel::{ExpressionMethods, QueryDsl};
/// use session_runtime::diesel_async::RunQueryDsl;
/// use session_runtime::SessionStore;
///
/// diesel::table! { users (id) { id -> BigInt, login -> Text } }
///
/// #[derive(SessionStore, Debug)]
/// #[session(table = http_sessions, backend = sqlite)]
/// pub struct AppSession {
///     #[session(references = users)]
///     pub user_id: Option<i64>,
/// }
///
/// async fn logins(store: &AppSessionStore) -> Result<Vec<String>, session_runtime::Error> {
///     let mut connection = store.connection().await?;
///     let logins = http_sessions::table
///         .inner_join(users::table)
///         .filter(http_sessions::expiry_date.gt(AppSessionStore::expiry_now()))
///         .select(users::login)
///         .load::<String>(&mut *connection)
///         .await
///         .map_err(|error| session_runtime::Error::Backend(error.to_string()))?;
///     Ok(logins)
/// }
/// ```
pub use diesel_async;

/// What generated code reaches; not a public interface.
#[doc(hidden)]
pub mod __private;
