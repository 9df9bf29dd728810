//! The cap on the sessions of one user (`with_max_sessions_per`): a login
//! revokes the user's oldest live sessions beyond the limit, sequential or
//! simultaneous, created or saved, and logs what it revoked by digest
//! prefix; other users, anonymous sessions and expired rows are left alone.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde_json::json;
use session_runtime::SessionDigest;
use session_tests::any::{any_sessions, AnySessionStore};
use session_tests::{stores, AppStore, BackendSchema, Kind, TestDatabase};
use time::{Duration, OffsetDateTime};
use tokio::task::JoinSet;
use tower_sessions::session::Record;
use tower_sessions::SessionStore as _;
use tracing::Level;

use crate::common::record;
use crate::observability::{Capture, Captured};

tests_on_every_backend_and_pgbouncer!(
    sequential_logins_keep_the_newest,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    simultaneous_logins_leave_exactly_the_limit,
    other_users_anonymous_and_expired_sessions_are_left_alone,
    a_save_that_logs_a_session_in_counts,
    only_logins_send_the_second_statement,
    revocations_are_logged_by_digest_prefix,
    the_any_store_caps_on_every_backend,
);

/// The `AppSession` store on `db`, migrated, capped at `limit` sessions
/// per `user_id`.
async fn capped<T: BackendSchema>(db: &TestDatabase, limit: u32) -> AppStore<T> {
    let (store, _) = stores::<T>(&db.url).await;
    store.with_max_sessions_per(T::APP_USER_ID, limit)
}

/// A session of `data` created through `store`, a little after the one
/// before it: every backend keeps microseconds, so the creation times
/// order the sessions as they were created.
async fn created(store: &impl tower_sessions::SessionStore, data: serde_json::Value) -> Record {
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let mut record = record(data);
    store.create(&mut record).await.expect("create");
    record
}

/// Whether each of `records` is still stored, in order.
async fn alive(store: &impl tower_sessions::SessionStore, records: &[&Record]) -> Vec<bool> {
    let mut alive = Vec::new();
    for record in records {
        alive.push(store.load(&record.id).await.unwrap().is_some());
    }
    alive
}

async fn sequential_logins_keep_the_newest<T: BackendSchema>(db: TestDatabase) {
    let store = capped::<T>(&db, 3).await;
    let mut logins = Vec::new();
    for _ in 0..5 {
        logins.push(created(&store, json!({"user_id": 1})).await);
    }
    assert_eq!(store.count_by(T::APP_USER_ID, &1).await.unwrap(), 3);
    let logins: Vec<&Record> = logins.iter().collect();
    assert_eq!(
        alive(&store, &logins).await,
        [false, false, true, true, true]
    );

    // A limit of 0 removes the cap.
    let uncapped = store.with_max_sessions_per(T::APP_USER_ID, 0);
    for _ in 0..2 {
        created(&uncapped, json!({"user_id": 1})).await;
    }
    assert_eq!(uncapped.count_by(T::APP_USER_ID, &1).await.unwrap(), 5);
}

async fn simultaneous_logins_leave_exactly_the_limit<T: BackendSchema>(db: TestDatabase) {
    const LOGINS: usize = 20;
    let store = capped::<T>(&db, 3).await;
    let bystander = created(&store, json!({"user_id": 2})).await;
    for round in 0..5 {
        let mut logins = JoinSet::new();
        for _ in 0..LOGINS {
            let store = store.clone();
            logins.spawn(async move {
                let mut record = record(json!({"user_id": 1}));
                store.create(&mut record).await.map(|()| record.id)
            });
        }
        let mut ids = HashSet::new();
        while let Some(login) = logins.join_next().await {
            ids.insert(login.unwrap().expect("every login succeeds"));
        }
        assert_eq!(ids.len(), LOGINS);
        let listed = store.list_by(T::APP_USER_ID, &1).await.unwrap();
        assert_eq!(listed.len(), 3, "round {round}: {listed:#?}");
        assert_eq!(T::app_rows(&store).await, 4, "round {round}");
        // The survivors are logins of this round: the newest.
        for info in &listed {
            assert!(ids.iter().any(|id| SessionDigest::from(*id) == info.digest));
        }
    }
    assert!(store.load(&bystander.id).await.unwrap().is_some());
}

async fn other_users_anonymous_and_expired_sessions_are_left_alone<T: BackendSchema>(
    db: TestDatabase,
) {
    let store = capped::<T>(&db, 2).await;
    let mut expired = record(json!({"user_id": 1}));
    expired.expiry_date = OffsetDateTime::now_utc() - Duration::seconds(1);
    store.create(&mut expired).await.unwrap();
    let theirs = [
        created(&store, json!({"user_id": 2})).await,
        created(&store, json!({"user_id": 2})).await,
    ];
    let anonymous = [
        created(&store, json!({"cart": [1]})).await,
        created(&store, json!({"cart": [2]})).await,
        created(&store, json!({"cart": [3]})).await,
    ];
    let mine = [
        created(&store, json!({"user_id": 1})).await,
        created(&store, json!({"user_id": 1})).await,
    ];
    // Two live sessions of user 1: the expired one does not count, and is
    // left to the cleanup.
    assert_eq!(T::app_rows(&store).await, 8);
    created(&store, json!({"user_id": 1})).await;
    assert_eq!(T::app_rows(&store).await, 8);
    assert_eq!(alive(&store, &[&mine[0], &mine[1]]).await, [false, true]);
    let others: Vec<&Record> = theirs.iter().chain(&anonymous).collect();
    assert_eq!(alive(&store, &others).await, [true; 5]);
}

