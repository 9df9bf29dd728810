//! The absolute timeout: a session ends a fixed time after its creation
//! however busy it is kept, `cycle_id` starts a new lifetime, and the
//! per-user list says when each session was created. The clock is moved
//! by writing `created_at` back, never by sleeping.

use crate::common::{record, where_id};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use session_tests::{stores, BackendSchema};
use session_tests::{Kind, TestDatabase};
use std::time::Duration as StdDuration;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt as _;
use tower_sessions::session::Id;
use tower_sessions::{Session, SessionManagerLayer, SessionStore as _};

tests_on_every_backend!(
    a_session_past_the_max_lifetime_is_not_served_however_busy,
    a_write_caps_the_expiry_at_the_deadline_so_cleanup_deletes_it,
    cycle_id_at_login_starts_a_new_lifetime_shown_in_the_list,
);

const TWELVE_HOURS: StdDuration = StdDuration::from_secs(12 * 3600);

/// Moves the session's creation `hours` into the past.
async fn created_hours_ago(db: &TestDatabase, id: Id, hours: i64) {
    let at = where_id(db.kind, id);
    let set = match db.kind {
        Kind::Sqlite => format!("created_at = created_at - {hours} * 3600000000"),
        Kind::Postgres => format!("created_at = created_at - interval '{hours} hours'"),
        Kind::Mysql => format!("created_at = created_at - INTERVAL {hours} HOUR"),
    };
    db.execute(&format!("UPDATE http_sessions SET {set} WHERE {at}"))
        .await;
}

async fn a_session_past_the_max_lifetime_is_not_served_however_busy<T: BackendSchema>(
    db: TestDatabase,
) {
    let (unlimited, _) = stores::<T>(&db.url).await;
    let store = unlimited.clone().with_max_lifetime(Some(TWELVE_HOURS));
    let mut old = record(json!({"user_id": 1}));
    store.create(&mut old).await.unwrap();
    let mut young = record(json!({"user_id": 1}));
    store.create(&mut young).await.unwrap();
    created_hours_ago(&db, old.id, 13).await;
    created_hours_ago(&db, young.id, 11).await;
    // Its expiry is an hour away: only its age ends it.
    assert_eq!(store.load(&old.id).await.unwrap(), None);
    assert!(store.load(&young.id).await.unwrap().is_some());
    // A store without the limit serves both.
    assert!(unlimited.load(&old.id).await.unwrap().is_some());
    // A save cannot bring the old one back.
    store.save(&old).await.unwrap();
    assert_eq!(store.load(&old.id).await.unwrap(), None);
}

async fn a_write_caps_the_expiry_at_the_deadline_so_cleanup_deletes_it<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, _) = stores::<T>(&db.url).await;
    let store = store.with_max_lifetime(Some(StdDuration::from_secs(3600)));
    let mut session = record(json!({"user_id": 1}));
    session.expiry_date = OffsetDateTime::now_utc() + Duration::days(14);
    store.create(&mut session).await.unwrap();
    let stored = store.load(&session.id).await.unwrap().unwrap();
    let deadline = OffsetDateTime::now_utc() + Duration::hours(1);
    assert!(
        stored.expiry_date <= deadline,
        "{} is past {deadline}",
        stored.expiry_date
    );
    assert!(stored.expiry_date > deadline - Duration::minutes(1));
}

async fn login(session: Session) -> StatusCode {
    let cycled = session.cycle_id().await.is_ok();
    let written = session.insert("user_id", 2).await.is_ok();
    if cycled && written {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

async fn cycle_id_at_login_starts_a_new_lifetime_shown_in_the_list<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, _) = stores::<T>(&db.url).await;
    let store = store.with_max_lifetime(Some(TWELVE_HOURS));
    let mut session = record(json!({"user_id": 2}));
    store.create(&mut session).await.unwrap();
    created_hours_ago(&db, session.id, 11).await;
    let before = store.list_by(T::APP_USER_ID, &2).await.unwrap();
    let [listed] = &before[..] else {
        panic!("{before:?}")
    };
    let created = listed.created_at.expect("a creation time");
    assert!(
        created < OffsetDateTime::now_utc() - Duration::hours(10),
        "{created}"
    );

    let app = Router::new()
        .route("/login", get(login))
        .layer(SessionManagerLayer::new(store.clone()).with_secure(false));
    let request = Request::get("/login")
        .header(header::COOKIE, format!("id={}", session.id))
        .body(Body::empty())
        .unwrap();
    let response = tokio::spawn(app.oneshot(request)).await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let after = store.list_by(T::APP_USER_ID, &2).await.unwrap();
    let [listed] = &after[..] else {
        panic!("{after:?}")
    };
    let created = listed.created_at.expect("a creation time");
    assert!(
        created > OffsetDateTime::now_utc() - Duration::minutes(1),
        "{created}"
    );
    assert_eq!(
        store.load(&session.id).await.unwrap(),
        None,
        "the old id is gone"
    );
}
