//! `#[session(...)]` on the struct and on its fields.
//!
//! Every value is first parsed as an expression and then read as the kind
//! its key wants, so a value of the wrong kind is reported against the key
//! and parsing goes on to the next key.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;

use super::Ctxt;

const CONTAINER_KEYS: &[(&str, &str)] = &[
    ("table", "table = http_sessions"),
    ("backend", "backend = sqlite"),
    ("store", "store = AppSessionStore"),
    ("crate", "crate = session_runtime"),
];

const FIELD_KEYS: &[(&str, &str)] = &[
    ("key", "key = \"user_id\""),
    (
        "pointer",
        "key = \"axum-login.data\", pointer = \"/user_id\"",
    ),
    ("column", "column = user_id"),
    ("references", "references = users"),
    (
        "referenced_column",
        "references = users, referenced_column = id",
    ),
    ("on_delete", "on_delete = cascade"),
    ("index", "index"),
    ("sql_type", "sql_type = diesel::sql_types::Text"),
    ("default", "default = path::to::function"),
];

/// The correct form of a key, for help notes.
fn help(keys: &[(&str, &'static str)], key: &str) -> String {
    let example = keys
        .iter()
        .find(|(name, _)| *name == key)
        .map_or("", |(_, example)| example);
    format!("help: the correct format looks like `#[session({example})]`")
}

/// One attribute value, remembering where it was first given so that a
/// second occurrence is reported as a duplicate.
pub struct Attr<T> {
    name: &'static str,
    value: Option<(TokenStream, T)>,
}

impl<T> Attr<T> {
    fn none(name: &'static str) -> Self {
        Attr { name, value: None }
    }

    fn set(&mut self, cx: &Ctxt, tokens: impl ToTokens, value: T) {
        let tokens = tokens.into_token_stream();
        if self.value.is_some() {
            cx.error_spanned_by(
                tokens,
                format!("duplicate session attribute `{}`", self.name),
            );
        } else {
            self.value = Some((tokens, value));
        }
    }

    pub fn get(&self) -> Option<&T> {
        self.value.as_ref().map(|(_, value)| value)
    }

    /// The tokens of `key = value`, to point errors at.
    pub fn tokens(&self) -> Option<&TokenStream> {
        self.value.as_ref().map(|(tokens, _)| tokens)
    }
}

/// The database a struct's table lives on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
    Mysql,
}

impl BackendKind {
    /// The module under `__private` that holds the backend's SQL types.
    pub fn module(self, span: Span) -> syn::Ident {
        let name = match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
            BackendKind::Mysql => "mysql",
        };
        syn::Ident::new(name, span)
    }
}

/// `on_delete = ...` of a foreign key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    Cascade,
    SetNull,
    Restrict,
}

pub struct Container {
    pub table: Attr<syn::Ident>,
    pub backend: Attr<(BackendKind, syn::Ident)>,
    pub store: Attr<syn::Ident>,
    pub krate: Attr<syn::Path>,
}

pub struct Field {
    pub key: Attr<syn::LitStr>,
    pub pointer: Attr<syn::LitStr>,
    pub column: Attr<syn::Ident>,
    pub references: Attr<syn::Path>,
    pub referenced_column: Attr<syn::Ident>,
    pub on_delete: Attr<OnDelete>,
    pub index: Attr<()>,
    pub sql_type: Attr<syn::Type>,
    pub default: Attr<syn::Path>,
}

