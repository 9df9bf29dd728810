//! `IndexedColumn` for every indexed or foreign-key column: the typed
//! per-user queries.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::internals::ast::Container;

pub fn expand(container: &Container) -> TokenStream {
    let Container {
        ident,
        table,
        krate,
        ..
    } = container;
    let private = quote!(#krate::__private);
    let diesel = quote!(#private::diesel);
    let imports = quote! {
        use #diesel::expression_methods::{BoolExpressionMethods as _, ExpressionMethods as _};
        use #diesel::query_dsl::QueryDsl as _;
    };
    let fields: Vec<_> = container.fields.iter().map(|field| field.ident).collect();
    let columns: Vec<_> = container.fields.iter().map(|field| &field.column).collect();
    let types: Vec<_> = container.fields.iter().map(|field| field.ty).collect();
    let bindings: Vec<_> = fields
        .iter()
        .map(|field| format_ident!("__{}", field))
        .collect();
    // Called by path: a user's `diesel::prelude::*` brings diesel's own
    // `RunQueryDsl` into scope, and method calls would be ambiguous.
    let run = quote!(#private::diesel_async::RunQueryDsl);
    let result = quote!(#diesel::result::QueryResult);
    let connection = quote!(#krate::ConnectionOf<#ident>);
    let expiry = quote!(#krate::ExpiryOf<#ident>);
    let future = |output: TokenStream| quote!(impl ::core::future::Future<Output = #result<#output>> + ::core::marker::Send + 'a);
    let list_future = future(quote!(::std::vec::Vec<#krate::ListedRow<#ident>>));
    let count_future = future(quote!(i64));
    let delete_future = future(quote!(usize));
    container
        .fields
        .iter()
        .filter(|field| field.index || field.references.is_some())
        .map(|field| {
            let column = &field.column;
            let value_ty = field.value_ty;
            quote! {
                impl #krate::IndexedColumn<#ident> for #table::#column {
                    type Value = #value_ty;

                    fn list<'a>(
                        connection: &'a mut #connection,
                        value: &'a #value_ty,
                        now: &'a #expiry,
                    ) -> #list_future {
                        #imports
                        let query = #table::table
                            .filter(#table::#column.eq(value).and(#table::expiry_date.gt(now)))
                            .order(#table::expiry_date.desc())
                            .select((#table::id, #table::expiry_date, #(#table::#columns,)*));
                        async move {
                            let rows: ::std::vec::Vec<(::std::vec::Vec<u8>, #expiry, #(#types,)*)> =
                                #run::load(query, connection).await?;
                            ::core::result::Result::Ok(
                                rows.into_iter()
                                    .map(|(id, expiry, #(#bindings,)*)| #krate::ListedRow {
                                        id,
                                        expiry,
                                        fields: #ident { #(#fields: #bindings,)* },
                                    })
                                    .collect(),
                            )
                        }
                    }

                    fn count<'a>(
                        connection: &'a mut #connection,
                        value: &'a #value_ty,
                        now: &'a #expiry,
                    ) -> #count_future {
                        #imports
                        #run::get_result(
                            #table::table
                                .filter(#table::#column.eq(value).and(#table::expiry_date.gt(now)))
                                .count(),
                            connection,
                        )
                    }

                    fn delete_all<'a>(
                        connection: &'a mut #connection,
                        value: &'a #value_ty,
                    ) -> #delete_future {
                        #imports
                        #run::execute(#diesel::delete(#table::table.filter(#table::#column.eq(value))), connection)
                    }

                    fn delete_all_except<'a>(
                        connection: &'a mut #connection,
                        value: &'a #value_ty,
                        keep: &'a [u8; 32],
                    ) -> #delete_future {
                        #imports
                        #run::execute(
                            #diesel::delete(
                                #table::table.filter(#table::#column.eq(value).and(#table::id.ne(&keep[..]))),
                            ),
                            connection,
                        )
                    }

                    fn delete_one<'a>(
                        connection: &'a mut #connection,
                        value: &'a #value_ty,
                        id: &'a [u8; 32],
                    ) -> #delete_future {
                        #imports
                        #run::execute(
                            #diesel::delete(
                                #table::table.filter(#table::#column.eq(value).and(#table::id.eq(&id[..]))),
                            ),
                            connection,
                        )
                    }
                }
            }
        })
        .collect()
}
