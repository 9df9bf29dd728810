//! One struct with `backend = any` on every backend, its store chosen by
//! the URL at run time: the original's specification cases, the typed
//! columns, the per-user queries, the schema and the app's own queries
//! per backend, all through `AnyStore`.

use std::sync::Arc;

use serde_json::json;
use session_runtime::{AnyStore, Error, PoolOptions};
use session_tests::any::{any_sessions, AnySession, AnySessionStore};
use session_tests::{BackendSchema, Kind, TestDatabase};
use time::{Duration, OffsetDateTime};
use tower_sessions::session::{Id, Record};
use tower_sessions::{ExpiredDeletion as _, Session, SessionStore as _};

use crate::common::{micros, record};

/// Connects, migrates, and checks that the URL picked `kind`'s backend.
async fn store_on(url: &str, expected: &str) -> AnySessionStore {
    let store = AnySessionStore::connect(url).expect("a store on the URL's backend");
    assert_eq!(store.backend_name(), expected);
    let migrated = store.migrate().await.expect("migrate");
    assert!(
        !migrated.is_current(),
        "the first migrate creates the table"
    );
    assert!(store.check_schema().await.expect("check").is_current());
    assert!(store.migrate().await.expect("migrate again").is_current());
    store
}

async fn created(store: &AnySessionStore, data: serde_json::Value) -> Record {
    let mut record = record(data);
    store.create(&mut record).await.expect("create");
    record
}

/// The login of every user with a live session, through the backend's own
/// table module and a connection of the store: the app's own query.
async fn logins_with_sessions(store: &AnySessionStore) -> Result<Vec<String>, Error> {
    use diesel::{ExpressionMethods as _, QueryDsl as _};
    use session_runtime::diesel_async::RunQueryDsl as _;
    use session_tests::any::users;

    macro_rules! logins {
        ($store:expr, $table:ident) => {{
            use any_sessions::$table as sessions;
            let mut connection = $store.connection().await?;
            sessions::table
                .inner_join(users::table)
                .filter(sessions::expiry_date.gt($store.now()))
                .select(users::login)
                .order(users::login)
                .load::<String>(&mut *connection)
                .await?
        }};
    }
    Ok(match store {
        AnyStore::Sqlite(store) => logins!(store, sqlite),
        AnyStore::Postgres(store) => logins!(store, postgres),
        AnyStore::Mysql(store) => logins!(store, mysql),
        _ => return Err(store.unmatched()),
    })
}

tests_on_every_backend!(
    the_specification_cases,
    typed_columns_and_the_per_user_queries,
    a_typed_session_handle_and_the_foreign_key,
    expired_sessions_are_never_loaded_and_are_cleaned,
    encrypted_data_on_every_backend,
    the_ddl_is_the_backends_own,
);

/// The runtime's name of `kind`'s backend, which the URL must pick.
fn backend_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqlite => "SQLite",
        Kind::Postgres => "PostgreSQL",
        Kind::Mysql => "MySQL",
    }
}

/// A migrated store on `db`, whose URL must pick `T`'s backend.
async fn store_for<T: BackendSchema>(db: &TestDatabase) -> AnySessionStore {
    store_on(&db.url, backend_name(T::KIND)).await
}

async fn the_specification_cases<T: BackendSchema>(db: TestDatabase) {
    let store = store_for::<T>(&db).await;
    // Get a known session; an unknown id gives nothing.
    let mut first = created(&store, json!({"name": "tj", "cookie": {"maxAge": 2000}})).await;
    let loaded = store.load(&first.id).await.unwrap().expect("stored");
    assert_eq!(loaded.data, first.data);
    assert_eq!(micros(loaded.expiry_date), micros(first.expiry_date));
    assert_eq!(store.load(&Id::default()).await.unwrap(), None);
    // Set twice: the update is visible.
    first.data.insert("name".into(), json!("tobi"));
    store.save(&first).await.unwrap();
    first.data.insert("name".into(), json!("loki"));
    store.save(&first).await.unwrap();
    let loaded = store.load(&first.id).await.unwrap().unwrap();
    assert_eq!(loaded.data.get("name"), Some(&json!("loki")));
    // Count, destroy, destroy an unknown id, clear.
    let second = created(&store, json!({"name": "second"})).await;
    assert_eq!(store.count().await.unwrap(), 2);
    store.delete(&first.id).await.unwrap();
    assert_eq!(store.load(&first.id).await.unwrap(), None);
    store.delete(&Id::default()).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 1);
    assert_eq!(store.clear().await.unwrap(), 1);
    assert_eq!(store.load(&second.id).await.unwrap(), None);
}

async fn typed_columns_and_the_per_user_queries<T: BackendSchema>(db: TestDatabase) {
    let store = store_for::<T>(&db).await;
    let seen_at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let phone = created(&store, json!({
        "user_id": 2, "device": "phone", "seen_at": seen_at, "prefs": {"theme": "dark"}, "visits": 3, "cart": [1, 2]
    })).await;
    let laptop = created(&store, json!({"user_id": 2, "device": "laptop"})).await;
    created(&store, json!({"user_id": 3})).await;

    let listed = store.list_by(any_sessions::user_id, &2).await.unwrap();
    assert_eq!(listed.len(), 2);
    let phone_info = listed
        .iter()
        .find(|info| info.digest == phone.id.into())
        .expect("listed");
    assert_eq!(
        phone_info.fields,
        AnySession {
            user_id: Some(2),
            device: Some("phone".into()),
            seen_at: Some(seen_at),
            prefs: Some(json!({"theme": "dark"})),
            visits: Some(3),
        }
    );
    assert!(phone_info.created_at.is_some());
    assert_eq!(
        store
            .count_by(any_sessions::device, &"laptop".to_owned())
            .await
            .unwrap(),
        1
    );
    // Every key, typed or not, comes back as it was.
    assert_eq!(
        store.load(&phone.id).await.unwrap().unwrap().data,
        phone.data
    );

    assert!(!store
        .revoke_one_by(any_sessions::user_id, &3, laptop.id.into())
        .await
        .unwrap());
    assert_eq!(
        store
            .revoke_by_except(any_sessions::user_id, &2, phone.id.into())
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.load(&laptop.id).await.unwrap(), None);
    assert_eq!(store.revoke_by(any_sessions::user_id, &2).await.unwrap(), 1);
    assert_eq!(store.count().await.unwrap(), 1);
}

