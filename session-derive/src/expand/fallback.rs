//! What the derive emits when the input has errors: the errors, and the
//! store alias with an implementation that type-checks, so that the user
//! sees the errors in the struct and not a cascade from every use of it.

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
    let unreachable = quote!(::core::unreachable!(
        "#[derive(SessionStore)] failed to compile"
    ));
    // A store alias with the struct's own name would be a second error.
    let alias =
        (*store != **ident).then(|| quote!(#vis type #store = #krate::DieselStore<#ident>;));
    quote! {
        #errors

        #alias

        const _: () = {
            impl #krate::SessionTable for #ident {
                type Backend = #krate::__private::#backend::Backend;
                const TABLE: #krate::TableDef = #krate::TableDef {
                    name: "",
                    columns: &[],
                    unlogged: false,
                    data: #krate::DataType::BackendDefault,
                    compression: #krate::Compression::Lz4,
                };
                fn read_fields(_: &#krate::SessionData) -> ::core::result::Result<Self, #krate::Error> {
                    #unreachable
                }
                fn put_fields(&self, _: &mut #krate::SessionData) -> ::core::result::Result<(), #krate::Error> {
                    #unreachable
                }
                async fn insert(
                    _: &mut #krate::ConnectionOf<Self>,
                    _: &#krate::SessionRow<Self>,
                ) -> #krate::__private::diesel::result::QueryResult<usize> {
                    #unreachable
                }
                async fn update(
                    _: &mut #krate::ConnectionOf<Self>,
                    _: &#krate::SessionRow<Self>,
                    _: &#krate::ExpiryOf<Self>,
                ) -> #krate::__private::diesel::result::QueryResult<usize> {
                    #unreachable
                }
                async fn select(
                    _: &mut #krate::ConnectionOf<Self>,
                    _: &[u8; 32],
                    _: &#krate::ExpiryOf<Self>,
                ) -> #krate::__private::diesel::result::QueryResult<::core::option::Option<#krate::LoadedRow<Self>>> {
                    #unreachable
                }
                async fn delete(
                    _: &mut #krate::ConnectionOf<Self>,
                    _: &[u8; 32],
                ) -> #krate::__private::diesel::result::QueryResult<usize> {
                    #unreachable
                }
                async fn count_live(
                    _: &mut #krate::ConnectionOf<Self>,
                    _: &#krate::ExpiryOf<Self>,
                ) -> #krate::__private::diesel::result::QueryResult<i64> {
                    #unreachable
                }
                async fn delete_all(
                    _: &mut #krate::ConnectionOf<Self>,
                ) -> #krate::__private::diesel::result::QueryResult<usize> {
                    #unreachable
                }
                async fn delete_expired(
                    _: &mut #krate::ConnectionOf<Self>,
                    _: &#krate::ExpiryOf<Self>,
                ) -> #krate::__private::diesel::result::QueryResult<usize> {
                    #unreachable
                }
            }
        };
    }
}
