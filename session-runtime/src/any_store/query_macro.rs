//! [`on_backend!`](crate::on_backend): the app's Diesel query, written once,
//! run on whichever backend an [`AnyStore`](crate::AnyStore) runs on.
//!
//! A Diesel query compiles for one connection type, so code that runs on
//! any backend is one arm per backend, each naming that backend's table
//! module. This macro writes the arms; the app writes the query once, and
//! no Diesel trait bound.
//!
//! It is this crate's, and not a macro the derive writes into the table's
//! module: rustc resolves a path to a macro that a derive expanded only
//! when the derive happens to be expanded first, so `http_sessions::on_backend!`
//! failed to resolve from a module declared before the struct's ("could
//! not find `on_backend` in `http_sessions`"). The app names the table's
//! module in the call instead, by any path, and the arms reach it there.
//!
//! Each backend's arm is an `if let` statement of its own, where this
//! crate has the backend (`__private::if_sqlite!` and its siblings, as the
//! derive gates its tables): a `match` cannot leave out an arm through a
//! macro, and a labeled block would turn a `break` of the app's, meant for
//! a loop around the call, into an error.

/// Runs a Diesel query, written once, on the backend an
/// [`AnyStore`](crate::AnyStore) runs on: the app's own queries on a
/// struct derived with `#[session(backend = any)]`, joining its session
/// table or not, with no `match` on the store and no Diesel trait bound.
///
/// `on_backend!(store, http_sessions, |connection, sessions, backend_store| body)`
/// evaluates `body` where
///
/// - `connection` is a `&mut` connection of the store's pool, for
///   diesel-async's `RunQueryDsl` (`.load(connection).await`);
/// - `sessions` is the backend's `table!` module of the table's module
///   `http_sessions`, given by any path (`crate::schema::http_sessions`):
///   `http_sessions::sqlite`, `::postgres` or `::mysql`;
/// - `backend_store` is the backend's [`DieselStore`](crate::DieselStore),
///   whose [`now`](crate::DieselStore::now) is this instant as an
///   `expiry_date` value there.
///
/// `sessions` and `backend_store` may be left out, and either may be `_`.
///
/// The value is a `Result<T, session_runtime::Error>`: `Ok` of the body's
/// value, or the error of a connection the pool could not give. The body
/// is code of the enclosing async function, so `.await` and `?` work as
/// they do there: `?` on a Diesel error returns from the function.
///
/// ```
/// use diesel::prelude::*;
/// use session_runtime::diesel_async::RunQueryDsl;
/// use session_runtime::{on_backend, Error, SessionStore};
///
/// diesel::table! { users (id) { id -> BigInt, login -> Text } }
///
/// #[derive(SessionStore, Debug, Clone)]
/// #[session(table = http_sessions, backend = any)]
/// pub struct AppSession {
///     #[session(references = users)]
///     pub user_id: Option<i64>,
/// }
///
/// /// The logins of every user with a live session.
/// async fn logged_in(store: &AppSessionStore) -> Result<Vec<String>, Error> {
///     on_backend!(store, http_sessions, |connection, sessions, backend_store| {
///         sessions::table
///             .inner_join(users::table)
///             .filter(sessions::expiry_date.gt(backend_store.now()))
///             .select(users::login)
///             .distinct()
///             .load::<String>(connection)
///             .await?
///     })
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # let dir = std::env::temp_dir().join(format!("doc-on-backend-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let url = dir.join("sessions.db").to_str().unwrap().to_owned();
/// # let _ = std::fs::remove_file(&url);
/// let store = AppSessionStore::connect(&url)?;
/// store
///     .batch_execute("CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT NOT NULL)")
///     .await?;
/// store.migrate().await?;
/// assert!(logged_in(&store).await?.is_empty());
/// # Ok::<_, Error>(())
/// # }).unwrap();
/// ```
#[macro_export]
macro_rules! on_backend {
    ($store:expr, $($table:ident)::+, |$connection:ident $(,)?| $body:expr $(,)?) => {
        $crate::__on_backend!($store, [$($table)::+], $connection, _, _, $body)
    };
    ($store:expr, $($table:ident)::+, |$connection:ident, $sessions:tt $(,)?| $body:expr $(,)?) => {
        $crate::__on_backend!($store, [$($table)::+], $connection, $sessions, _, $body)
    };
    (
        $store:expr, $($table:ident)::+,
        |$connection:ident, $sessions:tt, $backend_store:tt $(,)?| $body:expr $(,)?
    ) => {
        $crate::__on_backend!($store, [$($table)::+], $connection, $sessions, $backend_store, $body)
    };
}

/// [`on_backend!`] with every binding named, `_` for those left out: one
/// rule, so that the table's path, a repetition of its own, is not nested
/// in the repetition of an optional binding.
#[doc(hidden)]
#[macro_export]
macro_rules! __on_backend {
    (
        $store:expr, [$($table:ident)::+], $connection:ident, $sessions:tt,
        $backend_store:tt, $body:expr
    ) => {{
        let store = &$store;
        let mut outcome: ::core::option::Option<::core::result::Result<_, $crate::Error>> =
            ::core::option::Option::None;
        $crate::__private::if_sqlite! { {
            if let $crate::AnyStore::Sqlite(backend_store) = store {
                outcome = ::core::option::Option::Some(
                    match backend_store.connection().await {
                        ::core::result::Result::Ok(mut pooled) => {
                            let $connection = &mut *pooled;
                            use $($table)::+::sqlite as $sessions;
                            let $backend_store = backend_store;
                            ::core::result::Result::Ok($body)
                        }
                        ::core::result::Result::Err(error) => ::core::result::Result::Err(error),
                    },
                );
            }
        } else {} }
        $crate::__private::if_postgres! { {
            if let $crate::AnyStore::Postgres(backend_store) = store {
                outcome = ::core::option::Option::Some(
                    match backend_store.connection().await {
                        ::core::result::Result::Ok(mut pooled) => {
                            let $connection = &mut *pooled;
                            use $($table)::+::postgres as $sessions;
                            let $backend_store = backend_store;
                            ::core::result::Result::Ok($body)
                        }
                        ::core::result::Result::Err(error) => ::core::result::Result::Err(error),
                    },
                );
            }
        } else {} }
        $crate::__private::if_mysql! { {
            if let $crate::AnyStore::Mysql(backend_store) = store {
                outcome = ::core::option::Option::Some(
                    match backend_store.connection().await {
                        ::core::result::Result::Ok(mut pooled) => {
                            let $connection = &mut *pooled;
                            use $($table)::+::mysql as $sessions;
                            let $backend_store = backend_store;
                            ::core::result::Result::Ok($body)
                        }
                        ::core::result::Result::Err(error) => ::core::result::Result::Err(error),
                    },
                );
            }
        } else {} }
        match outcome {
            ::core::option::Option::Some(result) => result,
            // Each backend of this crate has its arm above: only a store
            // of a backend added to `AnyStore` since gets here.
            ::core::option::Option::None => ::core::result::Result::Err(store.unmatched()),
        }
    }};
}
