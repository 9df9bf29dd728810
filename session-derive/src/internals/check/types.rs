//! Whether a field's type has a column type.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;

use crate::internals::ast::{Container, Field};
use crate::internals::field_type::{Builtin, SUPPORTED};
use crate::internals::Ctxt;

/// Whether the field's type has a column type, and a default when it needs
/// one.
pub fn check_type(cx: &Ctxt, container: &Container, field: &Field) {
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