async fn a_save_that_logs_a_session_in_counts<T: BackendSchema>(db: TestDatabase) {
    let store = capped::<T>(&db, 3).await;
    let first = created(&store, json!({"user_id": 1})).await;
    let second = created(&store, json!({"user_id": 1})).await;
    let mut anonymous = created(&store, json!({"cart": [1]})).await;
    let third = created(&store, json!({"user_id": 1})).await;

    // The anonymous session logs in without a new id: a fourth session of
    // user 1, so the oldest one goes.
    let loaded = store.load(&anonymous.id).await.unwrap().unwrap();
    anonymous.data = loaded.data;
    anonymous.data.insert("user_id".into(), json!(1));
    store.save(&anonymous).await.unwrap();
    assert_eq!(
        alive(&store, &[&first, &second, &anonymous, &third]).await,
        [false, true, true, true]
    );

    // A save whose load the store does not remember may log in: it is
    // capped too.
    let forgotten = store.clone().with_load_memo_bytes(0);
    let mut unremembered = created(&forgotten, json!({"cart": [2]})).await;
    unremembered.data.insert("user_id".into(), json!(1));
    forgotten.save(&unremembered).await.unwrap();
    assert_eq!(
        alive(&store, &[&second, &anonymous, &third, &unremembered]).await,
        [false, true, true, true]
    );
}

/// Captures the events of this thread.
///
/// tracing caches per callsite whether any subscriber wants it; while one
/// thread-local subscriber is the only one, a callsite first reached on
/// another thread (another backend's test) is cached as wanted by none,
/// and this thread would miss its events. A second subscriber kept for the
/// whole process makes every callsite ask the thread's own.
fn capture() -> (Capture, tracing::subscriber::DefaultGuard) {
    static SECOND: OnceLock<tracing::Dispatch> = OnceLock::new();
    SECOND.get_or_init(|| tracing::Dispatch::new(Capture::default()));
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(capture.clone());
    tracing::callsite::rebuild_interest_cache();
    (capture, guard)
}

/// The events of the cap's revocations among `events`.
fn revoked_events(events: Vec<Captured>) -> Vec<Captured> {
    events
        .into_iter()
        .filter(|event| event.field("message") == Some("sessions over the per-user limit revoked"))
        .collect()
}

/// The statements of the store's events since the last `take`.
fn statements(capture: &Capture) -> Vec<String> {
    capture
        .take()
        .into_iter()
        .filter(|event| event.target == "session_runtime")
        .filter_map(|event| event.field("statement").map(str::to_owned))
        .collect()
}

async fn only_logins_send_the_second_statement<T: BackendSchema>(db: TestDatabase) {
    let store = capped::<T>(&db, 3).await;
    let (capture, _guard) = capture();

    let mut anonymous = created(&store, json!({"cart": [1]})).await;
    assert_eq!(statements(&capture), ["INSERT"]);
    let mut login = created(&store, json!({"user_id": 1})).await;
    assert_eq!(statements(&capture), ["INSERT", "DELETE"]);

    // A save that leaves the user as it was: one statement.
    login.data = store.load(&login.id).await.unwrap().unwrap().data;
    login.data.insert("visits".into(), json!(2));
    store.save(&login).await.unwrap();
    assert_eq!(statements(&capture), ["SELECT", "UPDATE"]);
    anonymous.data = store.load(&anonymous.id).await.unwrap().unwrap().data;
    anonymous.data.insert("visits".into(), json!(2));
    store.save(&anonymous).await.unwrap();
    assert_eq!(statements(&capture), ["SELECT", "UPDATE"]);

    // A save that logs in: two.
    anonymous.data.insert("user_id".into(), json!(2));
    store.save(&anonymous).await.unwrap();
    assert_eq!(statements(&capture), ["UPDATE", "DELETE"]);
}

async fn revocations_are_logged_by_digest_prefix<T: BackendSchema>(db: TestDatabase) {
    let store = capped::<T>(&db, 1).await;
    let (capture, _guard) = capture();
    let first = created(&store, json!({"user_id": 3})).await;
    let second = created(&store, json!({"user_id": 3})).await;
    let events = revoked_events(capture.take());
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event.level, Level::INFO);
    assert_eq!(event.target, "session_runtime");
    assert_eq!(event.field("table"), Some("http_sessions"));
    assert_eq!(event.field("column"), Some("user_id"));
    assert_eq!(event.field("limit"), Some("1"));
    assert_eq!(event.field("revoked"), Some("1"));
    let digest = SessionDigest::from(first.id).to_string();
    assert_eq!(
        event.field("sessions"),
        Some(format!("[{:?}]", &digest[..8]).as_str())
    );
    let text = event.text();
    for full in [digest, SessionDigest::from(second.id).to_string()] {
        assert!(!text.contains(&full), "{text}");
    }
    assert!(!text.contains(&first.id.to_string()), "{text}");

    // A login that revokes nothing logs nothing.
    created(&store, json!({"user_id": 2})).await;
    assert!(revoked_events(capture.take()).is_empty());
}

async fn the_any_store_caps_on_every_backend<T: BackendSchema>(db: TestDatabase) {
    let store = AnySessionStore::connect(&db.url)
        .unwrap()
        .with_max_sessions_per(any_sessions::user_id, 2);
    store.migrate().await.unwrap();
    let backend = match T::KIND {
        Kind::Sqlite => "SQLite",
        Kind::Postgres => "PostgreSQL",
        Kind::Mysql => "MySQL",
    };
    assert_eq!(store.backend_name(), backend);
    let mut logins = Vec::new();
    for _ in 0..3 {
        logins.push(created(&store, json!({"user_id": 1})).await);
    }
    assert_eq!(store.count_by(any_sessions::user_id, &1).await.unwrap(), 2);
    let logins: Vec<&Record> = logins.iter().collect();
    assert_eq!(alive(&store, &logins).await, [false, true, true]);
}
