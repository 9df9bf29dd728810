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
use crate::touch_after::TouchAfter;

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
        DataChange::Unchanged => SavePlan::Changes(RowChanges::of_values(&keys, columns, None)),
        DataChange::Patch(patch) => {
            let data = Some((patch, S::TABLE.data));
            SavePlan::Changes(RowChanges::of_values(&keys, columns, data))
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
    use serde_json::json;

    use super::*;
    use crate::store::loaded_sessions::{token_of, LoadedSessions, DEFAULT_BUDGET};

    fn hashes(pairs: &[(&str, u64)]) -> ValueHashes {
        pairs.iter().map(|(k, h)| ((*k).into(), *h)).collect()
    }

    /// One session's row, and the memo of a store in front of it; requests
    /// load and save through it as `load_tracked` and `save_session` do,
    /// in whatever order a test interleaves them, with no task at all.
    struct Row {
        memo: LoadedSessions,
        stored: SessionData,
        /// How many saves wrote the whole row.
        whole: usize,
    }

    const ID: i128 = 1;

    impl Row {
        fn new(budget: usize, stored: serde_json::Value) -> Self {
            let serde_json::Value::Object(stored) = stored else {
                unreachable!("a test session is an object")
            };
            Row {
                memo: LoadedSessions::new(budget),
                stored: stored.into_iter().collect(),
                whole: 0,
            }
        }

        /// A load: a new map, as `decode` builds one.
        fn load(&self) -> SessionData {
            let data: SessionData = self.stored.clone().into_iter().collect();
            let values = self.memo.hash_values(&data);
            let now = OffsetDateTime::now_utc();
            self.memo.remember(ID, token_of(&data), values, now, None);
            data
        }

        /// A save: the changed keys of a remembered load, or the whole row.
        fn save(&mut self, data: &SessionData) {
            let token = token_of(data);
            let values = self.memo.hash_values(data);
            let Some(loaded) = self.memo.recall(ID, token) else {
                self.stored = data.clone();
                self.whole += 1;
                return;
            };
            let changes = changed_keys(&loaded.values, &values);
            for key in &changes.changed {
                self.stored.insert(key.to_string(), data[&**key].clone());
            }
            for key in &changes.removed {
                self.stored.remove(&**key);
            }
            self.memo
                .wrote(ID, token, values, OffsetDateTime::now_utc());
        }

        fn stored(&self) -> serde_json::Value {
            serde_json::to_value(&self.stored).unwrap()
        }
    }

    fn set(data: &mut SessionData, key: &str, value: serde_json::Value) {
        data.insert(key.to_owned(), value);
    }

    #[test]
    fn a_load_older_than_another_save_writes_only_its_own_change() {
        let mut row = Row::new(DEFAULT_BUDGET, json!({"a": 0, "b": 0, "c": 0}));
        // A loads v0; C loads v0 and saves `c`; B loads v1; A saves `a`,
        // then B saves `b`.
        let mut a = row.load();
        let mut c = row.load();
        set(&mut c, "c", json!(1));
        row.save(&c);
        let mut b = row.load();
        set(&mut a, "a", json!(1));
        row.save(&a);
        set(&mut b, "b", json!(1));
        row.save(&b);
        assert_eq!(row.stored(), json!({"a": 1, "b": 1, "c": 1}));
        assert_eq!(row.whole, 0);
    }

    #[test]
    fn two_loads_of_one_version_keep_both_changes() {
        let mut row = Row::new(DEFAULT_BUDGET, json!({"a": 0, "b": 0, "gone": 0}));
        // As `tokio::join!` polls two requests in one task: both load the
        // same version before either saves.
        let (mut first, mut second) = (row.load(), row.load());
        set(&mut first, "a", json!(1));
        second.remove("gone");
        set(&mut second, "b", json!(1));
        row.save(&second);
        row.save(&first);
        assert_eq!(row.stored(), json!({"a": 1, "b": 1}));
        assert_eq!(row.whole, 0);
    }

    #[test]
    fn a_request_that_saves_twice_writes_each_change_against_its_last_save() {
        let mut row = Row::new(DEFAULT_BUDGET, json!({"a": 0}));
        let mut request = row.load();
        set(&mut request, "flash", json!("saved"));
        row.save(&request);
        // Another request changes `a` between the two saves.
        let mut other = row.load();
        set(&mut other, "a", json!(1));
        row.save(&other);
        request.remove("flash");
        row.save(&request);
        assert_eq!(row.stored(), json!({"a": 1}));
    }

    /// The case that rules out matching a save with whichever remembered
    /// version of the session is closest to it: the second request's map
    /// equals the first one's load, yet it removed a key.
    #[test]
    fn a_key_one_request_set_and_the_next_removed_stays_removed() {
        let mut row = Row::new(DEFAULT_BUDGET, json!({"a": 0}));
        let mut setting = row.load();
        set(&mut setting, "flash", json!("shown once"));
        row.save(&setting);
        let mut removing = row.load();
        removing.remove("flash");
        row.save(&removing);
        assert_eq!(row.stored(), json!({"a": 0}));
        assert_eq!(row.whole, 0);
    }

    #[test]
    fn a_cleared_map_removes_every_key() {
        let mut row = Row::new(DEFAULT_BUDGET, json!({"a": 0, "b": 0}));
        let mut request = row.load();
        request.clear();
        set(&mut request, "c", json!(1));
        row.save(&request);
        assert_eq!(row.stored(), json!({"c": 1}));
        assert_eq!(row.whole, 0);
    }

    #[test]
    fn a_map_the_store_did_not_hand_out_is_written_whole() {
        let mut row = Row::new(DEFAULT_BUDGET, json!({"a": 0}));
        let built: SessionData = [("b".to_owned(), json!(1))].into_iter().collect();
        row.save(&built);
        assert_eq!(row.stored(), json!({"b": 1}));
        assert_eq!(row.whole, 1);
    }

    /// With a memo too small for two loads, the older load is forgotten
    /// and its save writes the whole row: the one case where an
    /// overlapping request's change to another key is lost.
    #[test]
    fn a_forgotten_load_is_written_whole() {
        let mut row = Row::new(600, json!({"a": 0, "b": 0}));
        let mut first = row.load();
        let mut second = row.load();
        set(&mut second, "b", json!(1));
        row.save(&second);
        set(&mut first, "a", json!(1));
        row.save(&first);
        assert_eq!(row.whole, 1);
        assert_eq!(row.stored(), json!({"a": 1, "b": 0}));
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
