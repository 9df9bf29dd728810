//! `EncryptedTable`, for a struct whose table encrypts `data`
//! (`#[session(data = encrypted)]`): the bound of
//! `DieselStore::with_encryption_keys`, so that keys given to a store that
//! stores `data` in clear are a compile error.

use proc_macro2::TokenStream;
use quote::quote;

use crate::internals::ast::Container;
use crate::internals::attr::DataFormat;

pub fn expand(container: &Container) -> TokenStream {
    let Container { ident, krate, .. } = container;
    match container.data {
        Some((DataFormat::Encrypted, _)) => quote! {
            #[automatically_derived]
            impl #krate::__private::EncryptedTable for #ident {}
        },
        _ => TokenStream::new(),
    }
}
