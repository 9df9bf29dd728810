//! The pieces every file of generated queries is made of.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::internals::ast::Container;

pub struct QueryParts<'a> {
    /// `::session_runtime::__private::diesel`.
    pub diesel: TokenStream,
    /// diesel-async's `RunQueryDsl`, called by path: a user's
    /// `diesel::prelude::*` brings diesel's own into scope, and method calls
    /// would be ambiguous.
    pub run: TokenStream,
    /// The expression-building traits the query bodies use.
    pub imports: TokenStream,
    /// Per field, in declaration order: its name, its column, its type and
    /// a local binding for it.
    pub fields: Vec<&'a Ident>,
    pub columns: Vec<&'a Ident>,
    pub types: Vec<&'a syn::Type>,
    pub bindings: Vec<Ident>,
    /// The runtime's type of the struct's backend.
    pub backend: TokenStream,
    /// The `expiry_date` value type of the backend.
    pub expiry: TokenStream,
    /// The connection type of the backend.
    pub connection: TokenStream,
    /// The backend's module of SQL types in the runtime's `__private`:
    /// `Db`, `Id`, `Expiry`.
    pub sql_types: TokenStream,
}

impl<'a> QueryParts<'a> {
    pub fn new(container: &'a Container) -> Self {
        let krate = &container.krate;
        let diesel = quote!(#krate::__private::diesel);
        let fields: Vec<&Ident> = container.fields.iter().map(|field| field.ident).collect();
        let (kind, span) = container
            .backend
            .as_ref()
            .map(|(kind, ident)| (*kind, ident.span()))
            .expect("checked");
        let module = kind.module(span);
        let backend = quote!(#krate::__private::#module::Backend);
        let backend_trait = quote!(#krate::backend::Backend);
        QueryParts {
            expiry: quote!(<#backend as #backend_trait>::Expiry),
            connection: quote!(<#backend as #backend_trait>::Connection),
            sql_types: quote!(#krate::__private::#module),
            backend,
            run: quote!(#krate::__private::diesel_async::RunQueryDsl),
            imports: quote! {
                use #diesel::expression_methods::{BoolExpressionMethods as _, ExpressionMethods as _};
                use #diesel::query_dsl::QueryDsl as _;
            },
            diesel,
            columns: container.fields.iter().map(|field| &field.column).collect(),
            types: container.fields.iter().map(|field| field.ty).collect(),
            bindings: fields
                .iter()
                .map(|field| format_ident!("__{}", field))
                .collect(),
            fields,
        }
    }

    /// `impl Future<Output = QueryResult<output>> + Send + 'a`.
    pub fn future(&self, output: TokenStream) -> TokenStream {
        let diesel = &self.diesel;
        quote!(impl ::core::future::Future<Output = #diesel::result::QueryResult<#output>> + ::core::marker::Send + 'a)
    }

    /// The struct built from the bindings of a selected row.
    pub fn struct_from_bindings(&self, ident: &Ident) -> TokenStream {
        let QueryParts {
            fields, bindings, ..
        } = self;
        quote!(#ident { #(#fields: #bindings,)* })
    }
}
