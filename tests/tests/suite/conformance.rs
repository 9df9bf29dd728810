//! The conformance suite: the original store's specification cases, the
//! tower-sessions contract and the typed-column rules, run on every
//! backend.
//!
//! Forced id collisions are tested in `races`, a foreign key to no user in
//! `bad_input` and rows corrupted by hand in `faults`, each more widely
//! than here.

use std::sync::Arc;

use serde_json::json;
use session_runtime::{Error, SessionDigest};
use session_tests::suite::{AppFields, TypedFields};
use session_tests::{stores, AppStore, BackendSchema, TestDatabase, TypedStore};
use time::{Duration, OffsetDateTime};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion as _, SessionStore as _};
use tower_sessions::Session;

use crate::common::{micros, record};

tests_on_every_backend_and_pgbouncer!(
    gets_a_known_session,
    an_unknown_id_gives_nothing,
    set_then_get,
    set_twice_shows_the_update,
    counts_live_sessions,
    destroys_a_session,
    destroying_an_unknown_id_is_no_error,
    clears_every_session,
    an_expired_session_is_never_loaded_and_is_deleted,
    cycle_id_through_a_session_handle,
    a_save_after_a_concurrent_delete_does_not_resurrect,
    a_save_after_expiry_does_not_revive_the_session,
    migrate_is_idempotent_and_safe_to_race,
    ids_are_hashed_at_rest,
    a_typed_value_lands_in_its_column_and_is_read_back,
    a_mistyped_value_is_an_encode_error_and_leaves_the_row,
    deleting_a_user_cascades_to_their_sessions,
    clearing_the_column_by_hand_logs_the_session_out,
    a_nested_key_lands_in_its_column,
    deleting_a_user_sets_a_set_null_column_to_null,
    a_missing_key_of_a_required_field_takes_its_default,
    the_ddl_and_the_table_agree_on_every_column,
    lists_and_counts_the_live_sessions_of_a_user,
    revokes_all_but_the_current_session,
    revokes_one_session_of_its_own_user_only,
    revokes_every_session_of_a_user,
    queries_an_indexed_column_that_is_no_foreign_key,
    errors_convert_to_the_matching_store_error,
);

/// The test's database and both stores on it, migrated.
struct Env<T: BackendSchema> {
    db: TestDatabase,
    store: AppStore<T>,
    typed: TypedStore<T>,
}

async fn env<T: BackendSchema>(db: TestDatabase) -> Env<T> {
    let (store, typed) = stores::<T>(&db.url).await;
    Env { db, store, typed }
}

/// A session holding `data`, created through `store`.
async fn created(store: &impl tower_sessions::SessionStore, data: serde_json::Value) -> Record {
    let mut record = record(data);
    store.create(&mut record).await.expect("create");
    record
}

// The original's specification cases.

async fn gets_a_known_session<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let record = created(
        &env.store,
        json!({"cookie": {"maxAge": 2000}, "name": "tj"}),
    )
    .await;
    let loaded = env.store.load(&record.id).await.unwrap().expect("stored");
    assert_eq!(loaded.id, record.id);
    assert_eq!(loaded.data, record.data);
    assert_eq!(micros(loaded.expiry_date), micros(record.expiry_date));
}

async fn an_unknown_id_gives_nothing<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    created(&env.store, json!({"name": "tj"})).await;
    assert_eq!(env.store.load(&Id::default()).await.unwrap(), None);
}

async fn set_then_get<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let record = created(
        &env.store,
        json!({"a": [1, 2.5, "three", null, {"four": true}]}),
    )
    .await;
    let loaded = env.store.load(&record.id).await.unwrap().unwrap();
    assert_eq!(loaded.data, record.data);
}

async fn set_twice_shows_the_update<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let mut record = created(&env.store, json!({"visits": 1, "optional": "first"})).await;
    record.data.insert("visits".into(), json!(2));
    record.data.insert("optional".into(), json!("second"));
    record.expiry_date += Duration::hours(1);
    env.store.save(&record).await.unwrap();
    let loaded = env.store.load(&record.id).await.unwrap().unwrap();
    assert_eq!(loaded.data, record.data);
    assert_eq!(micros(loaded.expiry_date), micros(record.expiry_date));
}

async fn counts_live_sessions<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    for n in 0..3 {
        created(&env.store, json!({"n": n})).await;
    }
    let mut expired = record(json!({}));
    expired.expiry_date = OffsetDateTime::now_utc() - Duration::seconds(1);
    env.store.create(&mut expired).await.unwrap();
    assert_eq!(env.store.count().await.unwrap(), 3);
}

