//! A session map as a row and back: the typed values to their columns, the
//! rest to `data`, with every check that a value will read back exactly as
//! it was written.

use serde_json::Value;
use time::OffsetDateTime;

use crate::authentication;
use crate::backend::data_column::DataJson;
use crate::backend::data_patch::DataBound;
use crate::backend::lifetime_sql::LifetimeLimit;
use crate::backend::sealed_column::{SealedData, StoredData};
use crate::backend::Backend;
use crate::digest::SessionDigest;
use crate::encryption::EncryptionKeys;
use crate::session_data::{describe, SessionData};
use crate::session_table::{LoadedRow, SessionRow, SessionTable};
use crate::store::encryption::open_data;
use crate::Error;

/// Splits a session into its row: typed values to their columns, the rest
/// of the map to `data`. `lifetime` is the store's absolute timeout, which
/// an `UPDATE` of the row caps its expiry at.
pub(crate) fn encode<S: SessionTable<B>, B: Backend>(
    id: i128,
    data: &SessionData,
    expiry: OffsetDateTime,
    lifetime: LifetimeLimit,
) -> Result<SessionRow<S, B>, Error> {
    let mut row = encode_columns::<S, B>(id, data, expiry, lifetime)?;
    row.data = B::data_to_column(data, S::TABLE.columns)?;
    Ok(row)
}

/// The row of a session with every check of [`encode`], but with `data`
/// left empty: for a save that patches `data` instead of writing it.
pub(crate) fn encode_columns<S: SessionTable<B>, B: Backend>(
    id: i128,
    data: &SessionData,
    expiry: OffsetDateTime,
    lifetime: LifetimeLimit,
) -> Result<SessionRow<S, B>, Error> {
    check_depth::<B>(data)?;
    B::check_data(data)?;
    let fields = S::read_fields(data)?;
    check_exact::<S, B>(data, &fields)?;
    check_lengths::<S, B>(data)?;
    check_precision::<S, B>(data)?;
    let authenticated = authentication::read(data)?;
    Ok(SessionRow {
        id: *SessionDigest::of_id(id).as_bytes(),
        data: DataJson(String::new()),
        sealed: SealedData::default(),
        expiry: B::expiry_to_column(expiry),
        // What an `INSERT` stores, and what an `UPDATE` gives a row that
        // has no creation time.
        created: Some(B::expiry_to_column(OffsetDateTime::now_utc())),
        authenticated: authenticated.map(B::expiry_to_column),
        lifetime,
        fields,
    })
}

/// Refuses a typed value that decodes into its field's type but would be
/// read back different: an integer in a float field comes back as a float,
/// and an `f32` field rounds `0.1` and turns `1e300` into infinity, which
/// JSON writes as `null`. A value either round-trips or is refused.
///
/// Only the typed keys are copied; `null` under an `Option` field and a
/// missing value of a required field are the documented exceptions.
fn check_exact<S: SessionTable<B>, B: Backend>(
    data: &SessionData,
    fields: &S,
) -> Result<(), Error> {
    let columns = S::TABLE.columns;
    let mut echo = SessionData::new();
    fields.put_fields(&mut echo)?;
    for column in columns {
        let Some(value) = column.path.get(data).filter(|value| !value.is_null()) else {
            continue;
        };
        let back = column.path.get(&echo);
        if back != Some(value) {
            return Err(Error::Encode(format!(
                "field `{}` (session key `{}`) cannot hold {} exactly: its column would store {}",
                column.path.field,
                column.path,
                describe(value),
                back.map_or_else(|| "nothing".to_owned(), describe)
            )));
        }
    }
    Ok(())
}

/// Refuses a value longer than its column's declared `VARCHAR(n)` or
/// `VARBINARY(n)`, MySQL's indexed text and binary columns. In strict mode
/// MySQL fails the statement with a `Backend` error; without it, MySQL cuts
/// the value short and the session silently changes.
fn check_lengths<S: SessionTable<B>, B: Backend>(data: &SessionData) -> Result<(), Error> {
    for column in S::TABLE.columns {
        let Some((unit, limit)) = declared_length(column.sql_type) else {
            continue;
        };
        let length = match column.path.get(data) {
            Some(Value::String(text)) => text.chars().count(),
            Some(Value::Array(bytes)) => bytes.len(),
            _ => continue,
        };
        if length > limit {
            return Err(Error::Encode(format!(
                "field `{}` (session key `{}`) holds {length} {unit}, more than its column's {}",
                column.path.field, column.path, column.sql_type
            )));
        }
    }
    Ok(())
}