impl Container {
    pub fn from_ast(cx: &Ctxt, attrs: &[syn::Attribute]) -> Self {
        let mut container = Container {
            table: Attr::none("table"),
            backend: Attr::none("backend"),
            store: Attr::none("store"),
            krate: Attr::none("crate"),
        };
        for_each_key(cx, attrs, CONTAINER_KEYS, |key, meta| {
            let tokens = key_tokens(meta);
            match key.as_str() {
                "table" => {
                    if let Some(ident) = ident_value(cx, meta, CONTAINER_KEYS, "table")? {
                        container.table.set(cx, tokens, ident);
                    }
                }
                "backend" => {
                    if let Some(ident) = ident_value(cx, meta, CONTAINER_KEYS, "backend")? {
                        let kind = match ident.to_string().as_str() {
                            "sqlite" => Some(BackendKind::Sqlite),
                            "postgres" => Some(BackendKind::Postgres),
                            "mysql" => Some(BackendKind::Mysql),
                            _ => None,
                        };
                        match kind {
                            Some(kind) => container.backend.set(cx, tokens, (kind, ident)),
                            None => cx.error_spanned_by(
                                &ident,
                                format!(
                                    "unknown backend `{ident}`, expected `sqlite`, `postgres` or `mysql`\n\n\
                                     help: MariaDB uses `mysql`"
                                ),
                            ),
                        }
                    }
                }
                "store" => {
                    if let Some(ident) = ident_value(cx, meta, CONTAINER_KEYS, "store")? {
                        container.store.set(cx, tokens, ident);
                    }
                }
                "crate" => {
                    if let Some(path) = path_value(cx, meta, CONTAINER_KEYS, "crate")? {
                        container.krate.set(cx, tokens, path);
                    }
                }
                _ => unreachable!("for_each_key passes known keys only"),
            }
            Ok(())
        });
        container
    }
}

impl Field {
    pub fn from_ast(cx: &Ctxt, attrs: &[syn::Attribute]) -> Self {
        let mut field = Field {
            key: Attr::none("key"),
            pointer: Attr::none("pointer"),
            column: Attr::none("column"),
            references: Attr::none("references"),
            referenced_column: Attr::none("referenced_column"),
            on_delete: Attr::none("on_delete"),
            index: Attr::none("index"),
            sql_type: Attr::none("sql_type"),
            default: Attr::none("default"),
        };
        for_each_key(cx, attrs, FIELD_KEYS, |key, meta| {
            let tokens = key_tokens(meta);
            match key.as_str() {
                "key" => {
                    if let Some(lit) = str_value(cx, meta, FIELD_KEYS, "key")? {
                        field.key.set(cx, tokens, lit);
                    }
                }
                "pointer" => {
                    if let Some(lit) = str_value(cx, meta, FIELD_KEYS, "pointer")? {
                        field.pointer.set(cx, tokens, lit);
                    }
                }
                "column" => {
                    if let Some(ident) = ident_value(cx, meta, FIELD_KEYS, "column")? {
                        field.column.set(cx, tokens, ident);
                    }
                }
                "references" => {
                    if let Some(path) = path_value(cx, meta, FIELD_KEYS, "references")? {
                        field.references.set(cx, tokens, path);
                    }
                }
                "referenced_column" => {
                    if let Some(ident) = ident_value(cx, meta, FIELD_KEYS, "referenced_column")? {
                        field.referenced_column.set(cx, tokens, ident);
                    }
                }
                "on_delete" => {
                    if let Some(ident) = ident_value(cx, meta, FIELD_KEYS, "on_delete")? {
                        let rule = match ident.to_string().as_str() {
                            "cascade" => Some(OnDelete::Cascade),
                            "set_null" => Some(OnDelete::SetNull),
                            "restrict" => Some(OnDelete::Restrict),
                            _ => None,
                        };
                        match rule {
                            Some(rule) => field.on_delete.set(cx, tokens, rule),
                            None => cx.error_spanned_by(
                                &ident,
                                format!(
                                    "unknown on_delete rule `{ident}`, expected `cascade`, `set_null` or `restrict`"
                                ),
                            ),
                        }
                    }
                }
                "index" => {
                    if meta.input.peek(syn::Token![=]) {
                        let value: syn::Expr = meta.value()?.parse()?;
                        cx.error_spanned_by(
                            value,
                            format!("`index` takes no value\n\n{}", help(FIELD_KEYS, "index")),
                        );
                    } else {
                        field.index.set(cx, tokens, ());
                    }
                }
                "sql_type" => {
                    if let Some(path) = path_value(cx, meta, FIELD_KEYS, "sql_type")? {
                        let ty = syn::Type::Path(syn::TypePath { qself: None, path });
                        field.sql_type.set(cx, tokens, ty);
                    }
                }
                "default" => {
                    if let Some(path) = path_value(cx, meta, FIELD_KEYS, "default")? {
                        field.default.set(cx, tokens, path);
                    }
                }
                _ => unreachable!("for_each_key passes known keys only"),
            }
            Ok(())
        });
        field
    }
}

