//! The `data` column on MySQL and MariaDB: JSON text in a `JSON` or
//! `LONGBLOB` column.

use std::io::Write as _;

use diesel::mysql::{Mysql, MysqlValue};
use diesel::sql_types::{Binary, Json};

use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, IsNull, Output, ToSql};

use crate::backend::data_column::{parse, DataJson, DataMap};

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
