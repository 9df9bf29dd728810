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
//! See the README for the attribute reference, the schema of each backend
//! and the guarantees.
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
/// Derives a Diesel session table and a tower-sessions store from a struct.
///
/// On `struct AppSession` with `#[session(table = http_sessions, backend = ...)]`
/// it generates:
///
/// - `http_sessions`, a `diesel::table!` with the fixed columns `id`, `data`
///   and `expiry_date` and one typed column per field;
/// - `AppSessionStore`, an alias of [`DieselStore<AppSession>`](DieselStore);
/// - for each `references = users`: the foreign key in the DDL, an index,
///   `joinable!` and `allow_tables_to_appear_in_same_query!`, and a compile
///   error at the attribute if the field's type does not match the key's;
/// - for each foreign-key or `index` column, the per-user queries
///   ([`IndexedColumn`]).
///
/// The README has the full attribute reference.
///
/// ```
/// use session_runtime::SessionStore;
///
/// diesel::table! { users (id) { id -> BigInt } }
///
/// #[derive(SessionStore, Debug, Clone, PartialEq)]
/// #[session(table = http_sessions, backend = sqlite)]
/// pub struct AppSession {
///     #[session(references = users, on_delete = set_null)]
///     pub user_id: Option<i64>,
///     #[session(key = "ua", index)]
///     pub user_agent: Option<String>,
///     pub visits: i32,
/// }
///
/// let sql = AppSessionStore::migration().up();
/// assert!(sql.contains("ON DELETE SET NULL"));
/// assert!(sql.contains("\"http_sessions_user_agent_idx\""));
/// ```
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
pub mod __private {
    pub use crate::cached_update::CachedUpdate;
    pub use crate::data_column::{DataJson, DataMap};
    pub use diesel;
    pub use diesel_async;
    pub use serde_json;

    /// Asserts that a foreign key column and the key it references have the
    /// same SQL type.
    #[diagnostic::on_unimplemented(
        message = "the foreign key has SQL type `{Self}`, but the key it references is `{Referenced}`",
        label = "the field's type does not match the referenced key",
        note = "give the field the Rust type of the referenced key, e.g. `Option<i64>` for a `BigInt` key"
    )]
    pub trait SameSqlType<Referenced> {}
    impl<T> SameSqlType<T> for T {}

    /// Asserts that Diesel can write a field's value to its column and read
    /// it back, for a field with `sql_type = ...`. `Bind` is
    /// [`BindsAs<B>`] when the queries also compare the column with a
    /// `&Self` of SQL type `B`, else [`NotBound`].
    #[diagnostic::on_unimplemented(
        message = "Diesel cannot store `{Self}` in a column of SQL type `{ST}`",
        label = "Diesel has no `ToSql<{ST}, {DB}>` and `FromSql<{ST}, {DB}>` for this type, or no `AsExpression` for a reference to it",
        note = "derive diesel's `AsExpression` and `FromSqlRow` for `{Self}` with `#[diesel(sql_type = {ST})]` and implement `ToSql<{ST}, DB>` and `FromSql<{ST}, DB>`, or give `sql_type` the SQL type that Diesel maps `{Self}` to"
    )]
    pub trait ColumnValue<ST, DB, Bind> {}
    /// See [`ColumnValue`].
    pub struct NotBound;
    /// See [`ColumnValue`].
    pub struct BindsAs<SqlType>(core::marker::PhantomData<SqlType>);
    impl<T, ST, DB> ColumnValue<ST, DB, NotBound> for T
    where
        DB: diesel::backend::Backend,
        T: diesel::serialize::ToSql<ST, DB> + diesel::deserialize::FromSql<ST, DB>,
    {
    }
    impl<T, ST, DB, B> ColumnValue<ST, DB, BindsAs<B>> for T
    where
        DB: diesel::backend::Backend,
        T: diesel::serialize::ToSql<ST, DB> + diesel::deserialize::FromSql<ST, DB>,
        for<'a> &'a T: diesel::expression::AsExpression<B>,
        B: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
    {
    }

    /// The SQL types a backend gives the fixed columns and the field types
    /// whose column type differs between backends.
    #[cfg(feature = "sqlite")]
    pub mod sqlite {
        pub use crate::backend::Sqlite as Backend;
        /// Diesel's backend.
        pub type Db = diesel::sqlite::Sqlite;
        pub type Id = diesel::sql_types::Binary;
        pub type Data = diesel::sql_types::Json;
        pub type Expiry = diesel::sql_types::BigInt;
        pub type DateTime = diesel::sql_types::TimestamptzSqlite;
        pub type Json = diesel::sql_types::Json;
    }

    /// See `sqlite`.
    #[cfg(feature = "postgres")]
    pub mod postgres {
        pub use crate::backend::Postgres as Backend;
        /// Diesel's backend.
        pub type Db = diesel::pg::Pg;
        pub type Id = diesel::sql_types::Binary;
        pub type Data = diesel::sql_types::Jsonb;
        pub type Expiry = diesel::sql_types::Timestamptz;
        pub type DateTime = diesel::sql_types::Timestamptz;
        // JSON, not JSONB: a typed column holds one value written verbatim,
        // and JSONB would print a float such as 3.5e17 back as an integer.
        pub type Json = diesel::sql_types::Json;
    }

    /// See `sqlite`.
    #[cfg(feature = "mysql")]
    pub mod mysql {
        pub use crate::backend::Mysql as Backend;
        /// Diesel's backend.
        pub type Db = diesel::mysql::Mysql;
        pub type Id = diesel::sql_types::Binary;
        pub type Data = diesel::sql_types::Json;
        pub type Expiry = diesel::sql_types::Datetime;
        pub type DateTime = diesel::sql_types::Datetime;
        pub type Json = diesel::sql_types::Json;
    }
}
