//! A save writes only what its request changed: overlapping requests keep
//! each other's changes, a removed key stays removed, the expiry never
//! moves backward, and a deleted session stays deleted; across two stores
//! (two app servers) too.
//!
//! Requests run in every way an app runs them: in spawned tasks, as hyper
//! runs them; two joined in one task, as an app's tests poll them; in a
//! `#[tokio::test]` body and under a runtime's `block_on`, outside any
//! task; and through the store's own API. The store matches a save to its
//! load by the map the load returned, whichever task runs the request.

use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use deadpool::managed::Manager;
use diesel::connection::InstrumentationEvent;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::AsyncConnection;
use serde_json::{json, Value};
use session_runtime::backend::Backend;
use session_runtime::{PoolOptions, TouchAfter};
use session_tests::{stores, AppStore, BackendSchema, TestDatabase};
use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;
use tower::ServiceExt as _;
use tower_sessions::session::Id;
use tower_sessions::{Expiry, Session, SessionManagerLayer, SessionStore as _};

use crate::common::{micros, record};

tests_on_every_backend_and_pgbouncer!(
    // Requests run in spawned tasks, as hyper runs them, on a runtime of
    // two threads.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    overlapping_requests_on_one_server_lose_no_change,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    overlapping_requests_on_two_servers_lose_no_change,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    an_unchanged_save_never_moves_the_expiry_backward,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_save_after_another_server_deleted_the_session_does_not_resurrect_it,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    keys_of_every_shape_are_patched_or_written_whole,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_nested_typed_key_is_patched_beside_its_column,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_forgotten_load_writes_the_whole_row_within_the_budget,
    two_requests_joined_in_one_task_lose_no_change,
    read_only_requests_in_a_test_body_write_nothing,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    requests_outside_any_task_write_only_their_changes,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_waiting_load_outlives_the_saved_loads_of_other_requests,
    the_direct_api_writes_only_what_changed,
);

/// A change a request makes after it loaded the session and met its
/// overlapping sibling at the barrier.
#[derive(serde::Deserialize)]
struct Change {
    key: String,
    value: Option<String>,
}

async fn change(
    State(barrier): State<Arc<Barrier>>,
    Query(change): Query<Change>,
    session: Session,
) -> StatusCode {
    if session.get_value("user_id").await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    barrier.wait().await;
    let changed = match change.value {
        Some(value) => session.insert(&change.key, value).await.is_ok(),
        None => session.remove_value(&change.key).await.is_ok(),
    };
    if changed {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// An app whose two overlapping requests meet at a barrier after both
/// loaded, so that neither saves before the other loaded.
fn app<T: BackendSchema>(store: AppStore<T>, barrier: Arc<Barrier>) -> Router {
    Router::new()
        .route("/change", get(change))
        .with_state(barrier)
        .layer(
            SessionManagerLayer::new(store)
                .with_secure(false)
                .with_expiry(Expiry::OnInactivity(Duration::hours(1)))
                .with_always_save(true),
        )
}

/// Sends one request in a task of its own, as hyper would.
fn send(app: &Router, id: Id, uri: String) -> tokio::task::JoinHandle<StatusCode> {
    let request = Request::get(uri)
        .header(header::COOKIE, format!("id={id}"))
        .body(Body::empty())
        .unwrap();
    let app = app.clone();
    tokio::spawn(async move { app.oneshot(request).await.unwrap().status() })
}

async fn session_of<T: BackendSchema>(store: &AppStore<T>, id: Id) -> Option<Value> {
    let record = store.load_record(&id).await.unwrap()?;
    Some(serde_json::to_value(record.data).unwrap())
}

/// Two requests of one session through `first` and `second`, 100 rounds:
/// one changes the typed column `optional`, the other the `data` key
/// `cart` or removes `note`; every round keeps both.
async fn overlapping_requests_keep_both_changes<T: BackendSchema>(
    first: &Router,
    second: &Router,
    store: &AppStore<T>,
) {
    let mut stored =
        record(json!({"user_id": 1, "optional": "start", "cart": "empty", "note": "keep"}));
    store.create(&mut stored).await.unwrap();
    let mut lost = Vec::new();
    for round in 0..100 {
        let theme = send(
            first,
            stored.id,
            format!("/change?key=optional&value=theme{round}"),
        );
        let cart = if round % 10 == 9 {
            send(second, stored.id, "/change?key=note".to_owned())
        } else {
            send(
                second,
                stored.id,
                format!("/change?key=cart&value=cart{round}"),
            )
        };
        assert_eq!(theme.await.unwrap(), StatusCode::OK);
        assert_eq!(cart.await.unwrap(), StatusCode::OK);
        let session = session_of::<T>(store, stored.id)
            .await
            .expect("the session lives");
        let removal = round % 10 == 9;
        let cart_round = if removal { round - 1 } else { round };
        let expected_note = if removal { None } else { Some(&json!("keep")) };
        if session["optional"] != json!(format!("theme{round}"))
            || session["cart"] != json!(format!("cart{cart_round}"))
            || session.get("note") != expected_note
            || session["user_id"] != json!(1)
        {
            lost.push((round, session));
        }
        if removal {
            // Put the removed key back, for the next removal.
            let mut restored = store.load_record(&stored.id).await.unwrap().unwrap();
            restored.data.insert("note".to_owned(), json!("keep"));
            store.save(&restored).await.unwrap();
        }
    }
    assert!(
        lost.is_empty(),
        "{} of 100 rounds lost a change: {:?}",
        lost.len(),
        &lost[..lost.len().min(3)]
    );
}

async fn overlapping_requests_on_one_server_lose_no_change<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let app = app::<T>(store.clone(), Arc::new(Barrier::new(2)));
    overlapping_requests_keep_both_changes::<T>(&app, &app, &store).await;
}

async fn overlapping_requests_on_two_servers_lose_no_change<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let (other, _) = stores::<T>(&db.url).await;
    let barrier = Arc::new(Barrier::new(2));
    let first = app::<T>(store.clone(), Arc::clone(&barrier));
    let second = app::<T>(other, barrier);
    overlapping_requests_keep_both_changes::<T>(&first, &second, &store).await;
}

