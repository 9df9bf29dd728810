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
    ("unlogged", "backend = postgres, unlogged"),
    ("data", "backend = postgres, data = json"),
    ("compression", "backend = postgres, compression = pglz"),
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

/// Other names users reach for, from serde, diesel and other derives, and
/// the key that does the job here.
const CONTAINER_ALIASES: &[(&str, &str)] = &[
    ("table_name", "table"),
    ("name", "table"),
    ("rename", "table"),
    ("sql_name", "table"),
    ("db", "backend"),
    ("database", "backend"),
    ("dialect", "backend"),
    ("driver", "backend"),
    ("check_for_backend", "backend"),
    ("store_name", "store"),
    ("krate", "crate"),
    ("no_wal", "unlogged"),
    ("skip_wal", "unlogged"),
    ("data_type", "data"),
    ("data_format", "data"),
    ("json", "data"),
    ("jsonb", "data"),
    ("blob", "data"),
    ("longblob", "data"),
    ("toast_compression", "compression"),
    ("compress", "compression"),
    ("lz4", "compression"),
    ("pglz", "compression"),
];

const FIELD_ALIASES: &[(&str, &str)] = &[
    ("rename", "key"),
    ("name", "key"),
    ("session_key", "key"),
    ("path", "pointer"),
    ("json_pointer", "pointer"),
    ("nested", "pointer"),
    ("column_name", "column"),
    ("sql_name", "column"),
    ("foreign_key", "references"),
    ("belongs_to", "references"),
    ("fk", "references"),
    ("ref", "references"),
    ("referenced_key", "referenced_column"),
    ("primary_key", "referenced_column"),
    ("ondelete", "on_delete"),
    ("delete", "on_delete"),
    ("indexed", "index"),
    ("type", "sql_type"),
    ("sql", "sql_type"),
    ("default_fn", "default"),
    ("default_value", "default"),
];

/// Where an attribute stands: the keys it takes, the help notes, and the
/// names users mistake for its keys.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Container,
    Field,
}

impl Level {
    fn keys(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Level::Container => CONTAINER_KEYS,
            Level::Field => FIELD_KEYS,
        }
    }

    fn aliases(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Level::Container => CONTAINER_ALIASES,
            Level::Field => FIELD_ALIASES,
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

    /// An example of a whole attribute, for one that is not a list.
    fn example(self) -> &'static str {
        match self {
            Level::Container => "table = http_sessions, backend = sqlite",
            Level::Field => "key = \"user_id\"",
        }
    }
}

/// The correct form of a key, for help notes.
fn help(keys: &[(&str, &'static str)], key: &str) -> String {
    format!(
        "help: the correct format looks like `#[session({})]`",
        example(keys, key)
    )
}

fn example(keys: &[(&str, &'static str)], key: &str) -> &'static str {
    keys.iter()
        .find(|(name, _)| *name == key)
        .map_or("", |(_, example)| example)
}

/// The help note for an unknown key: the key on the other level, the key
/// an alias stands for, or a known key within a typo of it.
fn suggest(level: Level, key: &str) -> Option<String> {
    let other = level.other();
    if other.keys().iter().any(|(name, _)| *name == key) {
        return Some(format!(
            "help: `{key}` goes on {}, not on {}: `#[session({})]`",
            other.place(),
            level.place(),
            example(other.keys(), key)
        ));
    }
    let lowercase = key.to_ascii_lowercase();
    // `diesel::column` is read as `column`.
    let lowercase = lowercase.rsplit("::").next().unwrap_or_default();
    let names = |level: Level| level.keys().iter().map(|(name, _)| *name);
    if let Some(known) = level
        .aliases()
        .iter()
        .find(|(alias, _)| *alias == lowercase)
        .map(|(_, name)| *name)
        .or_else(|| closest(names(level), lowercase))
    {
        return Some(format!(
            "help: did you mean `{known}`? The correct format looks like `#[session({})]`",
            example(level.keys(), known)
        ));
    }
    let known = closest(names(other), lowercase)?;
    Some(format!(
        "help: did you mean `{known}`? It goes on {}, not on {}: `#[session({})]`",
        other.place(),
        level.place(),
        example(other.keys(), known)
    ))
}

/// The candidate within a small edit distance of `word`, if any.
fn closest<'a>(candidates: impl IntoIterator<Item = &'a str>, word: &str) -> Option<&'a str> {
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
    /// `backend` was given but could not be read: an unknown name, a value
    /// of the wrong kind, or an attribute that did not parse. Its error is
    /// already reported, so `check` does not also report it missing, and
    /// the input is never expanded but by the fallback.
    Invalid,
}

impl BackendKind {
    const NAMES: &'static [(&'static str, BackendKind)] = &[
        ("sqlite", BackendKind::Sqlite),
        ("postgres", BackendKind::Postgres),
        ("mysql", BackendKind::Mysql),
    ];

    /// Other names of the backends, and what to write instead.
    const ALIASES: &'static [(&'static str, &'static str)] = &[
        ("sqlite3", "sqlite"),
        ("postgresql", "postgres"),
        ("pg", "postgres"),
        ("pgsql", "postgres"),
        ("psql", "postgres"),
        ("mariadb", "mysql"),
        ("maria", "mysql"),
    ];

    /// The module under `__private` that holds the backend's SQL types.
    pub fn module(self, span: Span) -> syn::Ident {
        let name = match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
            BackendKind::Mysql => "mysql",
            BackendKind::Invalid => "invalid_backend",
        };
        syn::Ident::new(name, span)
    }

    /// Reads `backend = name`, reporting an unknown name.
    fn parse(cx: &Ctxt, ident: &syn::Ident) -> BackendKind {
        let name = ident.to_string();
        if let Some((_, kind)) = Self::NAMES.iter().find(|(known, _)| *known == name) {
            return *kind;
        }
        let lowercase = name.to_ascii_lowercase();
        let suggestion = Self::ALIASES
            .iter()
            .find(|(alias, _)| *alias == lowercase)
            .map(|(_, known)| *known)
            .or_else(|| closest(Self::NAMES.iter().map(|(known, _)| *known), &lowercase));
        let help = match suggestion {
            Some("mysql") if lowercase.starts_with("maria") => {
                "\n\nhelp: MariaDB uses `mysql`: `#[session(backend = mysql)]`".to_owned()
            }
            Some(known) => {
                format!("\n\nhelp: did you mean `{known}`? `#[session(backend = {known})]`")
            }
            None => String::new(),
        };
        cx.error_spanned_by(
            ident,
            format!("unknown backend `{name}`, expected `sqlite`, `postgres` or `mysql`{help}"),
        );
        BackendKind::Invalid
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
}

