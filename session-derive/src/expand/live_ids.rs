//! The statement a cached store revalidates what it holds with: which of
//! the ids it names are still live, and their stored expiry.

use proc_macro2::TokenStream;
use quote::quote;

use super::query_parts::QueryParts;
use crate::internals::ast::Container;

/// `live_expiries` on the table whose `table!` module is at `table`.
pub fn expand(container: &Container, table: &TokenStream) -> TokenStream {
    let krate = &container.krate;
    let parts = QueryParts::new(container);
    let QueryParts {
        run,
        imports,
        backend,
        expiry,
        connection,
        ..
    } = &parts;
    let rows_future = parts.future(quote!(::std::vec::Vec<(::std::vec::Vec<u8>, #expiry)>));
    quote! {
        fn live_expiries<'a>(
            connection: &'a mut #connection,
            ids: &'a [[u8; 32]],
            now: &'a #krate::__private::LiveAt<#backend>,
        ) -> #rows_future {
            #imports
            #run::load(
                #table::table
                    .filter(
                        #table::id
                            .eq_any(ids.iter().map(|id| &id[..]))
                            .and(now.live(#table::expiry_date, #table::created_at, #table::authenticated_at)),
                    )
                    .select((#table::id, #table::expiry_date)),
                connection,
            )
        }
    }
}
