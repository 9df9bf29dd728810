//! The app's own queries next to the store: through the diesel-async the
//! runtime re-exports, on a connection of the store's pool, in a module
//! that also loads sessions. `diesel_async::RunQueryDsl` has a `load` for
//! every type, so `store.load(&id)` here would be its `load`; this file
//! compiles only because `load_record` cannot be shadowed.

use crate::common;

macro_rules! own_queries_suite {
    ($backend:ident, $kind:expr, [$($ignore:meta)?]) => {
        mod $backend {
            use diesel::{ExpressionMethods, QueryDsl};
            use serde_json::json;
            use session_runtime::diesel_async::RunQueryDsl;
            use session_tests::$backend::*;
            use session_tests::TestDatabase;
            use tower_sessions::session_store::SessionStore;

            use super::super::common::record;

            #[tokio::test]
            $(#[$ignore])?
            async fn own_queries_and_store_loads_in_one_module() {
                let Some(db) = TestDatabase::new($kind).await else { return };
                let (store, _) = stores(&db.url).await;
                let mut session = record(json!({"user_id": 2, "theme": "dark"}));
                store.create(&mut session).await.unwrap();

                // The app's own query, on a connection of the store's pool.
                let mut connection = store.connection().await.unwrap();
                let logins: Vec<String> = http_sessions::table
                    .inner_join(users::table)
                    .filter(http_sessions::expiry_date.gt(store.now()))
                    .select(users::login)
                    .load(&mut *connection)
                    .await
                    .unwrap();
                assert_eq!(logins, ["brian"]);
                drop(connection);

                // The store's load, under a name RunQueryDsl has not.
                let loaded = store.load_record(&session.id).await.unwrap().expect("stored");
                assert_eq!(loaded.id, session.id);
                assert_eq!(loaded.data, session.data);
                // tower-sessions 0.14's id gives 0.14's record.
                let old_id = tower_sessions_core_014::session::Id(session.id.0);
                let old: tower_sessions_core_014::session::Record =
                    store.load_record(&old_id).await.unwrap().expect("stored");
                assert_eq!(old.data, session.data);
                // And the trait's own, through its path.
                let through_trait = SessionStore::load(&store, &session.id).await.unwrap();
                assert_eq!(through_trait, Some(loaded));
                assert_eq!(store.load_record(&tower_sessions::session::Id::default()).await.unwrap(), None);
            }
        }
    };
}

mod backends {
    on_every_backend!(own_queries_suite);
}
