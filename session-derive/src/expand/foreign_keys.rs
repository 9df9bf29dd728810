//! Foreign keys: the type assertion, `joinable!` and
//! `allow_tables_to_appear_in_same_query!`.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use proc_macro2::{Span, TokenTree};
use quote::{format_ident, quote, ToTokens};

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
        // Every token spanned on `references = ...`, so that a mismatch
        // points at the attribute that made the claim. A where clause is
        // checked with the item's signature, before the bodies and impls
        // whose errors would follow from the same mismatch.
        let assertion = quote! {
            const _: () = {
                #[allow(dead_code)]
                fn assert_foreign_key_type()
                where
                    #sql_type: #krate::__private::SameSqlType<
                        <#referenced as #diesel::expression::Expression>::SqlType,
                    >,
                {
                }
            };
        };
        items.extend(respan(assertion, reference.span));
        // Diesel allows one `joinable!` per pair of tables, joined on the
        // parent's primary key: the first field to reference a table's
        // primary key gets it.
        let key = target.to_token_stream().to_string();
        if joined.insert(key) {
            let alias = format_ident!("__session_ref_{}", index);
            let column = &field.column;
            // Spanned on the attribute: an unknown table is reported there.
            items.extend(respan(quote!(use #target as #alias;), reference.span));
            items.extend(quote!(#diesel::allow_tables_to_appear_in_same_query!(#table, #alias);));
            if reference.column.is_none() {
                items.extend(quote!(#diesel::joinable!(#table -> #alias (#column));));
            }
        }
    }
    items
}

/// `tokens` with every span, inside groups too, set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut respanned =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                token = TokenTree::Group(respanned);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}
