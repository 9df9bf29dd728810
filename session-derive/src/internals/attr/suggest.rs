//! The help note for an unknown key: the key on the other level, the key
//! an alias stands for, or a known key within a typo of it.

use super::Level;
use crate::internals::symbol::*;

/// Other names users reach for on the struct, from serde, diesel and
/// other derives, and the key that does the job here.
const CONTAINER_ALIASES: &[(&str, Symbol)] = &[
    ("table_name", TABLE),
    ("name", TABLE),
    ("rename", TABLE),
    ("sql_name", TABLE),
    ("db", BACKEND),
    ("database", BACKEND),
    ("dialect", BACKEND),
    ("driver", BACKEND),
    ("check_for_backend", BACKEND),
    ("store_name", STORE),
    ("krate", CRATE),
    ("no_wal", UNLOGGED),
    ("skip_wal", UNLOGGED),
    ("data_type", DATA),
    ("data_format", DATA),
    ("json", DATA),
    ("jsonb", DATA),
    ("blob", DATA),
    ("longblob", DATA),
    ("toast_compression", COMPRESSION),
    ("compress", COMPRESSION),
    ("lz4", COMPRESSION),
    ("pglz", COMPRESSION),
];

/// See `CONTAINER_ALIASES`.
const FIELD_ALIASES: &[(&str, Symbol)] = &[
    ("rename", KEY),
    ("name", KEY),
    ("session_key", KEY),
    ("path", POINTER),
    ("json_pointer", POINTER),
    ("nested", POINTER),
    ("column_name", COLUMN),
    ("sql_name", COLUMN),
    ("foreign_key", REFERENCES),
    ("belongs_to", REFERENCES),
    ("fk", REFERENCES),
    ("ref", REFERENCES),
    ("referenced_key", REFERENCED_COLUMN),
    ("primary_key", REFERENCED_COLUMN),
    ("ondelete", ON_DELETE),
    ("delete", ON_DELETE),
    ("indexed", INDEX),
    ("type", SQL_TYPE),
    ("sql", SQL_TYPE),
    ("default_fn", DEFAULT),
    ("default_value", DEFAULT),
];

fn aliases(level: Level) -> &'static [(&'static str, Symbol)] {
    match level {
        Level::Container => CONTAINER_ALIASES,
        Level::Field => FIELD_ALIASES,
    }
}

/// The help note for an unknown key written on `level`.
pub fn suggest(level: Level, key: &str) -> Option<String> {
    let other = level.other();
    if let Some(known) = other.key(key) {
        return Some(format!(
            "help: `{key}` goes on {}, not on {}: `#[session({})]`",
            other.place(),
            level.place(),
            other.example(known)
        ));
    }
    let lowercase = key.to_ascii_lowercase();
    // `diesel::column` is read as `column`.
    let lowercase = lowercase.rsplit("::").next().unwrap_or_default();
    let names = |level: Level| level.keys().iter().map(|(name, _)| name.as_str());
    if let Some(known) = aliases(level)
        .iter()
        .find(|(alias, _)| *alias == lowercase)
        .map(|(_, name)| *name)
        .or_else(|| closest(names(level), lowercase).and_then(|name| level.key(name)))
    {
        return Some(format!(
            "help: did you mean `{known}`? The correct format looks like `#[session({})]`",
            level.example(known)
        ));
    }
    let known = other.key(closest(names(other), lowercase)?)?;
    Some(format!(
        "help: did you mean `{known}`? It goes on {}, not on {}: `#[session({})]`",
        other.place(),
        level.place(),
        other.example(known)
    ))
}

/// The candidate within a small edit distance of `word`, if any.
pub fn closest<'a>(candidates: impl IntoIterator<Item = &'a str>, word: &str) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(candidate, word), candidate))
        .filter(|(distance, candidate)| *distance <= 2 && *distance * 3 <= candidate.len())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, with a swap of two neighbours counted as one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![(0..=b.len()).collect::<Vec<_>>()];
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (rows[i - 1][j] + 1)
                .min(row[j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(rows[i - 2][j - 2] + 1);
            }
        }
        rows.push(row);
    }
    rows[a.len()][b.len()]
}
