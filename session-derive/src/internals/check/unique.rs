//! Two fields cannot share a column or a session key.

use std::collections::BTreeMap;

use super::RESERVED_COLUMNS;
use crate::internals::ast::{unraw, Container, Field};
use crate::internals::Ctxt;

/// Two fields cannot share a column, nor a session key where one path is
/// the other or lies inside it.
pub fn check_unique(cx: &Ctxt, container: &Container) {
    let mut columns = BTreeMap::new();
    for field in &container.fields {
        let column = unraw(&field.column);
        if RESERVED_COLUMNS.contains(&column.as_str()) {
            continue; // reported as reserved
        }
        if let Some(previous) = columns.insert(column.clone(), field.ident) {
            cx.error_spanned_by(
                &field.column,
                format!(
                    "column `{column}` is already the column of field `{previous}`\n\n\
                     help: give one of them another column with `#[session(column = ...)]`"
                ),
            );
        }
    }
    // A pointer without its `/` is reported already, and its path unknown.
    let bad_pointer = |field: &Field| {
        field
            .attrs
            .pointer
            .get()
            .is_some_and(|pointer| !pointer.value().starts_with('/'))
    };
    for (index, field) in container.fields.iter().enumerate() {
        if bad_pointer(field) {
            continue;
        }
        let path: Vec<&str> = std::iter::once(field.key.as_str())
            .chain(field.members.iter().map(String::as_str))
            .collect();
        for earlier in container.fields[..index]
            .iter()
            .filter(|field| !bad_pointer(field))
        {
            let earlier_path: Vec<&str> = std::iter::once(earlier.key.as_str())
                .chain(earlier.members.iter().map(String::as_str))
                .collect();
            if path.starts_with(&earlier_path) || earlier_path.starts_with(&path) {
                let (same, inside) = (path == earlier_path, path.starts_with(&earlier_path));
                let (path, earlier_path) = (path.join("/"), earlier_path.join("/"));
                let overlap = if same {
                    format!("which field `{}` already takes", earlier.ident)
                } else if inside {
                    format!(
                        "inside key `{earlier_path}`, which field `{}` takes",
                        earlier.ident
                    )
                } else {
                    format!(
                        "around key `{earlier_path}`, which field `{}` takes",
                        earlier.ident
                    )
                };
                cx.error_spanned_by(
                    field.ident,
                    format!(
                        "field `{}` takes session key `{path}`, {overlap}: one value cannot be in two columns\n\n\
                         help: give one of them another key with `#[session(key = \"...\")]`",
                        field.ident,
                    ),
                );
            }
        }
    }
}
