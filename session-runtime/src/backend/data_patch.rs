//! The `UPDATE` of a save that writes only what changed, as each backend
//! renders it: the typed columns whose values changed, the set and
//! removed keys of `data` in the backend's JSON functions, and the expiry.
//! Which keys changed is the store's to decide (`store::save_plan`).

use std::marker::PhantomData;

use diesel::backend::Backend as DieselBackend;
use diesel::query_builder::{AsChangeset, AstPass};
use diesel::sql_types::HasSqlType;
use diesel::{Column, QueryResult};

use crate::authentication;
use crate::backend::data_column::{residual, DataJson};
use crate::error::Error;
use crate::schema::table_def::{ColumnDef, DataType};
use crate::session_data::SessionData;

/// The changes of one save, as the generated `update_changes` writes them.
#[derive(Debug)]
pub struct RowChanges {
    /// Per typed column, in declaration order, whether it is written.
    columns: Vec<bool>,
    /// Whether `authenticated_at` is written: the app marked a login, or
    /// the session lost its authentication time.
    authenticated: bool,
    data: Option<(DataPatch, DataType)>,
    /// The most bytes the patched `data` may hold, when the save set one.
    data_bound: Option<DataBound>,
    expiry: ExpiryWrite,
}

/// The most bytes `data` may hold after a partial save, as the database
/// measures its own text of it: the store's limit
/// ([`with_max_session_bytes`](crate::DieselStore::with_max_session_bytes))
/// less the bytes the save's typed values count. The limit counts the
/// whole session as compact JSON, typed values included; a partial save
/// merges its keys into whatever `data` holds by then, keys that
/// overlapping requests wrote included, so only the database can measure
/// the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DataBound {
    /// For a database that stores compact JSON text (SQLite).
    pub(crate) compact: i64,
    /// For one that prints a space after each `:` and `,` (PostgreSQL's
    /// `JSONB`, MySQL's and MariaDB's JSON functions): the compact bound
    /// plus the spaces the save's own `data` gets, so that a save whose
    /// `data` is the one the request saw is taken exactly when a save of
    /// the whole row would be.
    pub(crate) spaced: i64,
}

/// How a save sets `expiry_date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpiryWrite {
    /// To the save's expiry: the request changed something, or moved the
    /// expiry earlier on purpose.
    Exact,
    /// To the later of the stored and the save's expiry, so that a request
    /// that only read the session never takes an expiry back that another
    /// request moved forward.
    NeverEarlier,
}

/// The keys of `data` a save sets and removes, in the form the backend's
/// JSON functions take them.
#[derive(Debug)]
pub enum DataPatch {
    /// SQLite's `json_set`/`json_remove` and MySQL's `JSON_SET`/`JSON_REMOVE`:
    /// a JSON path per key, and each set key's value.
    Paths {
        /// The path of each set key and its value.
        set: Vec<(String, DataJson)>,
        /// The path of each removed key.
        remove: Vec<String>,
    },
    /// PostgreSQL's `(data - keys) || object`.
    Merge {
        /// The set keys with their values, as one object.
        set: Option<DataJson>,
        /// The removed keys.
        remove: Vec<String>,
    },
}

/// What a save does to the `data` column.
#[derive(Debug)]
pub enum DataChange {
    /// Nothing: no key of `data` changed.
    Unchanged,
    /// Sets and removes the changed keys.
    Patch(DataPatch),
    /// Writes all of it: a changed key cannot be named in a JSON path.
    Whole,
}

impl DataChange {
    pub(crate) fn of(patch: Option<DataPatch>) -> Self {
        patch.map_or(DataChange::Unchanged, DataChange::Patch)
    }
}

/// The keys a save changed and removed, against the hashes of its load.
#[derive(Debug, Default)]
pub struct KeyChanges {
    /// Keys whose value is new or different.
    pub(crate) changed: Vec<Box<str>>,
    /// Keys the load had and the save does not.
    pub(crate) removed: Vec<Box<str>>,
}

impl KeyChanges {
    pub(crate) fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty()
    }

    /// Whether `key` is changed or removed.
    fn touches(&self, key: &str) -> bool {
        self.changed
            .iter()
            .chain(&self.removed)
            .any(|k| &**k == key)
    }

    /// Per typed column, whether the save writes it: its key changed.
    pub(crate) fn columns(&self, columns: &'static [ColumnDef]) -> Vec<bool> {
        columns
            .iter()
            .map(|column| self.touches(column.path.key))
            .collect()
    }
}

impl RowChanges {
    /// The changes of a save whose values differ from its load's.
    pub(crate) fn of_values(
        changes: &KeyChanges,
        columns: &'static [ColumnDef],
        data: Option<(DataPatch, DataType)>,
    ) -> Self {
        RowChanges {
            columns: changes.columns(columns),
            authenticated: changes.touches(authentication::KEY),
            data,
            data_bound: None,
            expiry: ExpiryWrite::Exact,
        }
    }

