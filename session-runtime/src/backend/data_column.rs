//! The `data` column: the session map as JSON, without the values the typed
//! columns hold, written from the borrowed map and read straight back into
//! a map, with no `serde_json::Value` tree in between.

use std::borrow::Cow;

use diesel::deserialize;
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
    serde_json::from_str(text)
        .map(DataMap)
        .map_err(|error| format!("`data` is not a JSON object: {error}").into())
}
