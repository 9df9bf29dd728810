//! Fields with `sql_type = ...`: the assertion that Diesel can store the
//! field's type in that column, and the bounds that keep the queries from
//! failing a second time when it cannot write or read it.
//!
//! The derive knows that Diesel maps its built-in field types; for a type
//! named by the user it cannot know. Without these, a type that lacks
//! `ToSql` or `FromSql` fails in every query that writes or reads the
//! column, each error spanned on the derive and naming diesel's internals.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;

use super::respan;
use crate::internals::ast::{Container, Field};

pub struct ColumnValues {
    /// One static assertion per field, spanned on the field's type: the
    /// one error when Diesel cannot store it.
    pub assertions: TokenStream,
    /// The same requirements, for the where clause of every impl whose
    /// queries touch the columns.
    pub bounds: Vec<TokenStream>,
}

impl ColumnValues {
    /// `where` and the bounds, or nothing when there are none.
    pub fn where_clause(&self) -> Option<TokenStream> {
        let bounds = &self.bounds;
        (!bounds.is_empty()).then(|| quote!(where #(#bounds,)*))
    }
}

pub fn expand(container: &Container, backend: &syn::Ident) -> ColumnValues {
    let krate = &container.krate;
    let private = quote!(#krate::__private);
    let db = quote!(#private::#backend::Db);
    let mut assertions = TokenStream::new();
    let mut bounds = Vec::new();
    for field in &container.fields {
        if field.attrs.sql_type.get().is_none() {
            continue;
        }
        let value_ty = field.value_ty;
        let sql_type = field.sql_type.as_ref().expect("checked");
        let bound_as = bound_as(krate, field);
        let bind = match &bound_as {
            Some(bound_as) => quote!(#private::BindsAs<#bound_as>),
            None => quote!(#private::NotBound),
        };
        let column_value = quote!(#private::ColumnValue<#sql_type, #db, #bind>);
        // Checked where it is written, so the error points at the field;
        // through the constant, not a where clause, whose trivial bound
        // would add rustc's `see issue #48214`.
        let assertion = quote! {
            const _: () = <#value_ty as #column_value>::OK;
        };
        assertions.extend(respan(assertion, value_ty.span()));
        // A bound under a binder is not checked where it is written: when
        // the assertion fails, the impls that carry these quietly do not
        // apply instead of failing once per query. `AsExpression` is left
        // out: a where clause is preferred to diesel's impls, and the
        // `Expression` type it leaves unnamed would break every other
        // column bound with the same Rust and SQL types (an `i64` counter
        // and `expiry_date`).
        let diesel = quote!(#private::diesel);
        bounds.push(quote!(for<'__column> #value_ty: #diesel::serialize::ToSql<#sql_type, #db>));
        bounds
            .push(quote!(for<'__column> #value_ty: #diesel::deserialize::FromSql<#sql_type, #db>));
    }
    ColumnValues { assertions, bounds }
}

/// The SQL type a `&` of the field's value is compared or assigned with in
/// the queries, if any: the column's for a required field (`insert`,
/// `update`), and the column's for an indexed one (`IndexedColumn`). An
/// `Option` is assigned through diesel's impls for `Option`, which ask
/// nothing of the value type.
fn bound_as(krate: &syn::Path, field: &Field) -> Option<TokenStream> {
    let indexed = field.index || field.references.is_some();
    (!field.nullable || indexed).then(|| field.table_sql_type(krate).expect("checked"))
}
