//! Behind PgBouncer in transaction mode, where consecutive transactions of
//! one client connection may run on different server connections: with
//! `pgbouncer=true` no operation depends on a server connection's state,
//! and without it, the error a lost prepared statement causes names the
//! switch. The conformance, schema-evolution, races and writes suites run
//! behind PgBouncer too (`tests_on_every_backend_and_pgbouncer!`).

use diesel_async::SimpleAsyncConnection as _;
use serde_json::json;
use session_runtime::{Error, PoolOptions};
use session_tests::{AppStore, BackendSchema, TestDatabase};
use tokio::sync::Barrier;
use tower_sessions::SessionStore as _;

use crate::common::record;

tests_behind_pgbouncer!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    without_the_switch_a_lost_prepared_statement_names_it,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    with_the_switch_no_operation_depends_on_a_server_connection,
);

/// The server connections PgBouncer keeps per database (`.ci/pgbouncer`'s
/// `default_pool_size`).
const SERVER_CONNECTIONS: usize = 4;

/// Drops every prepared statement on every server connection PgBouncer
/// keeps for the test's database: one client per server connection holds
/// a transaction (so each gets a server connection of its own) and runs
/// `DEALLOCATE ALL` there. What a store had prepared outside a transaction
/// is then gone wherever its next statement runs.
async fn deallocate_everywhere<T: BackendSchema>(db: &TestDatabase) {
    let holders = AppStore::<T>::connect_with(
        &db.url,
        &PoolOptions::default().with_max_size(SERVER_CONNECTIONS),
    )
    .expect("pool");
    let all_inside = std::sync::Arc::new(Barrier::new(SERVER_CONNECTIONS));
    let tasks: Vec<_> = (0..SERVER_CONNECTIONS)
        .map(|_| {
            let holders = holders.clone();
            let all_inside = all_inside.clone();
            tokio::spawn(async move {
                let mut connection = holders.connection().await.expect("a connection");
                connection
                    .batch_execute("BEGIN; DEALLOCATE ALL")
                    .await
                    .expect("DEALLOCATE ALL");
                all_inside.wait().await;
                connection.batch_execute("COMMIT").await.expect("COMMIT");
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a holder");
    }
}

/// A store with the URL's `pgbouncer` switch set to `pgbouncer`, and one
/// connection, so that its statements are cached on that one.
fn store_with_switch<T: BackendSchema>(db: &TestDatabase, pgbouncer: bool) -> AppStore<T> {
    let url = db
        .url
        .replace("pgbouncer=true", &format!("pgbouncer={pgbouncer}"));
    AppStore::<T>::connect_with(&url, &PoolOptions::default().with_max_size(1)).expect("pool")
}

async fn without_the_switch_a_lost_prepared_statement_names_it<T: BackendSchema>(db: TestDatabase) {
    let switched = store_with_switch::<T>(&db, true);
    switched.migrate().await.expect("migrate");
    let store = store_with_switch::<T>(&db, false);
    let mut session = record(json!({"n": 1}));
    // Alone on its database's pool, the store's client gets the same idle
    // server connection back each time, which now holds its statements.
    store.create(&mut session).await.expect("create");
    store.load(&session.id).await.expect("load");

    deallocate_everywhere::<T>(&db).await;
    let error = store.load_record(&session.id).await.unwrap_err();
    assert!(matches!(error, Error::Backend(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("prepared statement") && message.contains("does not exist"),
        "{message}"
    );
    assert!(
        message.contains("behind a transaction-mode pooler? add `pgbouncer=true` to the URL"),
        "{message}"
    );
}

async fn with_the_switch_no_operation_depends_on_a_server_connection<T: BackendSchema>(
    db: TestDatabase,
) {
    let store = store_with_switch::<T>(&db, true);
    store.migrate().await.expect("migrate");
    let mut session = record(json!({"n": 1}));
    store.create(&mut session).await.expect("create");
    store.load(&session.id).await.expect("load");

    deallocate_everywhere::<T>(&db).await;
    let loaded = store
        .load(&session.id)
        .await
        .expect("load")
        .expect("a session");
    assert_eq!(loaded.data, session.data);
    session.data.insert("n".into(), json!(2));
    store.save(&session).await.expect("save");
    deallocate_everywhere::<T>(&db).await;
    let loaded = store
        .load(&session.id)
        .await
        .expect("load")
        .expect("a session");
    assert_eq!(loaded.data["n"], json!(2));
    store.delete(&session.id).await.expect("delete");
    assert!(store.load(&session.id).await.expect("load").is_none());
}

/// The switch belongs to PostgreSQL: another backend refuses it.
#[tokio::test]
async fn the_switch_is_refused_on_another_backend() {
    let Some(db) = TestDatabase::new(session_tests::Kind::Sqlite).await else {
        return;
    };
    let options = PoolOptions::default().with_pgbouncer(true);
    let error =
        AppStore::<session_tests::sqlite::Schema>::connect_with(&db.url, &options).unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("`pgbouncer` is a PostgreSQL setting"),
        "{error}"
    );
}
