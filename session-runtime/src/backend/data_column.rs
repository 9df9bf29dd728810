//! The `data` column: the session map as JSON, without the values the typed
//! columns hold, written from the borrowed map and read straight back into
//! a map, with no `serde_json::Value` tree in between.

use diesel::deserialize;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::schema::table_def::ColumnDef;
use crate::store::key_path::SessionData;
use crate::Error;

/// The JSON text bound to the `data` column.
#[derive(Debug, diesel::expression::AsExpression)]
#[diesel(sql_type = diesel::sql_types::Json)]
#[cfg_attr(feature = "postgres", diesel(sql_type = diesel::sql_types::Jsonb))]
#[cfg_attr(feature = "mysql", diesel(sql_type = diesel::sql_types::Binary))]
pub struct DataJson(pub(crate) String);

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

pub(crate) fn parse(bytes: &[u8]) -> deserialize::Result<DataMap> {
    // Checking the UTF-8 in one pass first makes serde_json's parse of a
    // 64 KiB session about a sixth faster than `from_slice`, which checks
    // it string by string.
    let text =
        std::str::from_utf8(bytes).map_err(|error| format!("`data` is not UTF-8 text: {error}"))?;
    serde_json::from_str(text)
        .map(DataMap)
        .map_err(|error| format!("`data` is not a JSON object: {error}").into())
}
