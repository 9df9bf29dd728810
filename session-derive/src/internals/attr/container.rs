//! `#[session(...)]` on the struct.

use proc_macro2::{Span, TokenStream};

use super::value::{flag_value, ident_value, no_special_help, path_value, Names};
use super::{for_each_key, key_ident, key_tokens, Attr, Level};
use crate::internals::symbol::*;
use crate::internals::Ctxt;

/// The database a struct's table lives on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
    Mysql,
    /// `backend = any`: every backend session-runtime is built with, the
    /// one a store runs on chosen by its URL at run time.
    Any,
    /// `backend` was given but could not be read: an unknown name, a value
    /// of the wrong kind, or an attribute that did not parse. Its error is
    /// already reported, so `check` does not also report it missing, and
    /// the input is never expanded but by the fallback.
    Invalid,
}

impl BackendKind {
    const NAMES: Names<BackendKind> = Names {
        key: BACKEND,
        what: "backend",
        names: &[
            ("sqlite", BackendKind::Sqlite),
            ("postgres", BackendKind::Postgres),
            ("mysql", BackendKind::Mysql),
            ("any", BackendKind::Any),
        ],
        aliases: &[
            ("sqlite3", "sqlite"),
            ("postgresql", "postgres"),
            ("pg", "postgres"),
            ("pgsql", "postgres"),
            ("psql", "postgres"),
            ("mariadb", "mysql"),
            ("maria", "mysql"),
            ("all", "any"),
            ("multi", "any"),
        ],
        expected: "`sqlite`, `postgres`, `mysql`, or `any` for the one its URL names at run time",
        context: "",
        special_help: |written, known| {
            (known == "mysql" && written.starts_with("maria"))
                .then_some("help: MariaDB uses `mysql`: `#[session(backend = mysql)]`")
        },
    };

    /// The module under `__private` that holds the backend's SQL types.
    pub fn module(self, span: Span) -> syn::Ident {
        let name = match self {
            BackendKind::Invalid => "invalid_backend",
            known => Self::NAMES.name(known),
        };
        syn::Ident::new(name, span)
    }

    /// The backend's name in documentation.
    pub fn display_name(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "SQLite",
            BackendKind::Postgres => "PostgreSQL",
            BackendKind::Mysql => "MySQL and MariaDB",
            BackendKind::Any => "every backend",
            BackendKind::Invalid => "no backend",
        }
    }

    /// The backends a table is generated for: this one, or every one for
    /// `any`.
    pub fn tables(self) -> &'static [BackendKind] {
        match self {
            BackendKind::Sqlite => &[BackendKind::Sqlite],
            BackendKind::Postgres => &[BackendKind::Postgres],
            BackendKind::Mysql => &[BackendKind::Mysql],
            BackendKind::Any => &[
                BackendKind::Sqlite,
                BackendKind::Postgres,
                BackendKind::Mysql,
            ],
            BackendKind::Invalid => &[],
        }
    }
}

/// `data = ...`: the SQL type of the `data` column.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// `JSON`: on PostgreSQL the text as written, checked but not parsed
    /// into a tree; MySQL's default.
    Json,
    /// `JSONB`, PostgreSQL's default.
    Jsonb,
    /// MySQL's `LONGBLOB`: the same JSON text, which the server neither
    /// validates nor checks as UTF-8.
    Blob,
    /// The JSON sealed with the store's keys, in the backend's binary
    /// string type: on every backend.
    Encrypted,
}

impl DataFormat {
    const NAMES: Names<DataFormat> = Names {
        key: DATA,
        what: "data format",
        names: &[
            ("json", DataFormat::Json),
            ("jsonb", DataFormat::Jsonb),
            ("blob", DataFormat::Blob),
            ("encrypted", DataFormat::Encrypted),
        ],
        aliases: &[("encrypt", "encrypted"), ("encryption", "encrypted")],
        expected: "`jsonb` or `json` on PostgreSQL, `json` or `blob` on MySQL, `encrypted` on any",
        context: "",
        special_help: no_special_help,
    };

