//! `LookupColumn` and `IndexedColumn` for every indexed or foreign-key
//! column: the typed per-user queries.

use proc_macro2::TokenStream;
use quote::quote;

use super::backends::Backend;
use super::column_values::ColumnValues;
use super::query_parts::QueryParts;
use crate::internals::ast::{Container, Field};

/// The fields the per-user queries can look sessions up by.
fn indexed<'c, 'a>(container: &'c Container<'a>) -> impl Iterator<Item = &'c Field<'a>> {
    container
        .fields
        .iter()
        .filter(|field| field.index || field.references.is_some())
}

/// `LookupColumn` for the name of each indexed column: the column of the
/// `table!` for a struct on one backend, the name of the column on every
/// backend under `backend = any`.
pub fn lookup_columns(container: &Container) -> TokenStream {
    let Container { table, krate, .. } = container;
    indexed(container)
        .map(|field| {
            let column = &field.column;
            let value_ty = field.value_ty;
            quote! {
                #[automatically_derived]
                impl #krate::__private::LookupColumn for #table::#column {
                    type Value = #value_ty;
                }
            }
        })
        .collect()
}

/// Under `backend = any`, the name of each indexed column on every backend.
pub fn column_names(container: &Container) -> TokenStream {
    indexed(container)
        .map(|field| {
            let column = &field.column;
            let doc = format!(
                "Column `{}` on every backend, for the per-user queries of the store: \
                 `store.list_by({}::{}, &value)`.",
                crate::internals::ast::unraw(column),
                container.table,
                column
            );
            quote! {
                #[doc = #doc]
                #[allow(non_camel_case_types)]
                #[derive(Debug, Clone, Copy, Default)]
                pub struct #column;
            }
        })
        .collect()
}

/// `IndexedColumn` on one backend for the name of each indexed column.
pub fn expand(
    container: &Container,
    column_values: &ColumnValues,
    target: &Backend,
) -> TokenStream {
    let Container {
        ident,
        table: name,
        krate,
        ..
    } = container;
    let table = &target.table;
    let parts = QueryParts::new(container);
    let QueryParts {
        diesel,
        run,
        imports,
        columns,
        types,
        bindings,
        backend,
        expiry,
        connection,
        ..
    } = &parts;
    let list_future =
        parts.future(quote!(::std::vec::Vec<#krate::__private::ListedRow<#ident, #backend>>));
    let count_future = parts.future(quote!(i64));
    let delete_future = parts.future(quote!(usize));
    let ids_future = parts.future(quote!(::std::vec::Vec<::std::vec::Vec<u8>>));
    let row_struct = parts.struct_from_bindings(ident);
    // Every impl selects every column, so each carries every field's bounds.
    let where_column_values = column_values.where_clause();
    let table_name = quote!(<#ident as #krate::__private::SessionTable<#backend>>::TABLE.name);
    indexed(container)
        .map(|field| {
            let column = &field.column;
            let value_ty = field.value_ty;
            let field_ident = field.ident;
            let position = container
                .fields
                .iter()
                .position(|each| each.ident == field.ident)
                .expect("a field of the container");
            let value_in = if field.nullable {
                quote!(fields.#field_ident.as_ref())
            } else {
                quote!(::core::option::Option::Some(&fields.#field_ident))
            };
            quote! {
                #[automatically_derived]
                impl #krate::__private::IndexedColumn<#ident, #backend> for #name::#column #where_column_values {
                    const POSITION: usize = #position;

                    fn value_in(fields: &#ident) -> ::core::option::Option<&#value_ty> {
                        #value_in
                    }

                    fn delete_all_but_newest<'a>(
                        connection: &'a mut #connection,
                        value: &'a #value_ty,
                        keep: i64,
                        now: &'a #krate::__private::LiveAt<#backend>,
                    ) -> #ids_future {
                        #imports
                        let filter = #table::#column.eq(value).and(now.live(#table::expiry_date, #table::created_at, #table::authenticated_at));
                        let query = #krate::__private::DeleteAllButNewest::new(
                            #table_name, filter, #table::id, #table::created_at, keep,
                        );
                        #run::load(query, connection)
                    }

                    fn list<'a>(
                        connection: &'a mut #connection,
                        value: &'a #value_ty,
                        now: &'a #krate::__private::LiveAt<#backend>,
                    ) -> #list_future {
                        #imports
                        let query = #table::table
                            .filter(#table::#column.eq(value).and(now.live(#table::expiry_date, #table::created_at, #table::authenticated_at)))
                            .order(#table::expiry_date.desc())
                            .select((#table::id, #table::expiry_date, #table::created_at, #table::authenticated_at, #(#table::#columns,)*));
                        async move {
                            let rows: ::std::vec::Vec<(::std::vec::Vec<u8>, #expiry, ::core::option::Option<#expiry>, ::core::option::Option<#expiry>, #(#types,)*)> =
                                #run::load(query, connection).await?;
                            ::core::result::Result::Ok(
                                rows.into_iter()
                                    .map(|(id, expiry, created, authenticated, #(#bindings,)*)| #krate::__private::ListedRow {
                                        id,
                                        expiry,
                                        created,
                                        authenticated,
                                        fields: #row_struct,
                                    })
                                    .collect(),
                            )
                        }
                    }

                    fn count<'a>(
                        connection: &'a mut #connection,
                        value: &'a #value_ty,
                        now: &'a #krate::__private::LiveAt<#backend>,
                    ) -> #count_future {
                        #imports
                        #run::get_result(
                            #table::table
                                .filter(#table::#column.eq(value).and(now.live(#table::expiry_date, #table::created_at, #table::authenticated_at)))
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
