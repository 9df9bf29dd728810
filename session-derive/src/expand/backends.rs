//! The backends a struct's table is generated for, and the gate that
//! compiles each one only where session-runtime is built with its feature.
//!
//! The derive cannot see the runtime's features, so it asks the runtime:
//! `__private::if_sqlite! { { ... } else { ... } }` expands to its first
//! group when the runtime has SQLite, and to the second when not.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::internals::ast::Container;
use crate::internals::attr::BackendKind;

/// One backend's table of a struct.
pub struct Backend<'a> {
    /// The struct as its table on this backend: its column types, and the
    /// keys this backend has.
    pub container: Container<'a>,
    /// The module under `__private` that names the backend.
    pub module: syn::Ident,
    /// The path of the table's `table!` module from the struct's module:
    /// `http_sessions`, or `http_sessions::sqlite` under `backend = any`.
    pub table: TokenStream,
    /// The ident the `table!` is written with.
    pub table_ident: syn::Ident,
    /// Whether the `table!` is inside the table's module, as under
    /// `backend = any`.
    pub nested: bool,
    gate: syn::Ident,
}

impl<'a> Backend<'a> {
    /// The one backend of a struct that names it.
    pub fn alone(container: &Container<'a>, kind: BackendKind, span: Span) -> Self {
        let table = &container.table;
        Backend {
            container: container.clone(),
            module: kind.module(span),
            table: quote!(#table),
            table_ident: table.clone(),
            nested: false,
            gate: gate(kind, span),
        }
    }

    /// Every backend of a struct with `backend = any`.
    pub fn every(container: &Container<'a>, span: Span) -> Vec<Self> {
        let table = &container.table;
        BackendKind::Any
            .tables()
            .iter()
            .map(|&kind| {
                let module = kind.module(span);
                Backend {
                    container: container.on_backend(kind),
                    table: quote!(#table::#module),
                    table_ident: module.clone(),
                    nested: true,
                    module,
                    gate: gate(kind, span),
                }
            })
            .collect()
    }

    pub fn kind(&self) -> BackendKind {
        self.container
            .backend
            .as_ref()
            .map_or(BackendKind::Invalid, |(kind, _)| *kind)
    }

    /// `items` where session-runtime has this backend, `otherwise` where
    /// it does not.
    pub fn gated(&self, items: TokenStream, otherwise: TokenStream) -> TokenStream {
        let krate = &self.container.krate;
        let gate = &self.gate;
        quote! {
            #krate::__private::#gate! { { #items } else { #otherwise } }
        }
    }

    /// The error of a struct on a backend session-runtime is built
    /// without, on the backend's name in the attribute.
    pub fn missing_feature(&self, span: Span) -> TokenStream {
        let name = self.module.to_string();
        let message = format!(
            "`backend = {name}` needs session-runtime's `{name}` feature\n\n\
             help: enable it in Cargo.toml: `session-runtime = {{ version = \"...\", features = [\"{name}\"] }}`"
        );
        quote_spanned!(span=> ::core::compile_error! { #message })
    }
}

fn gate(kind: BackendKind, span: Span) -> syn::Ident {
    format_ident!("if_{}", kind.module(span))
}
