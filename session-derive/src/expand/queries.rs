//! The one SQL statement of each store operation, on the concrete table.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::internals::ast::Container;

pub fn expand(container: &Container) -> TokenStream {
    let Container { table, krate, .. } = container;
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
    let connection = quote!(#krate::ConnectionOf<Self>);
    let values = quote! {(
        #table::data.eq(&row.data),
        #table::expiry_date.eq(&row.expiry),
        #(#table::#columns.eq(&row.fields.#fields),)*
    )};
    quote! {
        fn insert<'a>(
            connection: &'a mut #connection,
            row: &'a #krate::SessionRow<Self>,
        ) -> impl ::core::future::Future<Output = #result<usize>> + ::core::marker::Send + 'a {
            #imports
            #run::execute(
                #diesel::insert_into(#table::table)
                .values((#table::id.eq(&row.id[..]), #values)),
                connection,
            )
        }

        fn update<'a>(
            connection: &'a mut #connection,
            row: &'a #krate::SessionRow<Self>,
        ) -> impl ::core::future::Future<Output = #result<usize>> + ::core::marker::Send + 'a {
            #imports
            #run::execute(
                #diesel::update(#table::table.filter(#table::id.eq(&row.id[..])))
                .set(#values),
                connection,
            )
        }

        fn select<'a>(
            connection: &'a mut #connection,
            id: &'a [u8; 32],
            now: &'a #krate::ExpiryOf<Self>,
        ) -> impl ::core::future::Future<Output = #result<::core::option::Option<#krate::LoadedRow<Self>>>>
               + ::core::marker::Send + 'a {
            #imports
            use #diesel::result::OptionalExtension as _;
            let query = #table::table
                .filter(#table::id.eq(&id[..]).and(#table::expiry_date.gt(now)))
                .select((#table::data, #table::expiry_date, #(#table::#columns,)*));
            async move {
                let row: ::core::option::Option<(#private::serde_json::Value, #krate::ExpiryOf<Self>, #(#types,)*)> =
                    #run::first(query, connection).await.optional()?;
                ::core::result::Result::Ok(row.map(|(data, expiry, #(#bindings,)*)| #krate::LoadedRow {
                    data,
                    expiry,
                    fields: Self { #(#fields: #bindings,)* },
                }))
            }
        }

        fn delete<'a>(
            connection: &'a mut #connection,
            id: &'a [u8; 32],
        ) -> impl ::core::future::Future<Output = #result<usize>> + ::core::marker::Send + 'a {
            #imports
            #run::execute(#diesel::delete(#table::table.filter(#table::id.eq(&id[..]))), connection)
        }

        fn count_live<'a>(
            connection: &'a mut #connection,
            now: &'a #krate::ExpiryOf<Self>,
        ) -> impl ::core::future::Future<Output = #result<i64>> + ::core::marker::Send + 'a {
            #imports
            #run::get_result(#table::table.filter(#table::expiry_date.gt(now)).count(), connection)
        }

        fn delete_all<'a>(
            connection: &'a mut #connection,
        ) -> impl ::core::future::Future<Output = #result<usize>> + ::core::marker::Send + 'a {
            #imports
            #run::execute(#diesel::delete(#table::table), connection)
        }

        fn delete_expired<'a>(
            connection: &'a mut #connection,
            now: &'a #krate::ExpiryOf<Self>,
        ) -> impl ::core::future::Future<Output = #result<usize>> + ::core::marker::Send + 'a {
            #imports
            #run::execute(#diesel::delete(#table::table.filter(#table::expiry_date.le(now))), connection)
        }
    }
}
