//! The contract between `#[derive(SessionStore)]` and the runtime.

use std::future::Future;

use diesel::result::QueryResult;

use crate::backend::data_column::DataJson;
use crate::backend::data_patch::RowChanges;
use crate::backend::lifetime_sql::{AuthenticatedWrite, LifetimeLimit, LiveAt, SetExpiry};
use crate::backend::sealed_column::{SealedData, StoredData};
use crate::backend::Backend;
use crate::schema::table_def::TableDef;
use crate::session_data::{KeyPath, SessionData};
use crate::Error;

/// A session as one row of its table.
#[derive(Debug)]
pub struct SessionRow<S, B: Backend> {
    /// SHA-256 of the session id.
    pub id: [u8; 32],
    /// The session map without the values the typed columns hold.
    pub data: DataJson,
    /// `data` sealed, what a table that encrypts it binds to its `data`
    /// column instead; empty on the other tables.
    pub sealed: SealedData,
    /// When the session expires.
    pub expiry: B::Expiry,
    /// When the session was created, for `INSERT`; for `UPDATE`, the
    /// creation time a row written without one is given.
    pub created: Option<B::Expiry>,
    /// When the session's user last authenticated, if the session says.
    pub authenticated: Option<B::Expiry>,
    /// The store's absolute timeout, which every `UPDATE` caps the expiry
    /// at.
    pub lifetime: LifetimeLimit,
    /// The typed columns.
    pub fields: S,
}

impl<S, B: Backend> SessionRow<S, B> {
    /// The assignments of `expiry_date`, `created_at` and
    /// `authenticated_at` in an `UPDATE` of this row: `changes`, for a
    /// partial save, says whether it keeps a later stored expiry and
    /// whether it changed the authentication time; see [`SetExpiry`].
    pub fn set_expiry<E, K, A>(
        &self,
        expiry: E,
        created: K,
        authenticated: A,
        changes: Option<&RowChanges>,
    ) -> SetExpiry<'_, E, K, A, B::Expiry> {
        let _ = (expiry, created, authenticated);
        let authenticated = match (changes, &self.authenticated) {
            (Some(changes), _) if !changes.writes_authentication() => AuthenticatedWrite::Kept,
            (_, Some(at)) => AuthenticatedWrite::Set(at),
            (_, None) => AuthenticatedWrite::Cleared,
        };
        SetExpiry {
            expiry: &self.expiry,
            created: self.created.as_ref().unwrap_or(&self.expiry),
            authenticated,
            never_earlier: changes.is_some_and(RowChanges::never_earlier),
            limit: self.lifetime,
            columns: std::marker::PhantomData,
        }
    }
}

/// A live row read back: everything but the id.
#[derive(Debug)]
pub struct LoadedRow<S, B: Backend> {
    /// The session map without the values the typed columns hold, or its
    /// sealed bytes.
    pub data: StoredData,
    /// When the session expires.
    pub expiry: B::Expiry,
    /// When the session was created, if its writer said.
    pub created: Option<B::Expiry>,
    /// When the session's user last authenticated, if the app said.
    pub authenticated: Option<B::Expiry>,
    /// The typed columns.
    pub fields: S,
}

/// A session struct as session keys: where each field's value lives in the
/// session map, whatever database the table is on. It is what
/// [`TypedSessionExt`](crate::TypedSessionExt) reads and writes.
///
/// `#[derive(SessionStore)]` implements it; its items are hidden because
/// they are not a stable interface.
pub trait SessionFields: Sized + Send + Sync + 'static {
    /// Where each field's value lives in the session map, in field order.
    #[doc(hidden)]
    const KEY_PATHS: &'static [KeyPath];

    /// Reads every typed field's value from the session map.
    ///
    /// A value that does not decode into its field's type is
    /// [`Error::Encode`].
    #[doc(hidden)]
    fn read_fields(data: &SessionData) -> Result<Self, Error>;

    /// Puts every typed field's value into the session map.
    #[doc(hidden)]
    fn put_fields(&self, data: &mut SessionData) -> Result<(), Error>;
}

