//! The absolute timeout: a session ends a fixed time after its creation
//! however busy it is kept, `cycle_id` starts a new lifetime, and the
//! per-user list says when each session was created. The clock is moved
//! by writing `created_at` back, never by sleeping.

use crate::common::{hours_ago, record, where_id};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use diesel::sql_types::{BigInt, Nullable};
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
    every_write_caps_the_expiry_at_created_at_plus_the_limit,
    every_write_gives_a_row_without_created_at_one,
    sessions_past_their_lifetime_are_not_listed_counted_or_kept,
);

const TWELVE_HOURS: StdDuration = StdDuration::from_secs(12 * 3600);

async fn a_session_past_the_max_lifetime_is_not_served_however_busy<T: BackendSchema>(
    db: TestDatabase,
) {
    let (unlimited, _) = stores::<T>(&db.url).await;
    let store = unlimited.clone().with_max_lifetime(Some(TWELVE_HOURS));
    let mut old = record(json!({"user_id": 1}));
    store.create(&mut old).await.unwrap();
    let mut young = record(json!({"user_id": 1}));
    store.create(&mut young).await.unwrap();
    hours_ago(&db, old.id, "created_at", 13).await;
    hours_ago(&db, young.id, "created_at", 11).await;
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
    hours_ago(&db, session.id, "created_at", 11).await;
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

const ONE_HOUR: StdDuration = StdDuration::from_secs(3600);

/// A stored row's lifetime as the database sees it: its expiry minus its
/// creation time, and its age, in whole seconds; `None` for a NULL
/// `created_at`.
#[derive(Debug, diesel::QueryableByName)]
struct StoredLifetime {
    #[diesel(sql_type = Nullable<BigInt>)]
    span: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    age: Option<i64>,
}

async fn stored_lifetime(db: &TestDatabase, id: Id) -> StoredLifetime {
    let (span, age) = match db.kind {
        Kind::Sqlite => (
            "(expiry_date - created_at) / 1000000",
            "(CAST(strftime('%s', 'now') AS INTEGER) * 1000000 - created_at) / 1000000",
        ),
        Kind::Postgres => (
            "CAST(EXTRACT(EPOCH FROM (expiry_date - created_at)) AS BIGINT)",
            "CAST(EXTRACT(EPOCH FROM (now() - created_at)) AS BIGINT)",
        ),
        Kind::Mysql => (
            "TIMESTAMPDIFF(SECOND, created_at, expiry_date)",
            "TIMESTAMPDIFF(SECOND, created_at, UTC_TIMESTAMP(6))",
        ),
    };
    let at = where_id(db.kind, id);
    let sql = format!("SELECT {span} AS span, {age} AS age FROM http_sessions WHERE {at}");
    let mut rows = db.query::<StoredLifetime>(&sql).await;
    assert_eq!(rows.len(), 1, "{sql}");
    rows.remove(0)
}

/// Moves the session's stored expiry `hours` later by hand, as a server
/// without the limit (or one from before it) would have written it.
async fn expiry_moved_by_hand(db: &TestDatabase, id: Id, hours: i64) {
    let at = where_id(db.kind, id);
    let set = match db.kind {
        Kind::Sqlite => format!("expiry_date = expiry_date + {hours} * 3600000000"),
        Kind::Postgres => format!("expiry_date = expiry_date + interval '{hours} hours'"),
        Kind::Mysql => format!("expiry_date = expiry_date + INTERVAL {hours} HOUR"),
    };
    db.execute(&format!("UPDATE http_sessions SET {set} WHERE {at}"))
        .await;
}

/// Asserts the row ends exactly at its creation plus an hour (the
/// database's seconds may round either way).
fn ends_an_hour_after_creation(stored: &StoredLifetime, path: &str) {
    let span = stored
        .span
        .unwrap_or_else(|| panic!("{path}: no created_at"));
    assert!((3599..=3600).contains(&span), "{path}: {stored:?}");
}

async fn every_write_caps_the_expiry_at_created_at_plus_the_limit<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, _) = stores::<T>(&db.url).await;
    let store = store.with_max_lifetime(Some(ONE_HOUR));
    let a_day_ahead = || OffsetDateTime::now_utc() + Duration::days(1);

    // create: the record takes the capped expiry back.
    let mut created = record(json!({"user_id": 1}));
    created.expiry_date = a_day_ahead();
    store.create(&mut created).await.unwrap();
    assert!(created.expiry_date <= OffsetDateTime::now_utc() + Duration::hours(1));
    assert!(created.expiry_date > OffsetDateTime::now_utc() + Duration::minutes(59));
    ends_an_hour_after_creation(&stored_lifetime(&db, created.id).await, "create");

    // A save of a load the store remembers, with a change.
    let mut remembered = record(json!({"user_id": 1}));
    store.create(&mut remembered).await.unwrap();
    hours_ago(&db, remembered.id, "created_at", 0).await;
    let mut loaded = store.load(&remembered.id).await.unwrap().unwrap();
    loaded.data.insert("seen".into(), json!(true));
    loaded.expiry_date = a_day_ahead();
    store.save(&loaded).await.unwrap();
    ends_an_hour_after_creation(&stored_lifetime(&db, loaded.id).await, "partial");

    // The expiry alone, of a load the store remembers.
    let mut touched = store.load(&remembered.id).await.unwrap().unwrap();
    touched.expiry_date = a_day_ahead() + Duration::hours(1);
    store.save(&touched).await.unwrap();
    ends_an_hour_after_creation(&stored_lifetime(&db, touched.id).await, "expiry only");

    // A save whose load the store does not know (another server, a cache
    // in front, an evicted memo): the whole row, capped by the database.
    let mut forgotten = record(json!({"user_id": 1}));
    store.create(&mut forgotten).await.unwrap();
    hours_ago(&db, forgotten.id, "created_at", 0).await;
    forgotten.data.insert("seen".into(), json!(true));
    forgotten.expiry_date = a_day_ahead();
    store.save(&forgotten).await.unwrap();
    ends_an_hour_after_creation(&stored_lifetime(&db, forgotten.id).await, "whole row");
    let back = store.load(&forgotten.id).await.unwrap().unwrap();
    assert!(back.expiry_date <= OffsetDateTime::now_utc() + Duration::hours(1));

    // Thirty minutes in, the whole-row save still ends at the first hour.
    let mut older = record(json!({"user_id": 1}));
    store.create(&mut older).await.unwrap();
    let at = where_id(db.kind, older.id);
    let half_hour = match db.kind {
        Kind::Sqlite => "created_at = created_at - 1800000000".to_owned(),
        Kind::Postgres => "created_at = created_at - interval '30 minutes'".to_owned(),
        Kind::Mysql => "created_at = created_at - INTERVAL 30 MINUTE".to_owned(),
    };
    db.execute(&format!("UPDATE http_sessions SET {half_hour} WHERE {at}"))
        .await;
    older.expiry_date = a_day_ahead();
    store.save(&older).await.unwrap();
    let stored = stored_lifetime(&db, older.id).await;
    ends_an_hour_after_creation(&stored, "whole row, half an hour in");
    assert!(
        stored.age.is_some_and(|age| (1795..1900).contains(&age)),
        "{stored:?}"
    );
}