/// Refuses a session whose JSON, typed values included, is longer than
/// `limit` bytes. With `untyped`, the `data` text a write already made,
/// only the typed values are counted on top of it, each with its key;
/// without, the whole map is counted, without building the text.
pub(crate) fn check_size<S: SessionTable<B>, B: Backend>(
    data: &SessionData,
    untyped: Option<&DataJson>,
    limit: usize,
) -> Result<(), Error> {
    let size = match untyped {
        Some(text) => text.0.len() + typed_size::<S, B>(data)?,
        None => json_size(data)?,
    };
    if size > limit {
        return Err(Error::Encode(format!(
            "the session is {size} bytes as JSON, more than the store's limit of {limit} bytes \
             (`DieselStore::with_max_session_bytes`)"
        )));
    }
    Ok(())
}

/// The bytes the values of `data` that columns hold count towards the
/// limit: each as `"key":value,` for the key or member that holds it.
fn typed_size<S: SessionTable<B>, B: Backend>(data: &SessionData) -> Result<usize, Error> {
    let authenticated = match data.get(authentication::KEY) {
        Some(value) => json_size(value)? + authentication::KEY.len() + 4,
        None => 0,
    };
    S::TABLE
        .columns
        .iter()
        .try_fold(authenticated, |size, column| {
            let Some(value) = column.path.get(data) else {
                return Ok(size);
            };
            let name = column.path.members.last().unwrap_or(&column.path.key);
            Ok(size + json_size(value)? + name.len() + 4)
        })
}

/// The bound a partial save puts on the `data` it stores (see
/// [`DataBound`]): the session's typed values count as [`check_size`]
/// counts them, and the stored `data` as the database measures it, so
/// that keys that overlapping requests merged into `data` count too.
pub(crate) fn data_bound<S: SessionTable<B>, B: Backend>(
    data: &SessionData,
    limit: usize,
) -> Result<DataBound, Error> {
    let spaces = std::cell::Cell::new(0_usize);
    let untyped = DataJson::without_typed(data, S::TABLE.columns, SpaceCounter(&spaces))?;
    drop(untyped);
    let bytes = |size: usize| i64::try_from(size).unwrap_or(i64::MAX);
    let compact = limit.saturating_sub(typed_size::<S, B>(data)?);
    Ok(DataBound {
        compact: bytes(compact),
        spaced: bytes(compact.saturating_add(spaces.get())),
    })
}

/// Writes compact JSON and counts the spaces a database that prints a
/// space after each `:` and `,` adds to it.
struct SpaceCounter<'a>(&'a std::cell::Cell<usize>);

impl SpaceCounter<'_> {
    fn separator<W: ?Sized + std::io::Write>(
        &self,
        writer: &mut W,
        separator: &[u8],
    ) -> std::io::Result<()> {
        self.0.set(self.0.get() + 1);
        writer.write_all(separator)
    }
}

impl serde_json::ser::Formatter for SpaceCounter<'_> {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            self.separator(writer, b",")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            self.separator(writer, b",")
        }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        self.separator(writer, b":")
    }
}

/// The length of `value` as compact JSON.
fn json_size(value: &impl serde::Serialize) -> Result<usize, Error> {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value).map_err(|error| Error::Encode(error.to_string()))?;
    Ok(counter.0)
}

/// Refuses an instant with nanoseconds in a typed column that keeps
/// microseconds (`TIMESTAMPTZ` and `TIMESTAMP` on PostgreSQL,
/// `DATETIME(6)` and `TIMESTAMP(6)` on MySQL), which the database would
/// silently round or cut. A microsecond-exact instant round-trips exactly;
/// SQLite's text column keeps nanoseconds.
///
/// The value is read the way its field reads it, through `time`'s serde;
/// a field of another Rust type (a `sql_type` override) is not checked.
fn check_precision<S: SessionTable<B>, B: Backend>(data: &SessionData) -> Result<(), Error> {
    use serde::Deserialize as _;
    for column in S::TABLE.columns {
        if !matches!(
            column.sql_type,
            "TIMESTAMPTZ" | "TIMESTAMP" | "DATETIME(6)" | "TIMESTAMP(6)"
        ) {
            continue;
        }
        let Some(value) = column.path.get(data).filter(|value| !value.is_null()) else {
            continue;
        };
        let nanosecond = OffsetDateTime::deserialize(value)
            .map(OffsetDateTime::nanosecond)
            .or_else(|_| time::PrimitiveDateTime::deserialize(value).map(|at| at.nanosecond()));
        if let Ok(nanosecond) = nanosecond {
            if nanosecond % 1_000 != 0 {
                return Err(Error::Encode(format!(
                    "field `{}` (session key `{}`) holds an instant with nanoseconds, but its {} \
                     column keeps microseconds; round it first, e.g. \
                     `at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000)`",
                    column.path.field, column.path, column.sql_type
                )));
            }
        }
    }
    Ok(())
}

