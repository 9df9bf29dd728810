//! The authentication time: marked through the `Session`, kept in the
//! store's `authenticated_at` column and never in `data`, carried across
//! `cycle_id`, written only by the save that changed it, and the start of
//! the absolute timeout everywhere the store applies it. The clock is moved
//! by writing the columns back, never by sleeping.

use crate::common::{hours_ago, map, record, where_id};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use diesel::sql_types::{BigInt, Nullable};
use serde_json::json;
use session_runtime::TypedSessionExt;
use session_tests::{stores, BackendSchema};
use session_tests::{Kind, TestDatabase};
use std::time::Duration as StdDuration;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt as _;
use tower_sessions::session::{Id, Record};
use tower_sessions::{Session, SessionManagerLayer, SessionStore as _};

tests_on_every_backend!(
    a_login_is_stored_in_its_column_and_never_in_data,
    the_authentication_time_survives_cycle_id_and_the_lifetime_counts_from_it,
    authenticated_within_asks_again_once_the_login_is_old,
    a_save_from_before_the_login_keeps_the_login,
    lists_counts_and_cleanup_count_the_lifetime_from_the_login,
    a_value_under_the_key_that_is_not_a_time_is_refused_and_nothing_changes,
    a_table_made_before_the_column_gains_it_and_keeps_its_sessions,
);

/// The store's key for the authentication time, as the guide names it.
const KEY: &str = "session_runtime.authenticated_at";

const TWELVE_HOURS: StdDuration = StdDuration::from_secs(12 * 3600);

