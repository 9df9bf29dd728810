//! The `data` column on MySQL and MariaDB: JSON text in a `JSON` or
//! `LONGBLOB` column.

use std::io::Write as _;

use diesel::mysql::{Mysql, MysqlValue};
use diesel::sql_types::{Binary, Json};

use diesel::deserialize::{self, FromSql};
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::{Column, QueryResult};

use crate::backend::data_column::{parse, DataJson, DataMap};
use crate::backend::data_patch::{ByteLength, PathFunctions, SetData};
use crate::schema::table_def::DataType;

/// `JSON` and, with `data = blob`, `LONGBLOB`: the same JSON text.
macro_rules! json_text {
    ($($sql_type:ty),+) => {$(
        impl ToSql<$sql_type, Mysql> for DataJson {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
                out.write_all(self.0.as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl FromSql<$sql_type, Mysql> for DataMap {
            fn from_sql(value: MysqlValue<'_>) -> deserialize::Result<Self> {
                parse(value.as_bytes())
            }
        }
    )+};
}

json_text!(Json, Binary);

/// A `LONGBLOB` column is read as `utf8mb4` text: MySQL's JSON functions
/// refuse binary strings. `JSON_EXTRACT(?, '$')` parses a value's text as
/// JSON on MySQL and MariaDB alike, which have no common `CAST AS JSON`.
impl<C: Column> QueryFragment<Mysql> for SetData<'_, C> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        let column = match self.data_type {
            DataType::Blob => ("CONVERT(", " USING utf8mb4)"),
            DataType::BackendDefault | DataType::Json => ("", ""),
            // Sealed bytes are written whole, never patched.
            DataType::Encrypted => {
                return Err(diesel::result::Error::QueryBuilderError(
                    "a patch of encrypted `data`, which is only ever written whole".into(),
                ))
            }
        };
        let functions = PathFunctions {
            set: "JSON_SET",
            remove: "JSON_REMOVE",
            column,
            value: ("JSON_EXTRACT(", ", '$')"),
        };
        // `JSON_SET` prints `{"a": 1, "b": 2}`; `LENGTH` counts bytes.
        const LENGTH: ByteLength = ByteLength {
            around: ("LENGTH(", ")"),
            spaced: true,
        };
        self.walk_paths(&functions, &LENGTH, out)
    }
}
