//! The bounds of [`AnyStore`](super::AnyStore): a struct, and a column,
//! on every backend this crate is built with.

use crate::session_table::SessionFields;
use crate::store::per_user::LookupColumn;

/// A session struct with a table on every backend this crate is built
/// with: what `#[session(backend = any)]` derives, and what [`AnyStore`](crate::AnyStore)
/// needs. It is [`SessionTable<B>`](crate::SessionTable) for each `B`.
pub trait AnyTable:
    SessionFields + on_backend::Sqlite + on_backend::Postgres + on_backend::Mysql
{
}

impl<S> AnyTable for S where
    S: SessionFields + on_backend::Sqlite + on_backend::Postgres + on_backend::Mysql
{
}

/// A [`LookupColumn`] on every backend this crate is built with: what the
/// per-user queries of [`AnyStore`](crate::AnyStore) take, such as `http_sessions::user_id`
/// of a struct with `backend = any`.
pub trait AnyIndexedColumn<S: AnyTable>:
    LookupColumn
    + on_backend::SqliteColumn<S>
    + on_backend::PostgresColumn<S>
    + on_backend::MysqlColumn<S>
{
}

impl<S: AnyTable, C> AnyIndexedColumn<S> for C where
    C: LookupColumn
        + on_backend::SqliteColumn<S>
        + on_backend::PostgresColumn<S>
        + on_backend::MysqlColumn<S>
{
}

/// One trait per backend that is [`SessionTable`](crate::SessionTable) on
/// it when this crate is built with its feature, and holds for every type
/// when not: so that [`AnyTable`] asks for the backends that exist.
mod on_backend {
    macro_rules! on_backend {
        ($feature:literal, $backend:ident, $table:ident, $column:ident) => {
            #[cfg(feature = $feature)]
            pub trait $table: crate::session_table::SessionTable<crate::backend::$backend> {}
            #[cfg(feature = $feature)]
            impl<S: crate::session_table::SessionTable<crate::backend::$backend>> $table for S {}
            #[cfg(feature = $feature)]
            pub trait $column<S: crate::session_table::SessionTable<crate::backend::$backend>>:
                crate::store::per_user::IndexedColumn<S, crate::backend::$backend>
            {
            }
            #[cfg(feature = $feature)]
            impl<S, C> $column<S> for C
            where
                S: crate::session_table::SessionTable<crate::backend::$backend>,
                C: crate::store::per_user::IndexedColumn<S, crate::backend::$backend>,
            {
            }

            #[cfg(not(feature = $feature))]
            pub trait $table {}
            #[cfg(not(feature = $feature))]
            impl<S> $table for S {}
            #[cfg(not(feature = $feature))]
            pub trait $column<S> {}
            #[cfg(not(feature = $feature))]
            impl<S, C> $column<S> for C {}
        };
    }

    on_backend!("sqlite", Sqlite, Sqlite, SqliteColumn);
    on_backend!("postgres", Postgres, Postgres, PostgresColumn);
    on_backend!("mysql", Mysql, Mysql, MysqlColumn);
}
