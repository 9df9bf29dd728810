//! `#[derive(SessionStore)]`. Use it through `session_runtime`, which
//! re-exports it and documents it.
//!
//! The crate is laid out like serde_derive and thiserror-impl:
//! `internals` parses and validates, `expand` generates one part per file,
//! and `expand::fallback` keeps one mistake from cascading.

extern crate proc_macro;

mod expand;
mod internals;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Derives a Diesel session table and a tower-sessions store from a struct.
///
/// See `session_runtime::SessionStore` for the attributes.
#[proc_macro_derive(SessionStore, attributes(session))]
pub fn derive_session_store(input: TokenStream) -> TokenStream {
    derive_session_store_inner(input.into()).into()
}

/// The derive on token streams, for the snapshot tests in `tests.rs`,
/// which do not run the compiler.
fn derive_session_store_inner(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => expand::derive(&input),
        Err(error) => error.to_compile_error(),
    }
}