    /// The expiry alone.
    pub(crate) fn of_expiry(columns: usize, write: ExpiryWrite) -> Self {
        RowChanges {
            columns: vec![false; columns],
            authenticated: false,
            data: None,
            data_bound: None,
            expiry: write,
        }
    }

    /// Whether the save writes `authenticated_at`.
    pub(crate) fn writes_authentication(&self) -> bool {
        self.authenticated
    }

    /// Whether the typed column at `index`, in declaration order, is
    /// written.
    pub fn writes_column(&self, index: usize) -> bool {
        self.columns.get(index).copied().unwrap_or(false)
    }

    /// Bounds the size of the patched `data` by `bound`, worked out only
    /// when the save patches `data`: the `UPDATE` then stores the patched
    /// `data` only if it fits, and fails with a NOT NULL violation on
    /// `data` otherwise, which the store reports as [`Error::Encode`].
    pub(crate) fn limit_data(
        &mut self,
        bound: impl FnOnce() -> Result<DataBound, Error>,
    ) -> Result<(), Error> {
        if self.data.is_some() {
            self.data_bound = Some(bound()?);
        }
        Ok(())
    }

    /// The assignment of the `data` column, if the save changes it.
    pub fn set_data<C: Column>(&self, column: C) -> Option<SetData<'_, C>> {
        let _ = column;
        self.data.as_ref().map(|(patch, data_type)| SetData {
            patch,
            data_type: *data_type,
            bound: self.data_bound,
            column: PhantomData,
        })
    }

    /// Whether the save keeps the later of the stored and its own expiry.
    pub(crate) fn never_earlier(&self) -> bool {
        self.expiry == ExpiryWrite::NeverEarlier
    }
}

/// `data = <patch of data>`, rendered by each backend's JSON functions.
#[derive(Debug)]
pub struct SetData<'a, C> {
    pub(crate) patch: &'a DataPatch,
    // SQLite's one `data` type needs no casts.
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    pub(crate) data_type: DataType,
    pub(crate) bound: Option<DataBound>,
    column: PhantomData<C>,
}

impl<'a, C: Column> AsChangeset for SetData<'a, C> {
    type Target = C::Table;
    type Changeset = Self;

    fn as_changeset(self) -> Self {
        self
    }
}

impl<C> SetData<'_, C> {
    /// The error of a patch in another backend's form, which the store
    /// never builds.
    pub(crate) fn foreign_form() -> diesel::result::Error {
        diesel::result::Error::QueryBuilderError("a `data` patch built for another backend".into())
    }
}

/// How a backend measures the bytes of the patched `data`.
pub(crate) struct ByteLength {
    /// What the patched value goes inside, before and after it.
    pub(crate) around: (&'static str, &'static str),
    /// Whether the database prints JSON with a space after each `:` and
    /// `,`, so that the bound is [`DataBound::spaced`].
    pub(crate) spaced: bool,
}

impl<'a, C: Column> SetData<'a, C> {
    /// `data = CASE WHEN length(<patched>) <= bound THEN <patched> END`,
    /// or `data = <patched>` without a bound. One statement still: an
    /// oversized result is NULL, which `data`'s NOT NULL refuses, so that
    /// the row stays as it was and the failure is told apart from a row
    /// that is gone (a `WHERE` guard would update 0 rows in both cases).
    pub(crate) fn walk_guarded<'b, DB>(
        &'b self,
        length: &ByteLength,
        mut out: AstPass<'_, 'b, DB>,
        patched: impl for<'x> Fn(AstPass<'x, 'b, DB>) -> QueryResult<()>,
    ) -> QueryResult<()>
    where
        DB: DieselBackend + HasSqlType<diesel::sql_types::BigInt>,
        i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
    {
        out.push_identifier(C::NAME)?;
        out.push_sql(" = ");
        let Some(bound) = &self.bound else {
            return patched(out.reborrow());
        };
        out.push_sql("CASE WHEN ");
        out.push_sql(length.around.0);
        patched(out.reborrow())?;
        out.push_sql(length.around.1);
        out.push_sql(" <= ");
        let bytes = if length.spaced {
            &bound.spaced
        } else {
            &bound.compact
        };
        out.push_bind_param::<diesel::sql_types::BigInt, i64>(bytes)?;
        out.push_sql(" THEN ");
        patched(out.reborrow())?;
        out.push_sql(" END");
        Ok(())
    }
}

/// How SQLite and MySQL spell the JSON path functions of a patch.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(crate) struct PathFunctions {
    /// The function that sets paths: `json_set`, `JSON_SET`.
    pub(crate) set: &'static str,
    /// The function that removes paths: `json_remove`, `JSON_REMOVE`.
    pub(crate) remove: &'static str,
    /// What the column is read through, before and after its name.
    pub(crate) column: (&'static str, &'static str),
    /// What a value's JSON text is parsed through, before and after it.
    pub(crate) value: (&'static str, &'static str),
}