impl DataFormat {
    const NAMES: &'static [(&'static str, DataFormat)] = &[
        ("json", DataFormat::Json),
        ("jsonb", DataFormat::Jsonb),
        ("blob", DataFormat::Blob),
    ];

    /// The value as written in `data = ...`.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, format)| *format == self)
            .map_or("json", |(name, _)| name)
    }

    /// The formats `backend` has: its default first.
    pub fn of_backend(backend: BackendKind) -> &'static [DataFormat] {
        match backend {
            BackendKind::Postgres => &[DataFormat::Jsonb, DataFormat::Json],
            BackendKind::Mysql => &[DataFormat::Json, DataFormat::Blob],
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
    const NAMES: &'static [(&'static str, Compression)] =
        &[("lz4", Compression::Lz4), ("pglz", Compression::Pglz)];
}

/// Reads the value of `key = name` from its table of `names`, reporting an
/// unknown name, a `what`, with the closest known one.
fn named_value<T: Copy>(
    cx: &Ctxt,
    ident: &syn::Ident,
    names: &[(&'static str, T)],
    (key, what): (&str, &str),
    expected: &str,
) -> Option<T> {
    let written = ident.to_string();
    if let Some((_, value)) = names.iter().find(|(name, _)| *name == written) {
        return Some(*value);
    }
    let lowercase = written.to_ascii_lowercase();
    let help = match closest(names.iter().map(|(name, _)| *name), &lowercase) {
        Some(name) => format!("\n\nhelp: did you mean `{name}`? `#[session({key} = {name})]`"),
        None => String::new(),
    };
    cx.error_spanned_by(
        ident,
        format!("unknown {what} `{ident}`, expected {expected}{help}"),
    );
    None
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
    pub unlogged: Attr<()>,
    pub data: Attr<DataFormat>,
    pub compression: Attr<Compression>,
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
            unlogged: Attr::none("unlogged"),
            data: Attr::none("data"),
            compression: Attr::none("compression"),
        };
        let malformed = for_each_key(cx, attrs, Level::Container, |key, meta| {
            let tokens = key_tokens(meta);
            match key.as_str() {
                "table" => {
                    if let Some(ident) = ident_value(cx, meta, CONTAINER_KEYS, "table")? {
                        container.table.set(cx, tokens, ident);
                    }
                }
                "backend" => {
                    // A backend that cannot be read is recorded as invalid,
                    // so that its one error is not followed by "missing".
                    let backend = match ident_value(cx, meta, CONTAINER_KEYS, "backend")? {
                        Some(ident) => (BackendKind::parse(cx, &ident), ident),
                        None => (BackendKind::Invalid, key_ident(meta)),
                    };
                    container.backend.set(cx, tokens, backend);
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
                "unlogged" => {
                    if flag_value(cx, meta, CONTAINER_KEYS, "unlogged")? {
                        container.unlogged.set(cx, tokens, ());
                    }
                }
                "data" => {
                    if let Some(ident) = ident_value(cx, meta, CONTAINER_KEYS, "data")? {
                        let expected = "`jsonb` or `json` on PostgreSQL, `json` or `blob` on MySQL";
                        if let Some(format) = named_value(
                            cx,
                            &ident,
                            DataFormat::NAMES,
                            ("data", "data format"),
                            expected,
                        ) {
                            container.data.set(cx, tokens, format);
                        }
                    }
                }
                "compression" => {
                    if let Some(ident) = ident_value(cx, meta, CONTAINER_KEYS, "compression")? {
                        let expected = "`lz4` (the default) or `pglz`";
                        if let Some(method) = named_value(
                            cx,
                            &ident,
                            Compression::NAMES,
                            ("compression", "compression method"),
                            expected,
                        ) {
                            container.compression.set(cx, tokens, method);
                        }
                    }
                }
                _ => unreachable!("for_each_key passes known keys only"),
            }
            Ok(())
        });
        // The backend may be in the part of an attribute that did not parse.
        if let (Some(span), None) = (malformed, container.backend.get()) {
            let ident = syn::Ident::new("backend", span);
            container
                .backend
                .set(cx, TokenStream::new(), (BackendKind::Invalid, ident));
        }
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
        for_each_key(cx, attrs, Level::Field, |key, meta| {
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
                            None => {
                                let written = ident.to_string().to_ascii_lowercase();
                                let help = match closest(["cascade", "set_null", "restrict"], &written)
                                    .or(match written.as_str() {
                                        "setnull" | "null" | "nullify" => Some("set_null"),
                                        "no_action" | "noaction" | "deny" | "protect" => Some("restrict"),
                                        _ => None,
                                    }) {
                                    Some(rule) => format!(
                                        "\n\nhelp: did you mean `{rule}`? `#[session(references = users, on_delete = {rule})]`"
                                    ),
                                    None => String::new(),
                                };
                                cx.error_spanned_by(
                                    &ident,
                                    format!(
                                        "unknown on_delete rule `{ident}`, expected `cascade`, `set_null` or `restrict`{help}"
                                    ),
                                );
                            }
                        }
                    }
                }
                "index" => {
                    if flag_value(cx, meta, FIELD_KEYS, "index")? {
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

/// The `key` of `key = value` as an identifier; known keys are one.
fn key_ident(meta: &ParseNestedMeta) -> syn::Ident {
    meta.path
        .get_ident()
        .cloned()
        .unwrap_or_else(|| syn::Ident::new("session", meta.path.span()))
}

/// Calls `f` for every known key of every `#[session(...)]`, reporting
/// unknown keys and malformed lists to `cx` without stopping. Returns where
/// the first attribute that could not be read completely is, if any.
fn for_each_key(
    cx: &Ctxt,
    attrs: &[syn::Attribute],
    level: Level,
    mut f: impl FnMut(String, &ParseNestedMeta) -> syn::Result<()>,
) -> Option<Span> {
    let keys = level.keys();
    let mut malformed = None;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("session")) {
        if !matches!(attr.meta, syn::Meta::List(_)) {
            cx.error_spanned_by(
                attr,
                format!(
                    "expected a list of keys in `#[session(...)]`\n\n\
                     help: the correct format looks like `#[session({})]`",
                    level.example()
                ),
            );
            malformed.get_or_insert(attr.span());
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
            let written = meta.path.to_token_stream().to_string().replace(' ', "");
            let suggestion = suggest(level, &written)
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
    let given = match value {
        syn::Expr::Lit(syn::ExprLit { lit, .. }) => match lit {
            syn::Lit::Str(_) => "a string",
            syn::Lit::Int(_) | syn::Lit::Float(_) => "a number",
            syn::Lit::Bool(_) => "a boolean",
            _ => "a literal",
        },
        syn::Expr::Path(path) if path.path.get_ident().is_some() => "an identifier",
        syn::Expr::Path(_) => "a path",
        _ => "an expression",
    };
    // The value the user meant, when only the quotes are wrong.
    let unquoted = match value {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) if kind != "a string literal" => lit.parse::<syn::Path>().ok().map(|path| {
            let path = path.to_token_stream().to_string().replace(' ', "");
            match key {
                // A bare SQL type name resolves only where it is imported.
                "sql_type" if !path.contains("::") => format!("diesel::sql_types::{path}"),
                _ => path,
            }
        }),
        _ => None,
    };
    let quoted = match value {
        syn::Expr::Path(path) if kind == "a string literal" && path.path.get_ident().is_some() => {
            Some(path.to_token_stream().to_string())
        }
        _ => None,
    };
    let help = match (unquoted, quoted) {
        (Some(value), _) => format!("help: write it without quotes: `#[session({key} = {value})]`"),
        (_, Some(value)) => format!("help: write it in quotes: `#[session({key} = \"{value}\")]`"),
        _ => help(keys, key),
    };
    cx.syn_error(syn::Error::new(
        value.span(),
        format!("`{key}` expects {kind}, not {given}\n\n{help}"),
    ));
}

/// Reads a key that stands alone, reporting a value given to it; `true`
/// when the key was written as it should be.
fn flag_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    keys: &[(&str, &'static str)],
    key: &str,
) -> syn::Result<bool> {
    if !meta.input.peek(syn::Token![=]) {
        return Ok(true);
    }
    let value: syn::Expr = meta.value()?.parse()?;
    cx.error_spanned_by(
        value,
        format!("`{key}` takes no value\n\n{}", help(keys, key)),
    );
    Ok(false)
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
            wrong_kind(cx, &other, keys, key, "a path");
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
            wrong_kind(cx, &other, keys, key, "an identifier");
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
