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
    let span = backend_ident.span();
    let (store_type, backends) = if *backend == BackendKind::Any {
        let modules = BackendKind::Any
            .tables()
            .iter()
            .map(|kind| kind.module(span));
        (
            quote!(#krate::AnyStore<#ident>),
            modules.collect::<Vec<_>>(),
        )
    } else {
        let module = backend.module(span);
        let store = quote!(#krate::DieselStore<#ident, #krate::__private::#module::Backend>);
        (store, vec![module])
    };
    // The stub encrypts as the struct says, so that its keys type-check.
    let encryption = super::encryption::expand(container);
    // A store alias with the struct's own name would be a second error.
    let alias = (*store != **ident).then(|| quote!(#vis type #store = #store_type;));
    // The stub impls live next to the traits, in
    // `session_runtime::__session_table_fallback!`, each backend's where
    // session-runtime has it.
    let stubs = backends.iter().map(|module| {
        let gate = quote::format_ident!("if_{}", module);
        quote! {
            #krate::__private::#gate! { { #krate::__private::session_table_fallback!(#ident, #module); } else {} }
        }
    });
    quote! {
        #errors

        #alias

        const _: () = {
            #krate::__private::session_fields_fallback!(#ident);
            #(#stubs)*
            #encryption
        };
    }
}