async fn a_typed_session_handle_and_the_foreign_key<T: BackendSchema>(db: TestDatabase) {
    let store = store_for::<T>(&db).await;
    let shared = Arc::new(store.clone());
    let session = Session::new(None, shared.clone(), None);
    use session_runtime::TypedSessionExt as _;
    session
        .update_typed(|typed: &mut AnySession| {
            typed.user_id = Some(1);
            typed.visits = Some(7);
        })
        .await
        .unwrap();
    session.save().await.unwrap();
    let id = session.id().expect("created");
    let loaded = store.load(&id).await.unwrap().expect("stored");
    assert_eq!(loaded.data.get("visits"), Some(&json!(7)));
    assert_eq!(logins_with_sessions(&store).await.unwrap(), ["ada"]);
    // The database enforces the foreign key: deleting the user
    // deletes the session.
    db.execute("DELETE FROM users WHERE id = 1").await;
    assert_eq!(store.load(&id).await.unwrap(), None);
    assert!(logins_with_sessions(&store).await.unwrap().is_empty());
    // A user that does not exist is refused, and nothing is stored.
    let mut orphan = record(json!({"user_id": 99}));
    let refused = store.create(&mut orphan).await.unwrap_err();
    assert!(
        refused.to_string().contains("references a missing row"),
        "{refused}"
    );
    assert_eq!(store.count().await.unwrap(), 0);
}

async fn expired_sessions_are_never_loaded_and_are_cleaned<T: BackendSchema>(db: TestDatabase) {
    let store = store_for::<T>(&db).await;
    let mut expired = record(json!({"v": 1}));
    expired.expiry_date = OffsetDateTime::now_utc() - Duration::minutes(1);
    store.create(&mut expired).await.unwrap();
    let live = created(&store, json!({"v": 2})).await;
    assert_eq!(store.load(&expired.id).await.unwrap(), None);
    assert_eq!(store.count().await.unwrap(), 1);
    store.delete_expired().await.unwrap();
    assert_eq!(store.delete_expired_batch(10).await.unwrap(), 0);
    assert!(store.load(&live.id).await.unwrap().is_some());
}

async fn encrypted_data_on_every_backend<T: BackendSchema>(db: TestDatabase) {
    use session_runtime::{DataKey, EncryptionKeys};
    use session_tests::any::{SealedSession, SealedSessionStore};
    let keys = EncryptionKeys::new(DataKey::from_bytes([9; 32]));
    let store = SealedSessionStore::connect(&db.url)
        .unwrap()
        .with_encryption_keys(keys);
    assert_eq!(store.backend_name(), backend_name(T::KIND));
    store.migrate().await.unwrap();
    let stored = {
        let mut record = record(json!({"user_id": 3, "token": "secret"}));
        store.create(&mut record).await.unwrap();
        record
    };
    let loaded = store.load(&stored.id).await.unwrap().expect("stored");
    assert_eq!(loaded.data, stored.data);
    let listed = store
        .list_by(session_tests::any::sealed_sessions::user_id, &3)
        .await
        .unwrap();
    assert_eq!(listed[0].fields, SealedSession { user_id: Some(3) });
    // Without the key the row does not open, and stays stored.
    let keyless = SealedSessionStore::connect(&db.url).unwrap();
    assert!(keyless.load(&stored.id).await.is_err());
    assert_eq!(keyless.count().await.unwrap(), 1);
}

async fn the_ddl_is_the_backends_own<T: BackendSchema>(db: TestDatabase) {
    let store = store_for::<T>(&db).await;
    let up = store.migration().up();
    let expected = match T::KIND {
        Kind::Sqlite => "\"expiry_date\" BIGINT NOT NULL",
        Kind::Postgres => "\"data\" JSONB",
        Kind::Mysql => "`expiry_date` DATETIME(6) NOT NULL",
    };
    assert!(up.contains(expected), "{up}");
}

#[test]
fn a_url_of_no_backend_is_a_clear_error() {
    let error = AnySessionStore::connect_with("redis://127.0.0.1/0", &PoolOptions::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("`redis://` names no backend"), "{error}");
    assert!(
        error.contains("`postgres://`") && error.contains("`mysql://`"),
        "{error}"
    );
}

#[tokio::test]
#[cfg_attr(
    not(session_test_mysql),
    ignore = "set SESSION_TEST_MYSQL_URL to run against MySQL or MariaDB"
)]
async fn a_mariadb_url_is_mysql() {
    let Some(db) = session_tests::TestDatabase::new(session_tests::Kind::Mysql).await else {
        return;
    };
    let url = db.url.replacen("mysql://", "mariadb://", 1);
    let store = store_on(&url, "MySQL").await;
    created(&store, json!({"user_id": 1})).await;
    assert_eq!(store.count_by(any_sessions::user_id, &1).await.unwrap(), 1);
}
