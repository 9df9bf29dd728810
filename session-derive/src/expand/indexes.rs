//! `IndexedColumn` for every indexed or foreign-key column: the typed
//! per-user queries.

use proc_macro2::TokenStream;
use quote::quote;

use super::column_values::ColumnValues;
use super::query_parts::QueryParts;
use crate::internals::ast::Container;

pub fn expand(container: &Container, column_values: &ColumnValues) -> TokenStream {
    let Container {
        ident,
        table,
        krate,
        ..
    } = container;
    let parts = QueryParts::new(container);
    let QueryParts {
        diesel,
        run,
        imports,
        columns,
        types,
        bindings,
        ..
    } = &parts;
    let connection = parts.connection(ident);
    let expiry = quote!(#krate::__private::ExpiryOf<#ident>);
    let list_future = parts.future(quote!(::std::vec::Vec<#krate::__private::ListedRow<#ident>>));
    let count_future = parts.future(quote!(i64));
    let delete_future = parts.future(quote!(usize));
    let row_struct = parts.struct_from_bindings(ident);
    // Every impl selects every column, so each carries every field's bounds.
    let where_column_values = column_values.where_clause();
    container
        .fields
        .iter()
        .filter(|field| field.index || field.references.is_some())
        .map(|field| {
            let column = &field.column;
            let value_ty = field.value_ty;
            quote! {
                #[automatically_derived]
                impl #krate::__private::IndexedColumn<#ident> for #table::#column #where_column_values {
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
                            .select((#table::id, #table::expiry_date, #table::created_at, #(#table::#columns,)*));
                        async move {
                            let rows: ::std::vec::Vec<(::std::vec::Vec<u8>, #expiry, ::core::option::Option<#expiry>, #(#types,)*)> =
                                #run::load(query, connection).await?;
                            ::core::result::Result::Ok(
                                rows.into_iter()
                                    .map(|(id, expiry, created, #(#bindings,)*)| #krate::__private::ListedRow {
                                        id,
                                        expiry,
                                        created,
                                        fields: #row_struct,
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
