//! The contract between `#[derive(SessionStore)]` and the runtime.

use std::future::Future;

use diesel::result::QueryResult;

use crate::backend::data_column::DataJson;
use crate::backend::sealed_column::{SealedData, StoredData};
use crate::backend::Backend;
use crate::schema::table_def::TableDef;
use crate::store::key_path::SessionData;
use crate::store::row_changes::RowChanges;
use crate::Error;

/// The connection type of a session struct's backend.
pub type ConnectionOf<S> = <<S as SessionTable>::Backend as Backend>::Connection;
/// The `expiry_date` value type of a session struct's backend.
pub type ExpiryOf<S> = <<S as SessionTable>::Backend as Backend>::Expiry;

/// A session as one row of its table.
#[derive(Debug)]
pub struct SessionRow<S: SessionTable> {
    /// SHA-256 of the session id.
    pub id: [u8; 32],
    /// The session map without the values the typed columns hold.
    pub data: DataJson,
    /// `data` sealed, what a table that encrypts it binds to its `data`
    /// column instead; empty on the other tables.
    pub sealed: SealedData,
    /// When the session expires.
    pub expiry: ExpiryOf<S>,
    /// When the session was created: written by `INSERT` only.
    pub created: Option<ExpiryOf<S>>,
    /// The typed columns.
    pub fields: S,
}

/// A live row read back: everything but the id.
#[derive(Debug)]
pub struct LoadedRow<S: SessionTable> {
    /// The session map without the values the typed columns hold, or its
    /// sealed bytes.
    pub data: StoredData,
    /// When the session expires.
    pub expiry: ExpiryOf<S>,
    /// When the session was created, if its writer said.
    pub created: Option<ExpiryOf<S>>,
    /// The typed columns.
    pub fields: S,
}

/// A session struct with its own Diesel table: what `#[derive(SessionStore)]`
/// implements, and all that [`DieselStore`](crate::DieselStore) needs.
///
/// Each method is one SQL statement on the struct's concrete table, so no
/// generic Diesel bound ever reaches user code. Implement it through the
/// derive; its items are hidden because they are not a stable interface.
pub trait SessionTable: Sized + Send + Sync + 'static {
    /// The database the table lives on.
    type Backend: Backend;

    /// The table and its typed columns, for the DDL.
    #[doc(hidden)]
    const TABLE: TableDef;

    /// Reads every typed field's value from the session map.
    ///
    /// A value that does not decode into its field's type is
    /// [`Error::Encode`].
    #[doc(hidden)]
    fn read_fields(data: &SessionData) -> Result<Self, Error>;

    /// Puts every typed field's value into the session map.
    #[doc(hidden)]
    fn put_fields(&self, data: &mut SessionData) -> Result<(), Error>;

    /// `INSERT` of a new row; a duplicate id fails with a unique violation.
    #[doc(hidden)]
    fn insert<'a>(
        connection: &'a mut ConnectionOf<Self>,
        row: &'a SessionRow<Self>,
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;

    /// `UPDATE` of the row with the same id if it expires after `now`; 0
    /// when there is none, so that a session deleted or expired meanwhile
    /// stays ended.
    #[doc(hidden)]
    fn update<'a>(
        connection: &'a mut ConnectionOf<Self>,
        row: &'a SessionRow<Self>,
        now: &'a ExpiryOf<Self>,
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;

    /// `UPDATE` of the typed columns, the `data` keys and the expiry that
    /// `changes` names, of the row with the same id if it expires after
    /// `now`. `row.data` is not read.
    #[doc(hidden)]
    fn update_changes<'a>(
        connection: &'a mut ConnectionOf<Self>,
        row: &'a SessionRow<Self>,
        changes: &'a RowChanges,
        now: &'a ExpiryOf<Self>,
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;

    /// `SELECT` of the row with this id, if it expires after `now`.
    #[doc(hidden)]
    fn select<'a>(
        connection: &'a mut ConnectionOf<Self>,
        id: &'a [u8; 32],
        now: &'a ExpiryOf<Self>,
    ) -> impl Future<Output = QueryResult<Option<LoadedRow<Self>>>> + Send + 'a;

    /// `DELETE` of the row with this id.
    #[doc(hidden)]
    fn delete<'a>(
        connection: &'a mut ConnectionOf<Self>,
        id: &'a [u8; 32],
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;

    /// `SELECT COUNT(*)` of the rows that expire after `now`.
    #[doc(hidden)]
    fn count_live<'a>(
        connection: &'a mut ConnectionOf<Self>,
        now: &'a ExpiryOf<Self>,
    ) -> impl Future<Output = QueryResult<i64>> + Send + 'a;

    /// `DELETE` of every row.
    #[doc(hidden)]
    fn delete_all<'a>(
        connection: &'a mut ConnectionOf<Self>,
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;

    /// `DELETE` of every row that expired at or before `now`.
    #[doc(hidden)]
    fn delete_expired<'a>(
        connection: &'a mut ConnectionOf<Self>,
        now: &'a ExpiryOf<Self>,
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;
}