async fn destroys_a_session<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let record = created(&env.store, json!({"name": "tj"})).await;
    env.store.delete(&record.id).await.unwrap();
    assert_eq!(env.store.load(&record.id).await.unwrap(), None);
    assert_eq!(T::app_rows(&env.store).await, 0);
}

async fn destroying_an_unknown_id_is_no_error<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    env.store.delete(&Id::default()).await.unwrap();
}

async fn clears_every_session<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let first = created(&env.store, json!({"n": 1})).await;
    created(&env.store, json!({"n": 2})).await;
    assert_eq!(env.store.clear().await.unwrap(), 2);
    assert_eq!(env.store.count().await.unwrap(), 0);
    assert_eq!(env.store.load(&first.id).await.unwrap(), None);
}

// The tower-sessions contract.

async fn an_expired_session_is_never_loaded_and_is_deleted<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let live = created(&env.store, json!({"live": true})).await;
    let mut expired = record(json!({"live": false}));
    expired.expiry_date = OffsetDateTime::now_utc() - Duration::milliseconds(1);
    env.store.create(&mut expired).await.unwrap();
    assert_eq!(env.store.load(&expired.id).await.unwrap(), None);
    env.store.delete_expired().await.unwrap();
    assert_eq!(T::app_rows(&env.store).await, 1);
    assert!(env.store.load(&live.id).await.unwrap().is_some());
}

async fn cycle_id_through_a_session_handle<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
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
    assert_eq!(T::app_rows(&env.store).await, 1);
}

async fn a_save_after_a_concurrent_delete_does_not_resurrect<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let mut record = created(&env.store, json!({"user_id": 1})).await;
    // A slow request loaded the session; meanwhile the user logged out.
    env.store.load(&record.id).await.unwrap().unwrap();
    env.store.delete(&record.id).await.unwrap();
    record.data.insert("cart".into(), json!(["book"]));
    env.store.save(&record).await.unwrap();
    assert_eq!(env.store.load(&record.id).await.unwrap(), None);
    assert_eq!(T::app_rows(&env.store).await, 0);
}

async fn a_save_after_expiry_does_not_revive_the_session<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    // The row expired while a request held the session, and
    // delete_expired has not run yet.
    let mut record = record(json!({"user_id": 1}));
    record.expiry_date = OffsetDateTime::now_utc() - Duration::seconds(1);
    env.store.create(&mut record).await.unwrap();
    record.expiry_date = OffsetDateTime::now_utc() + Duration::hours(1);
    env.store.save(&record).await.unwrap();
    assert_eq!(env.store.load(&record.id).await.unwrap(), None);
}

async fn migrate_is_idempotent_and_safe_to_race<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    // `env` migrated both tables: running it again changes nothing.
    let again = env.store.migrate().await.unwrap();
    assert!(
        again.is_current(),
        "a second migrate() found work: {again:?}"
    );
    assert!(again.changes().is_empty(), "{:?}", again.changes());
    assert!(
        again.up_statements().is_empty(),
        "{:?}",
        again.up_statements()
    );
    let (first, second) = tokio::join!(env.store.migrate(), env.typed.migrate());
    assert!(first.unwrap().is_current());
    assert!(second.unwrap().is_current());

    // Two servers starting at once on a database without the table: one
    // creates it, the other finds it done, and both end with the one
    // current schema.
    let fresh = TestDatabase::new(T::KIND).await.expect("a second database");
    let servers = [
        AppStore::<T>::connect(&fresh.url).expect("pool"),
        AppStore::<T>::connect(&fresh.url).expect("pool"),
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
    assert_eq!(
        servers[1].load(&record.id).await.unwrap().unwrap().data,
        record.data
    );
}

async fn ids_are_hashed_at_rest<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let record = created(&env.store, json!({"name": "tj"})).await;
    let row = T::first_app_row(&env.store).await;
    assert_eq!(&row.id[..], SessionDigest::of_id(record.id.0).as_bytes());
    let cookie = record.id.to_string();
    let raw = record.id.0.to_le_bytes();
    assert!(!row.id.windows(raw.len()).any(|window| window == raw));
    assert!(!row.data.to_string().contains(&cookie));
}

// Typed columns.

