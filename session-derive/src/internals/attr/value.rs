//! The one reader of `key = value`: the value is parsed as an expression,
//! then read as the kind the key wants, and a value of another kind is
//! reported against the key. A key that names one of a fixed set of
//! values (`backend = sqlite`) reads it through [`Names`].

use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;

use super::suggest::closest;
use super::Level;
use crate::internals::symbol::*;
use crate::internals::Ctxt;

/// Parses `= value` as an expression; `None` after reporting when it is
/// missing.
fn expr_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    level: Level,
    key: Symbol,
) -> syn::Result<Option<syn::Expr>> {
    if !meta.input.peek(syn::Token![=]) {
        cx.error_spanned_by(
            &meta.path,
            format!("`{key}` needs a value\n\n{}", level.help(key)),
        );
        return Ok(None);
    }
    Ok(Some(meta.value()?.parse()?))
}

fn wrong_kind(cx: &Ctxt, value: &syn::Expr, level: Level, key: Symbol, kind: &str) {
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
            // A bare SQL type name resolves only where it is imported.
            if key == SQL_TYPE && !path.contains("::") {
                format!("diesel::sql_types::{path}")
            } else {
                path
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
        _ => level.help(key),
    };
    cx.syn_error(syn::Error::new(
        value.span(),
        format!("`{key}` expects {kind}, not {given}\n\n{help}"),
    ));
}

/// Reads a key that stands alone, reporting a value given to it; `true`
/// when the key was written as it should be.
pub fn flag_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    level: Level,
    key: Symbol,
) -> syn::Result<bool> {
    if !meta.input.peek(syn::Token![=]) {
        return Ok(true);
    }
    let value: syn::Expr = meta.value()?.parse()?;
    cx.error_spanned_by(
        value,
        format!("`{key}` takes no value\n\n{}", level.help(key)),
    );
    Ok(false)
}

pub fn path_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    level: Level,
    key: Symbol,
) -> syn::Result<Option<syn::Path>> {
    Ok(match expr_value(cx, meta, level, key)? {
        Some(syn::Expr::Path(syn::ExprPath {
            qself: None, path, ..
        })) => Some(path),
        Some(other) => {
            wrong_kind(cx, &other, level, key, "a path");
            None
        }
        None => None,
    })
}

pub fn ident_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    level: Level,
    key: Symbol,
) -> syn::Result<Option<syn::Ident>> {
    Ok(match expr_value(cx, meta, level, key)? {
        Some(syn::Expr::Path(syn::ExprPath {
            qself: None, path, ..
        })) if path.get_ident().is_some() => path.get_ident().cloned(),
        Some(other) => {
            wrong_kind(cx, &other, level, key, "an identifier");
            None
        }
        None => None,
    })
}

pub fn str_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    level: Level,
    key: Symbol,
) -> syn::Result<Option<syn::LitStr>> {
    Ok(match expr_value(cx, meta, level, key)? {
        Some(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        })) => Some(lit),
        Some(other) => {
            wrong_kind(cx, &other, level, key, "a string literal");
            None
        }
        None => None,
    })
}

/// The values a key such as `backend` names, and how to report another.
pub struct Names<T: 'static> {
    pub key: Symbol,
    /// What a value is, for the error: `backend`, `on_delete rule`.
    pub what: &'static str,
    pub names: &'static [(&'static str, T)],
    /// Other names users write, and the value meant.
    pub aliases: &'static [(&'static str, &'static str)],
    /// The values, for the error: "`sqlite`, `postgres` or `mysql`".
    pub expected: &'static str,
    /// What the help's example writes before `key = value`.
    pub context: &'static str,
    /// A help note of its own for a value written as `.0` (lowercase)
    /// and meant as `.1`, instead of "did you mean".
    pub special_help: fn(&str, &str) -> Option<&'static str>,
}

impl<T: Copy + PartialEq> Names<T> {
    /// The name of `value` as written in the attribute.
    pub fn name(&self, value: T) -> &'static str {
        self.names
            .iter()
            .find(|(_, known)| *known == value)
            .map_or("", |(name, _)| name)
    }

    /// Reads `key = name`, reporting an unknown name with the value meant.
    pub fn parse(
        &self,
        cx: &Ctxt,
        meta: &ParseNestedMeta,
        level: Level,
    ) -> syn::Result<Option<(syn::Ident, Option<T>)>> {
        let Some(ident) = ident_value(cx, meta, level, self.key)? else {
            return Ok(None);
        };
        let value = self.lookup(cx, &ident);
        Ok(Some((ident, value)))
    }

    fn lookup(&self, cx: &Ctxt, ident: &syn::Ident) -> Option<T> {
        let written = ident.to_string();
        if let Some((_, value)) = self.names.iter().find(|(name, _)| *name == written) {
            return Some(*value);
        }
        let lowercase = written.to_ascii_lowercase();
        let suggestion = self
            .aliases
            .iter()
            .find(|(alias, _)| *alias == lowercase)
            .map(|(_, known)| *known)
            .or_else(|| closest(self.names.iter().map(|(name, _)| *name), &lowercase));
        let help = match suggestion {
            Some(known) => match (self.special_help)(&lowercase, known) {
                Some(help) => format!("\n\n{help}"),
                None => format!(
                    "\n\nhelp: did you mean `{known}`? `#[session({}{} = {known})]`",
                    self.context, self.key
                ),
            },
            None => String::new(),
        };
        cx.error_spanned_by(
            ident,
            format!(
                "unknown {} `{written}`, expected {}{help}",
                self.what, self.expected
            ),
        );
        None
    }
}

/// `special_help` for a key without one.
pub fn no_special_help(_: &str, _: &str) -> Option<&'static str> {
    None
}
