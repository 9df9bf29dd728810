//! The session structs every suite runs against, stamped out per backend.

/// Defines `users`, `AppSession` (the contract's example),
/// `TypedSession` (every supported field type, a nested key and a
/// `SET NULL` foreign key) and `SealedSession` for one backend, and
/// `Schema`, the backend as a [`BackendSchema`](crate::BackendSchema).
#[macro_export]
macro_rules! define_schema {
    ($backend:ident, $kind:ident) => {
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
        /// This backend as a [`BackendSchema`]($crate::BackendSchema), for
        /// the suites' generic test bodies.
        pub struct Schema;

        impl From<AppSession> for $crate::suite::AppFields {
            fn from(session: AppSession) -> Self {
                $crate::suite::AppFields {
                    user_id: session.user_id,
                    optional: session.optional,
                }
            }
        }

        impl From<$crate::suite::AppFields> for AppSession {
            fn from(fields: $crate::suite::AppFields) -> Self {
                AppSession {
                    user_id: fields.user_id,
                    optional: fields.optional,
                }
            }
        }

        impl From<TypedSession> for $crate::suite::TypedFields {
            fn from(session: TypedSession) -> Self {
                $crate::suite::TypedFields {
                    user_id: session.user_id,
                    visits: session.visits,
                    small: session.small,
                    ratio: session.ratio,
                    weight: session.weight,
                    flag: session.flag,
                    blob: session.blob,
                    seen_at: session.seen_at,
                    prefs: session.prefs,
                    agent: session.agent,
                }
            }
        }

        impl From<$crate::suite::TypedFields> for TypedSession {
            fn from(fields: $crate::suite::TypedFields) -> Self {
                TypedSession {
                    user_id: fields.user_id,
                    visits: fields.visits,
                    small: fields.small,
                    ratio: fields.ratio,
                    weight: fields.weight,
                    flag: fields.flag,
                    blob: fields.blob,
                    seen_at: fields.seen_at,
                    prefs: fields.prefs,
                    agent: fields.agent,
                }
            }
        }

        impl From<SealedSession> for $crate::suite::SealedFields {
            fn from(session: SealedSession) -> Self {
                $crate::suite::SealedFields {
                    user_id: session.user_id,
                }
            }
        }

        impl $crate::BackendSchema for Schema {
            const KIND: $crate::Kind = $crate::Kind::$kind;
            type Engine = Engine;
            type App = AppSession;
            type Typed = TypedSession;
            type Sealed = SealedSession;
            type AppUserId = http_sessions::user_id;
            type TypedUserId = typed_sessions::user_id;
            type TypedAgent = typed_sessions::user_agent;
            type SealedUserId = sealed_sessions::user_id;

            const APP_USER_ID: Self::AppUserId = http_sessions::user_id;
            const TYPED_USER_ID: Self::TypedUserId = typed_sessions::user_id;
            const TYPED_AGENT: Self::TypedAgent = typed_sessions::user_agent;
            const SEALED_USER_ID: Self::SealedUserId = sealed_sessions::user_id;

            async fn app_rows(store: &AppSessionStore) -> i64 {
                use diesel::QueryDsl as _;
                use diesel_async::RunQueryDsl as _;
                let mut connection = store.connection().await.expect("a connection");
                http_sessions::table
                    .count()
                    .get_result(&mut *connection)
                    .await
                    .expect("count the rows")
            }

            async fn first_app_row(store: &AppSessionStore) -> $crate::suite::AppRow {
                use diesel::QueryDsl as _;
                use diesel_async::RunQueryDsl as _;
                let mut connection = store.connection().await.expect("a connection");
                let (id, user_id, optional, data) = http_sessions::table
                    .select((
                        http_sessions::id,
                        http_sessions::user_id,
                        http_sessions::optional,
                        http_sessions::data,
                    ))
                    .first::<(Vec<u8>, Option<i64>, Option<String>, serde_json::Value)>(
                        &mut *connection,
                    )
                    .await
                    .expect("a row");
                $crate::suite::AppRow {
                    id,
                    fields: $crate::suite::AppFields { user_id, optional },
                    data,
                }
            }

            async fn first_typed_row(
                store: &TypedSessionStore,
            ) -> ($crate::suite::TypedFields, serde_json::Value) {
                use diesel::QueryDsl as _;
                use diesel_async::RunQueryDsl as _;
                let mut connection = store.connection().await.expect("a connection");
                let (fields, data) = typed_sessions::table
                    .select((
                        (
                            typed_sessions::user_id,
                            typed_sessions::visits,
                            typed_sessions::small,
                            typed_sessions::ratio,
                            typed_sessions::weight,
                            typed_sessions::flag,
                            typed_sessions::blob,
                            typed_sessions::seen_at,
                            typed_sessions::prefs,
                            typed_sessions::user_agent,
                        ),
                        typed_sessions::data,
                    ))
                    .first::<(
                        (
                            Option<i64>,
                            i32,
                            Option<i16>,
                            Option<f64>,
                            Option<f32>,
                            Option<bool>,
                            Option<Vec<u8>>,
                            Option<time::OffsetDateTime>,
                            Option<serde_json::Value>,
                            Option<String>,
                        ),
                        serde_json::Value,
                    )>(&mut *connection)
                    .await
                    .expect("a row");
                let (user_id, visits, small, ratio, weight, flag, blob, seen_at, prefs, agent) =
                    fields;
                let fields = $crate::suite::TypedFields {
                    user_id,
                    visits,
                    small,
                    ratio,
                    weight,
                    flag,
                    blob,
                    seen_at,
                    prefs,
                    agent,
                };
                (fields, data)
            }

            async fn app_expiry(
                store: &AppSessionStore,
                id: tower_sessions::session::Id,
            ) -> Option<i128> {
                use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _};
                use diesel_async::RunQueryDsl as _;
                use session_runtime::backend::Backend as _;
                let mut connection = store.connection().await.expect("a connection");
                let digest = session_runtime::SessionDigest::of_id(id.0);
                let expiry = http_sessions::table
                    .filter(http_sessions::id.eq(&digest.as_bytes()[..]))
                    .select(http_sessions::expiry_date)
                    .first(&mut *connection)
                    .await
                    .optional()
                    .expect("read the expiry")?;
                let expiry = Engine::expiry_from_column(expiry).expect("a valid expiry");
                Some(expiry.unix_timestamp_nanos() / 1_000)
            }
        }
    };
}
