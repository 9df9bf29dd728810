//! The one SQL statement of each store operation, on the concrete table.

use proc_macro2::TokenStream;
use quote::quote;

use super::query_parts::QueryParts;
use crate::internals::ast::Container;
use crate::internals::attr::{BackendKind, DataFormat};

/// The statements on the table whose `table!` module is at `table`.
pub fn expand(container: &Container, table: &TokenStream) -> TokenStream {
    let Container { ident, krate, .. } = container;
    let parts = QueryParts::new(container);
    let QueryParts {
        diesel,
        run,
        imports,
        fields,
        columns,
        types,
        bindings,
        backend,
        expiry,
        connection,
        sql_types,
        ..
    } = &parts;
    let count_future = parts.future(quote!(i64));
    let delete_future = parts.future(quote!(usize));
    let select_future =
        parts.future(quote!(::core::option::Option<#krate::__private::LoadedRow<Self, #backend>>));
    let row_struct = parts.struct_from_bindings(ident);
    let indexes = 0..fields.len();
    // The row a save writes: its own, while it lives, so that a session
    // deleted or expired meanwhile stays ended.
    let live_row = quote!(#table::id.eq(&row.id[..]).and(#table::expiry_date.gt(now)));
    // What `data` holds: the JSON, or with encryption its sealed bytes.
    let (data_field, data_read) = match container.data {
        Some((DataFormat::Encrypted, _)) => (quote!(sealed), quote!(SealedData)),
        _ => (quote!(data), quote!(DataMap)),
    };
    let values = quote! {(
        #table::data.eq(&row.#data_field),
        #table::expiry_date.eq(&row.expiry),
        #(#table::#columns.eq(&row.fields.#fields),)*
    )};
    // Every `UPDATE` caps the expiry at the absolute timeout and fills a
    // missing `created_at`, in SQL, whatever the store knows of the load,
    // and writes `authenticated_at` when the save changed it.
    let update_values = quote! {(
        #table::data.eq(&row.#data_field),
        row.set_expiry(#table::expiry_date, #table::created_at, #table::authenticated_at, ::core::option::Option::None),
        #(#table::#columns.eq(&row.fields.#fields),)*
    )};
    let select_query = quote! {
        #table::table
            .filter(#table::id.eq(&id[..]).and(#table::expiry_date.gt(now)))
            .select((#table::data, #table::expiry_date, #table::created_at, #table::authenticated_at, #(#table::#columns,)*))
    };
    let on_sqlite = matches!(container.backend, Some((BackendKind::Sqlite, _)));
    // `statement`: `query` with its SQL rendered once, and `binds`, which
    // must be the query's own, in order (see `RenderedStatement`).
    let rendered = |query: &TokenStream, binds: TokenStream| {
        quote! {
            static SQL: ::std::sync::OnceLock<::std::string::String> = ::std::sync::OnceLock::new();
            let statement = #krate::__private::RenderedStatement::new::<#sql_types::Db>(&SQL, #query, #binds);
        }
    };
    let id_bind = quote!(#krate::__private::Bind::<#sql_types::Id, _>::new(&id[..]));
    let delete_query = quote!(#diesel::delete(#table::table.filter(#table::id.eq(&id[..]))));
    let delete_body = if on_sqlite {
        // On the connection's thread, sync Diesel keys the statement by the
        // query's type; diesel-async would render the SQL, hash it and copy
        // the binds first.
        quote! {
            let id = *id;
            connection.spawn_blocking(move |connection| {
                #imports
                let id = &id;
                #diesel::RunQueryDsl::execute(#delete_query, connection)
            })
        }
    } else {
        let statement = rendered(&delete_query, id_bind.clone());
        quote! {
            #imports
            #statement
            async move { #run::execute(statement?, connection).await }
        }
    };
    // The load goes through diesel-async on SQLite too: run the same way as
    // the delete, 64 KiB loads at 8 and 32 tasks fell to 0.55-0.70 of the
    // peer (see the bench README's "What a load costs").
    let select_statement = rendered(
        &select_query,
        quote!((#id_bind, #krate::__private::Bind::<#sql_types::Expiry, _>::new(now))),
    );
    let select_body = quote! {
        #imports
        use #diesel::result::OptionalExtension as _;
        #select_statement
        async move {
            let row: ::core::option::Option<(
                #krate::__private::#data_read,
                #expiry,
                ::core::option::Option<#expiry>,
                ::core::option::Option<#expiry>,
                #(#types,)*
            )> = #run::get_result(statement?, connection).await.optional()?;
            ::core::result::Result::Ok(row.map(|(data, expiry, created, authenticated, #(#bindings,)*)| #krate::__private::LoadedRow {
                data: ::core::convert::From::from(data),
                expiry,
                created,
                authenticated,
                fields: #row_struct,
            }))
        }
    };
    let live_at = quote!(#krate::__private::LiveAt<#backend>);
    quote! {
        fn insert<'a>(
            connection: &'a mut #connection,
            row: &'a #krate::__private::SessionRow<Self, #backend>,
        ) -> #delete_future {
            #imports
            #run::execute(
                #diesel::insert_into(#table::table)
                .values((#table::id.eq(&row.id[..]), #table::created_at.eq(&row.created), #table::authenticated_at.eq(&row.authenticated), #values)),
                connection,
            )
        }

        fn update<'a>(
            connection: &'a mut #connection,
            row: &'a #krate::__private::SessionRow<Self, #backend>,
            now: &'a #expiry,
        ) -> #delete_future {
            #imports
            #run::execute(
                #krate::__private::CachedUpdate::new(
                    #table::table,
                    #update_values,
                    #live_row,
                ),
                connection,
            )
        }

        fn update_changes<'a>(
            connection: &'a mut #connection,
            row: &'a #krate::__private::SessionRow<Self, #backend>,
            changes: &'a #krate::__private::RowChanges,
            now: &'a #expiry,
        ) -> #delete_future {
            #imports
            #run::execute(
                #krate::__private::CachedUpdate::new(
                    #table::table,
                    (
                        #(changes.writes_column(#indexes).then(|| #table::#columns.eq(&row.fields.#fields)),)*
                        changes.set_data(#table::data),
                        row.set_expiry(#table::expiry_date, #table::created_at, #table::authenticated_at, ::core::option::Option::Some(changes)),
                    ),
                    #live_row,
                ),
                connection,
            )
        }

        fn select<'a>(
            connection: &'a mut #connection,
            id: &'a [u8; 32],
            now: &'a #expiry,
        ) -> #select_future {
            #select_body
        }

        fn delete<'a>(
            connection: &'a mut #connection,
            id: &'a [u8; 32],
        ) -> #delete_future {
            #delete_body
        }

        fn count_live<'a>(
            connection: &'a mut #connection,
            now: &'a #live_at,
        ) -> #count_future {
            #imports
            #run::get_result(#table::table.filter(now.live(#table::expiry_date, #table::created_at, #table::authenticated_at)).count(), connection)
        }

        fn delete_all<'a>(
            connection: &'a mut #connection,
        ) -> #delete_future {
            #imports
            #run::execute(#diesel::delete(#table::table), connection)
        }

        fn delete_expired<'a>(
            connection: &'a mut #connection,
            now: &'a #live_at,
        ) -> #delete_future {
            #imports
            #run::execute(#diesel::delete(#table::table.filter(now.ended(#table::expiry_date, #table::created_at, #table::authenticated_at))), connection)
        }
    }
}
