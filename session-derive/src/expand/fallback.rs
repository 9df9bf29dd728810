//! What the derive emits when the input has errors: the errors, and the
//! store alias with an implementation that type-checks, so that the user
//! sees the errors in the struct and not a cascade from every use of it.
//! The implementation is a macro of the runtime, next to the trait.

use proc_macro2::TokenStream;
use quote::quote;

use crate::internals::ast::Container;
use crate::internals::attr::BackendKind;

pub fn expand(container: &Container, errors: syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    let Container {
        ident,
        vis,
        store,
        krate,
        ..
    } = container;
    // Without a backend, or for a type that cannot implement the trait as
    // written, the errors alone say it all.
    let Some((backend, backend_ident)) = &container.backend else {
        return errors;
    };
    let generics = container.generics;
    if *backend == BackendKind::Invalid
        || !container.is_named_struct
        || !generics.params.is_empty()
        || generics.where_clause.is_some()
    {
        return errors;
    }
    let backend = backend.module(backend_ident.span());
    // The stub encrypts as the struct says, so that its keys type-check.
    let encryption = super::encryption::expand(container);
    // A store alias with the struct's own name would be a second error.
    let alias =
        (*store != **ident).then(|| quote!(#vis type #store = #krate::DieselStore<#ident>;));
    // The stub impl lives next to the trait, in
    // `session_runtime::__session_table_fallback!`.
    quote! {
        #errors

        #alias

        const _: () = {
            #krate::__private::session_table_fallback!(#ident, #backend);
            #encryption
        };
    }
}
