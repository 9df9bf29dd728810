//! Code generation: one file per generated part.

mod backends;
mod column_values;
mod encryption;
mod fallback;
mod fields;
mod foreign_keys;
mod indexes;
mod live_ids;
mod queries;
mod query_parts;
mod table;
mod table_def;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::quote;

use self::backends::Backend;
use crate::internals::ast::Container;
use crate::internals::attr::BackendKind;
use crate::internals::{check, Ctxt};

pub fn derive(input: &syn::DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let container = Container::from_ast(&cx, input);
    check::check(&cx, &container);
    match (cx.check(), &container.backend) {
        (Ok(()), Some((BackendKind::Any, backend_ident))) => {
            expand_any(&container, backend_ident.span())
        }
        (Ok(()), Some((backend, backend_ident))) => expand_one(
            &container,
            Backend::alone(&container, *backend, backend_ident.span()),
            backend_ident.span(),
        ),
        (Err(errors), _) => fallback::expand(&container, errors),
        (Ok(()), None) => unreachable!("check reports a missing backend"),
    }
}

/// A struct on the one backend it names: its `table!`, the store alias and
/// the implementation, or, where session-runtime lacks the backend's
/// feature, the error that names it and nothing else.
fn expand_one(container: &Container, backend: Backend, span: Span) -> TokenStream {
    let Container {
        ident,
        vis,
        store,
        krate,
        ..
    } = container;
    let table = table::expand(&backend);
    let module = &backend.module;
    let store_doc = format!(
        "The session store on the `{}` table of [`{ident}`].",
        container.table
    );
    let fields = fields::expand(container);
    let lookup_columns = indexes::lookup_columns(container);
    let encryption = encryption::expand(container);
    let implementation = implementation(&backend);
    // Without the backend's feature, only the error: everything else names
    // the backend's module of `__private`, which is then missing too.
    backend.gated(
        quote! {
            #table

            #[doc = #store_doc]
            #vis type #store = #krate::DieselStore<#ident, #krate::__private::#module::Backend>;

            const _: () = {
                #fields
                #lookup_columns
                #encryption
            };

            #implementation
        },
        backend.missing_feature(span),
    )
}

/// A struct with `backend = any`: a module named after the table with the
/// `table!` of each backend in it, an [`AnyStore`] alias, and one
/// implementation per backend, each where session-runtime has it.
fn expand_any(container: &Container, span: Span) -> TokenStream {
    let Container {
        ident,
        vis,
        store,
        krate,
        ..
    } = container;
    let backends = Backend::every(container, span);
    let tables = table::expand_any(container, &backends);
    let fields = fields::expand(container);
    let lookup_columns = indexes::lookup_columns(container);
    let encryption = encryption::expand(container);
    let implementations = backends
        .iter()
        .map(|backend| backend.gated(implementation(backend), TokenStream::new()));
    let store_doc = format!(
        "The session store on the `{}` table of [`{ident}`], on the database its URL names.",
        container.table
    );
    quote! {
        #tables

        #[doc = #store_doc]
        #vis type #store = #krate::AnyStore<#ident>;

        const _: () = {
            #fields
            #lookup_columns
            #encryption
        };

        #(#implementations)*
    }
}

/// `SessionTable` on one backend, with its assertions, foreign keys and
/// indexed columns.
fn implementation(backend: &Backend) -> TokenStream {
    let container = &backend.container;
    let Container { ident, krate, .. } = container;
    let module = &backend.module;
    let table_def = table_def::expand(container, module);
    let queries = queries::expand(container, &backend.table);
    let live_ids = live_ids::expand(container, &backend.table);
    let column_values = column_values::expand(container, module);
    let foreign_keys = foreign_keys::expand(container, &backend.table);
    let indexes = indexes::expand(container, &column_values, backend);
    let column_value_assertions = &column_values.assertions;
    let where_column_values = column_values.where_clause();
    quote! {
        const _: () = {
            #column_value_assertions

            #[automatically_derived]
            impl #krate::__private::SessionTable<#krate::__private::#module::Backend> for #ident #where_column_values {
                #table_def
                #queries
                #live_ids
            }
            #foreign_keys
            #indexes
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
