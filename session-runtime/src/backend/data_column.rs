//! The `data` column: the session map as JSON, without the values the typed
//! columns hold, written from the borrowed map and read straight back into
//! a map, with no `serde_json::Value` tree in between.

use std::borrow::Cow;
use std::fmt;

use diesel::deserialize;
use serde::de::{Deserializer as _, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::authentication;
use crate::schema::table_def::ColumnDef;
use crate::session_data::SessionData;
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
        Self::of_keys(data, columns, formatter, |_| true)
    }

    /// Writes the members of `data` whose key `wanted` keeps, without the
    /// values of `columns`: the object a partial save merges into `data`.
    pub(crate) fn of_keys<F>(
        data: &SessionData,
        columns: &'static [ColumnDef],
        formatter: F,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Self, Error>
    where
        F: serde_json::ser::Formatter,
    {
        let mut text = Vec::with_capacity(256);
        let mut serializer = serde_json::Serializer::with_formatter(&mut text, formatter);
        Untyped {
            data,
            columns,
            wanted,
        }
        .serialize(&mut serializer)
        .map_err(|error| Error::Encode(error.to_string()))?;
        String::from_utf8(text)
            .map(DataJson)
            .map_err(|error| Error::Encode(error.to_string()))
    }

    /// Writes one value as JSON text.
    pub(crate) fn of_value<F>(value: &Value, formatter: F) -> Result<Self, Error>
    where
        F: serde_json::ser::Formatter,
    {
        let mut text = Vec::with_capacity(64);
        let mut serializer = serde_json::Serializer::with_formatter(&mut text, formatter);
        value
            .serialize(&mut serializer)
            .map_err(|error| Error::Encode(error.to_string()))?;
        String::from_utf8(text)
            .map(DataJson)
            .map_err(|error| Error::Encode(error.to_string()))
    }
}

/// What `data` keeps under `key`: its value without the typed columns'
/// values, or nothing when a column holds all of it. A top-level typed
/// key, and the authentication time, are kept nowhere in `data`; a key
/// holding nested typed values keeps a copy of its value with them
/// removed.
pub(crate) fn residual<'v>(
    key: &str,
    value: &'v Value,
    columns: &'static [ColumnDef],
) -> Option<Cow<'v, Value>> {
    if key == authentication::KEY {
        return None;
    }
    let mut paths = columns
        .iter()
        .map(|column| &column.path)
        .filter(|path| path.key == key);
    let Some(first) = paths.next() else {
        return Some(Cow::Borrowed(value));
    };
    if first.members.is_empty() {
        return None;
    }
    let mut pruned = SessionData::from([(key.to_owned(), value.clone())]);
    for path in std::iter::once(first).chain(paths) {
        if path.members.is_empty() {
            return None;
        }
        path.remove(&mut pruned);
    }
    pruned.remove(key).map(Cow::Owned)
}

/// The session map minus the typed columns' values, of the keys `wanted`
/// keeps.
struct Untyped<'a, W> {
    data: &'a SessionData,
    columns: &'static [ColumnDef],
    wanted: W,
}

impl<W: Fn(&str) -> bool> Serialize for Untyped<'_, W> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.data {
            if !(self.wanted)(key) {
                continue;
            }
            if let Some(value) = residual(key, value, self.columns) {
                map.serialize_entry(key, &value)?;
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
    let not_an_object = |error| format!("`data` is not a JSON object: {error}");
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let data = deserializer
        .deserialize_map(SizedMap)
        .map_err(not_an_object)?;
    deserializer.end().map_err(not_an_object)?;
    Ok(DataMap(data))
}

/// Reads a JSON object into a session map whose table is sized for a
/// whole session from the start. serde reads a `HashMap` into an empty
/// table, as JSON does not say how many members follow, and each time the
/// table grows it hashes every key again with the map's SipHash: about
/// 1 K of a small load's 45-59 K instructions. A later duplicate key
/// replaces an earlier one, as in serde's own reading.
struct SizedMap;

/// The keys a read map takes before its table first grows: 14, the most
/// a table of 16 slots holds, room for a session's usual keys and the
/// typed columns' values put back after the read.
const KEYS_AT_FIRST: usize = 14;

impl<'de> Visitor<'de> for SizedMap {
    type Value = SessionData;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<SessionData, A::Error> {
        let mut data = SessionData::with_capacity(KEYS_AT_FIRST);
        // Key, then value, not `next_entry`: with `next_entry`, LLVM stops
        // inlining serde_json's reading of each `Value`, and a 64 KiB load
        // costs 2 % more (`load_cost` under callgrind).
        while let Some(key) = members.next_key::<String>()? {
            data.insert(key, members.next_value()?);
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parse;

    #[test]
    fn reads_an_object_of_any_size_and_keeps_the_last_duplicate() {
        let members: Vec<String> = (0..40).map(|n| format!("\"k{n}\":{n}")).collect();
        let text = format!("{{{},\"k0\":\"again\"}}", members.join(","));
        let data = parse(text.as_bytes()).unwrap().0;
        assert_eq!(data.len(), 40);
        assert_eq!(data["k39"], json!(39));
        assert_eq!(data["k0"], json!("again"));
    }

    #[test]
    fn refuses_what_is_not_one_object() {
        for text in ["[1, 2]", "\"text\"", "{\"a\": 1} trailing", "{\"a\": }", ""] {
            let error = parse(text.as_bytes()).unwrap_err().to_string();
            assert!(
                error.starts_with("`data` is not a JSON object"),
                "{text}: {error}"
            );
        }
    }
}