async fn a_typed_value_lands_in_its_column_and_is_read_back<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let record = created(
        &env.store,
        json!({"user_id": 2, "optional": "x", "other": 1}),
    )
    .await;
    let row = T::first_app_row(&env.store).await;
    assert_eq!(
        row.fields,
        AppFields {
            user_id: Some(2),
            optional: Some("x".into())
        }
    );
    assert_eq!(
        row.data,
        json!({"other": 1}),
        "typed keys are not copied into data"
    );
    let loaded = env.store.load(&record.id).await.unwrap().unwrap();
    assert_eq!(loaded.data, record.data);
}

async fn a_mistyped_value_is_an_encode_error_and_leaves_the_row<T: BackendSchema>(
    db: TestDatabase,
) {
    let env = env::<T>(db).await;
    let mut record = created(&env.store, json!({"user_id": 1, "note": "kept"})).await;
    record.data.insert("user_id".into(), json!("not a number"));
    record.data.insert("note".into(), json!("lost?"));
    let error = env.store.save(&record).await.unwrap_err();
    assert!(
        matches!(&error, session_store::Error::Encode(message) if message.contains("user_id")),
        "{error:?}"
    );
    let mut fresh = crate::common::record(json!({"user_id": [1]}));
    assert!(matches!(
        env.store.create(&mut fresh).await,
        Err(session_store::Error::Encode(_))
    ));
    let loaded = env.store.load(&record.id).await.unwrap().unwrap();
    assert_eq!(loaded.data.get("user_id"), Some(&json!(1)));
    assert_eq!(loaded.data.get("note"), Some(&json!("kept")));
    assert_eq!(T::app_rows(&env.store).await, 1);
}

async fn deleting_a_user_cascades_to_their_sessions<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let theirs = created(&env.store, json!({"user_id": 3})).await;
    let other = created(&env.store, json!({"user_id": 1})).await;
    env.db.execute("DELETE FROM users WHERE id = 3").await;
    assert_eq!(env.store.load(&theirs.id).await.unwrap(), None);
    assert!(env.store.load(&other.id).await.unwrap().is_some());
}

async fn clearing_the_column_by_hand_logs_the_session_out<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let record = created(&env.store, json!({"user_id": 2, "theme": "dark"})).await;
    env.db
        .execute("UPDATE http_sessions SET user_id = NULL")
        .await;
    let loaded = env.store.load(&record.id).await.unwrap().unwrap();
    assert_eq!(loaded.data.get("user_id"), None);
    assert_eq!(loaded.data.get("theme"), Some(&json!("dark")));
}

async fn a_nested_key_lands_in_its_column<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let record = created(
        &env.typed,
        json!({"axum-login.data": {"user_id": 1, "auth_hash": [7, 8]}, "visits": 3}),
    )
    .await;
    let (fields, data) = T::first_typed_row(&env.typed).await;
    assert_eq!(fields.user_id, Some(1));
    assert_eq!(data, json!({"axum-login.data": {"auth_hash": [7, 8]}}));
    let loaded = env.typed.load(&record.id).await.unwrap().unwrap();
    assert_eq!(loaded.data, record.data);
}

async fn deleting_a_user_sets_a_set_null_column_to_null<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let record = created(
        &env.typed,
        json!({"axum-login.data": {"user_id": 2, "auth_hash": [1]}, "visits": 1}),
    )
    .await;
    env.db.execute("DELETE FROM users WHERE id = 2").await;
    let loaded = env
        .typed
        .load(&record.id)
        .await
        .unwrap()
        .expect("the session stays");
    assert_eq!(
        loaded.data.get("axum-login.data"),
        Some(&json!({"auth_hash": [1]}))
    );
    assert_eq!(loaded.data.get("visits"), Some(&json!(1)));
}

async fn a_missing_key_of_a_required_field_takes_its_default<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let record = created(&env.typed, json!({"theme": "dark"})).await;
    let loaded = env.typed.load(&record.id).await.unwrap().unwrap();
    assert_eq!(loaded.data.get("visits"), Some(&json!(0)));
    assert_eq!(loaded.data.get("theme"), Some(&json!("dark")));
}