async fn an_unchanged_save_never_moves_the_expiry_backward<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let store = store.with_touch_after(TouchAfter::Always);
    let mut stored = record(json!({"user_id": 1}));
    store.create(&mut stored).await.unwrap();
    let later = OffsetDateTime::now_utc() + Duration::hours(3);
    let id = stored.id;
    let request = store.clone();
    let (loaded_tx, loaded_rx) = tokio::sync::oneshot::channel();
    let (moved_tx, moved_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut record = request.load(&id).await.unwrap().unwrap();
        loaded_tx.send(()).unwrap();
        moved_rx.await.unwrap();
        // Another request moved the expiry to three hours from now
        // meanwhile; this one's is two.
        record.expiry_date = OffsetDateTime::now_utc() + Duration::hours(2);
        request.save(&record).await.unwrap();
    });
    loaded_rx.await.unwrap();
    let mut moved = store.load_record(&id).await.unwrap().unwrap();
    moved.expiry_date = later;
    store.save(&moved).await.unwrap();
    moved_tx.send(()).unwrap();
    task.await.unwrap();
    let reader = AppStore::<T>::connect(&db.url).unwrap();
    assert_eq!(
        T::app_expiry(&reader, id).await,
        Some(micros(later)),
        "the expiry moved backward"
    );
}

async fn a_save_after_another_server_deleted_the_session_does_not_resurrect_it<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, _) = stores::<T>(&db.url).await;
    let (other, _) = stores::<T>(&db.url).await;
    for (change, touch_after) in [(true, TouchAfter::default()), (false, TouchAfter::Always)] {
        let store = store.clone().with_touch_after(touch_after);
        let mut stored = record(json!({"user_id": 1, "cart": "one"}));
        store.create(&mut stored).await.unwrap();
        let id = stored.id;
        let (loaded_tx, loaded_rx) = tokio::sync::oneshot::channel();
        let (deleted_tx, deleted_rx) = tokio::sync::oneshot::channel::<()>();
        let request = store.clone();
        let task = tokio::spawn(async move {
            let mut record = request.load(&id).await.unwrap().unwrap();
            loaded_tx.send(()).unwrap();
            deleted_rx.await.unwrap();
            if change {
                record.data.insert("cart".to_owned(), json!("two"));
            }
            record.expiry_date = OffsetDateTime::now_utc() + Duration::hours(2);
            request.save(&record).await.unwrap();
        });
        loaded_rx.await.unwrap();
        other.delete(&id).await.unwrap();
        deleted_tx.send(()).unwrap();
        task.await.unwrap();
        assert_eq!(
            store.load_record(&id).await.unwrap(),
            None,
            "resurrected (change: {change})"
        );
    }
}

