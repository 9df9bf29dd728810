//! PostgreSQL's patch of `data`: `(data - removed keys) || set object`.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, Jsonb, Text};
use diesel::{Column, QueryResult};

use crate::backend::data_column::{residual, DataJson};
use crate::backend::data_patch::{
    kept_in_data, ByteLength, DataChange, DataPatch, KeyChanges, SetData,
};
use crate::error::Error;
use crate::schema::table_def::{ColumnDef, DataType};
use crate::session_data::SessionData;

/// The patch of `data` as one object to merge and the keys to remove.
pub(crate) fn merge_patch<F: serde_json::ser::Formatter>(
    data: &SessionData,
    columns: &'static [ColumnDef],
    changes: &KeyChanges,
    formatter: F,
) -> Result<DataChange, Error> {
    let set_keys: Vec<&str> = changes
        .changed
        .iter()
        .map(|key| &**key)
        .filter(|key| {
            data.get(*key)
                .is_some_and(|value| residual(key, value, columns).is_some())
        })
        .collect();
    let set = if set_keys.is_empty() {
        None
    } else {
        Some(DataJson::of_keys(data, columns, formatter, |key| {
            set_keys.contains(&key)
        })?)
    };
    let remove: Vec<String> = changes
        .removed
        .iter()
        .filter(|key| kept_in_data(key, columns))
        .map(|key| key.to_string())
        .collect();
    Ok(DataChange::of(
        (set.is_some() || !remove.is_empty()).then_some(DataPatch::Merge { set, remove }),
    ))
}

/// `data = (data - removed) || set`: JSONB's top-level `||` replaces each
/// set key whole, as a save of the whole row would. A `JSON` column goes
/// through JSONB and back. Within the save's bound, measured on the text
/// PostgreSQL prints, `{"a": 1, "b": 2}`.
impl<C: Column> QueryFragment<Pg> for SetData<'_, C> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        const LENGTH: ByteLength = ByteLength {
            around: ("octet_length((", ")::text)"),
            spaced: true,
        };
        let DataPatch::Merge { set, remove } = self.patch else {
            return Err(Self::foreign_form());
        };
        let json = self.data_type == DataType::Json;
        self.walk_guarded(&LENGTH, out, |mut out| {
            out.push_sql("((");
            out.push_identifier(C::NAME)?;
            if json {
                out.push_sql("::jsonb");
            }
            if !remove.is_empty() {
                out.push_sql(" - ");
                out.push_bind_param::<Array<Text>, _>(remove)?;
            }
            out.push_sql(")");
            if let Some(set) = set {
                out.push_sql(" || ");
                out.push_bind_param::<Jsonb, _>(set)?;
            }
            out.push_sql(if json { ")::json" } else { ")" });
            Ok(())
        })
    }
}
