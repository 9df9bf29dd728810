//! Foreign keys: the type assertion, and what `joinable!` and
//! `allow_tables_to_appear_in_same_query!` would generate.
//!
//! Diesel's two macros are not called: written out here, their impls keep
//! a mistake in `references = ...` to one compile error. An unknown table
//! is an error type to rustc, and an error type in an impl header matches
//! every type, so the macros' `TableNotEqual<accounts::table> for
//! http_sessions::table` made the session table "not equal" to itself,
//! and rustc reported nine conflicting impls in the `table!` after the
//! unresolved name. A mismatched key type failed `joinable!`'s
//! `ExpressionMethods::eq` once per impl and per associated item.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

use super::respan;
use crate::internals::ast::{Container, Reference};
use crate::internals::attr::BackendKind;

/// The impls for the table whose `table!` module is at `table`.
pub fn expand(container: &Container, table: &TokenStream) -> TokenStream {
    let krate = &container.krate;
    let diesel = quote!(#krate::__private::diesel);
    let mut items = TokenStream::new();
    let mut referenced = BTreeSet::new();
    for field in &container.fields {
        let Some(reference) = &field.references else {
            continue;
        };
        let target = &reference.table;
        let referenced_key = referenced_key(&diesel, reference);
        let sql_type = field.sql_type.as_ref().expect("checked");
        let key_sql_type = quote!(<#referenced_key as #diesel::expression::Expression>::SqlType);
        // Every token spanned on `references = ...`, so that a mismatch
        // points at the attribute that made the claim. A field of a
        // built-in type is checked by the key's SQL type, whose message
        // names the Rust type that fits it; one with `sql_type` by
        // equality, which also holds for SQL types the runtime does not
        // know.
        let private = quote!(#krate::__private);
        let check = if field.attrs.sql_type.get().is_none() {
            let rust = quote!(<#key_sql_type as #private::KeyRustType>::Rust);
            quote!(<#sql_type as #private::ReferencesKey<#key_sql_type, #rust>>::OK)
        } else {
            quote!(<#sql_type as #private::SameSqlType<#key_sql_type>>::OK)
        };
        let assertion = quote! {
            const _: () = #check;
        };
        items.extend(respan(assertion, reference.span));
        // Diesel allows one `joinable!` and one pair of `TableNotEqual`
        // impls per pair of tables; `joinable!` joins on the parent's
        // primary key. The first field to reference a table gets them.
        if referenced.insert(target.to_token_stream().to_string()) {
            items.extend(appear_in_same_query(container, reference, table));
            if reference.column.is_none() {
                let column = &field.column;
                let child_key = quote!(#table::#column);
                let parent = quote!(#target::table);
                items.extend(join_to(
                    &diesel,
                    quote!(#table::table),
                    &parent,
                    &child_key,
                    &parent,
                ));
                items.extend(join_to(
                    &diesel,
                    parent.clone(),
                    &quote!(#table::table),
                    &child_key,
                    &parent,
                ));
            }
        }
    }
    if !referenced.is_empty() {
        items.extend(session_table_not_equal(container, table));
    }
    items
}

/// The column that `references` points at: `referenced_column`, or the
/// table's primary key.
fn referenced_key(diesel: &TokenStream, reference: &Reference) -> TokenStream {
    let target = &reference.table;
    match &reference.column {
        Some(column) => quote!(#target::#column),
        None => quote!(<#target::table as #diesel::query_source::Table>::PrimaryKey),
    }
}

/// The impls by which the session table is "not equal" to every table it
/// references, in both directions, as
/// `allow_tables_to_appear_in_same_query!` writes them.
///
/// The session table's side is one blanket impl over the tables that
/// implement a trait local to this expansion, not one impl per table: an
/// impl of that trait whose self type is an error type (an unknown table)
/// does not make the session table implement it, so the session table
/// stays equal to itself and diesel's impls do not conflict. The
/// referenced table's side has the unknown table as its self type, where
/// it conflicts with nothing either. (Checked on the pinned rustc by
/// `tests/ui/fail/fk_unknown_table.rs`.)
fn session_table_not_equal(container: &Container, table: &TokenStream) -> TokenStream {
    let krate = &container.krate;
    let diesel = quote!(#krate::__private::diesel);
    let table_not_equal = quote!(#diesel::query_source::TableNotEqual);
    let session_table = quote!(#table::table);
    let mut items = quote! {
        /// A table that a field of the session table references.
        trait __ReferencedTable {}

        #[automatically_derived]
        impl<T> #table_not_equal<T> for #session_table
        where
            T: #diesel::query_source::Table + __ReferencedTable,
        {
        }
    };
    if is_postgres(container) {
        // Postgres' `ONLY` and `TABLESAMPLE`, as diesel's macro writes
        // them with its `postgres_backend` feature. The session table is
        // only ever queried on its own backend.
        let only = quote!(#diesel::query_builder::Only);
        let tablesample = quote!(#diesel::query_builder::Tablesample);
        let method = quote!(#diesel::query_builder::TablesampleMethod);
        let table_trait = quote!(#diesel::query_source::Table);
        items.extend(quote! {
            #[automatically_derived]
            impl<T> #table_not_equal<#only<T>> for #session_table
            where
                T: #table_trait + __ReferencedTable,
                #only<T>: #table_trait,
            {
            }
            #[automatically_derived]
            impl<T> #table_not_equal<#session_table> for #only<T>
            where
                T: #table_trait + __ReferencedTable,
                #only<T>: #table_trait,
            {
            }
            #[automatically_derived]
            impl<T, TSM> #table_not_equal<#tablesample<T, TSM>> for #session_table
            where
                T: #table_trait + __ReferencedTable,
                TSM: #method,
                #tablesample<T, TSM>: #table_trait,
            {
            }
            #[automatically_derived]
            impl<T, TSM> #table_not_equal<#session_table> for #tablesample<T, TSM>
            where
                T: #table_trait + __ReferencedTable,
                TSM: #method,
                #tablesample<T, TSM>: #table_trait,
            {
            }
        });
    }
    items
}

/// The referenced table's side of `allow_tables_to_appear_in_same_query!`.
fn appear_in_same_query(
    container: &Container,
    reference: &Reference,
    table: &TokenStream,
) -> TokenStream {
    let krate = &container.krate;
    let diesel = quote!(#krate::__private::diesel);
    let table_not_equal = quote!(#diesel::query_source::TableNotEqual);
    let session_table = quote!(#table::table);
    let target = &reference.table;
    let referenced_table = quote!(#target::table);
    let mut items = quote! {
        #[automatically_derived]
        impl __ReferencedTable for #referenced_table {}
        #[automatically_derived]
        impl #table_not_equal<#session_table> for #referenced_table {}
    };
    if is_postgres(container) {
        let only = quote!(#diesel::query_builder::Only);
        let tablesample = quote!(#diesel::query_builder::Tablesample);
        let method = quote!(#diesel::query_builder::TablesampleMethod);
        // Not written: `TableNotEqual<referenced> for Only<http_sessions>`
        // and its `Tablesample` twin, which let `http_sessions::table
        // .only()` or `.tablesample_*()` share a query with the referenced
        // table. The orphan rule forbids them as blanket impls like the
        // ones above (E0210: diesel's trait on diesel's `Only`, with a type
        // parameter as the argument), and written per table, an unknown
        // table (an error type) as the argument matches the session table
        // itself: two conflicting-impl errors, reported before the unknown
        // name. `ONLY` means nothing for a table nothing inherits from; an
        // app that samples sessions with `TABLESAMPLE` next to the users
        // table writes the one impl itself, which its crate may (see
        // `tests/ui/pass/joinable_postgres.rs`):
        // `impl<M: TablesampleMethod> TableNotEqual<users::table> for Tablesample<http_sessions::table, M> {}`.
        items.extend(quote! {
            #[automatically_derived]
            impl #table_not_equal<#only<#session_table>> for #referenced_table {}
            #[automatically_derived]
            impl<TSM: #method> #table_not_equal<#tablesample<#session_table, TSM>> for #referenced_table {}
        });
    }
    items
}

/// One direction of `joinable!(child -> parent (column))`: `JoinTo<to>`
/// for `from`, on `child_key` equal to the primary key of `parent`.
///
/// The where clause is what the `ON` clause needs, under a `for<'a>`: a
/// bound with a binder is not checked where it is written, so when the
/// key types differ this impl quietly does not apply, and the one error
/// is the foreign key assertion at the attribute.
fn join_to(
    diesel: &TokenStream,
    from: TokenStream,
    to: &TokenStream,
    child_key: &TokenStream,
    parent: &TokenStream,
) -> TokenStream {
    let parent_key = quote!(<#parent as #diesel::query_source::Table>::PrimaryKey);
    let nullable_child = quote!(#diesel::dsl::Nullable<#child_key>);
    let nullable_parent = quote!(#diesel::dsl::Nullable<#parent_key>);
    quote! {
        #[automatically_derived]
        impl #diesel::query_source::JoinTo<#to> for #from
        where
            for<'__join> #nullable_parent: #diesel::expression::AsExpression<#diesel::dsl::SqlTypeOf<#nullable_child>>,
        {
            type FromClause = #to;
            type OnClause = #diesel::dsl::Eq<#nullable_child, #nullable_parent>;

            fn join_target(rhs: #to) -> (Self::FromClause, Self::OnClause) {
                use #diesel::expression_methods::{ExpressionMethods as _, NullableExpressionMethods as _};
                let parent_key = <#parent as #diesel::query_source::Table>::primary_key(&#parent);
                (rhs, #child_key.nullable().eq(parent_key.nullable()))
            }
        }
    }
}

fn is_postgres(container: &Container) -> bool {
    matches!(container.backend, Some((BackendKind::Postgres, _)))
}