/// A session struct with its own Diesel table on the backend `B`: what
/// `#[derive(SessionStore)]` implements, once per backend the struct is
/// on, and all that [`DieselStore`](crate::DieselStore) needs.
///
/// Each method is one SQL statement on the struct's concrete table, so no
/// generic Diesel bound ever reaches user code. Implement it through the
/// derive; its items are hidden because they are not a stable interface.
pub trait SessionTable<B: Backend>: SessionFields {
    /// The table and its typed columns, for the DDL.
    #[doc(hidden)]
    const TABLE: TableDef;

    /// `INSERT` of a new row; a duplicate id fails with a unique violation.
    #[doc(hidden)]
    fn insert<'a>(
        connection: &'a mut B::Connection,
        row: &'a SessionRow<Self, B>,
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;

    /// `UPDATE` of the row with the same id if it expires after `now`; 0
    /// when there is none, so that a session deleted or expired meanwhile
    /// stays ended.
    #[doc(hidden)]
    fn update<'a>(
        connection: &'a mut B::Connection,
        row: &'a SessionRow<Self, B>,
        now: &'a B::Expiry,
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;

    /// `UPDATE` of the typed columns, the `data` keys and the expiry that
    /// `changes` names, of the row with the same id if it expires after
    /// `now`. `row.data` is not read.
    #[doc(hidden)]
    fn update_changes<'a>(
        connection: &'a mut B::Connection,
        row: &'a SessionRow<Self, B>,
        changes: &'a RowChanges,
        now: &'a B::Expiry,
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;

    /// `SELECT` of the row with this id, if it expires after `now`.
    #[doc(hidden)]
    fn select<'a>(
        connection: &'a mut B::Connection,
        id: &'a [u8; 32],
        now: &'a B::Expiry,
    ) -> impl Future<Output = QueryResult<Option<LoadedRow<Self, B>>>> + Send + 'a;

    /// `DELETE` of the row with this id.
    #[doc(hidden)]
    fn delete<'a>(
        connection: &'a mut B::Connection,
        id: &'a [u8; 32],
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;

    /// `SELECT COUNT(*)` of the rows live at `now`: not expired, nor past
    /// the store's absolute timeout.
    #[doc(hidden)]
    fn count_live<'a>(
        connection: &'a mut B::Connection,
        now: &'a LiveAt<B>,
    ) -> impl Future<Output = QueryResult<i64>> + Send + 'a;

    /// `DELETE` of every row.
    #[doc(hidden)]
    fn delete_all<'a>(
        connection: &'a mut B::Connection,
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;

    /// `DELETE` of every row that expired at or before `now`, or outlived
    /// the store's absolute timeout by then.
    #[doc(hidden)]
    fn delete_expired<'a>(
        connection: &'a mut B::Connection,
        now: &'a LiveAt<B>,
    ) -> impl Future<Output = QueryResult<usize>> + Send + 'a;

    /// `SELECT id, expiry_date` of the rows among `ids` (stored ids, the
    /// digests) live at `now`: what a cached store asks to keep serving
    /// what it holds.
    #[doc(hidden)]
    fn live_expiries<'a>(
        connection: &'a mut B::Connection,
        ids: &'a [[u8; 32]],
        now: &'a LiveAt<B>,
    ) -> impl Future<Output = QueryResult<Vec<(Vec<u8>, B::Expiry)>>> + Send + 'a;
}

