//! What is wrong with an input that parsed.

use std::collections::BTreeMap;

use quote::ToTokens;

use super::ast::{unraw, Container};
use super::attr::OnDelete;
use super::field_type::SUPPORTED;
use super::Ctxt;

/// Fixed columns of every session table.
const RESERVED_COLUMNS: &[&str] = &["id", "data", "expiry_date"];

/// Diesel's tuples stop at 16 elements by default; the fixed columns take 3.
const MAX_FIELDS: usize = 13;

pub fn check(cx: &Ctxt, container: &Container) {
    check_shape(cx, container);
    check_backend(cx, container);
    for field in &container.fields {
        let column = unraw(&field.column);
        if RESERVED_COLUMNS.contains(&column.as_str()) {
            cx.error_spanned_by(
                &field.column,
                format!(
                    "`{column}` is a fixed column of every session table\n\n\
                     help: rename the field, or store it in another column with `#[session(column = user_{column})]`"
                ),
            );
        }
        if field.sql_type.is_none() && container.backend.is_some() {
            cx.error_spanned_by(
                field.value_ty,
                format!(
                    "unsupported field type `{}`: the supported types are {SUPPORTED}\n\n\
                     help: name its Diesel SQL type with `#[session(sql_type = diesel::sql_types::Text)]`",
                    field.value_ty.to_token_stream().to_string().replace(' ', "")
                ),
            );
        }
        if field.references.is_none() {
            for (tokens, key) in [
                (field.attrs.on_delete.tokens(), "on_delete"),
                (field.attrs.referenced_column.tokens(), "referenced_column"),
            ] {
                if let Some(tokens) = tokens {
                    cx.error_spanned_by(
                        tokens,
                        format!(
                            "`{key}` applies to a foreign key\n\n\
                             help: the correct format looks like `#[session(references = users, {key} = ...)]`"
                        ),
                    );
                }
            }
        }
        if let (Some(OnDelete::SetNull), false) = (field.attrs.on_delete.get(), field.nullable) {
            cx.error_spanned_by(
                field.attrs.on_delete.tokens(),
                "`on_delete = set_null` needs a nullable column\n\n\
                 help: make the field an `Option`",
            );
        }
        if let (Some(tokens), true) = (field.attrs.default.tokens(), field.nullable) {
            cx.error_spanned_by(
                tokens,
                "an `Option` field defaults to `None`, so `default` does not apply",
            );
        }
    }
    check_unique(cx, container);
    if container.fields.len() > MAX_FIELDS {
        cx.error_spanned_by(
            container.fields[MAX_FIELDS].ident,
            format!("a session struct has at most {MAX_FIELDS} fields, one column each"),
        );
    }
}

fn check_shape(cx: &Ctxt, container: &Container) {
    if !container.is_named_struct {
        cx.error_spanned_by(
            container.ident,
            "#[derive(SessionStore)] needs a struct with named fields: each field names its column",
        );
    }
    let generics = container.generics;
    if !generics.params.is_empty() || generics.where_clause.is_some() {
        cx.error_spanned_by(
            generics,
            "a session struct cannot be generic: its table has one concrete type per column",
        );
    }
}

fn check_backend(cx: &Ctxt, container: &Container) {
    if container.backend.is_none() {
        cx.error_spanned_by(
            container.ident,
            "missing `backend`: say which database the session table lives on\n\n\
             help: the correct format looks like `#[session(table = http_sessions, backend = sqlite)]`, \
             with `sqlite`, `postgres` or `mysql`",
        );
    }
}

/// Two fields cannot share a column, nor a session key where one path is
/// the other or lies inside it.
fn check_unique(cx: &Ctxt, container: &Container) {
    let mut columns = BTreeMap::new();
    for field in &container.fields {
        if let Some(previous) = columns.insert(unraw(&field.column), field.ident) {
            cx.error_spanned_by(
                &field.column,
                format!(
                    "column `{}` is already the column of field `{previous}`",
                    field.column
                ),
            );
        }
    }
    for (index, field) in container.fields.iter().enumerate() {
        let path: Vec<&str> = std::iter::once(field.key.as_str())
            .chain(field.members.iter().map(String::as_str))
            .collect();
        for earlier in &container.fields[..index] {
            let earlier_path: Vec<&str> = std::iter::once(earlier.key.as_str())
                .chain(earlier.members.iter().map(String::as_str))
                .collect();
            if path.starts_with(&earlier_path) || earlier_path.starts_with(&path) {
                cx.error_spanned_by(
                    field.ident,
                    format!(
                        "field `{}` takes session key `{}`, which overlaps the key `{}` of field `{}`",
                        field.ident,
                        path.join("/"),
                        earlier_path.join("/"),
                        earlier.ident
                    ),
                );
            }
        }
    }
}
