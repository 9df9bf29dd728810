//! The session structs every suite runs against, stamped out per backend.

/// Defines `users`, `AppSession` (the contract's example) and
/// `TypedSession` (every supported field type, a nested key and a
/// `SET NULL` foreign key) for one backend.
#[macro_export]
macro_rules! define_schema {
    ($backend:ident) => {
        diesel::table! {
            users (id) {
                id -> BigInt,
                login -> Text,
            }
        }

        /// The runtime's type of the backend.
        pub type Engine = session_runtime::__private::$backend::Backend;

        /// The session struct of the design's example.
        #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
        #[session(table = http_sessions, backend = $backend)]
        pub struct AppSession {
            #[session(references = users)]
            pub user_id: Option<i64>,
            pub optional: Option<String>,
        }

        /// Every supported field type, and axum-login's nested user id.
        #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
        #[session(table = typed_sessions, backend = $backend)]
        pub struct TypedSession {
            #[session(key = "axum-login.data", pointer = "/user_id", references = users, on_delete = set_null)]
            pub user_id: Option<i64>,
            pub visits: i32,
            pub small: Option<i16>,
            pub ratio: Option<f64>,
            pub weight: Option<f32>,
            pub flag: Option<bool>,
            pub blob: Option<Vec<u8>>,
            pub seen_at: Option<time::OffsetDateTime>,
            pub prefs: Option<serde_json::Value>,
            #[session(index, column = user_agent)]
            pub agent: Option<String>,
        }

        /// `data` encrypted at rest; the typed column stays in clear, to
        /// be queried.
        #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
        #[session(table = sealed_sessions, backend = $backend, data = encrypted)]
        pub struct SealedSession {
            #[session(references = users)]
            pub user_id: Option<i64>,
        }

        diesel::table! {
            /// An app table that links to a session: the reverse of a
            /// session's link to its user.
            devices (id) {
                id -> BigInt,
                name -> Text,
                session_id -> Nullable<Binary>,
            }
        }

        diesel::joinable!(devices -> http_sessions (session_id));
        diesel::allow_tables_to_appear_in_same_query!(devices, http_sessions);

        /// Both stores on the database at `url`, migrated.
        pub async fn stores(url: &str) -> (AppSessionStore, TypedSessionStore) {
            let store = AppSessionStore::connect(url).expect("pool");
            store.migrate().await.expect("migrate");
            let typed = TypedSessionStore::connect(url).expect("pool");
            typed.migrate().await.expect("migrate");
            (store, typed)
        }
    };
}
