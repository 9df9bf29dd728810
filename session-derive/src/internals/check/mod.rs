//! What is wrong with an input that parsed: a list of named checks, run
//! in order, each reporting to `Ctxt` and none stopping the others.

mod types;
mod unique;

use proc_macro2::TokenStream;

use super::ast::{unraw, Container, Field};
use super::attr::{BackendKind, DataFormat, OnDelete};
use super::symbol::*;
use super::Ctxt;

/// Fixed columns of every session table.
const RESERVED_COLUMNS: &[&str] = &[
    "id",
    "data",
    "expiry_date",
    "created_at",
    "authenticated_at",
];

/// Diesel's tuples stop at 16 elements by default; the fixed columns take 5.
const MAX_FIELDS: usize = 11;

/// A check of the whole struct.
type Check = fn(&Ctxt, &Container);

/// A check of one field.
type FieldCheck = fn(&Ctxt, &Container, &Field);

/// The checks of the struct, by name, in the order their errors are
/// reported.
const CHECKS: &[(&str, Check)] = &[
    ("shape", check_shape),
    ("backend", check_backend),
    ("store name", check_store_name),
    ("fields", check_fields),
    ("unique columns and keys", unique::check_unique),
    ("field count", check_field_count),
];

/// The checks of each field, run one field after the other so that a
/// field's errors are reported together.
const FIELD_CHECKS: &[(&str, FieldCheck)] = &[
    ("reserved column", check_reserved_column),
    ("type", types::check_type),
    ("foreign key keys", check_foreign_key_keys),
    ("set_null on a nullable column", check_set_null),
    ("default on a plain value", check_default),
];

pub fn check(cx: &Ctxt, container: &Container) {
    for (_name, check) in CHECKS {
        check(cx, container);
    }
}

/// Runs `FIELD_CHECKS` on every field.
fn check_fields(cx: &Ctxt, container: &Container) {
    for field in &container.fields {
        for (_name, check) in FIELD_CHECKS {
            check(cx, container, field);
        }
    }
}

/// The store alias cannot have the struct's name.
fn check_store_name(cx: &Ctxt, container: &Container) {
    if container.store == *container.ident {
        cx.error_spanned_by(
            &container.store,
            format!(
                "`{STORE}` names the store's type alias, which cannot have the struct's name\n\n\
                 help: the correct format looks like `#[session({STORE} = {}Store)]`",
                container.ident
            ),
        );
    }
}

/// A field cannot take one of the fixed columns.
fn check_reserved_column(cx: &Ctxt, container: &Container, field: &Field) {
    let column = unraw(&field.column);
    if RESERVED_COLUMNS.contains(&column.as_str()) {
        // A column the help can name: one that no other field has.
        let taken = |name: &String| {
            container
                .fields
                .iter()
                .any(|field| unraw(&field.column) == *name)
        };
        let other = [format!("user_{column}"), format!("{column}_value")]
            .into_iter()
            .find(|name| !taken(name))
            .unwrap_or_else(|| format!("other_{column}"));
        cx.error_spanned_by(
            &field.column,
            format!(
                "`{column}` is a fixed column of every session table\n\n\
                 help: rename the field, or store it in another column with `#[session({COLUMN} = {other})]`"
            ),
        );
    }
}

/// `on_delete` and `referenced_column` need `references`.
fn check_foreign_key_keys(cx: &Ctxt, _: &Container, field: &Field) {
    if field.references.is_some() {
        return;
    }
    for (tokens, key) in [
        (field.attrs.on_delete.tokens(), ON_DELETE),
        (field.attrs.referenced_column.tokens(), REFERENCED_COLUMN),
    ] {
        if let Some(tokens) = tokens {
            cx.error_spanned_by(
                tokens,
                format!(
                    "`{key}` applies to a foreign key\n\n\
                     help: the correct format looks like `#[session({REFERENCES} = users, {key} = ...)]`"
                ),
            );
        }
    }
}

/// `on_delete = set_null` needs a nullable column.
fn check_set_null(cx: &Ctxt, _: &Container, field: &Field) {
    let is_foreign_key = field.references.is_some();
    if let (Some(OnDelete::SetNull), false, true) =
        (field.attrs.on_delete.get(), field.nullable, is_foreign_key)
    {
        cx.error_spanned_by(
            field.attrs.on_delete.tokens(),
            format!(
                "`{ON_DELETE} = set_null` needs a nullable column\n\n\
                 help: make the field an `Option`: `{}: Option<{}>`",
                field.ident,
                types::type_name(field.ty)
            ),
        );
    }
}

