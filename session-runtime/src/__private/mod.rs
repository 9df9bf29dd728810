//! What generated code reaches; not a public interface.
//!
//! Everything `#[derive(SessionStore)]` names goes through this module, so
//! that the crate root holds only what users name. It is pinned to the
//! derive by the exact version requirement on `session-derive`.

mod assertions;

pub use assertions::*;

pub use crate::__session_fields_fallback as session_fields_fallback;
pub use crate::__session_table_fallback as session_table_fallback;
pub use crate::backend::cached_update::CachedUpdate;
// The store's internals of each backend, for the suite's fault tests.
pub use crate::backend::data_column::{DataJson, DataMap};
pub use crate::backend::data_patch::RowChanges;
pub use crate::backend::internals::BackendInternals;
pub use crate::backend::lifetime_sql::{LifetimeLimit, LiveAt, LiveFilter, SetExpiry};
pub use crate::backend::rendered_statement::{Bind, Binds, RenderedStatement};
pub use crate::backend::sealed_column::{SealedData, StoredData};
pub use crate::backend::session_cap_sql::DeleteAllButNewest;
pub use crate::schema::table_def::{
    ColumnDef, Compression, DataType, ForeignKey, OnDelete, TableDef,
};
pub use crate::session_data::KeyPath;
pub use crate::session_table::{LoadedRow, SessionRow};
pub use crate::store::encryption::EncryptedTable;
pub use crate::store::per_user::ListedRow;
pub use crate::store::tower_sessions_impl::RecordId;
pub use crate::{
    ColumnType, Error, IndexedColumn, LookupColumn, SessionData, SessionFields, SessionTable,
};
pub use diesel;
pub use diesel_async;
pub use serde_json;

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

// One macro per backend that expands to its first group when this crate is
// built with the backend's feature, and to the second when not: how the
// derive emits a backend's table only where the backend exists, and a
// compile error naming the feature for a struct on a backend that does
// not. The derive cannot see this crate's features.
#[cfg(feature = "sqlite")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_sqlite {
    ({ $($on:tt)* } else { $($off:tt)* }) => { $($on)* };
}

#[cfg(not(feature = "sqlite"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_sqlite {
    ({ $($on:tt)* } else { $($off:tt)* }) => { $($off)* };
}

#[cfg(feature = "postgres")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_postgres {
    ({ $($on:tt)* } else { $($off:tt)* }) => { $($on)* };
}

#[cfg(not(feature = "postgres"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_postgres {
    ({ $($on:tt)* } else { $($off:tt)* }) => { $($off)* };
}

#[cfg(feature = "mysql")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_mysql {
    ({ $($on:tt)* } else { $($off:tt)* }) => { $($on)* };
}

#[cfg(not(feature = "mysql"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_mysql {
    ({ $($on:tt)* } else { $($off:tt)* }) => { $($off)* };
}

pub use crate::{__if_mysql as if_mysql, __if_postgres as if_postgres, __if_sqlite as if_sqlite};
