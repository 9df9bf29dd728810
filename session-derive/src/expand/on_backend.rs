//! Under `backend = any`: `on_backend!`, in the table's module, which runs
//! a Diesel query written once on the backend the store runs on.
//!
//! A Diesel query compiles for one connection type, so code that runs on
//! any backend is a `match` with one arm per backend, each naming that
//! backend's table module. The derive knows the backends and the modules,
//! so it writes the `match`; the app writes the query once, and no Diesel
//! trait bound.
//!
//! The macro is a `macro_rules!` under a name of its table, made nameable
//! as `http_sessions::on_backend!` by a `pub(crate) use`: a fixed name
//! could collide with a macro of the app's in textual scope, which a
//! macro-expanded `macro_rules!` may not shadow. Its paths are resolved
//! where it is invoked, as every `macro_rules!` path is but `$crate`'s,
//! and the derive cannot know the module's path from the crate root: the
//! table's module is named by its name, which a call by its path,
//! `http_sessions::on_backend!(...)`, has in scope.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::backends::Backend;
use crate::internals::ast::{unraw, Container};

pub fn expand(container: &Container, backends: &[Backend]) -> TokenStream {
    let Container {
        table,
        store,
        krate,
        ..
    } = container;
    let hidden_name = format_ident!("__{}_on_backend", unraw(table));
    let arms = backends.iter().map(|backend| arm(container, backend));
    let doc = format!(
        "Runs a Diesel query, written once, on the backend the [`{store}`] runs on.\n\n\
         `{table}::on_backend!(store, |connection, sessions, backend_store| body)` evaluates \
         `body` with `connection` a `&mut` connection of the store's pool, `sessions` the \
         backend's `table!` module (`{table}::sqlite`, `{table}::postgres` or \
         `{table}::mysql`) and `backend_store` the backend's `DieselStore`; `sessions` \
         and `backend_store` may be left out, and either may be `_`.\n\n\
         It is a `Result<T, session_runtime::Error>`: `Ok` of the body's value, or the \
         error of a connection the pool could not give. The body is code of the enclosing \
         function, so `.await` and `?` work as they do there.\n\n\
         Call it by its path, `{table}::on_backend!`, where `{table}` is in scope: the \
         expansion names the backends' modules through it."
    );
    // Each backend's `if let` is a statement of its own, where the runtime
    // has the backend: a `match` cannot leave out an arm by a macro, and a
    // labeled block would turn a `break` of the app's, meant for its loop
    // around the call, into an error.
    quote! {
        #[doc = #doc]
        #[allow(unused_macros)]
        macro_rules! #hidden_name {
            ($store:expr, |$connection:ident $(, $sessions:tt $(, $backend_store:tt)?)? $(,)?| $body:expr $(,)?) => {{
                let store = &$store;
                let mut outcome: ::core::option::Option<::core::result::Result<_, #krate::Error>> =
                    ::core::option::Option::None;
                #(#arms)*
                match outcome {
                    ::core::option::Option::Some(result) => result,
                    // No backend of the runtime gets here: the derive writes
                    // an arm for each.
                    ::core::option::Option::None => ::core::result::Result::Err(store.unmatched()),
                }
            }};
        }
        #[allow(unused_imports)]
        pub(crate) use #hidden_name as on_backend;
    }
}

/// The statement that runs the body on `backend` when the store runs on
/// it, where session-runtime has the backend.
fn arm(container: &Container, backend: &Backend) -> TokenStream {
    let krate = &container.krate;
    let table = &container.table;
    let module = &backend.module;
    let variant = variant(module);
    let arm = quote! {
        if let #krate::AnyStore::#variant(backend_store) = store {
            outcome = ::core::option::Option::Some(match backend_store.connection().await {
                ::core::result::Result::Ok(mut pooled) => {
                    let $connection = &mut *pooled;
                    $(
                        use #table::#module as $sessions;
                        $(let $backend_store = backend_store;)?
                    )?
                    ::core::result::Result::Ok($body)
                }
                ::core::result::Result::Err(error) => ::core::result::Result::Err(error),
            });
        }
    };
    backend.gated(arm, TokenStream::new())
}

/// The variant of `AnyStore` on the backend of `module`: its name,
/// capitalized (`sqlite`, `Sqlite`).
fn variant(module: &syn::Ident) -> syn::Ident {
    let name = module.to_string();
    let mut letters = name.chars();
    let capitalized: String = letters
        .next()
        .map(|first| first.to_ascii_uppercase())
        .into_iter()
        .chain(letters)
        .collect();
    syn::Ident::new(&capitalized, module.span())
}
