//! `#[session(...)]` on the struct and on its fields.
//!
//! Every value is first parsed as an expression and then read as the kind
//! its key wants (`value`), so a value of the wrong kind is reported
//! against the key and parsing goes on to the next key. `container` and
//! `field` hold what each level reads; `suggest` the help notes for an
//! unknown key.

mod container;
mod field;
mod suggest;
mod value;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;

use super::symbol::*;
use super::Ctxt;

pub use container::{BackendKind, Compression, Container, DataFormat};
pub use field::{Field, OnDelete};

/// The keys on the struct, each with an example of its use.
const CONTAINER_KEYS: &[(Symbol, &str)] = &[
    (TABLE, "table = http_sessions"),
    (BACKEND, "backend = sqlite"),
    (STORE, "store = AppSessionStore"),
    (CRATE, "crate = session_runtime"),
    (UNLOGGED, "backend = postgres, unlogged"),
    (DATA, "backend = postgres, data = json"),
    (COMPRESSION, "backend = postgres, compression = pglz"),
];

/// The keys on a field, each with an example of its use.
const FIELD_KEYS: &[(Symbol, &str)] = &[
    (KEY, "key = \"user_id\""),
    (POINTER, "key = \"axum-login.data\", pointer = \"/user_id\""),
    (COLUMN, "column = user_id"),
    (REFERENCES, "references = users"),
    (
        REFERENCED_COLUMN,
        "references = users, referenced_column = id",
    ),
    (ON_DELETE, "on_delete = cascade"),
    (INDEX, "index"),
    (SQL_TYPE, "sql_type = diesel::sql_types::Text"),
    (DEFAULT, "default = path::to::function"),
];

/// Where an attribute stands: the keys it takes, the help notes, and the
/// names users mistake for its keys.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Container,
    Field,
}

impl Level {
    fn keys(self) -> &'static [(Symbol, &'static str)] {
        match self {
            Level::Container => CONTAINER_KEYS,
            Level::Field => FIELD_KEYS,
        }
    }

    fn other(self) -> Level {
        match self {
            Level::Container => Level::Field,
            Level::Field => Level::Container,
        }
    }

    fn place(self) -> &'static str {
        match self {
            Level::Container => "the struct",
            Level::Field => "a field",
        }
    }

    /// The key of this level named `name`, if any.
    fn key(self, name: &str) -> Option<Symbol> {
        self.keys()
            .iter()
            .map(|(key, _)| *key)
            .find(|key| key.as_str() == name)
    }

    /// An example of a whole attribute, for one that is not a list.
    fn attribute_example(self) -> &'static str {
        match self {
            Level::Container => "table = http_sessions, backend = sqlite",
            Level::Field => "key = \"user_id\"",
        }
    }

    /// An example of the use of `key`.
    fn example(self, key: Symbol) -> &'static str {
        self.keys()
            .iter()
            .find(|(name, _)| *name == key)
            .map_or("", |(_, example)| example)
    }

    /// The help note with the correct form of `key`.
    fn help(self, key: Symbol) -> String {
        format!(
            "help: the correct format looks like `#[session({})]`",
            self.example(key)
        )
    }
}

/// One attribute value, remembering where it was first given so that a
/// second occurrence is reported as a duplicate.
#[derive(Clone)]
pub struct Attr<T> {
    name: Symbol,
    value: Option<(TokenStream, T)>,
}

impl<T> Attr<T> {
    fn none(name: Symbol) -> Self {
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

/// The `key` of `key = value`, for spans that point at the whole pair.
fn key_tokens(meta: &ParseNestedMeta) -> TokenStream {
    meta.path.to_token_stream()
}

/// The `key` of `key = value` as an identifier; known keys are one.
fn key_ident(meta: &ParseNestedMeta) -> syn::Ident {
    meta.path
        .get_ident()
        .cloned()
        .unwrap_or_else(|| syn::Ident::new(SESSION.as_str(), meta.path.span()))
}

/// Calls `f` for every known key of every `#[session(...)]`, reporting
/// unknown keys and malformed lists to `cx` without stopping. Returns where
/// the first attribute that could not be read completely is, if any.
fn for_each_key(
    cx: &Ctxt,
    attrs: &[syn::Attribute],
    level: Level,
    mut f: impl FnMut(Symbol, &ParseNestedMeta) -> syn::Result<()>,
) -> Option<Span> {
    let mut malformed = None;
    for attr in attrs.iter().filter(|attr| attr.path() == SESSION) {
        if !matches!(attr.meta, syn::Meta::List(_)) {
            cx.error_spanned_by(
                attr,
                format!(
                    "expected a list of keys in `#[session(...)]`\n\n\
                     help: the correct format looks like `#[session({})]`",
                    level.attribute_example()
                ),
            );
            malformed.get_or_insert(attr.span());
            continue;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            let name = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            if let Some(key) = level.key(&name) {
                return f(key, &meta);
            }
            let expected = level
                .keys()
                .iter()
                .map(|(name, _)| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let written = meta.path.to_token_stream().to_string().replace(' ', "");
            let suggestion = suggest::suggest(level, &written)
                .map(|help| format!("\n\n{help}"))
                .unwrap_or_default();
            cx.error_spanned_by(
                &meta.path,
                format!(
                    "unknown session attribute `{written}`, expected one of {expected}{suggestion}"
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
            malformed.get_or_insert(error.span());
            cx.syn_error(error);
        }
    }
    malformed
}
