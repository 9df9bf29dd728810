//! Code generation: one file per generated part.

mod column_values;
mod encryption;
mod fallback;
mod fields;
mod foreign_keys;
mod indexes;
mod queries;
mod query_parts;
mod table;
mod table_def;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::quote;

use crate::internals::ast::Container;
use crate::internals::{check, Ctxt};

pub fn derive(input: &syn::DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let container = Container::from_ast(&cx, input);
    check::check(&cx, &container);
    match (cx.check(), &container.backend) {
        (Ok(()), Some((backend, backend_ident))) => {
            expand(&container, backend.module(backend_ident.span()))
        }
        (Err(errors), _) => fallback::expand(&container, errors),
        (Ok(()), None) => unreachable!("check reports a missing backend"),
    }
}

fn expand(container: &Container, backend: syn::Ident) -> TokenStream {
    let Container {
        ident,
        vis,
        store,
        krate,
        ..
    } = container;
    let table = table::expand(container, &backend);
    let table_def = table_def::expand(container, &backend);
    let fields = fields::expand(container);
    let queries = queries::expand(container);
    let column_values = column_values::expand(container, &backend);
    let foreign_keys = foreign_keys::expand(container);
    let indexes = indexes::expand(container, &column_values);
    let encryption = encryption::expand(container);
    let column_value_assertions = &column_values.assertions;
    let where_column_values = column_values.where_clause();
    let store_doc = format!(
        "The session store on the `{}` table of [`{ident}`].",
        container.table
    );
    quote! {
        #table

        #[doc = #store_doc]
        #vis type #store = #krate::DieselStore<#ident>;

        const _: () = {
            #column_value_assertions

            #[automatically_derived]
            impl #krate::__private::SessionTable for #ident #where_column_values {
                type Backend = #krate::__private::#backend::Backend;
                #table_def
                #fields
                #queries
            }
            #foreign_keys
            #indexes
            #encryption
        };
    }
}

/// `tokens` with every span, inside groups too, set to `span`.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut respanned =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                token = TokenTree::Group(respanned);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}
