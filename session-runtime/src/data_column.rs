//! The `data` column: the session map as JSON, without the values the typed
//! columns hold, written from the borrowed map and read straight back into
//! a map, with no `serde_json::Value` tree in between.

use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, IsNull, Output, ToSql};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::key_path::SessionData;
use crate::table_def::ColumnDef;
use crate::Error;

/// The JSON text bound to the `data` column.
#[derive(Debug, diesel::expression::AsExpression)]
#[diesel(sql_type = diesel::sql_types::Json)]
#[cfg_attr(feature = "postgres", diesel(sql_type = diesel::sql_types::Jsonb))]
#[cfg_attr(feature = "mysql", diesel(sql_type = diesel::sql_types::Binary))]
pub struct DataJson(String);

impl DataJson {
    /// Writes `data` without the values of `columns`.
    pub(crate) fn without_typed<F>(
        data: &SessionData,
        columns: &'static [ColumnDef],
        formatter: F,
    ) -> Result<Self, Error>
    where
        F: serde_json::ser::Formatter,
    {
        let mut text = Vec::with_capacity(256);
        let mut serializer = serde_json::Serializer::with_formatter(&mut text, formatter);
        Untyped { data, columns }
            .serialize(&mut serializer)
            .map_err(|error| Error::Encode(error.to_string()))?;
        String::from_utf8(text)
            .map(DataJson)
            .map_err(|error| Error::Encode(error.to_string()))
    }
}

/// The session map minus the typed columns' values. A top-level typed key
/// is skipped; a key holding nested typed values is written from a copy of
/// that one value with them removed.
struct Untyped<'a> {
    data: &'a SessionData,
    columns: &'static [ColumnDef],
}

impl Serialize for Untyped<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.data {
            let mut paths = self
                .columns
                .iter()
                .map(|column| &column.path)
                .filter(|path| path.key == key);
            let Some(first) = paths.next() else {
                map.serialize_entry(key, value)?;
                continue;
            };
            if first.members.is_empty() {
                continue;
            }
            let mut pruned = SessionData::from([(key.clone(), value.clone())]);
            for path in std::iter::once(first).chain(paths) {
                if path.members.is_empty() {
                    pruned.clear();
                    break;
                }
                path.remove(&mut pruned);
            }
            if let Some(value) = pruned.get(key) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// The `data` column read back into a session map.
#[derive(Debug, diesel::deserialize::FromSqlRow)]
pub struct DataMap(pub SessionData);

fn parse(bytes: &[u8]) -> deserialize::Result<DataMap> {
    // Checking the UTF-8 in one pass first makes serde_json's parse of a
    // 64 KiB session about a sixth faster than `from_slice`, which checks
    // it string by string.
    let text =
        std::str::from_utf8(bytes).map_err(|error| format!("`data` is not UTF-8 text: {error}"))?;
    serde_json::from_str(text)
        .map(DataMap)
        .map_err(|error| format!("`data` is not a JSON object: {error}").into())
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use diesel::sql_types::Json;
    use diesel::sqlite::{Sqlite, SqliteValue};

    use super::*;

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
}

#[cfg(feature = "mysql")]
mod mysql {
    use std::io::Write as _;

    use diesel::mysql::{Mysql, MysqlValue};
    use diesel::sql_types::{Binary, Json};

    use super::*;

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
}

#[cfg(feature = "postgres")]
pub(crate) mod postgres {
    use std::io::Write as _;

    use diesel::pg::{Pg, PgValue};
    use diesel::sql_types::{Json, Jsonb};

    use super::*;

    impl ToSql<Jsonb, Pg> for DataJson {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
            // The JSONB binary format: a version byte, then the text.
            out.write_all(&[1])?;
            out.write_all(self.0.as_bytes())?;
            Ok(IsNull::No)
        }
    }

    impl FromSql<Jsonb, Pg> for DataMap {
        fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
            match value.as_bytes().split_first() {
                Some((1, text)) => parse(text),
                _ => Err("unsupported JSONB encoding".into()),
            }
        }
    }

    impl ToSql<Json, Pg> for DataJson {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
            out.write_all(self.0.as_bytes())?;
            Ok(IsNull::No)
        }
    }

    impl FromSql<Json, Pg> for DataMap {
        fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
            parse(value.as_bytes())
        }
    }

    /// Writes floats in plain notation with a decimal point.
    ///
    /// JSONB stores numbers as `numeric` and prints them back in plain
    /// notation: `3.5e17` comes back as `350000000000000000`, which parses as
    /// an integer, and the session would not round-trip. Written as
    /// `350000000000000000.0`, its scale survives and it parses as the same
    /// float. Rust's `Display` gives the shortest digits that round-trip and
    /// never an exponent.
    pub(crate) struct PlainFloats;

    impl serde_json::ser::Formatter for PlainFloats {
        fn write_f64<W: ?Sized + std::io::Write>(
            &mut self,
            writer: &mut W,
            value: f64,
        ) -> std::io::Result<()> {
            let text = value.to_string();
            writer.write_all(text.as_bytes())?;
            if !text.contains('.') {
                writer.write_all(b".0")?;
            }
            Ok(())
        }
    }
}
