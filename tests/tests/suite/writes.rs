//! A save writes only what its request changed: overlapping requests keep
//! each other's changes, a removed key stays removed, the expiry never
//! moves backward, and a deleted session stays deleted; across two stores
//! (two app servers) too.
//!
//! Requests run in spawned tasks, as hyper runs them: the store matches a
//! save to its request's load by the task.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use session_runtime::TouchAfter;
use session_tests::{stores, AppStore, BackendSchema, TestDatabase};
use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;
use tower::ServiceExt as _;
use tower_sessions::session::Id;
use tower_sessions::{Expiry, Session, SessionManagerLayer, SessionStore as _};

use crate::common::{micros, record};

tests_on_every_backend!(
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