/// The unit and length limit of a `VARCHAR(n)` or `VARBINARY(n)` column.
fn declared_length(sql_type: &str) -> Option<(&'static str, usize)> {
    let (unit, rest) = if let Some(rest) = sql_type.strip_prefix("VARCHAR(") {
        ("characters", rest)
    } else {
        ("bytes", sql_type.strip_prefix("VARBINARY(")?)
    };
    Some((unit, rest.strip_suffix(')')?.parse().ok()?))
}

/// Refuses a session nested deeper than its backend stores and reads back,
/// before anything recursive touches it. Without this, a session nested 128
/// levels would be stored and then fail every load.
fn check_depth<B: Backend>(data: &SessionData) -> Result<(), Error> {
    let max = B::MAX_DEPTH;
    let is_container = |value: &&Value| value.is_array() || value.is_object();
    // Containers still to look into, with their depth; the map is level 1.
    let mut pending: Vec<(&Value, usize)> = data
        .values()
        .filter(is_container)
        .map(|value| (value, 2))
        .collect();
    while let Some((value, depth)) = pending.pop() {
        if depth > max {
            return Err(Error::Encode(format!(
                "the session nests arrays and objects more than {max} levels deep, the most {} stores and reads back",
                B::NAME
            )));
        }
        let next = |child| (child, depth + 1);
        match value {
            Value::Array(items) => pending.extend(items.iter().filter(is_container).map(next)),
            Value::Object(members) => {
                pending.extend(members.values().filter(is_container).map(next));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Joins a row back into a session: the typed columns are the truth for
/// their keys.
///
/// Every save takes the typed keys out of `data`, so a typed key still in
/// `data` marks a row saved before its field's column existed: that value
/// is the session's, not the column's NULL or default, until the next save
/// moves it into the column.
///
/// Sealed `data` is opened with `keys`, bound to the row `id`.
pub(crate) fn decode<S: SessionTable<B>, B: Backend>(
    row: LoadedRow<S, B>,
    keys: Option<&EncryptionKeys>,
    id: &[u8; 32],
) -> Result<Decoded, Error> {
    let (mut data, old_key) = open_data::<S, B>(row.data, keys, id)?;
    let saved_before_column: Vec<_> = S::TABLE
        .columns
        .iter()
        .filter_map(|column| Some((column.path, column.path.get(&data)?.clone())))
        .collect();
    row.fields.put_fields(&mut data)?;
    let settled = saved_before_column.is_empty();
    for (path, value) in saved_before_column {
        path.put(&mut data, &value)?;
    }
    let authenticated = row.authenticated.map(B::expiry_from_column).transpose()?;
    if let Some(at) = authenticated {
        data.insert(authentication::KEY.to_owned(), authentication::value_of(at));
    }
    Ok(Decoded {
        data,
        expiry: B::expiry_from_column(row.expiry)?,
        created: row.created.map(B::expiry_from_column).transpose()?,
        authenticated,
        settled,
        old_key,
    })
}

/// Whether the live row with `row`'s id holds exactly `row`: the row of an
/// `INSERT` whose answer was lost, found by the `INSERT` run again.
pub(crate) async fn is_stored<S: SessionTable<B>, B: Backend>(
    connection: &mut B::Connection,
    row: &SessionRow<S, B>,
    now: &B::Expiry,
) -> diesel::QueryResult<bool> {
    let Some(stored) = S::select(connection, &row.id, now).await? else {
        return Ok(false);
    };
    let same_data = match &stored.data {
        StoredData::Map(stored) => {
            let written: Option<SessionData> = serde_json::from_str(&row.data.0).ok();
            written.as_ref() == Some(stored)
        }
        // Sealed with a fresh nonce: only the bytes this insert sent match.
        StoredData::Sealed(stored) => *stored == row.sealed,
    };
    let (mut stored_typed, mut written_typed) = (SessionData::new(), SessionData::new());
    let same_typed = stored.fields.put_fields(&mut stored_typed).is_ok()
        && row.fields.put_fields(&mut written_typed).is_ok()
        && stored_typed == written_typed;
    Ok(same_typed && same_data)
}

/// A session read back from its row.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) data: SessionData,
    pub(crate) expiry: OffsetDateTime,
    /// When the session was created, if its writer said.
    pub(crate) created: Option<OffsetDateTime>,
    /// When the session's user last authenticated, if the app said.
    pub(crate) authenticated: Option<OffsetDateTime>,
    /// Whether every typed value came from its column. A row saved before
    /// a column existed keeps the value in `data` until a save writes the
    /// whole row.
    pub(crate) settled: bool,
    /// Whether an old key sealed `data`: the next save writes the whole
    /// row, sealed with the current key.
    pub(crate) old_key: bool,
}
