//! The `data` column on PostgreSQL: `JSONB` or `JSON`.

use std::io::Write as _;

use diesel::pg::{Pg, PgValue};
use diesel::sql_types::{Json, Jsonb};

use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, IsNull, Output, ToSql};

use crate::backend::data_column::{parse, DataJson, DataMap};

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