/// Keys whose JSON path would need escaping are written with all of
/// `data`, and still keep their values.
async fn keys_of_every_shape_are_patched_or_written_whole<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let keys = [
        "plain",
        "axum-login.data",
        "a b:c/d@e+f",
        "quote\"d",
        "back\\slash",
        "ünï",
        "$.x",
        "*",
    ];
    for key in keys {
        let mut stored = record(json!({"user_id": 1, "other": 1}));
        stored
            .data
            .insert(key.to_owned(), json!({"nested": [1, 2.5, null, "x"]}));
        store.create(&mut stored).await.unwrap();
        let id = stored.id;
        let request = store.clone();
        let changed = key.to_owned();
        tokio::spawn(async move {
            let key = changed;
            let mut record = request.load(&id).await.unwrap().unwrap();
            record.data.insert(key.clone(), json!({"changed": true}));
            record.data.insert("added".to_owned(), json!(null));
            request.save(&record).await.unwrap();
            let mut record = request.load(&id).await.unwrap().unwrap();
            record.data.remove(&key);
            record.data.remove("other");
            request.save(&record).await.unwrap();
        })
        .await
        .unwrap();
        let session = session_of::<T>(&store, id).await.unwrap();
        assert_eq!(session, json!({"user_id": 1, "added": null}), "key {key:?}");
    }
}

/// The nested typed key: a change beside the typed value keeps the column,
/// a change of the typed value writes it.
async fn a_nested_typed_key_is_patched_beside_its_column<T: BackendSchema>(db: TestDatabase) {
    let (_, typed) = stores::<T>(&db.url).await;
    let mut stored = record(
        json!({"axum-login.data": {"user_id": 1, "auth_hash": [1, 2]}, "visits": 3, "cart": "one"}),
    );
    typed.create(&mut stored).await.unwrap();
    let id = stored.id;
    let request = typed.clone();
    tokio::spawn(async move {
        let mut record = request.load(&id).await.unwrap().unwrap();
        record.data.insert(
            "axum-login.data".to_owned(),
            json!({"user_id": 1, "auth_hash": [3]}),
        );
        request.save(&record).await.unwrap();
        let mut record = request.load(&id).await.unwrap().unwrap();
        record.data.insert(
            "axum-login.data".to_owned(),
            json!({"user_id": 2, "auth_hash": [3]}),
        );
        record.data.insert("visits".to_owned(), json!(4));
        request.save(&record).await.unwrap();
    })
    .await
    .unwrap();
    let record = typed.load_record(&id).await.unwrap().unwrap();
    assert_eq!(
        serde_json::to_value(&record.data).unwrap(),
        json!({"axum-login.data": {"user_id": 2, "auth_hash": [3]}, "visits": 4, "cart": "one"})
    );
    let listed = typed.list_by(T::TYPED_USER_ID, &2).await.unwrap();
    assert_eq!(listed.len(), 1, "the user id column was written");
}

/// A save whose load the store forgot writes the whole row, and the memo
/// stays within its budget under many loads.
async fn a_forgotten_load_writes_the_whole_row_within_the_budget<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, _) = stores::<T>(&db.url).await;
    let store = store.with_load_memo_bytes(8 << 10);
    let mut ids = Vec::new();
    for n in 0..300 {
        let mut stored = record(json!({"user_id": 1, "n": n}));
        store.create(&mut stored).await.unwrap();
        ids.push(stored.id);
    }
    let request = store.clone();
    tokio::spawn(async move {
        let mut first = request.load(&ids[0]).await.unwrap().unwrap();
        for id in &ids[1..] {
            request.load(id).await.unwrap().unwrap();
        }
        let (_, bytes) = request.load_memo_usage();
        assert!(bytes <= 8 << 10, "{bytes} bytes");
        first.data.insert("n".to_owned(), json!("changed"));
        request.save(&first).await.unwrap();
        let saved = request.load_record(&ids[0]).await.unwrap().unwrap();
        assert_eq!(saved.data["n"], json!("changed"));
    })
    .await
    .unwrap();
}