async fn every_write_gives_a_row_without_created_at_one<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let store = store.with_max_lifetime(Some(ONE_HOUR));
    let a_day_ahead = || OffsetDateTime::now_utc() + Duration::days(1);
    let mut whole = record(json!({"user_id": 1}));
    store.create(&mut whole).await.unwrap();
    let mut partial = record(json!({"user_id": 1}));
    store.create(&mut partial).await.unwrap();
    db.execute("UPDATE http_sessions SET created_at = NULL")
        .await;
    assert_eq!(stored_lifetime(&db, whole.id).await.span, None);

    // The whole row: a save the store knows no load of.
    whole.expiry_date = a_day_ahead();
    store.save(&whole).await.unwrap();
    // A change to a load of a row without a creation time.
    let mut loaded = store.load(&partial.id).await.unwrap().unwrap();
    loaded.data.insert("seen".into(), json!(true));
    loaded.expiry_date = a_day_ahead();
    store.save(&loaded).await.unwrap();

    for (id, path) in [(whole.id, "whole row"), (partial.id, "partial")] {
        let stored = stored_lifetime(&db, id).await;
        assert!(
            stored.age.is_some_and(|age| (0..60).contains(&age)),
            "{path}: {stored:?}"
        );
        // Its lifetime runs from that write.
        ends_an_hour_after_creation(&stored, path);
    }
}

async fn sessions_past_their_lifetime_are_not_listed_counted_or_kept<T: BackendSchema>(
    db: TestDatabase,
) {
    let (unlimited, _) = stores::<T>(&db.url).await;
    let store = unlimited.clone().with_max_lifetime(Some(ONE_HOUR));
    let mut young = record(json!({"user_id": 1}));
    store.create(&mut young).await.unwrap();
    // Two sessions two hours old whose expiry a server without the limit
    // kept moving: a day ahead.
    let mut stale = Vec::new();
    for _ in 0..2 {
        let mut old = record(json!({"user_id": 1}));
        unlimited.create(&mut old).await.unwrap();
        hours_ago(&db, old.id, "created_at", 2).await;
        expiry_moved_by_hand(&db, old.id, 24).await;
        stale.push(old.id);
    }
    assert_eq!(unlimited.count_by(T::APP_USER_ID, &1).await.unwrap(), 3);
    assert_eq!(
        unlimited.list_by(T::APP_USER_ID, &1).await.unwrap().len(),
        3
    );

    let listed = store.list_by(T::APP_USER_ID, &1).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].digest, young.id.into());
    assert_eq!(store.count_by(T::APP_USER_ID, &1).await.unwrap(), 1);
    assert_eq!(store.count().await.unwrap(), 1);
    for id in &stale {
        assert_eq!(store.load(id).await.unwrap(), None);
    }

    // The batched cleanup deletes one, the whole-table one the other.
    assert_eq!(store.delete_expired_batch(1).await.unwrap(), 1);
    assert_eq!(unlimited.count().await.unwrap(), 2);
    assert_eq!(store.delete_expired_sessions().await.unwrap(), 1);
    assert_eq!(unlimited.count().await.unwrap(), 1);
    assert_eq!(store.delete_expired_batch(10).await.unwrap(), 0);
    assert!(store.load(&young.id).await.unwrap().is_some());
}