async fn the_ddl_and_the_table_agree_on_every_column<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let seen_at =
        OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap() + Duration::microseconds(250);
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
    // Read with the diesel types of `typed_sessions`: each column's SQL
    // type must match what the DDL made.
    let (fields, _) = T::first_typed_row(&env.typed).await;
    assert_eq!(
        fields,
        TypedFields {
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
    let loaded = env.typed.load(&record.id).await.unwrap().unwrap();
    assert_eq!(loaded.data, record.data);
}

// Queries by indexed columns.

async fn lists_and_counts_the_live_sessions_of_a_user<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let first = created(&env.store, json!({"user_id": 1, "optional": "laptop"})).await;
    let second = created(&env.store, json!({"user_id": 1, "optional": "phone"})).await;
    created(&env.store, json!({"user_id": 2})).await;
    created(&env.store, json!({"anonymous": true})).await;
    let mut expired = record(json!({"user_id": 1}));
    expired.expiry_date = OffsetDateTime::now_utc() - Duration::seconds(1);
    env.store.create(&mut expired).await.unwrap();

    let listed = env.store.list_by(T::APP_USER_ID, &1).await.unwrap();
    let mut devices = Vec::new();
    for info in listed {
        assert!(info.expiry_date > OffsetDateTime::now_utc());
        assert!([
            SessionDigest::from(first.id),
            SessionDigest::from(second.id)
        ]
        .contains(&info.digest));
        let fields: AppFields = info.fields.into();
        assert_eq!(fields.user_id, Some(1));
        devices.push(fields.optional.unwrap());
    }
    devices.sort();
    assert_eq!(devices, ["laptop", "phone"]);
    assert_eq!(env.store.count_by(T::APP_USER_ID, &1).await.unwrap(), 2);
    assert_eq!(env.store.count_by(T::APP_USER_ID, &3).await.unwrap(), 0);
}

async fn revokes_all_but_the_current_session<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let current = created(&env.store, json!({"user_id": 1})).await;
    let other = created(&env.store, json!({"user_id": 1})).await;
    let someone_else = created(&env.store, json!({"user_id": 2})).await;
    let revoked = env
        .store
        .revoke_by_except(T::APP_USER_ID, &1, SessionDigest::from(current.id))
        .await
        .unwrap();
    assert_eq!(revoked, 1);
    assert!(env.store.load(&current.id).await.unwrap().is_some());
    assert_eq!(env.store.load(&other.id).await.unwrap(), None);
    assert!(env.store.load(&someone_else.id).await.unwrap().is_some());
}

async fn revokes_one_session_of_its_own_user_only<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    let mine = created(&env.store, json!({"user_id": 1})).await;
    let theirs = created(&env.store, json!({"user_id": 2})).await;
    let column = T::APP_USER_ID;
    let theirs_digest = SessionDigest::from(theirs.id);
    assert!(!env
        .store
        .revoke_one_by(column, &1, theirs_digest)
        .await
        .unwrap());
    assert!(env.store.load(&theirs.id).await.unwrap().is_some());
    let mine_digest = SessionDigest::from(mine.id);
    assert!(env
        .store
        .revoke_one_by(column, &1, mine_digest)
        .await
        .unwrap());
    assert_eq!(env.store.load(&mine.id).await.unwrap(), None);
}

async fn revokes_every_session_of_a_user<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    for _ in 0..3 {
        created(&env.store, json!({"user_id": 3})).await;
    }
    let kept = created(&env.store, json!({"user_id": 1})).await;
    assert_eq!(env.store.revoke_by(T::APP_USER_ID, &3).await.unwrap(), 3);
    assert_eq!(env.store.count_by(T::APP_USER_ID, &3).await.unwrap(), 0);
    assert!(env.store.load(&kept.id).await.unwrap().is_some());
}

async fn queries_an_indexed_column_that_is_no_foreign_key<T: BackendSchema>(db: TestDatabase) {
    let env = env::<T>(db).await;
    created(&env.typed, json!({"agent": "curl/8"})).await;
    created(&env.typed, json!({"agent": "firefox"})).await;
    let listed = env
        .typed
        .list_by(T::TYPED_AGENT, &"curl/8".to_owned())
        .await
        .unwrap();
    let fields: Vec<TypedFields> = listed.into_iter().map(|info| info.fields.into()).collect();
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].agent.as_deref(), Some("curl/8"));
    assert_eq!(fields[0].visits, 0);
}

#[expect(
    clippy::extra_unused_type_parameters,
    reason = "the conversion is the same on every backend, and runs with each backend's suite"
)]
async fn errors_convert_to_the_matching_store_error<T: BackendSchema>(_: TestDatabase) {
    let converted: session_store::Error = Error::Encode("too big".into()).into();
    assert!(matches!(converted, session_store::Error::Encode(message) if message == "too big"));
    let converted: session_store::Error = Error::Schema("drift".into()).into();
    assert!(
        matches!(converted, session_store::Error::Backend(message) if message.ends_with("drift"))
    );
}