/// The `key` of `key = value`, for spans that point at the whole pair.
fn key_tokens(meta: &ParseNestedMeta) -> TokenStream {
    meta.path.to_token_stream()
}

/// Calls `f` for every known key of every `#[session(...)]`, reporting
/// unknown keys and malformed lists to `cx` without stopping.
fn for_each_key(
    cx: &Ctxt,
    attrs: &[syn::Attribute],
    keys: &[(&str, &'static str)],
    mut f: impl FnMut(String, &ParseNestedMeta) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("session")) {
        if let syn::Meta::Path(_) = attr.meta {
            cx.error_spanned_by(
                attr,
                format!(
                    "expected a list of keys in `#[session(...)]`\n\n{}",
                    help(keys, keys[0].0)
                ),
            );
            continue;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            if keys.iter().any(|(name, _)| *name == key) {
                return f(key, &meta);
            }
            let expected = keys
                .iter()
                .map(|(name, _)| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ");
            cx.error_spanned_by(
                &meta.path,
                format!(
                    "unknown session attribute `{}`, expected one of {expected}",
                    meta.path.to_token_stream().to_string().replace(' ', "")
                ),
            );
            // Skip the value, if any, so that the next key is still read.
            if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<syn::Expr>()?;
            } else if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|_| Ok(()))?;
            }
            Ok(())
        });
        if let Err(error) = parsed {
            cx.syn_error(error);
        }
    }
}

/// Parses `= value` as an expression; `None` after reporting when it is
/// missing.
fn expr_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    keys: &[(&str, &'static str)],
    key: &str,
) -> syn::Result<Option<syn::Expr>> {
    if !meta.input.peek(syn::Token![=]) {
        cx.error_spanned_by(
            &meta.path,
            format!("`{key}` needs a value\n\n{}", help(keys, key)),
        );
        return Ok(None);
    }
    Ok(Some(meta.value()?.parse()?))
}

fn wrong_kind(cx: &Ctxt, value: &syn::Expr, keys: &[(&str, &'static str)], key: &str, kind: &str) {
    cx.syn_error(syn::Error::new(
        value.span(),
        format!("`{key}` expects {kind}\n\n{}", help(keys, key)),
    ));
}

fn path_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    keys: &[(&str, &'static str)],
    key: &str,
) -> syn::Result<Option<syn::Path>> {
    Ok(match expr_value(cx, meta, keys, key)? {
        Some(syn::Expr::Path(syn::ExprPath {
            qself: None, path, ..
        })) => Some(path),
        Some(other) => {
            wrong_kind(
                cx,
                &other,
                keys,
                key,
                "a path, not a string or other expression",
            );
            None
        }
        None => None,
    })
}

fn ident_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    keys: &[(&str, &'static str)],
    key: &str,
) -> syn::Result<Option<syn::Ident>> {
    Ok(match expr_value(cx, meta, keys, key)? {
        Some(syn::Expr::Path(syn::ExprPath {
            qself: None, path, ..
        })) if path.get_ident().is_some() => path.get_ident().cloned(),
        Some(other) => {
            wrong_kind(
                cx,
                &other,
                keys,
                key,
                "an identifier, not a string or a path",
            );
            None
        }
        None => None,
    })
}

fn str_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    keys: &[(&str, &'static str)],
    key: &str,
) -> syn::Result<Option<syn::LitStr>> {
    Ok(match expr_value(cx, meta, keys, key)? {
        Some(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        })) => Some(lit),
        Some(other) => {
            wrong_kind(cx, &other, keys, key, "a string literal");
            None
        }
        None => None,
    })
}
