//! The Diesel SQL type of a field, read off its Rust type.

use proc_macro2::TokenStream;
use quote::quote;

use super::attr::BackendKind;

/// The column type a supported Rust type maps to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Builtin {
    SmallInt,
    Integer,
    BigInt,
    Float,
    Double,
    Bool,
    Text,
    Binary,
    DateTime,
    Json,
}

pub const SUPPORTED: &str = "i16, i32, i64, f32, f64, bool, String, Vec<u8>, \
     time::OffsetDateTime, serde_json::Value, and Option of each";

impl Builtin {
    /// Recognises a supported type by its last path segment, as
    /// diesel's own derives do; an alias needs `sql_type`.
    pub fn of(ty: &syn::Type) -> Option<Self> {
        let segment = last_segment(ty)?;
        let builtin = match segment.ident.to_string().as_str() {
            "i16" => Builtin::SmallInt,
            "i32" => Builtin::Integer,
            "i64" => Builtin::BigInt,
            "f32" => Builtin::Float,
            "f64" => Builtin::Double,
            "bool" => Builtin::Bool,
            "String" => Builtin::Text,
            "OffsetDateTime" => Builtin::DateTime,
            "Value" => Builtin::Json,
            "Vec" if generic_argument(segment).is_some_and(|inner| is_ident(inner, "u8")) => {
                Builtin::Binary
            }
            _ => return None,
        };
        let has_arguments = !matches!(segment.arguments, syn::PathArguments::None);
        (builtin == Builtin::Binary || !has_arguments).then_some(builtin)
    }

    /// The SQL type, as a path for the `table!` of `backend`.
    pub fn sql_type(
        self,
        krate: &syn::Path,
        backend: BackendKind,
        span: proc_macro2::Span,
    ) -> TokenStream {
        let types = quote!(#krate::__private::diesel::sql_types);
        let module = backend.module(span);
        match self {
            Builtin::SmallInt => quote!(#types::SmallInt),
            Builtin::Integer => quote!(#types::Integer),
            Builtin::BigInt => quote!(#types::BigInt),
            Builtin::Float => quote!(#types::Float),
            Builtin::Double => quote!(#types::Double),
            Builtin::Bool => quote!(#types::Bool),
            Builtin::Text => quote!(#types::Text),
            Builtin::Binary => quote!(#types::Binary),
            Builtin::DateTime => quote!(#krate::__private::#module::DateTime),
            Builtin::Json => quote!(#krate::__private::#module::Json),
        }
    }
}

/// `T` of `Option<T>`, if `ty` is an `Option`.
pub fn option_inner(ty: &syn::Type) -> Option<&syn::Type> {
    let segment = last_segment(ty)?;
    (segment.ident == "Option")
        .then(|| generic_argument(segment))
        .flatten()
}

fn last_segment(ty: &syn::Type) -> Option<&syn::PathSegment> {
    match ty {
        syn::Type::Path(syn::TypePath { qself: None, path }) => path.segments.last(),
        syn::Type::Group(group) => last_segment(&group.elem),
        _ => None,
    }
}

fn generic_argument(segment: &syn::PathSegment) -> Option<&syn::Type> {
    match &segment.arguments {
        syn::PathArguments::AngleBracketed(arguments) if arguments.args.len() == 1 => {
            match arguments.args.first() {
                Some(syn::GenericArgument::Type(ty)) => Some(ty),
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_ident(ty: &syn::Type, name: &str) -> bool {
    matches!(ty, syn::Type::Path(syn::TypePath { qself: None, path }) if path.is_ident(name))
}