/// An `Option` field defaults to `None`, so `default` does not apply.
fn check_default(cx: &Ctxt, _: &Container, field: &Field) {
    if let (Some(tokens), true) = (field.attrs.default.tokens(), field.nullable) {
        cx.error_spanned_by(
            tokens,
            format!(
                "an `Option` field defaults to `None`, so `{DEFAULT}` does not apply\n\n\
                 help: remove `{DEFAULT}`, or make the field a plain value"
            ),
        );
    }
}

/// A Diesel table has at most 16 columns.
fn check_field_count(cx: &Ctxt, container: &Container) {
    if container.fields.len() > MAX_FIELDS {
        cx.error_spanned_by(
            container.fields[MAX_FIELDS].ident,
            format!(
                "a session struct has at most {MAX_FIELDS} fields: a Diesel table has at most 16 columns, \
                 and `id`, `data`, `expiry_date`, `created_at` and `authenticated_at` take 5\n\n\
                 help: leave the other values out of the struct; they stay in the session's `data`"
            ),
        );
    }
}

/// A struct with named fields and no generics.
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

/// `backend` is given, and the keys fit it.
fn check_backend(cx: &Ctxt, container: &Container) {
    check_postgres_only(
        cx,
        container,
        container.unlogged.as_ref(),
        "is a PostgreSQL table option",
        "has no unlogged tables",
        (UNLOGGED, ""),
    );
    check_postgres_only(
        cx,
        container,
        container.compression.as_ref().map(|(_, tokens)| tokens),
        "is PostgreSQL's compression of large values",
        "stores `data` as written",
        (COMPRESSION, " = pglz"),
    );
    check_data_format(cx, container);
    check_encrypted_compression(cx, container);
    if container.backend.is_none() {
        cx.error_spanned_by(
            container.ident,
            format!(
                "missing `{BACKEND}`: say which database the session table lives on\n\n\
                 help: the correct format looks like `#[session({TABLE} = http_sessions, {BACKEND} = sqlite)]`, \
                 with `sqlite`, `postgres` or `mysql`, or `any` for the one a URL names at run time"
            ),
        );
    }
}

/// A key that only PostgreSQL has: `what` it is, what the other backends do
/// instead (`elsewhere`), and the key with what follows it in an example.
fn check_postgres_only(
    cx: &Ctxt,
    container: &Container,
    key_tokens: Option<&TokenStream>,
    what: &str,
    elsewhere: &str,
    (key, value): (Symbol, &str),
) {
    if let (Some(tokens), Some((BackendKind::Sqlite | BackendKind::Mysql, backend))) =
        (key_tokens, &container.backend)
    {
        cx.error_spanned_by(
            tokens,
            format!(
                "`{key}` {what}, and `{BACKEND} = {backend}` {elsewhere}\n\n\
                 help: remove `{key}`, or use it with `#[session({BACKEND} = postgres, {key}{value})]`"
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
    if offered.contains(format)
        || *format == DataFormat::Encrypted
        || *backend == BackendKind::Invalid
    {
        return;
    }
    let message = match offered {
        _ if *backend == BackendKind::Any => format!(
            "`data = {}` is a `data` column type of one backend, and `backend = {backend_tokens}` \
             puts the table on every backend\n\n\
             help: leave `data` out for `jsonb` on PostgreSQL and `json` on MySQL, or write \
             `data = json` for `json` on both",
            format.name(),
        ),
        [default, other] => format!(
            "`data = {}` is not a `data` column type of `backend = {backend_tokens}`, \
             which has `{}` (the default) and `{}`, and `encrypted` as every backend\n\n\
             help: the correct format looks like `#[session(backend = {backend_tokens}, data = {})]`",
            format.name(),
            default.name(),
            other.name(),
            other.name(),
        ),
        _ => format!(
            "`data = {}` is not a `data` column type of `backend = {backend_tokens}`, which \
             has one, `TEXT`, and `encrypted` as every backend\n\n\
             help: remove `data`, or encrypt it: `#[session(backend = {backend_tokens}, data = encrypted)]`",
            format.name()
        ),
    };
    cx.error_spanned_by(tokens, message);
}

/// Encrypted `data` does not compress, so a compression method for it
/// would promise what it cannot do.
fn check_encrypted_compression(cx: &Ctxt, container: &Container) {
    if let (Some((DataFormat::Encrypted, _)), Some((_, tokens))) =
        (&container.data, &container.compression)
    {
        cx.error_spanned_by(
            tokens,
            format!(
                "`{COMPRESSION}` compresses `data`, and `data = encrypted` does not compress: \
                 ciphertext looks random\n\n\
                 help: remove `{COMPRESSION}`; the encrypted column takes none"
            ),
        );
    }
}
