//! `SessionTable::TABLE`: the table as the runtime's DDL builder sees it.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::internals::ast::{unraw, Container, Field};
use crate::internals::attr::{Compression, DataFormat, OnDelete};

pub fn expand(container: &Container, backend: &syn::Ident) -> TokenStream {
    let krate = &container.krate;
    let name = unraw(&container.table);
    let columns = container
        .fields
        .iter()
        .map(|field| column_def(krate, backend, field));
    let unlogged = container.unlogged.is_some();
    let data = match container.data {
        Some((DataFormat::Json, _)) => quote!(Json),
        Some((DataFormat::Blob, _)) => quote!(Blob),
        Some((DataFormat::Encrypted, _)) => quote!(Encrypted),
        Some((DataFormat::Jsonb, _)) | None => quote!(BackendDefault),
    };
    let compression = match container.compression {
        Some((Compression::Pglz, _)) => quote!(Pglz),
        Some((Compression::Lz4, _)) | None => quote!(Lz4),
    };
    quote! {
        const TABLE: #krate::__private::TableDef = #krate::__private::TableDef {
            name: #name,
            columns: &[#(#columns),*],
            unlogged: #unlogged,
            data: #krate::__private::DataType::#data,
            compression: #krate::__private::Compression::#compression,
        };
    }
}

fn column_def(krate: &syn::Path, backend: &syn::Ident, field: &Field) -> TokenStream {
    let name = unraw(&field.column);
    let nullable = field.nullable;
    let indexed = field.index;
    let sql_type = field.sql_type.as_ref().expect("checked");
    let ddl_const = if field.index || field.references.is_some() {
        quote!(INDEXED_SQL)
    } else {
        quote!(SQL)
    };
    let column_type = quote_spanned! {field.value_ty.span()=>
        <#sql_type as #krate::__private::ColumnType<#krate::__private::#backend::Backend>>::#ddl_const
    };
    let references = match &field.references {
        None => quote!(::core::option::Option::None),
        Some(reference) => {
            let table = &reference.table;
            let table_name = unraw(&table.segments.last().expect("a path has segments").ident);
            let column = match &reference.column {
                Some(column) => {
                    quote!(<#table::#column as #krate::__private::diesel::query_source::Column>::NAME)
                }
                None => quote! {
                    <<#table::table as #krate::__private::diesel::query_source::Table>::PrimaryKey
                        as #krate::__private::diesel::query_source::Column>::NAME
                },
            };
            let on_delete = match reference.on_delete {
                OnDelete::Cascade => quote!(Cascade),
                OnDelete::SetNull => quote!(SetNull),
                OnDelete::Restrict => quote!(Restrict),
            };
            quote! {
                ::core::option::Option::Some(#krate::__private::ForeignKey {
                    table: #table_name,
                    column: #column,
                    on_delete: #krate::__private::OnDelete::#on_delete,
                })
            }
        }
    };
    let path = super::fields::key_path(krate, field);
    quote! {
        #krate::__private::ColumnDef {
            name: #name,
            path: #path,
            sql_type: #column_type,
            nullable: #nullable,
            indexed: #indexed,
            references: #references,
        }
    }
}
