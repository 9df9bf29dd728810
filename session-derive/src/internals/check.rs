//! What is wrong with an input that parsed.

use std::collections::BTreeMap;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;

use super::ast::{unraw, Container, Field};
use super::attr::{BackendKind, DataFormat, OnDelete};
use super::field_type::{Builtin, SUPPORTED};
use super::Ctxt;

/// Fixed columns of every session table.
const RESERVED_COLUMNS: &[&str] = &["id", "data", "expiry_date"];

/// Diesel's tuples stop at 16 elements by default; the fixed columns take 3.
const MAX_FIELDS: usize = 13;

pub fn check(cx: &Ctxt, container: &Container) {
    check_shape(cx, container);
    check_backend(cx, container);
    if container.store == *container.ident {
        cx.error_spanned_by(
            &container.store,
            format!(
                "`store` names the store's type alias, which cannot have the struct's name\n\n\
                 help: the correct format looks like `#[session(store = {}Store)]`",
                container.ident
            ),
        );
    }
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
        check_type(cx, container, field);
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
        let is_foreign_key = field.references.is_some();
        if let (Some(OnDelete::SetNull), false, true) =
            (field.attrs.on_delete.get(), field.nullable, is_foreign_key)
        {
            cx.error_spanned_by(
                field.attrs.on_delete.tokens(),
                format!(
                    "`on_delete = set_null` needs a nullable column\n\n\
                     help: make the field an `Option`: `{}: Option<{}>`",
                    field.ident,
                    type_name(field.ty)
                ),
            );
        }
        if let (Some(tokens), true) = (field.attrs.default.tokens(), field.nullable) {
            cx.error_spanned_by(
                tokens,
                "an `Option` field defaults to `None`, so `default` does not apply\n\n\
                 help: remove `default`, or make the field a plain value",
            );
        }
    }
    check_unique(cx, container);
    if container.fields.len() > MAX_FIELDS {
        cx.error_spanned_by(
            container.fields[MAX_FIELDS].ident,
            format!(
                "a session struct has at most {MAX_FIELDS} fields: a Diesel table has at most 16 columns, \
                 and `id`, `data` and `expiry_date` take 3\n\n\
                 help: leave the other values out of the struct; they stay in the session's `data`"
            ),
        );
    }
}

/// Whether the field's type has a column type, and a default when it needs
/// one.
fn check_type(cx: &Ctxt, container: &Container, field: &Field) {
    let builtin = Builtin::of(field.value_ty);
    if let Some(sql_type) = field.attrs.sql_type.get() {
        if let Some(rust_type) = rust_type_name(sql_type) {
            let help = match sql_type_of(&rust_type) {
                Some(sql) => format!(
                    "help: for `{rust_type}`, the correct format looks like `#[session(sql_type = diesel::sql_types::{sql})]`, \
                     or leave `sql_type` out: the derive knows `{rust_type}`"
                ),
                None => "help: the correct format looks like `#[session(sql_type = diesel::sql_types::Text)]`"
                    .to_owned(),
            };
            cx.error_spanned_by(
                sql_type,
                format!(
                    "`sql_type` names a Diesel SQL type, not the Rust type `{rust_type}`\n\n{help}"
                ),
            );
        }
    } else if builtin.is_none() && !mentions_generics(field.value_ty, container.generics) {
        cx.error_spanned_by(
            field.value_ty,
            format!(
                "unsupported field type `{}`: the supported types are {SUPPORTED}\n\n{}",
                type_name(field.value_ty),
                unsupported_help(field.value_ty)
            ),
        );
    }
    if builtin == Some(Builtin::DateTime) && !field.nullable && field.default.is_none() {
        cx.error_spanned_by(
            field.ty,
            "`OffsetDateTime` has no `Default`, and a field that is not an `Option` needs a value \
             for sessions without its key\n\n\
             help: make it an `Option<OffsetDateTime>`, or name a function that gives the default with \
             `#[session(default = path::to::function)]`",
        );
    }
}

/// The help note for a type the derive does not know, by what it looks like.
fn unsupported_help(ty: &syn::Type) -> String {
    let name = match ty {
        syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    };
    let signed = match name.as_deref() {
        Some("u8" | "i8") => Some("i16"),
        Some("u16") => Some("i32"),
        Some("u32" | "u64" | "u128" | "i128" | "usize" | "isize") => Some("i64"),
        _ => None,
    };
    if let Some(signed) = signed {
        return format!(
            "help: SQL integers are signed and at most 64 bits on every backend: use `{signed}` \
             if the values fit it"
        );
    }
    if let syn::Type::Reference(reference) = ty {
        let owned = match &*reference.elem {
            syn::Type::Path(path) if path.path.is_ident("str") => "`String`",
            syn::Type::Slice(_) => "`Vec<u8>`",
            _ => "an owned type",
        };
        return format!("help: a session struct owns its values: use {owned}");
    }
    "help: leave the field out of the struct to keep the value in the session's `data`, \
     or give its Diesel SQL type with `#[session(sql_type = diesel::sql_types::Text)]`; \
     the type then needs Diesel's `AsExpression`, `FromSqlRow`, `ToSql` and `FromSql` for that SQL type"
        .to_owned()
}

/// The name of a Rust type that is given where a SQL type belongs.
fn rust_type_name(ty: &syn::Type) -> Option<String> {
    const RUST_TYPES: &[&str] = &[
        "String",
        "str",
        "bool",
        "char",
        "i8",
        "i16",
        "i32",
        "i64",
        "i128",
        "isize",
        "u8",
        "u16",
        "u32",
        "u64",
        "u128",
        "usize",
        "f32",
        "f64",
        "Vec",
        "Option",
        "OffsetDateTime",
    ];
    let syn::Type::Path(syn::TypePath { qself: None, path }) = ty else {
        return None;
    };
    let name = path.segments.last()?.ident.to_string();
    RUST_TYPES.contains(&name.as_str()).then_some(name)
}

