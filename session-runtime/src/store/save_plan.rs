//! What a save sends, decided from what its request loaded: nothing, the
//! expiry alone, the typed columns and `data` keys that changed, or the
//! whole row.

use time::OffsetDateTime;

use crate::backend::data_patch::{sealed_change, DataChange, ExpiryWrite, KeyChanges, RowChanges};
use crate::backend::Backend;
use crate::error::Error;
use crate::schema::table_def::DataType;
use crate::session_data::SessionData;
use crate::session_table::SessionTable;
use crate::store::loaded_sessions::{Loaded, ValueHashes};
use crate::store::touch_after::TouchAfter;

/// What one save sends.
#[derive(Debug)]
pub(crate) enum SavePlan {
    /// Nothing: no value changed, and the expiry moved less than the
    /// store's [`TouchAfter`] threshold.
    Skip,
    /// One `UPDATE` of what changed, which may be the expiry alone.
    Changes(RowChanges),
    /// One `UPDATE` of every column: the store does not know what the
    /// request loaded.
    Whole,
}

/// What a save of a remembered load sends, and the expiry the row has
/// after it.
pub(crate) fn plan_save<S: SessionTable<B>, B: Backend>(
    loaded: &Loaded,
    data: &SessionData,
    values: &ValueHashes,
    expiry: OffsetDateTime,
    touch_after: TouchAfter,
) -> Result<(SavePlan, OffsetDateTime), Error> {
    let columns = S::TABLE.columns;
    let keys = changed_keys(&loaded.values, values);
    if keys.is_empty() {
        let now = OffsetDateTime::now_utc();
        return Ok(match expiry_only(loaded, expiry, now, touch_after) {
            None => (SavePlan::Skip, loaded.expiry),
            Some(write) => {
                let written = match write {
                    ExpiryWrite::NeverEarlier => expiry.max(loaded.expiry),
                    ExpiryWrite::Exact => expiry,
                };
                let changes = RowChanges::of_expiry(columns.len(), write);
                (SavePlan::Changes(changes), written)
            }
        });
    }
    // Sealed `data` cannot be patched: a change to it writes it whole.
    let change = match S::TABLE.data {
        DataType::Encrypted => sealed_change(columns, &keys),
        _ => B::data_patch(data, columns, &keys)?,
    };
    let plan = match change {
        DataChange::Whole => SavePlan::Whole,
        DataChange::Unchanged => {
            SavePlan::Changes(RowChanges::of_values(keys.columns(columns), None))
        }
        DataChange::Patch(patch) => {
            let data = Some((patch, S::TABLE.data));
            SavePlan::Changes(RowChanges::of_values(keys.columns(columns), data))
        }
    };
    Ok((plan, expiry))
}

/// The keys a save changed and removed: two sorted lists of key hashes,
/// its load's and its own, compared.
pub(crate) fn changed_keys(loaded: &ValueHashes, saved: &ValueHashes) -> KeyChanges {
    let mut changes = KeyChanges::default();
    let (mut old, mut new) = (loaded.iter().peekable(), saved.iter().peekable());
    loop {
        match (old.peek(), new.peek()) {
            (None, None) => return changes,
            (Some((key, _)), None) => {
                changes.removed.push(key.clone());
                old.next();
            }
            (None, Some((key, _))) => {
                changes.changed.push(key.clone());
                new.next();
            }
            (Some((old_key, old_hash)), Some((new_key, new_hash))) => match old_key.cmp(new_key) {
                std::cmp::Ordering::Less => {
                    changes.removed.push(old_key.clone());
                    old.next();
                }
                std::cmp::Ordering::Greater => {
                    changes.changed.push(new_key.clone());
                    new.next();
                }
                std::cmp::Ordering::Equal => {
                    if old_hash != new_hash {
                        changes.changed.push(new_key.clone());
                    }
                    old.next();
                    new.next();
                }
            },
        }
    }
}

/// Decides what a save of a remembered load writes when no value changed.
fn expiry_only(
    loaded: &Loaded,
    expiry: OffsetDateTime,
    now: OffsetDateTime,
    touch_after: TouchAfter,
) -> Option<ExpiryWrite> {
    // Every backend keeps microseconds; what it cannot tell apart is equal.
    let micros = |at: OffsetDateTime| at.unix_timestamp_nanos() / 1_000;
    let (stored, wanted) = (micros(loaded.expiry), micros(expiry));
    if wanted == stored {
        return None;
    }
    if wanted < stored {
        // Moved earlier: the app shortened the session, which must hold.
        return Some(ExpiryWrite::Exact);
    }
    let lag = expiry - loaded.expiry;
    (lag >= touch_after.threshold(expiry - now)).then_some(ExpiryWrite::NeverEarlier)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(pairs: &[(&str, u64)]) -> ValueHashes {
        pairs.iter().map(|(k, h)| ((*k).into(), *h)).collect()
    }

    #[test]
    fn keys_changed_added_and_removed() {
        let loaded = hashes(&[("a", 1), ("b", 2), ("c", 3)]);
        let saved = hashes(&[("a", 1), ("b", 9), ("d", 4)]);
        let changes = changed_keys(&loaded, &saved);
        assert_eq!(changes.changed, vec!["b".into(), "d".into()]);
        assert_eq!(changes.removed, vec!["c".into()]);
        assert!(changed_keys(&loaded, &loaded).is_empty());
    }
}