/// The SQL every statement of a store's one connection started, in order.
#[derive(Clone, Default)]
struct Sent(Arc<Mutex<Vec<String>>>);

impl Sent {
    fn mark(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// The `SELECT`s and `UPDATE`s sent since `mark`, and every other
    /// statement. The transaction around each operation behind PgBouncer
    /// (`BEGIN`, `COMMIT`) is no statement of the operation's own.
    fn since(&self, mark: usize) -> (usize, usize, usize) {
        let sent = self.0.lock().unwrap();
        let sent: Vec<String> = sent[mark..]
            .iter()
            .map(|sql| sql.trim_start().to_uppercase())
            .filter(|sql| !matches!(sql.as_str(), "BEGIN" | "COMMIT"))
            .collect();
        let verb = |verb: &str| sent.iter().filter(|sql| sql.starts_with(verb)).count();
        let (selects, updates) = (verb("SELECT"), verb("UPDATE"));
        (selects, updates, sent.len() - selects - updates)
    }
}

/// A backend whose pooled connection takes an instrumentation.
trait Counted: BackendSchema {
    /// A store on a pool of one connection, which records in `sent` the
    /// SQL of every statement it starts.
    fn counted_store(url: &str, sent: &Sent) -> impl Future<Output = AppStore<Self>> + Send;
}

impl<T, C> Counted for T
where
    T: BackendSchema<Engine: Backend<Connection = C, Pool = Pool<C>>>,
    C: AsyncConnection + 'static,
    AsyncDieselConnectionManager<C>: Manager,
{
    async fn counted_store(url: &str, sent: &Sent) -> AppStore<Self> {
        let mut options = PoolOptions::default();
        options.max_size = 1;
        let store = AppStore::<T>::connect_with(url, &options).expect("pool");
        store.migrate().await.expect("migrate");
        let mut connection = store.connection().await.expect("a connection");
        let sql = Arc::clone(&sent.0);
        (*connection).set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                sql.lock().unwrap().push(query.to_string());
            }
        });
        drop(connection);
        store
    }
}

/// A request of session `id` to `uri`, as a browser sends it.
fn request(id: Id, uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, format!("id={id}"))
        .body(Body::empty())
        .unwrap()
}

/// Runs pairs of overlapping requests of one session, `run` sending each
/// pair (one sets the typed column `optional`, the other the `data` key
/// `cart`, both to the round's value), and counts the rounds that lost a
/// change.
async fn lost_in_pairs<T, F, Fut>(store: &AppStore<T>, rounds: usize, mut run: F) -> usize
where
    T: BackendSchema,
    F: FnMut(Id, String, String) -> Fut,
    Fut: std::future::Future<Output = (StatusCode, StatusCode)>,
{
    let mut stored = record(json!({"user_id": 1, "optional": "start", "cart": "empty"}));
    store.create(&mut stored).await.unwrap();
    let mut lost = 0;
    for round in 0..rounds {
        let statuses = run(
            stored.id,
            format!("/change?key=optional&value=theme{round}"),
            format!("/change?key=cart&value=cart{round}"),
        )
        .await;
        assert_eq!(statuses, (StatusCode::OK, StatusCode::OK));
        let session = session_of::<T>(store, stored.id).await.expect("lives");
        if session["optional"] != json!(format!("theme{round}"))
            || session["cart"] != json!(format!("cart{round}"))
        {
            lost += 1;
        }
    }
    lost
}

/// `tokio::join!` of two requests in one task, as an app's integration
/// tests send them: each keeps its change, and each sends one `SELECT`
/// and one `UPDATE`.
async fn two_requests_joined_in_one_task_lose_no_change<T: Counted>(db: TestDatabase) {
    let sent = Sent::default();
    let store = T::counted_store(&db.url, &sent).await;
    let app = app::<T>(store.clone(), Arc::new(Barrier::new(2)));
    let mark = sent.mark();
    let lost = lost_in_pairs::<T, _, _>(&store, 20, |id, first, second| {
        let app = app.clone();
        async move {
            tokio::spawn(async move {
                assert!(tokio::task::try_id().is_some(), "in a task");
                let (first, second) = tokio::join!(
                    app.clone().oneshot(request(id, &first)),
                    app.clone().oneshot(request(id, &second)),
                );
                (first.unwrap().status(), second.unwrap().status())
            })
            .await
            .unwrap()
        }
    })
    .await;
    // Each round: two requests, then the check's `load_record`.
    let (selects, updates, other) = sent.since(mark);
    println!(
        "{:?} joined in one task: {lost} of 20 pairs lost a change; \
         {selects} SELECT, {updates} UPDATE, {other} other for 40 requests and 20 checks",
        T::KIND
    );
    assert_eq!(lost, 0, "{lost} of 20 pairs lost a change");
    assert_eq!(
        (selects, updates, other),
        (60, 40, 1),
        "the create's INSERT"
    );
}

