//! Snapshot tests of the expansion: what `cargo expand` shows a user of
//! each kind of input, pretty-printed. Review a changed snapshot with
//! `cargo insta review`, or accept it with
//! `INSTA_UPDATE=always cargo test -p session-derive`, and read the diff.

use quote::quote;

use crate::derive_session_store_inner;

/// The expansion of `input`, as `cargo expand` prints it.
fn expand(input: proc_macro2::TokenStream) -> String {
    let output = derive_session_store_inner(input);
    let file = syn::parse2::<syn::File>(output.clone())
        .unwrap_or_else(|error| panic!("the expansion is not a file of items: {error}\n{output}"));
    prettyplease::unparse(&file)
}

/// SQLite: a foreign key with `on_delete`, a plain typed column, and a
/// value nested under another key, indexed.
#[test]
fn sqlite_foreign_key_column_and_pointer() {
    insta::assert_snapshot!(expand(quote! {
        #[session(table = http_sessions, backend = sqlite)]
        pub struct AppSession {
            #[session(references = users, on_delete = set_null)]
            pub user_id: Option<i64>,
            pub optional: Option<String>,
            #[session(key = "axum-login.data", pointer = "/auth_hash", index)]
            pub auth_hash: Option<Vec<u8>>,
        }
    }));
}

/// PostgreSQL: an unlogged table whose `data` is `JSON`, not `JSONB`,
/// with a required field that has a default and a field with `sql_type`.
#[test]
fn postgres_unlogged_data_json() {
    insta::assert_snapshot!(expand(quote! {
        #[session(table = web_sessions, backend = postgres, unlogged, data = json)]
        pub struct WebSession {
            #[session(references = accounts, referenced_column = login)]
            pub login: Option<String>,
            #[session(column = visit_count)]
            pub visits: i32,
            #[session(sql_type = diesel::sql_types::Text)]
            pub locale: Option<Locale>,
        }
    }));
}

/// `backend = any`: a module per backend inside the table's module, each
/// gated on session-runtime's feature, and a name for the indexed column
/// on every backend.
#[test]
fn any_backend() {
    insta::assert_snapshot!(expand(quote! {
        #[session(table = http_sessions, backend = any)]
        pub struct AppSession {
            #[session(references = users)]
            pub user_id: Option<i64>,
            pub seen_at: Option<time::OffsetDateTime>,
        }
    }));
}

/// MySQL, with the store alias and the crate path named.
#[test]
fn mysql_store_and_crate() {
    insta::assert_snapshot!(expand(quote! {
        #[session(backend = mysql, store = Sessions, crate = ::my_app::session_runtime)]
        pub(crate) struct MySession {
            #[session(references = users, on_delete = cascade)]
            pub user_id: i64,
            pub last_seen: Option<time::OffsetDateTime>,
        }
    }));
}

/// Encrypted `data` on SQLite: a `Binary` column written from the sealed
/// bytes and read back as them, and `EncryptedTable`, which lets the store
/// take keys.
#[test]
fn sqlite_encrypted_data() {
    insta::assert_snapshot!(expand(quote! {
        #[session(table = http_sessions, backend = sqlite, data = encrypted)]
        pub struct AppSession {
            #[session(references = users)]
            pub user_id: Option<i64>,
        }
    }));
}

/// An input with errors: the errors, every one of them, and the fallback
/// impl from the runtime's `__session_table_fallback!`, so that uses of
/// the struct do not add errors of their own.
#[test]
fn errors_and_fallback() {
    insta::assert_snapshot!(expand(quote! {
        #[session(table = http_sessions, backend = sqlite, tabel = x)]
        pub struct AppSession {
            pub data: Option<String>,
            #[session(on_delete = nullify)]
            pub user_id: Option<u64>,
        }
    }));
}

/// Without a backend there is nothing to implement: the errors alone.
#[test]
fn missing_backend() {
    insta::assert_snapshot!(expand(quote! {
        #[session(table = http_sessions)]
        pub struct AppSession {
            pub user_id: Option<i64>,
        }
    }));
}