/// The stub [`SessionTable`] impl that `#[derive(SessionStore)]` emits next
/// to its errors when the input has any, so that uses of the struct and its
/// store still type-check and the user sees the errors in the struct, not
/// a cascade from every use of it. Kept here, next to the trait it mirrors,
/// so that a change to the trait changes the stub with it.
///
/// `$ty` is the session struct, `$backend` the module under `__private`
/// that names its backend (`sqlite`, `postgres` or `mysql`).
#[doc(hidden)]
#[macro_export]
macro_rules! __session_table_fallback {
    ($ty:ty, $backend:ident) => {
        #[automatically_derived]
        impl $crate::__private::SessionTable for $ty {
            type Backend = $crate::__private::$backend::Backend;
            const TABLE: $crate::__private::TableDef = $crate::__private::TableDef {
                name: "",
                columns: &[],
                unlogged: false,
                data: $crate::__private::DataType::BackendDefault,
                compression: $crate::__private::Compression::Lz4,
            };
            fn read_fields(
                _: &$crate::__private::SessionData,
            ) -> ::core::result::Result<Self, $crate::__private::Error> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            fn put_fields(
                &self,
                _: &mut $crate::__private::SessionData,
            ) -> ::core::result::Result<(), $crate::__private::Error> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn insert(
                _: &mut $crate::__private::ConnectionOf<Self>,
                _: &$crate::__private::SessionRow<Self>,
            ) -> $crate::__private::diesel::result::QueryResult<usize> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn update(
                _: &mut $crate::__private::ConnectionOf<Self>,
                _: &$crate::__private::SessionRow<Self>,
                _: &$crate::__private::ExpiryOf<Self>,
            ) -> $crate::__private::diesel::result::QueryResult<usize> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn update_changes(
                _: &mut $crate::__private::ConnectionOf<Self>,
                _: &$crate::__private::SessionRow<Self>,
                _: &$crate::__private::RowChanges,
                _: &$crate::__private::ExpiryOf<Self>,
            ) -> $crate::__private::diesel::result::QueryResult<usize> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn select(
                _: &mut $crate::__private::ConnectionOf<Self>,
                _: &[u8; 32],
                _: &$crate::__private::ExpiryOf<Self>,
            ) -> $crate::__private::diesel::result::QueryResult<
                ::core::option::Option<$crate::__private::LoadedRow<Self>>,
            > {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn delete(
                _: &mut $crate::__private::ConnectionOf<Self>,
                _: &[u8; 32],
            ) -> $crate::__private::diesel::result::QueryResult<usize> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn count_live(
                _: &mut $crate::__private::ConnectionOf<Self>,
                _: &$crate::__private::ExpiryOf<Self>,
            ) -> $crate::__private::diesel::result::QueryResult<i64> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn delete_all(
                _: &mut $crate::__private::ConnectionOf<Self>,
            ) -> $crate::__private::diesel::result::QueryResult<usize> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn delete_expired(
                _: &mut $crate::__private::ConnectionOf<Self>,
                _: &$crate::__private::ExpiryOf<Self>,
            ) -> $crate::__private::diesel::result::QueryResult<usize> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
        }
    };
}