    /// The value as written in `data = ...`.
    pub fn name(self) -> &'static str {
        Self::NAMES.name(self)
    }

    /// The formats `backend` has: its default first.
    pub fn of_backend(backend: BackendKind) -> &'static [DataFormat] {
        match backend {
            BackendKind::Postgres => &[DataFormat::Jsonb, DataFormat::Json],
            BackendKind::Mysql => &[DataFormat::Json, DataFormat::Blob],
            // The choice that means the same on both backends that have one.
            BackendKind::Any => &[DataFormat::Json],
            BackendKind::Sqlite | BackendKind::Invalid => &[],
        }
    }
}

/// `compression = ...`: how PostgreSQL compresses large `data` values.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Lz4,
    Pglz,
}

impl Compression {
    const NAMES: Names<Compression> = Names {
        key: COMPRESSION,
        what: "compression method",
        names: &[("lz4", Compression::Lz4), ("pglz", Compression::Pglz)],
        aliases: &[],
        expected: "`lz4` (the default) or `pglz`",
        context: "",
        special_help: no_special_help,
    };
}

pub struct Container {
    pub table: Attr<syn::Ident>,
    pub backend: Attr<(BackendKind, syn::Ident)>,
    pub store: Attr<syn::Ident>,
    pub krate: Attr<syn::Path>,
    pub unlogged: Attr<()>,
    pub data: Attr<DataFormat>,
    pub compression: Attr<Compression>,
}

impl Container {
    pub fn from_ast(cx: &Ctxt, attrs: &[syn::Attribute]) -> Self {
        let mut container = Container {
            table: Attr::none(TABLE),
            backend: Attr::none(BACKEND),
            store: Attr::none(STORE),
            krate: Attr::none(CRATE),
            unlogged: Attr::none(UNLOGGED),
            data: Attr::none(DATA),
            compression: Attr::none(COMPRESSION),
        };
        let level = Level::Container;
        let malformed = for_each_key(cx, attrs, level, |key, meta| {
            let tokens = key_tokens(meta);
            if key == TABLE {
                if let Some(ident) = ident_value(cx, meta, level, key)? {
                    container.table.set(cx, tokens, ident);
                }
            } else if key == BACKEND {
                // A backend that cannot be read is recorded as invalid,
                // so that its one error is not followed by "missing".
                let backend = match BackendKind::NAMES.parse(cx, meta, level)? {
                    Some((ident, kind)) => (kind.unwrap_or(BackendKind::Invalid), ident),
                    None => (BackendKind::Invalid, key_ident(meta)),
                };
                container.backend.set(cx, tokens, backend);
            } else if key == STORE {
                if let Some(ident) = ident_value(cx, meta, level, key)? {
                    container.store.set(cx, tokens, ident);
                }
            } else if key == CRATE {
                if let Some(path) = path_value(cx, meta, level, key)? {
                    container.krate.set(cx, tokens, path);
                }
            } else if key == UNLOGGED {
                if flag_value(cx, meta, level, key)? {
                    container.unlogged.set(cx, tokens, ());
                }
            } else if key == DATA {
                if let Some((_, Some(format))) = DataFormat::NAMES.parse(cx, meta, level)? {
                    container.data.set(cx, tokens, format);
                }
            } else if key == COMPRESSION {
                if let Some((_, Some(method))) = Compression::NAMES.parse(cx, meta, level)? {
                    container.compression.set(cx, tokens, method);
                }
            } else {
                unreachable!("for_each_key passes known keys only");
            }
            Ok(())
        });
        // The backend may be in the part of an attribute that did not parse.
        if let (Some(span), None) = (malformed, container.backend.get()) {
            let ident = syn::Ident::new(BACKEND.as_str(), span);
            container
                .backend
                .set(cx, TokenStream::new(), (BackendKind::Invalid, ident));
        }
        container
    }
}
