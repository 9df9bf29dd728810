//! The `data` column of a table that encrypts it
//! (`#[session(data = encrypted)]`): opaque bytes in the backend's binary
//! string type, bound and read the same way on every backend. The
//! sealing and opening are `encryption`'s, called by the store: a value
//! read from the database cannot be opened here, without the store's keys
//! and the row's id.

use diesel::backend::Backend as DieselBackend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Binary;

use crate::backend::data_column::DataMap;
use crate::session_data::SessionData;

/// The sealed bytes of an encrypted `data` column: what a write binds, and
/// what a read hands to the store to open.
#[derive(
    Debug,
    Default,
    Clone,
    PartialEq,
    Eq,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = Binary)]
pub struct SealedData(pub(crate) Vec<u8>);

impl<DB> ToSql<Binary, DB> for SealedData
where
    DB: DieselBackend,
    [u8]: ToSql<Binary, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        <[u8] as ToSql<Binary, DB>>::to_sql(&self.0, out)
    }
}

impl<DB> FromSql<Binary, DB> for SealedData
where
    DB: DieselBackend,
    Vec<u8>: FromSql<Binary, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        <Vec<u8> as FromSql<Binary, DB>>::from_sql(bytes).map(SealedData)
    }
}

/// The `data` column as a select read it: the session map of a table that
/// stores it in clear, or the sealed bytes of one that encrypts it, which
/// the store opens with its keys.
#[derive(Debug)]
pub enum StoredData {
    /// JSON, parsed.
    Map(SessionData),
    /// Sealed bytes, not yet opened.
    Sealed(SealedData),
}

impl From<DataMap> for StoredData {
    fn from(data: DataMap) -> Self {
        StoredData::Map(data.0)
    }
}

impl From<SealedData> for StoredData {
    fn from(data: SealedData) -> Self {
        StoredData::Sealed(data)
    }
}