/// The stub [`SessionFields`] and [`SessionTable`] impls that
/// `#[derive(SessionStore)]` emits next to its errors when the input has any, so that uses of the struct and its
/// store still type-check and the user sees the errors in the struct, not
/// a cascade from every use of it. Kept here, next to the trait it mirrors,
/// so that a change to the trait changes the stub with it.
///
/// `$ty` is the session struct, `$backend` the module under `__private`
/// that names one of its backends (`sqlite`, `postgres` or `mysql`).
#[doc(hidden)]
#[macro_export]
macro_rules! __session_table_fallback {
    ($ty:ty, $backend:ident) => {
        #[automatically_derived]
        impl $crate::__private::SessionTable<$crate::__private::$backend::Backend> for $ty {
            const TABLE: $crate::__private::TableDef = $crate::__private::TableDef {
                name: "",
                columns: &[],
                unlogged: false,
                data: $crate::__private::DataType::BackendDefault,
                compression: $crate::__private::Compression::Lz4,
            };
            async fn insert(
                _: &mut <$crate::__private::$backend::Backend as $crate::backend::Backend>::Connection,
                _: &$crate::__private::SessionRow<Self, $crate::__private::$backend::Backend>,
            ) -> $crate::__private::diesel::result::QueryResult<usize> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn update(
                _: &mut <$crate::__private::$backend::Backend as $crate::backend::Backend>::Connection,
                _: &$crate::__private::SessionRow<Self, $crate::__private::$backend::Backend>,
                _: &<$crate::__private::$backend::Backend as $crate::backend::Backend>::Expiry,
            ) -> $crate::__private::diesel::result::QueryResult<usize> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn update_changes(
                _: &mut <$crate::__private::$backend::Backend as $crate::backend::Backend>::Connection,
                _: &$crate::__private::SessionRow<Self, $crate::__private::$backend::Backend>,
                _: &$crate::__private::RowChanges,
                _: &<$crate::__private::$backend::Backend as $crate::backend::Backend>::Expiry,
            ) -> $crate::__private::diesel::result::QueryResult<usize> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn select(
                _: &mut <$crate::__private::$backend::Backend as $crate::backend::Backend>::Connection,
                _: &[u8; 32],
                _: &<$crate::__private::$backend::Backend as $crate::backend::Backend>::Expiry,
            ) -> $crate::__private::diesel::result::QueryResult<
                ::core::option::Option<$crate::__private::LoadedRow<Self, $crate::__private::$backend::Backend>>,
            > {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn delete(
                _: &mut <$crate::__private::$backend::Backend as $crate::backend::Backend>::Connection,
                _: &[u8; 32],
            ) -> $crate::__private::diesel::result::QueryResult<usize> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn count_live(
                _: &mut <$crate::__private::$backend::Backend as $crate::backend::Backend>::Connection,
                _: &$crate::__private::LiveAt<$crate::__private::$backend::Backend>,
            ) -> $crate::__private::diesel::result::QueryResult<i64> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn delete_all(
                _: &mut <$crate::__private::$backend::Backend as $crate::backend::Backend>::Connection,
            ) -> $crate::__private::diesel::result::QueryResult<usize> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn delete_expired(
                _: &mut <$crate::__private::$backend::Backend as $crate::backend::Backend>::Connection,
                _: &$crate::__private::LiveAt<$crate::__private::$backend::Backend>,
            ) -> $crate::__private::diesel::result::QueryResult<usize> {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
            async fn live_expiries(
                _: &mut <$crate::__private::$backend::Backend as $crate::backend::Backend>::Connection,
                _: &[[u8; 32]],
                _: &$crate::__private::LiveAt<$crate::__private::$backend::Backend>,
            ) -> $crate::__private::diesel::result::QueryResult<
                ::std::vec::Vec<(
                    ::std::vec::Vec<u8>,
                    <$crate::__private::$backend::Backend as $crate::backend::Backend>::Expiry,
                )>,
            > {
                ::core::unreachable!("#[derive(SessionStore)] failed to compile")
            }
        }
    };
}

/// The stub [`SessionFields`] impl of [`__session_table_fallback!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __session_fields_fallback {
    ($ty:ty) => {
        #[automatically_derived]
        impl $crate::__private::SessionFields for $ty {
            const KEY_PATHS: &'static [$crate::__private::KeyPath] = &[];
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
        }
    };
}