/// The Diesel SQL type of a Rust type the derive knows, for help notes.
fn sql_type_of(rust_type: &str) -> Option<&'static str> {
    Some(match rust_type {
        "String" | "str" => "Text",
        "bool" => "Bool",
        "i16" => "SmallInt",
        "i32" => "Integer",
        "i64" => "BigInt",
        "f32" => "Float",
        "f64" => "Double",
        "Vec" => "Binary",
        _ => return None,
    })
}

/// Whether a type names one of the struct's generic parameters, which the
/// shape check already reports.
fn mentions_generics(ty: &syn::Type, generics: &syn::Generics) -> bool {
    fn walk(tokens: TokenStream, generics: &syn::Generics) -> bool {
        let mut lifetime = false;
        tokens.into_iter().any(|token| {
            let found = match &token {
                TokenTree::Ident(ident) if lifetime => generics
                    .lifetimes()
                    .any(|param| param.lifetime.ident == *ident),
                TokenTree::Ident(ident) => {
                    generics.type_params().any(|param| param.ident == *ident)
                }
                TokenTree::Group(group) => walk(group.stream(), generics),
                _ => false,
            };
            lifetime = matches!(&token, TokenTree::Punct(punct) if punct.as_char() == '\'');
            found
        })
    }
    walk(ty.to_token_stream(), generics)
}

/// A type as the user wrote it, without the spaces of `to_string`.
pub fn type_name(ty: &syn::Type) -> String {
    let text = ty.to_token_stream().to_string();
    let chars: Vec<char> = text.chars().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    for (index, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let before = index.checked_sub(1).map(|i| chars[i]);
            let after = chars.get(index + 1).copied();
            let keep = match (before, after) {
                (Some(b), Some(a)) => (word(b) && word(a)) || b == ',' || b == ';',
                _ => false,
            };
            if keep {
                out.push(c);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn check_shape(cx: &Ctxt, container: &Container) {
    if !container.is_named_struct {
        cx.error_spanned_by(
            container.ident,
            "#[derive(SessionStore)] needs a struct with named fields: each field names its column",
        );
    }
    let generics = container.generics;
    let message = "a session struct cannot be generic: its table has one concrete type per column";
    if !generics.params.is_empty() {
        cx.error_spanned_by(generics, message);
    } else if let Some(where_clause) = &generics.where_clause {
        cx.error_spanned_by(where_clause, message);
    }
}

fn check_backend(cx: &Ctxt, container: &Container) {
    check_postgres_only(
        cx,
        container,
        container.unlogged.as_ref(),
        "`unlogged` is a PostgreSQL table option",
        "has no unlogged tables",
        ("unlogged", "unlogged"),
    );
    check_postgres_only(
        cx,
        container,
        container.compression.as_ref().map(|(_, tokens)| tokens),
        "`compression` is PostgreSQL's compression of large values",
        "stores `data` as written",
        ("compression", "compression = pglz"),
    );
    check_data_format(cx, container);
    if container.backend.is_none() {
        cx.error_spanned_by(
            container.ident,
            "missing `backend`: say which database the session table lives on\n\n\
             help: the correct format looks like `#[session(table = http_sessions, backend = sqlite)]`, \
             with `sqlite`, `postgres` or `mysql`",
        );
    }
}

/// A key that only PostgreSQL has: `what` it is, what the other backends do
/// instead (`elsewhere`), and the key with an example of its use.
fn check_postgres_only(
    cx: &Ctxt,
    container: &Container,
    key_tokens: Option<&TokenStream>,
    what: &str,
    elsewhere: &str,
    (key, example): (&str, &str),
) {
    if let (Some(tokens), Some((BackendKind::Sqlite | BackendKind::Mysql, backend))) =
        (key_tokens, &container.backend)
    {
        cx.error_spanned_by(
            tokens,
            format!(
                "{what}, and `backend = {backend}` {elsewhere}\n\n\
                 help: remove `{key}`, or use it with `#[session(backend = postgres, {example})]`"
            ),
        );
    }
}

/// `data = ...` must name a type that the backend offers for the `data`
/// column.
fn check_data_format(cx: &Ctxt, container: &Container) {
    let (Some((format, tokens)), Some((backend, backend_tokens))) =
        (&container.data, &container.backend)
    else {
        return;
    };
    let offered = DataFormat::of_backend(*backend);
    if offered.contains(format) || *backend == BackendKind::Invalid {
        return;
    }
    let message = match offered {
        [default, other] => format!(
            "`data = {}` is not a `data` column type of `backend = {backend_tokens}`, \
             which has `{}` (the default) and `{}`\n\n\
             help: the correct format looks like `#[session(backend = {backend_tokens}, data = {})]`",
            format.name(),
            default.name(),
            other.name(),
            other.name(),
        ),
        _ => format!(
            "`data` chooses the type of the `data` column, and `backend = {backend_tokens}` \
             has one\n\n\
             help: remove `data`; it chooses `jsonb` or `json` on PostgreSQL, `json` or `blob` on MySQL"
        ),
    };
    cx.error_spanned_by(tokens, message);
}

/// Two fields cannot share a column, nor a session key where one path is
/// the other or lies inside it.
fn check_unique(cx: &Ctxt, container: &Container) {
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