/// A `#[tokio::test]` body runs outside any task: its read-only requests
/// send their `SELECT` alone, and leave the row as it was.
async fn read_only_requests_in_a_test_body_write_nothing<T: Counted>(db: TestDatabase) {
    assert!(tokio::task::try_id().is_none(), "a test body is no task");
    let sent = Sent::default();
    let store = T::counted_store(&db.url, &sent).await;
    let app = app::<T>(store.clone(), Arc::new(Barrier::new(1)));
    let mut stored = record(json!({"user_id": 1, "cart": "one"}));
    store.create(&mut stored).await.unwrap();
    let reader = AppStore::<T>::connect(&db.url).unwrap();
    let before = T::app_expiry(&reader, stored.id).await;
    let mark = sent.mark();
    for _ in 0..5 {
        let response = app
            .clone()
            .oneshot(request(stored.id, "/change?key=cart&value=one"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let read_only = sent.since(mark);
    let mark = sent.mark();
    let response = app
        .clone()
        .oneshot(request(stored.id, "/change?key=cart&value=two"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let changing = sent.since(mark);
    println!(
        "{:?} in a test body: 5 read-only requests sent {read_only:?}, \
         a changing one {changing:?} (SELECT, UPDATE, other)",
        T::KIND
    );
    assert_eq!(read_only, (5, 0, 0), "read-only requests wrote");
    assert_eq!(changing, (1, 1, 0));
    let after = session_of::<T>(&store, stored.id).await.unwrap();
    assert_eq!(after, json!({"user_id": 1, "cart": "two"}));
    assert_ne!(T::app_expiry(&reader, stored.id).await, None);
    assert!(before.is_some());
}

/// Sends one request under a runtime's `block_on` on a thread of its
/// own: outside any task, as a blocking caller would.
fn send_outside_any_task(app: &Router, id: Id, uri: String) -> tokio::task::JoinHandle<StatusCode> {
    let app = app.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        std::thread::spawn(move || {
            runtime.block_on(async move {
                assert!(tokio::task::try_id().is_none(), "outside any task");
                app.oneshot(request(id, &uri)).await.unwrap().status()
            })
        })
        .join()
        .unwrap()
    })
}

/// Requests under `block_on`, outside any task: one overlapping a request
/// in a task keeps both changes; read-only ones send their `SELECT` alone.
async fn requests_outside_any_task_write_only_their_changes<T: Counted>(db: TestDatabase) {
    let sent = Sent::default();
    let store = T::counted_store(&db.url, &sent).await;
    let pairs = app::<T>(store.clone(), Arc::new(Barrier::new(2)));
    let lost = lost_in_pairs::<T, _, _>(&store, 20, |id, first, second| {
        let outside = send_outside_any_task(&pairs, id, first);
        let inside = send(&pairs, id, second);
        async move { (outside.await.unwrap(), inside.await.unwrap()) }
    })
    .await;
    let reading = app::<T>(store.clone(), Arc::new(Barrier::new(1)));
    let mut stored = record(json!({"user_id": 1, "cart": "one"}));
    store.create(&mut stored).await.unwrap();
    let mark = sent.mark();
    for _ in 0..5 {
        let uri = "/change?key=cart&value=one".to_owned();
        let status = send_outside_any_task(&reading, stored.id, uri);
        assert_eq!(status.await.unwrap(), StatusCode::OK);
    }
    let read_only = sent.since(mark);
    println!(
        "{:?} outside any task: {lost} of 20 pairs lost a change; \
         5 read-only requests sent {read_only:?} (SELECT, UPDATE, other)",
        T::KIND
    );
    assert_eq!(lost, 0, "{lost} of 20 pairs lost a change");
    assert_eq!(read_only, (5, 0, 0), "read-only requests wrote");
}

/// Sets a key of the session without waiting for another request.
async fn change_now(Query(change): Query<Change>, session: Session) -> StatusCode {
    match session.insert(&change.key, change.value).await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Loads, meets the test at the barrier, waits there for it again, then
/// changes the key: a request that is slow between its load and its save.
async fn slow_change(
    State(barrier): State<Arc<Barrier>>,
    Query(change): Query<Change>,
    session: Session,
) -> StatusCode {
    if session.get_value("user_id").await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    barrier.wait().await;
    barrier.wait().await;
    change_now(Query(change), session).await
}

/// A memo of a few loads: while one request waits between its load and its
/// save, 300 requests of other sessions load and save and one of the same
/// session changes another key. The waiting load is evicted only after
/// every saved one, so both changes hold.
async fn a_waiting_load_outlives_the_saved_loads_of_other_requests<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, _) = stores::<T>(&db.url).await;
    let store = store.with_load_memo_bytes(8 << 10);
    let barrier = Arc::new(Barrier::new(2));
    let app = Router::new()
        .route("/slow", get(slow_change))
        .route("/now", get(change_now))
        .with_state(Arc::clone(&barrier))
        .layer(
            SessionManagerLayer::new(store.clone())
                .with_secure(false)
                .with_expiry(Expiry::OnInactivity(Duration::hours(1)))
                .with_always_save(true),
        );
    let mut stored = record(json!({"user_id": 1, "optional": "start", "cart": "empty"}));
    store.create(&mut stored).await.unwrap();
    let slow = send(&app, stored.id, "/slow?key=optional&value=slow".to_owned());
    barrier.wait().await;
    for n in 0..300 {
        let mut other = record(json!({"user_id": 1}));
        store.create(&mut other).await.unwrap();
        let status = send(&app, other.id, format!("/now?key=n&value={n}"));
        assert_eq!(status.await.unwrap(), StatusCode::OK);
    }
    let cart = send(&app, stored.id, "/now?key=cart&value=full".to_owned());
    assert_eq!(cart.await.unwrap(), StatusCode::OK);
    let (_, bytes) = store.load_memo_usage();
    assert!(bytes <= 8 << 10, "{bytes} bytes");
    barrier.wait().await;
    assert_eq!(slow.await.unwrap(), StatusCode::OK);
    let session = session_of::<T>(&store, stored.id).await.unwrap();
    assert_eq!(
        session,
        json!({"user_id": 1, "optional": "slow", "cart": "full"})
    );
}

/// `load_record` and `SessionStore::load` with `save`, outside any task:
/// two overlapping loads of one session each keep their change, and a
/// save that changed nothing sends nothing.
async fn the_direct_api_writes_only_what_changed<T: Counted>(db: TestDatabase) {
    let sent = Sent::default();
    let store = T::counted_store(&db.url, &sent).await;
    let mut stored = record(json!({"user_id": 1, "optional": "start", "cart": "empty"}));
    store.create(&mut stored).await.unwrap();
    let mark = sent.mark();
    let mut first = store.load_record(&stored.id).await.unwrap().unwrap();
    let mut second = store.load(&stored.id).await.unwrap().unwrap();
    first.data.insert("optional".to_owned(), json!("first"));
    second.data.insert("cart".to_owned(), json!("second"));
    store.save(&second).await.unwrap();
    store.save(&first).await.unwrap();
    let overlapping = sent.since(mark);
    let session = session_of::<T>(&store, stored.id).await.unwrap();
    assert_eq!(
        session,
        json!({"user_id": 1, "optional": "first", "cart": "second"})
    );
    let mark = sent.mark();
    let unchanged = store.load_record(&stored.id).await.unwrap().unwrap();
    store.save(&unchanged).await.unwrap();
    let read_only = sent.since(mark);
    println!(
        "{:?} direct API: two overlapping load-change-saves sent {overlapping:?}, \
         a load and an unchanged save {read_only:?} (SELECT, UPDATE, other)",
        T::KIND
    );
    assert_eq!(overlapping, (2, 2, 0));
    assert_eq!(read_only, (1, 0, 0));
}
