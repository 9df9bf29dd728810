//! PostgreSQL's patch of `data`: `(data - removed keys) || set object`.

use crate::backend::data_column::{residual, DataJson};
use crate::backend::data_patch::{kept_in_data, DataChange, DataPatch, KeyChanges};
use crate::error::Error;
use crate::schema::table_def::ColumnDef;
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
