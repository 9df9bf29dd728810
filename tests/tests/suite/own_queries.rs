//! The app's own queries next to the store: through the diesel-async the
//! runtime re-exports, on a connection of the store's pool, in a module
//! that also loads sessions. `diesel_async::RunQueryDsl` has a `load` for
//! every type, so `store.load(&id)` here would be its `load`; this file
//! compiles only because `load_record` cannot be shadowed.

use std::future::Future;

use diesel::{ExpressionMethods, QueryDsl};
use serde_json::json;
use session_runtime::diesel_async::RunQueryDsl;
use session_tests::{stores, AppStore, BackendSchema, TestDatabase};
use tower_sessions::session_store::SessionStore;

use crate::common::record;

mod backends {
    use super::own_queries_and_store_loads_in_one_module;

    tests_on_every_backend!(own_queries_and_store_loads_in_one_module);
}

/// The app's own query, written against one backend's tables.
trait OwnQueries: BackendSchema {
    /// The login of every user with a live session, read on a connection
    /// of the store's pool.
    fn logins_with_live_sessions(
        store: &AppStore<Self>,
    ) -> impl Future<Output = Vec<String>> + Send;
}

/// [`OwnQueries`] on the backend's `http_sessions` and `users` tables.
macro_rules! own_queries {
    ($backend:ident, $kind:expr, $ignore:tt) => {
        impl OwnQueries for session_tests::$backend::Schema {
            async fn logins_with_live_sessions(store: &AppStore<Self>) -> Vec<String> {
                use session_tests::$backend::{http_sessions, users};
                let mut connection = store.connection().await.unwrap();
                http_sessions::table
                    .inner_join(users::table)
                    .filter(http_sessions::expiry_date.gt(store.now()))
                    .select(users::login)
                    .load(&mut *connection)
                    .await
                    .unwrap()
            }
        }
    };
}

on_every_backend!(own_queries);

async fn own_queries_and_store_loads_in_one_module<T: OwnQueries>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let mut session = record(json!({"user_id": 2, "theme": "dark"}));
    store.create(&mut session).await.unwrap();

    // The app's own query, on a connection of the store's pool.
    assert_eq!(T::logins_with_live_sessions(&store).await, ["brian"]);

    // The store's load, under a name RunQueryDsl has not.
    let loaded = store
        .load_record(&session.id)
        .await
        .unwrap()
        .expect("stored");
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
    assert_eq!(
        store
            .load_record(&tower_sessions::session::Id::default())
            .await
            .unwrap(),
        None
    );
}
