//! The `data` column on SQLite: JSON text in a `TEXT` column.

use diesel::sql_types::Json;
use diesel::sqlite::{Sqlite, SqliteValue};

use diesel::deserialize::{self, FromSql};
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::{Column, QueryResult};

use crate::backend::data_column::{parse, DataJson, DataMap};
use crate::backend::data_patch::{ByteLength, PathFunctions, SetData};

impl ToSql<Json, Sqlite> for DataJson {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.as_str());
        Ok(IsNull::No)
    }
}

impl FromSql<Json, Sqlite> for DataMap {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        // The bytes as stored, checked as UTF-8 once, by `parse`: `read_text`
        // checks them twice and replaces what is not UTF-8.
        parse(value.read_blob())
    }
}

impl<C: Column> QueryFragment<Sqlite> for SetData<'_, C> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        const FUNCTIONS: PathFunctions = PathFunctions {
            set: "json_set",
            remove: "json_remove",
            column: ("", ""),
            value: ("json(", ")"),
        };
        // `json_set` returns compact JSON text.
        const LENGTH: ByteLength = ByteLength {
            around: ("length(CAST(", " AS BLOB))"),
            spaced: false,
        };
        self.walk_paths(&FUNCTIONS, &LENGTH, out)
    }
}