#[cfg(any(feature = "sqlite", feature = "mysql"))]
impl<C: Column> SetData<'_, C> {
    /// `data = set(remove(data, path...), path, value...)`, each part only
    /// when it has paths, within the save's bound.
    pub(crate) fn walk_paths<'b, DB>(
        &'b self,
        functions: &PathFunctions,
        length: &ByteLength,
        out: AstPass<'_, 'b, DB>,
    ) -> QueryResult<()>
    where
        DB: DieselBackend
            + HasSqlType<diesel::sql_types::Text>
            + HasSqlType<diesel::sql_types::BigInt>,
        String: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
    {
        let DataPatch::Paths { set, remove } = self.patch else {
            return Err(Self::foreign_form());
        };
        self.walk_guarded(length, out, |out| {
            Self::walk_path_calls(functions, set, remove, out)
        })
    }

    /// `set(remove(data, path...), path, value...)`.
    fn walk_path_calls<'b, DB>(
        functions: &PathFunctions,
        set: &'b [(String, DataJson)],
        remove: &'b [String],
        mut out: AstPass<'_, 'b, DB>,
    ) -> QueryResult<()>
    where
        DB: DieselBackend + HasSqlType<diesel::sql_types::Text>,
        String: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
    {
        use diesel::sql_types::Text;
        if !set.is_empty() {
            out.push_sql(functions.set);
            out.push_sql("(");
        }
        if !remove.is_empty() {
            out.push_sql(functions.remove);
            out.push_sql("(");
        }
        out.push_sql(functions.column.0);
        out.push_identifier(C::NAME)?;
        out.push_sql(functions.column.1);
        if !remove.is_empty() {
            for path in remove {
                out.push_sql(", ");
                out.push_bind_param::<Text, String>(path)?;
            }
            out.push_sql(")");
        }
        if !set.is_empty() {
            for (path, value) in set {
                out.push_sql(", ");
                out.push_bind_param::<Text, String>(path)?;
                out.push_sql(", ");
                out.push_sql(functions.value.0);
                out.push_bind_param::<Text, String>(&value.0)?;
                out.push_sql(functions.value.1);
            }
            out.push_sql(")");
        }
        Ok(())
    }
}

/// The JSON path of a top-level key, `$."key"`, for the keys whose path
/// needs no escaping: SQLite and MySQL read escapes in quoted path members
/// differently. A save that changes any other key writes all of `data`.
pub(crate) fn json_path(key: &str) -> Option<String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-.:/@+ ".contains(c);
    (!key.is_empty() && key.chars().all(plain)).then(|| format!("$.\"{key}\""))
}

/// Whether `data` holds anything of `key`: all but the keys a typed column
/// holds whole.
pub(crate) fn kept_in_data(key: &str, columns: &'static [ColumnDef]) -> bool {
    key != authentication::KEY
        && !columns
            .iter()
            .any(|column| column.path.key == key && column.path.members.is_empty())
}

/// The patch of `data` as JSON paths; all of `data` when a key has no
/// plain path.
pub(crate) fn paths_patch<F: serde_json::ser::Formatter + Clone>(
    data: &SessionData,
    columns: &'static [ColumnDef],
    changes: &KeyChanges,
    formatter: F,
) -> Result<DataChange, Error> {
    let mut set = Vec::new();
    for key in &changes.changed {
        let Some(value) = data
            .get(&**key)
            .and_then(|value| residual(key, value, columns))
        else {
            continue;
        };
        let Some(path) = json_path(key) else {
            return Ok(DataChange::Whole);
        };
        set.push((path, DataJson::of_value(&value, formatter.clone())?));
    }
    let mut remove = Vec::new();
    for key in changes
        .removed
        .iter()
        .filter(|key| kept_in_data(key, columns))
    {
        let Some(path) = json_path(key) else {
            return Ok(DataChange::Whole);
        };
        remove.push(path);
    }
    Ok(DataChange::of(
        (!set.is_empty() || !remove.is_empty()).then_some(DataPatch::Paths { set, remove }),
    ))
}

/// What a save that changed `changes` does to encrypted `data`: nothing
/// when every changed or removed key is one a typed column holds whole,
/// else all of it, since sealed bytes cannot be patched key by key.
pub(crate) fn sealed_change(columns: &'static [ColumnDef], changes: &KeyChanges) -> DataChange {
    let touches_data = changes
        .changed
        .iter()
        .chain(&changes.removed)
        .any(|key| kept_in_data(key, columns));
    if touches_data {
        DataChange::Whole
    } else {
        DataChange::Unchanged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keys_have_a_path_and_others_none() {
        assert_eq!(
            json_path("axum-login.data").as_deref(),
            Some("$.\"axum-login.data\"")
        );
        assert_eq!(json_path("a\"b"), None);
        assert_eq!(json_path("a\\b"), None);
        assert_eq!(json_path(""), None);
    }
}
