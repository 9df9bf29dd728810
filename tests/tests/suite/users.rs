//! Users and their sessions: typed access from a request's session, links
//! from app tables to sessions, and a cache in front of the store.

macro_rules! users_suite {
    ($backend:ident, $kind:expr, [$($ignore:meta)?]) => {
        mod $backend {
            use std::sync::Arc;

            use diesel::{ExpressionMethods as _, QueryDsl as _};
            use serde_json::json;
            use session_runtime::{Error, SessionDigest, TypedSessionExt as _};
            use session_tests::$backend::*;
            use session_tests::TestDatabase;
            use tower_sessions::session_store::CachingSessionStore;
            use tower_sessions::{MemoryStore, Session, SessionStore as _};

            #[tokio::test]
            $(#[$ignore])?
            async fn reads_and_writes_the_struct_through_a_session() {
                let Some(db) = TestDatabase::new($kind).await else { return };
                let (store, _) = stores(&db.url).await;
                let store = Arc::new(store);
                let session = Session::new(None, store.clone(), None);
                session.insert("cart", ["book"]).await.unwrap();
                let written = AppSession { user_id: Some(1), optional: Some("laptop".into()) };
                session.set_typed(written.clone()).await.unwrap();
                assert_eq!(session.typed::<AppSession>().await.unwrap(), written);
                session.save().await.unwrap();

                let reloaded = Session::new(session.id(), store.clone(), None);
                assert_eq!(reloaded.typed::<AppSession>().await.unwrap(), written);
                let updated = reloaded
                    .update_typed(|app: &mut AppSession| app.optional = None)
                    .await
                    .unwrap();
                assert_eq!(updated, AppSession { user_id: Some(1), optional: None });
                assert_eq!(reloaded.get_value("optional").await.unwrap(), None, "a None field removes its key");
                assert_eq!(reloaded.get::<Vec<String>>("cart").await.unwrap(), Some(vec!["book".to_owned()]));
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn a_wrongly_shaped_value_is_a_decode_error() {
                let Some(db) = TestDatabase::new($kind).await else { return };
                let (store, _) = stores(&db.url).await;
                let session = Session::new(None, Arc::new(store), None);
                session.insert("user_id", "not a number").await.unwrap();
                let error = session.typed::<AppSession>().await.unwrap_err();
                assert!(matches!(&error, Error::Decode(message) if message.contains("user_id")), "{error:?}");
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn writing_a_nested_field_keeps_its_siblings() {
                let Some(db) = TestDatabase::new($kind).await else { return };
                let (_, typed) = stores(&db.url).await;
                let session = Session::new(None, Arc::new(typed), None);
                session
                    .insert("axum-login.data", json!({"user_id": 1, "auth_hash": [9]}))
                    .await
                    .unwrap();
                session
                    .update_typed(|typed: &mut TypedSession| typed.user_id = Some(2))
                    .await
                    .unwrap();
                assert_eq!(
                    session.get_value("axum-login.data").await.unwrap(),
                    Some(json!({"user_id": 2, "auth_hash": [9]}))
                );
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn an_app_table_links_to_a_session_and_loses_the_link_when_it_ends() {
                use diesel_async::RunQueryDsl as _;
                let Some(db) = TestDatabase::new($kind).await else { return };
                let (store, _) = stores(&db.url).await;
                db.create_devices().await;
                let store = Arc::new(store);
                let session = Session::new(None, store.clone(), None);
                session.insert("user_id", 2_i64).await.unwrap();
                session.save().await.unwrap();
                let digest = SessionDigest::from(session.id().unwrap());

                let mut connection = store.pool().get().await.unwrap();
                diesel::insert_into(devices::table)
                    .values((devices::id.eq(1_i64), devices::name.eq("laptop"), devices::session_id.eq(&digest.as_bytes()[..])))
                    .execute(&mut *connection)
                    .await
                    .unwrap();
                let joined: Vec<(String, Option<i64>)> = devices::table
                    .inner_join(http_sessions::table)
                    .select((devices::name, http_sessions::user_id))
                    .load(&mut *connection)
                    .await
                    .unwrap();
                assert_eq!(joined, [("laptop".to_owned(), Some(2))]);

                // cycle_id deletes the old row: ON DELETE SET NULL clears the link.
                session.cycle_id().await.unwrap();
                session.save().await.unwrap();
                let link: Option<Vec<u8>> = devices::table
                    .select(devices::session_id)
                    .first(&mut *connection)
                    .await
                    .unwrap();
                assert_eq!(link, None);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn works_behind_a_caching_store() {
                let Some(db) = TestDatabase::new($kind).await else { return };
                let (store, _) = stores(&db.url).await;
                let cached = Arc::new(CachingSessionStore::new(MemoryStore::default(), store.clone()));
                let session = Session::new(None, cached.clone(), None);
                session.insert("user_id", 3_i64).await.unwrap();
                session.save().await.unwrap();
                let id = session.id().unwrap();
                assert!(store.load(&id).await.unwrap().is_some(), "written through to the database");
                assert_eq!(store.count_by(http_sessions::user_id, &3).await.unwrap(), 1);

                // A per-user revoke deletes the rows, but the cache of this
                // server keeps its copy until the session is deleted through
                // it or expires: the documented limit of revoking behind a cache.
                assert_eq!(store.revoke_by(http_sessions::user_id, &3).await.unwrap(), 1);
                assert!(cached.load(&id).await.unwrap().is_some());
                let other_server = CachingSessionStore::new(MemoryStore::default(), store.clone());
                assert_eq!(other_server.load(&id).await.unwrap(), None);
                cached.delete(&id).await.unwrap();
                assert_eq!(cached.load(&id).await.unwrap(), None);
            }
        }
    };
}

on_every_backend!(users_suite);
