//! Every key of `#[session(...)]`, named once, as serde_derive's
//! `symbol.rs` does: the parser matches on these, and the error messages
//! and the did-you-mean lists print them.

use std::fmt::{self, Display};

/// The name of an attribute key.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Symbol(&'static str);

/// The attribute itself: `#[session(...)]`.
pub const SESSION: Symbol = Symbol("session");

// On the struct.
pub const TABLE: Symbol = Symbol("table");
pub const BACKEND: Symbol = Symbol("backend");
pub const STORE: Symbol = Symbol("store");
pub const CRATE: Symbol = Symbol("crate");
pub const UNLOGGED: Symbol = Symbol("unlogged");
pub const DATA: Symbol = Symbol("data");
pub const COMPRESSION: Symbol = Symbol("compression");

// On a field.
pub const KEY: Symbol = Symbol("key");
pub const POINTER: Symbol = Symbol("pointer");
pub const COLUMN: Symbol = Symbol("column");
pub const REFERENCES: Symbol = Symbol("references");
pub const REFERENCED_COLUMN: Symbol = Symbol("referenced_column");
pub const ON_DELETE: Symbol = Symbol("on_delete");
pub const INDEX: Symbol = Symbol("index");
pub const SQL_TYPE: Symbol = Symbol("sql_type");
pub const DEFAULT: Symbol = Symbol("default");

impl Symbol {
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl PartialEq<Symbol> for syn::Ident {
    fn eq(&self, word: &Symbol) -> bool {
        self == word.0
    }
}

impl PartialEq<Symbol> for &syn::Ident {
    fn eq(&self, word: &Symbol) -> bool {
        *self == word.0
    }
}

impl PartialEq<Symbol> for syn::Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl PartialEq<Symbol> for &syn::Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl Display for Symbol {
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str(self.0)
    }
}