async fn login(session: Session) -> StatusCode {
    let cycled = session.cycle_id().await.is_ok();
    let written = session.insert("user_id", 2).await.is_ok();
    let marked = session.mark_authenticated().await.is_ok();
    if cycled && written && marked {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// A privilege change that is not a login: a new id, no new mark.
async fn cycle(session: Session) -> StatusCode {
    match session.cycle_id().await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn change_password(session: Session) -> StatusCode {
    match session.authenticated_within(Duration::minutes(5)).await {
        Ok(true) => StatusCode::OK,
        Ok(false) => StatusCode::FORBIDDEN,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn app<T: BackendSchema>(store: session_tests::AppStore<T>) -> Router {
    Router::new()
        .route("/login", get(login))
        .route("/cycle", get(cycle))
        .route("/change-password", get(change_password))
        .layer(SessionManagerLayer::new(store).with_secure(false))
}

/// Sends `GET path` with the session cookie `cookie`, and returns the
/// status and the cookie the response sets, if any.
async fn get_with(app: &Router, path: &str, cookie: &str) -> (StatusCode, Option<String>) {
    let request = Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let response = tokio::spawn(app.clone().oneshot(request))
        .await
        .unwrap()
        .unwrap();
    let set_cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::to_owned);
    (response.status(), set_cookie)
}

/// The id a `Set-Cookie` value `id=...` names.
fn id_of(cookie: &str) -> Id {
    cookie
        .trim_start_matches("id=")
        .parse()
        .expect("a session id")
}

/// The stored row's authentication time and creation time, as seconds
/// before now, and whether `data` holds the key.
#[derive(Debug, diesel::QueryableByName)]
struct StoredTimes {
    #[diesel(sql_type = Nullable<BigInt>)]
    authenticated_ago: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    created_ago: Option<i64>,
    #[diesel(sql_type = BigInt)]
    key_in_data: i64,
}

async fn stored_times(db: &TestDatabase, id: Id) -> StoredTimes {
    let ago = |column: &str| match db.kind {
        Kind::Sqlite => {
            format!("(CAST(strftime('%s', 'now') AS INTEGER) * 1000000 - {column}) / 1000000")
        }
        Kind::Postgres => format!("CAST(EXTRACT(EPOCH FROM (now() - {column})) AS BIGINT)"),
        Kind::Mysql => format!("TIMESTAMPDIFF(SECOND, {column}, UTC_TIMESTAMP(6))"),
    };
    let key_in_data = match db.kind {
        Kind::Sqlite => format!("CAST(instr(data, '{KEY}') > 0 AS INTEGER)"),
        Kind::Postgres => format!("CAST((data ? '{KEY}') AS INTEGER)::BIGINT"),
        Kind::Mysql => format!("CAST(JSON_CONTAINS_PATH(data, 'one', '$.\"{KEY}\"') AS SIGNED)"),
    };
    let sql = format!(
        "SELECT {} AS authenticated_ago, {} AS created_ago, {key_in_data} AS key_in_data \
         FROM http_sessions WHERE {}",
        ago("authenticated_at"),
        ago("created_at"),
        where_id(db.kind, id)
    );
    let mut rows = db.query::<StoredTimes>(&sql).await;
    assert_eq!(rows.len(), 1, "{sql}");
    rows.remove(0)
}

/// A session map's authentication time, as `mark_authenticated` writes it.
fn marked(at: OffsetDateTime) -> serde_json::Value {
    json!(i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap())
}

async fn a_login_is_stored_in_its_column_and_never_in_data<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let app = app::<T>(store.clone());
    let (status, cookie) = get_with(&app, "/login", "").await;
    assert_eq!(status, StatusCode::OK);
    let id = id_of(&cookie.expect("a session cookie"));

    let stored = stored_times(&db, id).await;
    assert!(
        matches!(stored.authenticated_ago, Some(0..=5)),
        "{stored:?}"
    );
    assert_eq!(stored.key_in_data, 0, "the column holds it, not `data`");
    let loaded = store.load(&id).await.unwrap().expect("the session");
    assert!(loaded.data.contains_key(KEY), "{:?}", loaded.data);

    let listed = store.list_by(T::APP_USER_ID, &2).await.unwrap();
    let [info] = &listed[..] else {
        panic!("{listed:?}")
    };
    let at = info.authenticated_at.expect("the login time");
    assert!(
        OffsetDateTime::now_utc() - at < Duration::minutes(1),
        "{at}"
    );
}

async fn the_authentication_time_survives_cycle_id_and_the_lifetime_counts_from_it<
    T: BackendSchema,
>(
    db: TestDatabase,
) {
    let (store, _) = stores::<T>(&db.url).await;
    let store = store.with_max_lifetime(Some(TWELVE_HOURS));
    let app = app::<T>(store.clone());
    let (_, cookie) = get_with(&app, "/login", "").await;
    let cookie = cookie.expect("a session cookie");
    let logged_in = id_of(&cookie);
    hours_ago(&db, logged_in, "authenticated_at", 11).await;
    hours_ago(&db, logged_in, "created_at", 11).await;

    // A new id, no new login: the login time goes with the session.
    let (status, cycled) = get_with(&app, "/cycle", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    let cycled = id_of(&cycled.expect("a new cookie"));
    assert_ne!(cycled, logged_in);
    let stored = stored_times(&db, cycled).await;
    assert!(
        matches!(stored.authenticated_ago, Some(39_590..=39_610)),
        "{stored:?}"
    );
    assert!(matches!(stored.created_ago, Some(0..=5)), "{stored:?}");
    let listed = store.list_by(T::APP_USER_ID, &2).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");

    // Twelve hours after the login, the session ends, though its id is
    // minutes old.
    hours_ago(&db, cycled, "authenticated_at", 2).await;
    assert_eq!(store.load(&cycled).await.unwrap(), None);

    // The same through the direct API: a create carrying an old login is
    // capped at that login's deadline.
    let mut carried = record(json!({"user_id": 2}));
    let login = OffsetDateTime::now_utc() - Duration::hours(13);
    carried.data.insert(KEY.to_owned(), marked(login));
    store.create(&mut carried).await.unwrap();
    assert!(carried.expiry_date <= login + Duration::hours(12));
    assert_eq!(store.load(&carried.id).await.unwrap(), None);
}

async fn authenticated_within_asks_again_once_the_login_is_old<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let app = app::<T>(store);
    let (_, cookie) = get_with(&app, "/login", "").await;
    let cookie = cookie.expect("a session cookie");
    assert_eq!(
        get_with(&app, "/change-password", &cookie).await.0,
        StatusCode::OK
    );
    hours_ago(&db, id_of(&cookie), "authenticated_at", 1).await;
    assert_eq!(
        get_with(&app, "/change-password", &cookie).await.0,
        StatusCode::FORBIDDEN
    );
    // A session nobody logged into was never authenticated.
    assert_eq!(
        get_with(&app, "/change-password", "").await.0,
        StatusCode::FORBIDDEN
    );
}

async fn a_save_from_before_the_login_keeps_the_login<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let mut session = record(json!({"user_id": 2}));
    store.create(&mut session).await.unwrap();
    let mut slow = store.load(&session.id).await.unwrap().unwrap();
    let mut login = store.load(&session.id).await.unwrap().unwrap();

    let at = OffsetDateTime::now_utc();
    login.data.insert(KEY.to_owned(), marked(at));
    store.save(&login).await.unwrap();
    slow.data.insert("theme".to_owned(), json!("dark"));
    store.save(&slow).await.unwrap();

    let stored = store.load(&session.id).await.unwrap().unwrap();
    assert_eq!(stored.data.get(KEY), Some(&marked(at)), "{:?}", stored.data);
    assert_eq!(stored.data.get("theme"), Some(&json!("dark")));
}

async fn lists_counts_and_cleanup_count_the_lifetime_from_the_login<T: BackendSchema>(
    db: TestDatabase,
) {
    let (unlimited, _) = stores::<T>(&db.url).await;
    let store = unlimited.clone().with_max_lifetime(Some(TWELVE_HOURS));
    let mut old_login = record(json!({"user_id": 2}));
    old_login
        .data
        .insert(KEY.to_owned(), marked(OffsetDateTime::now_utc()));
    store.create(&mut old_login).await.unwrap();
    let mut anonymous = record(json!({"user_id": 2}));
    store.create(&mut anonymous).await.unwrap();
    // Created a minute ago, logged into thirteen hours ago.
    hours_ago(&db, old_login.id, "authenticated_at", 13).await;

    assert_eq!(store.count().await.unwrap(), 1);
    assert_eq!(store.count_by(T::APP_USER_ID, &2).await.unwrap(), 1);
    let listed = store.list_by(T::APP_USER_ID, &2).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(unlimited.count().await.unwrap(), 2);

    assert_eq!(store.delete_expired_batch(100).await.unwrap(), 1);
    assert_eq!(unlimited.load(&old_login.id).await.unwrap(), None);
    assert!(unlimited.load(&anonymous.id).await.unwrap().is_some());
}

async fn a_value_under_the_key_that_is_not_a_time_is_refused_and_nothing_changes<
    T: BackendSchema,
>(
    db: TestDatabase,
) {
    let (store, _) = stores::<T>(&db.url).await;
    let mut session = record(json!({"user_id": 2, "theme": "light"}));
    store.create(&mut session).await.unwrap();
    let mut forged = Record {
        data: map(json!({"user_id": 2, "theme": "dark", KEY: "yesterday"})),
        ..session.clone()
    };
    let error = store.save(&forged).await.unwrap_err().to_string();
    assert!(error.contains(KEY), "{error}");
    assert!(!error.contains("yesterday"), "{error}");
    let stored = store.load(&session.id).await.unwrap().unwrap();
    assert_eq!(stored.data, session.data);

    forged.id = Id::default();
    let refused = store.create(&mut forged).await;
    assert!(
        matches!(
            refused,
            Err(tower_sessions::session_store::Error::Encode(_))
        ),
        "{refused:?}"
    );
}

async fn a_table_made_before_the_column_gains_it_and_keeps_its_sessions<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, _) = stores::<T>(&db.url).await;
    let mut session = record(json!({"user_id": 2}));
    store.create(&mut session).await.unwrap();
    db.execute("ALTER TABLE http_sessions DROP COLUMN authenticated_at")
        .await;
    let diff = store.check_schema().await.unwrap();
    assert!(
        diff.changes()
            .contains(&session_runtime::SchemaChange::AddColumn {
                column: "authenticated_at"
            }),
        "{diff:?}"
    );
    store.migrate().await.unwrap();
    let stored = stored_times(&db, session.id).await;
    assert_eq!(stored.authenticated_ago, None, "{stored:?}");
    assert!(store.load(&session.id).await.unwrap().is_some());
}
