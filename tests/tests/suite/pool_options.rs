//! `PoolOptions` reach the pool: the SQLite busy timeout is set on every
//! store connection and bounds a write waiting on a lock, and the pool size
//! and the wait for a connection bound what an operation waits for.

use crate::common;

use std::time::{Duration, Instant};

use diesel::sql_types::Integer;
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
use serde_json::json;
use session_runtime::PoolOptions;
use session_tests::sqlite::{stores, AppSessionStore};
use session_tests::{Kind, TestDatabase};
use tower_sessions::session_store::SessionStore;

use common::record;
use session_tests::{AppStore, BackendSchema};

#[derive(QueryableByName)]
struct BusyTimeout {
    #[diesel(sql_type = Integer)]
    timeout: i32,
}

async fn busy_timeout_of(store: &AppSessionStore) -> i32 {
    let mut connection = store.connection().await.unwrap();
    diesel::sql_query("PRAGMA busy_timeout")
        .get_result::<BusyTimeout>(&mut *connection)
        .await
        .unwrap()
        .timeout
}

#[tokio::test]
async fn the_sqlite_busy_timeout_is_set_on_every_connection() {
    let db = TestDatabase::new(Kind::Sqlite).await.unwrap();
    let (default, _) = stores(&db.url).await;
    assert_eq!(busy_timeout_of(&default).await, 5000);

    let options = PoolOptions::default().with_sqlite_busy_timeout(Duration::from_millis(1234));
    let store = AppSessionStore::connect_with(&db.url, &options).unwrap();
    // Two connections at once, so that both are checked: the setup runs
    // on each.
    let first = store.connection().await.unwrap();
    assert_eq!(busy_timeout_of(&store).await, 1234);
    drop(first);
}

#[tokio::test]
async fn a_write_waits_on_a_lock_for_the_busy_timeout_only() {
    let db = TestDatabase::new(Kind::Sqlite).await.unwrap();
    stores(&db.url).await;
    let options = PoolOptions::default().with_sqlite_busy_timeout(Duration::from_millis(300));
    let store = AppSessionStore::connect_with(&db.url, &options).unwrap();
    // Another process's connection holds the write lock.
    let mut holder = diesel_async::sync_connection_wrapper::SyncConnectionWrapper::<
        diesel::SqliteConnection,
    >::establish(&db.url)
    .await
    .unwrap();
    holder.batch_execute("BEGIN IMMEDIATE").await.unwrap();

    let started = Instant::now();
    let error = store
        .create(&mut record(json!({})))
        .await
        .expect_err("the lock is held");
    let waited = started.elapsed();
    assert!(error.to_string().contains("locked"), "{error}");
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");

    holder.batch_execute("ROLLBACK").await.unwrap();
    store.create(&mut record(json!({}))).await.unwrap();
}

tests_on_every_backend!(the_pool_size_and_the_wait_for_a_connection_hold,);

async fn the_pool_size_and_the_wait_for_a_connection_hold<T: BackendSchema>(db: TestDatabase) {
    session_tests::stores::<T>(&db.url).await;
    let options = PoolOptions::default()
        .with_max_size(2)
        .with_retry_budget(Duration::from_millis(200));
    let store = AppStore::<T>::connect_with(&db.url, &options).unwrap();
    let held = [
        store.connection().await.unwrap(),
        store.connection().await.unwrap(),
    ];
    let started = Instant::now();
    let error = store.count().await.expect_err("both connections are held");
    let waited = started.elapsed();
    assert!(error.to_string().contains("connection"), "{error}");
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    drop(held);
    assert_eq!(store.count().await.unwrap(), 0);
}

#[derive(QueryableByName)]
struct SyncWait {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    wait: i64,
}

async fn sync_wait_of(store: &session_tests::mysql::AppSessionStore) -> i64 {
    let mut connection = store.connection().await.unwrap();
    diesel::sql_query("SELECT CAST(@@SESSION.wsrep_sync_wait AS SIGNED) AS wait")
        .get_result::<SyncWait>(&mut *connection)
        .await
        .unwrap()
        .wait
}

/// Causal reads are on unless turned off; MariaDB knows the variable
/// with or without Galera.
#[tokio::test]
#[cfg_attr(
    not(session_test_mysql),
    ignore = "set SESSION_TEST_MYSQL_URL to run against MySQL or MariaDB"
)]
async fn causal_reads_are_set_on_every_mariadb_connection_unless_turned_off() {
    let db = TestDatabase::new(Kind::Mysql).await.unwrap();
    let (default, _) = session_tests::mysql::stores(&db.url).await;
    assert_eq!(sync_wait_of(&default).await, 3);
    let options = PoolOptions::default().with_causal_reads(false);
    let without = session_tests::mysql::AppSessionStore::connect_with(&db.url, &options).unwrap();
    assert_eq!(sync_wait_of(&without).await, 0);
}
