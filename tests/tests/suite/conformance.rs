//! The conformance suite: the original store's specification cases, the
//! tower-sessions contract and the typed-column rules, stamped out for
//! every backend from the one definition below.

use std::sync::Arc;

use tower_sessions::session::Record;

use crate::common::{micros, record, where_id};

macro_rules! conformance_suite {
    ($backend:ident, $kind:expr, [$($ignore:meta)?]) => {
        mod $backend {
            use std::sync::atomic::{AtomicI64, Ordering};

            use diesel::QueryDsl as _;
            use serde_json::json;
            use session_runtime::{Error, SessionDigest};
            use session_tests::$backend::*;
            use session_tests::{Kind, TestDatabase};
            use time::{Duration, OffsetDateTime};
            use tower_sessions::session::Id;
            use tower_sessions::session_store::{self, ExpiredDeletion as _, SessionStore as _};
            use tower_sessions::Session;

            use super::*;

            const KIND: Kind = $kind;

            struct Env {
                db: TestDatabase,
                store: AppSessionStore,
                typed: TypedSessionStore,
            }

            async fn env() -> Option<Env> {
                let db = TestDatabase::new(KIND).await?;
                let (store, typed) = stores(&db.url).await;
                Some(Env { db, store, typed })
            }

            async fn created(store: &impl tower_sessions::SessionStore, data: serde_json::Value) -> Record {
                let mut record = record(data);
                store.create(&mut record).await.expect("create");
                record
            }

            async fn rows_in(env: &Env) -> i64 {
                use diesel_async::RunQueryDsl as _;
                let mut connection = env.store.pool().get().await.unwrap();
                http_sessions::table.count().get_result(&mut *connection).await.unwrap()
            }

            // The original's specification cases.

            #[tokio::test]
            $(#[$ignore])?
            async fn gets_a_known_session() {
                let Some(env) = env().await else { return };
                let record = created(&env.store, json!({"cookie": {"maxAge": 2000}, "name": "tj"})).await;
                let loaded = env.store.load(&record.id).await.unwrap().expect("stored");
                assert_eq!(loaded.id, record.id);
                assert_eq!(loaded.data, record.data);
                assert_eq!(micros(loaded.expiry_date), micros(record.expiry_date));
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn an_unknown_id_gives_nothing() {
                let Some(env) = env().await else { return };
                created(&env.store, json!({"name": "tj"})).await;
                assert_eq!(env.store.load(&Id::default()).await.unwrap(), None);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn set_then_get() {
                let Some(env) = env().await else { return };
                let record = created(&env.store, json!({"a": [1, 2.5, "three", null, {"four": true}]})).await;
                let loaded = env.store.load(&record.id).await.unwrap().unwrap();
                assert_eq!(loaded.data, record.data);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn set_twice_shows_the_update() {
                let Some(env) = env().await else { return };
                let mut record = created(&env.store, json!({"visits": 1, "optional": "first"})).await;
                record.data.insert("visits".into(), json!(2));
                record.data.insert("optional".into(), json!("second"));
                record.expiry_date += Duration::hours(1);
                env.store.save(&record).await.unwrap();
                let loaded = env.store.load(&record.id).await.unwrap().unwrap();
                assert_eq!(loaded.data, record.data);
                assert_eq!(micros(loaded.expiry_date), micros(record.expiry_date));
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn counts_live_sessions() {
                let Some(env) = env().await else { return };
                for n in 0..3 {
                    created(&env.store, json!({"n": n})).await;
                }
                let mut expired = record(json!({}));
                expired.expiry_date = OffsetDateTime::now_utc() - Duration::seconds(1);
                env.store.create(&mut expired).await.unwrap();
                assert_eq!(env.store.count().await.unwrap(), 3);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn destroys_a_session() {
                let Some(env) = env().await else { return };
                let record = created(&env.store, json!({"name": "tj"})).await;
                env.store.delete(&record.id).await.unwrap();
                assert_eq!(env.store.load(&record.id).await.unwrap(), None);
                assert_eq!(rows_in(&env).await, 0);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn destroying_an_unknown_id_is_no_error() {
                let Some(env) = env().await else { return };
                env.store.delete(&Id::default()).await.unwrap();
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn clears_every_session() {
                let Some(env) = env().await else { return };
                let first = created(&env.store, json!({"n": 1})).await;
                created(&env.store, json!({"n": 2})).await;
                assert_eq!(env.store.clear().await.unwrap(), 2);
                assert_eq!(env.store.count().await.unwrap(), 0);
                assert_eq!(env.store.load(&first.id).await.unwrap(), None);
            }

            // The tower-sessions contract.

            #[tokio::test]
            $(#[$ignore])?
            async fn create_under_forced_collisions_never_overwrites() {
                let Some(env) = env().await else { return };
                static NEXT: AtomicI64 = AtomicI64::new(1);
                let store = env.store.clone().with_id_generator(|| i128::from(NEXT.fetch_add(1, Ordering::SeqCst)));
                let mut taken = Vec::new();
                for id in [1, 2, 3] {
                    let mut record = record(json!({"owner": id}));
                    record.id = Id(id);
                    store.create(&mut record).await.unwrap();
                    assert_eq!(record.id, Id(id), "a free id is kept");
                    taken.push(record);
                }
                let mut colliding = record(json!({"owner": "newcomer"}));
                colliding.id = Id(1);
                store.create(&mut colliding).await.unwrap();
                assert_eq!(colliding.id, Id(4), "ids 1, 2 and 3 are taken, so the fourth draw wins");
                for record in &taken {
                    assert_eq!(store.load(&record.id).await.unwrap().unwrap().data, record.data);
                }
                assert_eq!(store.load(&colliding.id).await.unwrap().unwrap().data, colliding.data);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn an_expired_session_is_never_loaded_and_is_deleted() {
                let Some(env) = env().await else { return };
                let live = created(&env.store, json!({"live": true})).await;
                let mut expired = record(json!({"live": false}));
                expired.expiry_date = OffsetDateTime::now_utc() - Duration::milliseconds(1);
                env.store.create(&mut expired).await.unwrap();
                assert_eq!(env.store.load(&expired.id).await.unwrap(), None);
                env.store.delete_expired().await.unwrap();
                assert_eq!(rows_in(&env).await, 1);
                assert!(env.store.load(&live.id).await.unwrap().is_some());
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn cycle_id_through_a_session_handle() {
                let Some(env) = env().await else { return };
                let store = Arc::new(env.store.clone());
                let session = Session::new(None, store.clone(), None);
                session.insert("user_id", 1_i64).await.unwrap();
                session.save().await.unwrap();
                let old = session.id().expect("created");
                session.cycle_id().await.unwrap();
                session.save().await.unwrap();
                let new = session.id().expect("created again");
                assert_ne!(old, new);
                assert_eq!(store.load(&old).await.unwrap(), None);
                let loaded = store.load(&new).await.unwrap().expect("the cycled session");
                assert_eq!(loaded.data.get("user_id"), Some(&json!(1)));
                assert_eq!(rows_in(&env).await, 1);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn a_save_after_a_concurrent_delete_does_not_resurrect() {
                let Some(env) = env().await else { return };
                let mut record = created(&env.store, json!({"user_id": 1})).await;
                // A slow request loaded the session; meanwhile the user logged out.
                env.store.load(&record.id).await.unwrap().unwrap();
                env.store.delete(&record.id).await.unwrap();
                record.data.insert("cart".into(), json!(["book"]));
                env.store.save(&record).await.unwrap();
                assert_eq!(env.store.load(&record.id).await.unwrap(), None);
                assert_eq!(rows_in(&env).await, 0);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn a_save_after_expiry_does_not_revive_the_session() {
                let Some(env) = env().await else { return };
                // The row expired while a request held the session, and
                // delete_expired has not run yet.
                let mut record = record(json!({"user_id": 1}));
                record.expiry_date = OffsetDateTime::now_utc() - Duration::seconds(1);
                env.store.create(&mut record).await.unwrap();
                record.expiry_date = OffsetDateTime::now_utc() + Duration::hours(1);
                env.store.save(&record).await.unwrap();
                assert_eq!(env.store.load(&record.id).await.unwrap(), None);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn migrate_is_idempotent_and_safe_to_race() {
                let Some(env) = env().await else { return };
                // `env` migrated both tables: running it again changes nothing.
                let again = env.store.migrate().await.unwrap();
                assert!(again.is_current(), "a second migrate() found work: {again:?}");
                assert!(again.changes().is_empty(), "{:?}", again.changes());
                assert!(again.up_statements().is_empty(), "{:?}", again.up_statements());
                let (first, second) = tokio::join!(env.store.migrate(), env.typed.migrate());
                assert!(first.unwrap().is_current());
                assert!(second.unwrap().is_current());

                // Two servers starting at once on a database without the
                // table: one creates it, the other finds it done, and both
                // end with the one current schema.
                let fresh = TestDatabase::new(KIND).await.expect("a second database");
                let servers = [
                    AppSessionStore::connect(&fresh.url).expect("pool"),
                    AppSessionStore::connect(&fresh.url).expect("pool"),
                ];
                let (first, second) = tokio::join!(servers[0].migrate(), servers[1].migrate());
                let (first, second) = (first.unwrap(), second.unwrap());
                assert!(
                    !first.is_current() || !second.is_current(),
                    "neither racer created the table: {first:?} {second:?}"
                );
                for server in &servers {
                    let live = server.check_schema().await.unwrap();
                    assert!(live.is_current(), "after the race: {live:?}");
                    let again = server.migrate().await.unwrap();
                    assert!(again.is_current(), "after the race: {again:?}");
                }
                let record = created(&servers[0], json!({"user_id": 1})).await;
                assert_eq!(servers[1].load(&record.id).await.unwrap().unwrap().data, record.data);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn ids_are_hashed_at_rest() {
                let Some(env) = env().await else { return };
                let record = created(&env.store, json!({"name": "tj"})).await;
                use diesel_async::RunQueryDsl as _;
                let mut connection = env.store.pool().get().await.unwrap();
                let (id, data): (Vec<u8>, serde_json::Value) = http_sessions::table
                    .select((http_sessions::id, http_sessions::data))
                    .first(&mut *connection)
                    .await
                    .unwrap();
                assert_eq!(&id[..], SessionDigest::of_id(record.id.0).as_bytes());
                let cookie = record.id.to_string();
                let raw = record.id.0.to_le_bytes();
                assert!(!id.windows(raw.len()).any(|window| window == raw));
                assert!(!data.to_string().contains(&cookie));
            }

            // Typed columns.

            #[tokio::test]
            $(#[$ignore])?
            async fn a_typed_value_lands_in_its_column_and_is_read_back() {
                let Some(env) = env().await else { return };
                let record = created(&env.store, json!({"user_id": 2, "optional": "x", "other": 1})).await;
                use diesel_async::RunQueryDsl as _;
                let mut connection = env.store.pool().get().await.unwrap();
                let (user_id, optional, data): (Option<i64>, Option<String>, serde_json::Value) = http_sessions::table
                    .select((http_sessions::user_id, http_sessions::optional, http_sessions::data))
                    .first(&mut *connection)
                    .await
                    .unwrap();
                assert_eq!(user_id, Some(2));
                assert_eq!(optional.as_deref(), Some("x"));
                assert_eq!(data, json!({"other": 1}), "typed keys are not copied into data");
                let loaded = tower_sessions::SessionStore::load(&env.store, &record.id).await.unwrap().unwrap();
                assert_eq!(loaded.data, record.data);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn a_mistyped_value_is_an_encode_error_and_leaves_the_row() {
                let Some(env) = env().await else { return };
                let mut record = created(&env.store, json!({"user_id": 1, "note": "kept"})).await;
                record.data.insert("user_id".into(), json!("not a number"));
                record.data.insert("note".into(), json!("lost?"));
                let error = env.store.save(&record).await.unwrap_err();
                assert!(
                    matches!(&error, session_store::Error::Encode(message) if message.contains("user_id")),
                    "{error:?}"
                );
                let mut fresh = super::record(json!({"user_id": [1]}));
                assert!(matches!(env.store.create(&mut fresh).await, Err(session_store::Error::Encode(_))));
                let loaded = env.store.load(&record.id).await.unwrap().unwrap();
                assert_eq!(loaded.data.get("user_id"), Some(&json!(1)));
                assert_eq!(loaded.data.get("note"), Some(&json!("kept")));
                assert_eq!(rows_in(&env).await, 1);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn a_foreign_key_violation_is_its_own_kind() {
                let Some(env) = env().await else { return };
                let mut record = record(json!({"user_id": 999}));
                let error = env.store.create(&mut record).await.unwrap_err();
                // tower-sessions' error has three kinds; the store's own
                // kind shows in its message.
                assert!(
                    matches!(&error, session_store::Error::Backend(message)
                        if message.starts_with("session references a missing row: INSERT on ")
                            && message.to_lowercase().contains("foreign key")),
                    "{error:?}"
                );
                assert_eq!(rows_in(&env).await, 0);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn deleting_a_user_cascades_to_their_sessions() {
                let Some(env) = env().await else { return };
                let theirs = created(&env.store, json!({"user_id": 3})).await;
                let other = created(&env.store, json!({"user_id": 1})).await;
                env.db.execute("DELETE FROM users WHERE id = 3").await;
                assert_eq!(env.store.load(&theirs.id).await.unwrap(), None);
                assert!(env.store.load(&other.id).await.unwrap().is_some());
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn clearing_the_column_by_hand_logs_the_session_out() {
                let Some(env) = env().await else { return };
                let record = created(&env.store, json!({"user_id": 2, "theme": "dark"})).await;
                env.db.execute("UPDATE http_sessions SET user_id = NULL").await;
                let loaded = env.store.load(&record.id).await.unwrap().unwrap();
                assert_eq!(loaded.data.get("user_id"), None);
                assert_eq!(loaded.data.get("theme"), Some(&json!("dark")));
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn a_nested_key_lands_in_its_column() {
                let Some(env) = env().await else { return };
                let record = created(
                    &env.typed,
                    json!({"axum-login.data": {"user_id": 1, "auth_hash": [7, 8]}, "visits": 3}),
                )
                .await;
                use diesel_async::RunQueryDsl as _;
                let mut connection = env.typed.pool().get().await.unwrap();
                let (user_id, data): (Option<i64>, serde_json::Value) = typed_sessions::table
                    .select((typed_sessions::user_id, typed_sessions::data))
                    .first(&mut *connection)
                    .await
                    .unwrap();
                assert_eq!(user_id, Some(1));
                assert_eq!(data, json!({"axum-login.data": {"auth_hash": [7, 8]}}));
                let loaded = tower_sessions::SessionStore::load(&env.typed, &record.id).await.unwrap().unwrap();
                assert_eq!(loaded.data, record.data);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn deleting_a_user_sets_a_set_null_column_to_null() {
                let Some(env) = env().await else { return };
                let record = created(
                    &env.typed,
                    json!({"axum-login.data": {"user_id": 2, "auth_hash": [1]}, "visits": 1}),
                )
                .await;
                env.db.execute("DELETE FROM users WHERE id = 2").await;
                let loaded = env.typed.load(&record.id).await.unwrap().expect("the session stays");
                assert_eq!(loaded.data.get("axum-login.data"), Some(&json!({"auth_hash": [1]})));
                assert_eq!(loaded.data.get("visits"), Some(&json!(1)));
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn a_missing_key_of_a_required_field_takes_its_default() {
                let Some(env) = env().await else { return };
                let record = created(&env.typed, json!({"theme": "dark"})).await;
                let loaded = env.typed.load(&record.id).await.unwrap().unwrap();
                assert_eq!(loaded.data.get("visits"), Some(&json!(0)));
                assert_eq!(loaded.data.get("theme"), Some(&json!("dark")));
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn the_ddl_and_the_table_agree_on_every_column() {
                let Some(env) = env().await else { return };
                let seen_at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap() + Duration::microseconds(250);
                let data = json!({
                    "axum-login.data": {"user_id": 1},
                    "visits": 5,
                    "small": -7,
                    "ratio": 0.25,
                    "weight": 1.5,
                    "flag": true,
                    "blob": [0, 1, 255],
                    "seen_at": serde_json::to_value(seen_at).unwrap(),
                    "prefs": {"theme": "dark", "sizes": [1, 2]},
                    "agent": "curl/8",
                });
                let record = created(&env.typed, data).await;
                use diesel_async::RunQueryDsl as _;
                let mut connection = env.typed.pool().get().await.unwrap();
                let row: TypedSession = typed_sessions::table
                    .select((
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
                    ))
                    .first::<(
                        Option<i64>,
                        i32,
                        Option<i16>,
                        Option<f64>,
                        Option<f32>,
                        Option<bool>,
                        Option<Vec<u8>>,
                        Option<OffsetDateTime>,
                        Option<serde_json::Value>,
                        Option<String>,
                    )>(&mut *connection)
                    .await
                    .map(|(user_id, visits, small, ratio, weight, flag, blob, seen_at, prefs, agent)| TypedSession {
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
                    })
                    .unwrap();
                assert_eq!(
                    row,
                    TypedSession {
                        user_id: Some(1),
                        visits: 5,
                        small: Some(-7),
                        ratio: Some(0.25),
                        weight: Some(1.5),
                        flag: Some(true),
                        blob: Some(vec![0, 1, 255]),
                        seen_at: Some(seen_at),
                        prefs: Some(json!({"theme": "dark", "sizes": [1, 2]})),
                        agent: Some("curl/8".into()),
                    }
                );
                let loaded = tower_sessions::SessionStore::load(&env.typed, &record.id).await.unwrap().unwrap();
                assert_eq!(loaded.data, record.data);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn a_corrupted_row_is_a_decode_error_for_that_session_alone() {
                let Some(env) = env().await else { return };
                let broken = created(&env.store, json!({"n": 1})).await;
                let fine = created(&env.store, json!({"n": 2})).await;
                let where_id = where_id(KIND, broken.id);
                env.db.execute(&format!("UPDATE http_sessions SET data = '[1, 2]' WHERE {where_id}")).await;
                let error = env.store.load(&broken.id).await.unwrap_err();
                assert!(matches!(error, session_store::Error::Decode(_)), "{error:?}");
                assert!(env.store.load(&fine.id).await.unwrap().is_some());
            }

            // Queries by indexed columns.

            #[tokio::test]
            $(#[$ignore])?
            async fn lists_and_counts_the_live_sessions_of_a_user() {
                let Some(env) = env().await else { return };
                let first = created(&env.store, json!({"user_id": 1, "optional": "laptop"})).await;
                let second = created(&env.store, json!({"user_id": 1, "optional": "phone"})).await;
                created(&env.store, json!({"user_id": 2})).await;
                created(&env.store, json!({"anonymous": true})).await;
                let mut expired = record(json!({"user_id": 1}));
                expired.expiry_date = OffsetDateTime::now_utc() - Duration::seconds(1);
                env.store.create(&mut expired).await.unwrap();

                let listed = env.store.list_by(http_sessions::user_id, &1).await.unwrap();
                let mut devices: Vec<_> = listed.iter().map(|info| info.fields.optional.clone().unwrap()).collect();
                devices.sort();
                assert_eq!(devices, ["laptop", "phone"]);
                for info in &listed {
                    assert_eq!(info.fields.user_id, Some(1));
                    assert!(info.expiry_date > OffsetDateTime::now_utc());
                    assert!([SessionDigest::from(first.id), SessionDigest::from(second.id)].contains(&info.digest));
                }
                assert_eq!(env.store.count_by(http_sessions::user_id, &1).await.unwrap(), 2);
                assert_eq!(env.store.count_by(http_sessions::user_id, &3).await.unwrap(), 0);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn revokes_all_but_the_current_session() {
                let Some(env) = env().await else { return };
                let current = created(&env.store, json!({"user_id": 1})).await;
                let other = created(&env.store, json!({"user_id": 1})).await;
                let someone_else = created(&env.store, json!({"user_id": 2})).await;
                let revoked = env
                    .store
                    .revoke_by_except(http_sessions::user_id, &1, SessionDigest::from(current.id))
                    .await
                    .unwrap();
                assert_eq!(revoked, 1);
                assert!(env.store.load(&current.id).await.unwrap().is_some());
                assert_eq!(env.store.load(&other.id).await.unwrap(), None);
                assert!(env.store.load(&someone_else.id).await.unwrap().is_some());
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn revokes_one_session_of_its_own_user_only() {
                let Some(env) = env().await else { return };
                let mine = created(&env.store, json!({"user_id": 1})).await;
                let theirs = created(&env.store, json!({"user_id": 2})).await;
                let column = http_sessions::user_id;
                assert!(!env.store.revoke_one_by(column, &1, SessionDigest::from(theirs.id)).await.unwrap());
                assert!(env.store.load(&theirs.id).await.unwrap().is_some());
                assert!(env.store.revoke_one_by(column, &1, SessionDigest::from(mine.id)).await.unwrap());
                assert_eq!(env.store.load(&mine.id).await.unwrap(), None);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn revokes_every_session_of_a_user() {
                let Some(env) = env().await else { return };
                for _ in 0..3 {
                    created(&env.store, json!({"user_id": 3})).await;
                }
                let kept = created(&env.store, json!({"user_id": 1})).await;
                assert_eq!(env.store.revoke_by(http_sessions::user_id, &3).await.unwrap(), 3);
                assert_eq!(env.store.count_by(http_sessions::user_id, &3).await.unwrap(), 0);
                assert!(env.store.load(&kept.id).await.unwrap().is_some());
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn queries_an_indexed_column_that_is_no_foreign_key() {
                let Some(env) = env().await else { return };
                created(&env.typed, json!({"agent": "curl/8"})).await;
                created(&env.typed, json!({"agent": "firefox"})).await;
                let listed = env.typed.list_by(typed_sessions::user_agent, &"curl/8".to_owned()).await.unwrap();
                assert_eq!(listed.len(), 1);
                assert_eq!(listed[0].fields.agent.as_deref(), Some("curl/8"));
                assert_eq!(listed[0].fields.visits, 0);
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn errors_convert_to_the_matching_store_error() {
                let converted: session_store::Error = Error::Encode("too big".into()).into();
                assert!(matches!(converted, session_store::Error::Encode(message) if message == "too big"));
                let converted: session_store::Error = Error::Schema("drift".into()).into();
                assert!(matches!(converted, session_store::Error::Backend(message) if message.ends_with("drift")));
            }
        }
    };
}

on_every_backend!(conformance_suite);
