//! `#[session(...)]` on a field.

use super::value::{flag_value, ident_value, path_value, str_value, Names};
use super::{for_each_key, key_tokens, Attr, Level};
use crate::internals::symbol::*;
use crate::internals::Ctxt;

/// `on_delete = ...` of a foreign key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    Cascade,
    SetNull,
    Restrict,
}

impl OnDelete {
    const NAMES: Names<OnDelete> = Names {
        key: ON_DELETE,
        what: "on_delete rule",
        names: &[
            ("cascade", OnDelete::Cascade),
            ("set_null", OnDelete::SetNull),
            ("restrict", OnDelete::Restrict),
        ],
        aliases: &[
            ("setnull", "set_null"),
            ("null", "set_null"),
            ("nullify", "set_null"),
            ("no_action", "restrict"),
            ("noaction", "restrict"),
            ("deny", "restrict"),
            ("protect", "restrict"),
        ],
        expected: "`cascade`, `set_null` or `restrict`",
        context: "references = users, ",
        special_help: super::value::no_special_help,
    };
}

#[derive(Clone)]
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

impl Field {
    pub fn from_ast(cx: &Ctxt, attrs: &[syn::Attribute]) -> Self {
        let mut field = Field {
            key: Attr::none(KEY),
            pointer: Attr::none(POINTER),
            column: Attr::none(COLUMN),
            references: Attr::none(REFERENCES),
            referenced_column: Attr::none(REFERENCED_COLUMN),
            on_delete: Attr::none(ON_DELETE),
            index: Attr::none(INDEX),
            sql_type: Attr::none(SQL_TYPE),
            default: Attr::none(DEFAULT),
        };
        let level = Level::Field;
        for_each_key(cx, attrs, level, |key, meta| {
            let tokens = key_tokens(meta);
            if key == KEY {
                if let Some(lit) = str_value(cx, meta, level, key)? {
                    field.key.set(cx, tokens, lit);
                }
            } else if key == POINTER {
                if let Some(lit) = str_value(cx, meta, level, key)? {
                    field.pointer.set(cx, tokens, lit);
                }
            } else if key == COLUMN {
                if let Some(ident) = ident_value(cx, meta, level, key)? {
                    field.column.set(cx, tokens, ident);
                }
            } else if key == REFERENCES {
                if let Some(path) = path_value(cx, meta, level, key)? {
                    field.references.set(cx, tokens, path);
                }
            } else if key == REFERENCED_COLUMN {
                if let Some(ident) = ident_value(cx, meta, level, key)? {
                    field.referenced_column.set(cx, tokens, ident);
                }
            } else if key == ON_DELETE {
                if let Some((_, Some(rule))) = OnDelete::NAMES.parse(cx, meta, level)? {
                    field.on_delete.set(cx, tokens, rule);
                }
            } else if key == INDEX {
                if flag_value(cx, meta, level, key)? {
                    field.index.set(cx, tokens, ());
                }
            } else if key == SQL_TYPE {
                if let Some(path) = path_value(cx, meta, level, key)? {
                    let ty = syn::Type::Path(syn::TypePath { qself: None, path });
                    field.sql_type.set(cx, tokens, ty);
                }
            } else if key == DEFAULT {
                if let Some(path) = path_value(cx, meta, level, key)? {
                    field.default.set(cx, tokens, path);
                }
            } else {
                unreachable!("for_each_key passes known keys only");
            }
            Ok(())
        });
        field
    }
}
