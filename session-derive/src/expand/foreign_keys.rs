//! Foreign keys: the type assertion, `joinable!` and
//! `allow_tables_to_appear_in_same_query!`.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};

use crate::internals::ast::Container;

pub fn expand(container: &Container) -> TokenStream {
    let Container { table, krate, .. } = container;
    let diesel = quote!(#krate::__private::diesel);
    let mut items = TokenStream::new();
    let mut joined = BTreeSet::new();
    for (index, field) in container.fields.iter().enumerate() {
        let Some(reference) = &field.references else {
            continue;
        };
        let target = &reference.table;
        let referenced = match &reference.column {
            Some(column) => quote!(#target::#column),
            None => quote!(<#target::table as #diesel::query_source::Table>::PrimaryKey),
        };
        let sql_type = field.sql_type.as_ref().expect("checked");
        // Spanned on `references = ...`, so a mismatch points at the
        // attribute that made the claim.
        items.extend(quote_spanned! {reference.span=>
            const _: () = #krate::__private::assert_same_sql_type::<
                #sql_type,
                <#referenced as #diesel::expression::Expression>::SqlType,
            >();
        });
        // Diesel allows one `joinable!` per pair of tables, joined on the
        // parent's primary key: the first field to reference a table's
        // primary key gets it.
        let key = target.to_token_stream().to_string();
        if joined.insert(key) {
            let alias = format_ident!("__session_ref_{}", index);
            let column = &field.column;
            items.extend(quote! {
                use #target as #alias;
                #diesel::allow_tables_to_appear_in_same_query!(#table, #alias);
            });
            if reference.column.is_none() {
                items.extend(quote!(#diesel::joinable!(#table -> #alias (#column));));
            }
        }
    }
    items
}
