//! Security: ids are hashed at rest, revoked and expired sessions are never
//! served again, and a session deleted while a request holds it is not
//! resurrected by that request's save.

use crate::common::record;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use session_runtime::SessionDigest;
use session_tests::{stores, BackendSchema};
use session_tests::{Kind, TestDatabase};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;
use tower::ServiceExt as _;
use tower_sessions::session::Id;
use tower_sessions::{
    ExpiredDeletion as _, Expiry, Session, SessionManagerLayer, SessionStore as _,
};

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What must never appear in a dump of the session tables for session
/// `id`: its cookie value, as text or bytes, and its raw id.
fn secrets(id: Id) -> Vec<String> {
    let cookie = id.to_string();
    vec![
        hex(cookie.as_bytes()),
        cookie,
        hex(&id.0.to_le_bytes()),
        hex(&id.0.to_be_bytes()),
        id.0.to_string(),
    ]
}

/// The SQL listing a table's columns, and whether each holds bytes.
/// A row of [`columns_sql`]: a column's name, and whether it is binary.
#[derive(diesel::QueryableByName)]
pub(crate) struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) text: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub(crate) is_binary: i32,
}

/// A row of [`dump_sql`]: one value as text.
#[derive(diesel::QueryableByName)]
pub(crate) struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) text: String,
}

/// Every value of every column of `table`, as text and as hex, lowercase,
/// a line each: what a dump of the table would show. Also gives the
/// columns, to be checked.
pub(crate) async fn dump_table(db: &TestDatabase, table: &str) -> (Vec<Column>, String) {
    let columns: Vec<Column> = db.query(&columns_sql(db.kind, table)).await;
    let mut dump = String::new();
    for column in &columns {
        let sql = dump_sql(db.kind, table, &column.text, column.is_binary == 1);
        for row in db.query::<Text>(&sql).await {
            dump.push_str(&row.text.to_lowercase());
            dump.push('\n');
        }
    }
    (columns, dump)
}

pub(crate) fn columns_sql(kind: Kind, table: &str) -> String {
    match kind {
        Kind::Sqlite => format!(
            "SELECT name AS text, CASE WHEN type = 'BLOB' THEN 1 ELSE 0 END AS is_binary \
             FROM pragma_table_info('{table}')"
        ),
        Kind::Postgres => format!(
            "SELECT column_name::text AS text, CASE WHEN data_type = 'bytea' THEN 1 ELSE 0 END AS is_binary \
             FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
        Kind::Mysql => format!(
            "SELECT CAST(column_name AS CHAR) AS text, \
             CASE WHEN data_type IN ('binary', 'varbinary', 'blob', 'longblob') THEN 1 ELSE 0 END AS is_binary \
             FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{table}'"
        ),
    }
}

/// The SQL dumping one column of every row as text: its value as text
/// (bytes as hex) and the hex of its bytes.
pub(crate) fn dump_sql(kind: Kind, table: &str, column: &str, binary: bool) -> String {
    let value = match (kind, binary) {
        (Kind::Sqlite, _) => format!("COALESCE(quote(\"{column}\"), '') || ' ' || COALESCE(hex(\"{column}\"), '')"),
        (Kind::Postgres, true) => format!("COALESCE(encode(\"{column}\", 'hex'), '')"),
        (Kind::Postgres, false) => format!(
            "COALESCE(\"{column}\"::text, '') || ' ' || COALESCE(encode(convert_to(\"{column}\"::text, 'UTF8'), 'hex'), '')"
        ),
        (Kind::Mysql, true) => format!("COALESCE(HEX(`{column}`), '')"),
        (Kind::Mysql, false) => format!(
            "CONCAT(COALESCE(CAST(`{column}` AS CHAR), ''), ' ', COALESCE(HEX(`{column}`), ''))"
        ),
    };
    let quoted = if kind == Kind::Mysql {
        format!("`{table}`")
    } else {
        format!("\"{table}\"")
    };
    format!("SELECT {value} AS text FROM {quoted}")
}

/// Digests of live sessions that the dump must contain: proof that it
/// holds what the table holds.
fn digest_hex(id: Id) -> String {
    SessionDigest::of_id(id.0).to_string()
}

tests_on_every_backend!(
    a_dump_of_every_column_holds_no_cookie_value_nor_raw_id,
    revoked_and_expired_sessions_are_never_served_again_even_after_cycle_id,
    a_delete_between_a_requests_load_and_save_does_not_resurrect,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_logout_during_a_slow_request_is_not_undone_by_its_save,
);

async fn dump(db: &TestDatabase, table: &str) -> String {
    let (columns, dump) = dump_table(db, table).await;
    assert!(columns.len() >= 4, "{table} has columns: {}", columns.len());
    dump
}

async fn a_dump_of_every_column_holds_no_cookie_value_nor_raw_id<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, typed) = stores::<T>(&db.url).await;
    let mut ids: Vec<Id> = Vec::new();
    let mut live: Vec<Id> = Vec::new();
    for n in 0..10_i64 {
        let mut session =
            record(json!({"user_id": 1 + n % 3, "optional": format!("device {n}"), "n": n}));
        store.create(&mut session).await.unwrap();
        session.data.insert("saved".into(), json!(true));
        store.save(&session).await.unwrap();
        let mut typed_session = record(
            json!({"axum-login.data": {"user_id": 1, "auth_hash": [n]}, "visits": n, "agent": "curl"}),
        );
        typed.create(&mut typed_session).await.unwrap();
        ids.extend([session.id, typed_session.id]);
        live.extend([session.id, typed_session.id]);
    }
    // A login through a session handle, with its id cycled.
    let handle = Session::new(None, Arc::new(store.clone()), None);
    handle.insert("user_id", 2).await.unwrap();
    handle.save().await.unwrap();
    let before_cycle = handle.id().unwrap();
    handle.cycle_id().await.unwrap();
    handle.save().await.unwrap();
    let after_cycle = handle.id().unwrap();
    ids.extend([before_cycle, after_cycle]);
    live.push(after_cycle);

    // Controls: an app that stores another id's cookie value in
    // `data`, or its raw bytes in a blob column, shows in the
    // dump, so the search below would find a leak.
    let decoy = Id::default();
    let mut holder = record(json!({"user_id": 3, "leaked": decoy.to_string()}));
    store.create(&mut holder).await.unwrap();
    let bytes = decoy.0.to_le_bytes().to_vec();
    let mut typed_holder = record(json!({"visits": 1, "blob": bytes}));
    typed.create(&mut typed_holder).await.unwrap();
    live.extend([holder.id, typed_holder.id]);

    let dump = format!(
        "{}{}",
        dump(&db, "http_sessions").await,
        dump(&db, "typed_sessions").await
    );
    let [_, cookie, raw, ..] = &secrets(decoy)[..] else {
        unreachable!()
    };
    assert!(
        dump.contains(&cookie.to_lowercase()),
        "the dump misses the decoy's cookie"
    );
    assert!(dump.contains(raw), "the dump misses the decoy's bytes");
    for id in &live {
        assert!(
            dump.contains(&digest_hex(*id)),
            "the dump misses a stored digest:\n{dump}"
        );
    }
    for id in &ids {
        for secret in secrets(*id) {
            assert!(
                !dump.contains(&secret.to_lowercase()),
                "{secret} is stored in clear"
            );
        }
    }
    eprintln!(
        "security: {} ids looked for in {} bytes of dump, none found",
        ids.len(),
        dump.len()
    );
}

async fn revoked_and_expired_sessions_are_never_served_again_even_after_cycle_id<
    T: BackendSchema,
>(
    db: TestDatabase,
) {
    let (store, _) = stores::<T>(&db.url).await;
    let store = Arc::new(store);

    // Logged in, then the id cycled, as a login does.
    let session = Session::new(None, store.clone(), None);
    session.insert("user_id", 1_i64).await.unwrap();
    session.insert("secret", "user 1's").await.unwrap();
    session.save().await.unwrap();
    let first = session.id().unwrap();
    session.cycle_id().await.unwrap();
    session.save().await.unwrap();
    let second = session.id().unwrap();
    assert_ne!(first, second);
    assert_eq!(
        store.load(&first).await.unwrap(),
        None,
        "the old id died with the cycle"
    );
    let stale = store
        .load(&second)
        .await
        .unwrap()
        .expect("the cycled session");

    // Revoked.
    assert_eq!(store.revoke_by(T::APP_USER_ID, &1).await.unwrap(), 1);
    // A slow request still holding the record saves it.
    store.save(&stale).await.unwrap();
    for cookie in [first, second] {
        assert_eq!(store.load(&cookie).await.unwrap(), None);
        let comeback = Session::new(Some(cookie), store.clone(), None);
        assert_eq!(comeback.get_value("user_id").await.unwrap(), None);
        assert_eq!(comeback.get_value("secret").await.unwrap(), None);
        comeback.cycle_id().await.unwrap();
        comeback.insert("visit", "after the revoke").await.unwrap();
        comeback.save().await.unwrap();
        let fresh = comeback.id().unwrap();
        assert_ne!(fresh, cookie, "a dead id is never reused");
        assert_eq!(store.load(&cookie).await.unwrap(), None);
        let loaded = store.load(&fresh).await.unwrap().unwrap();
        assert_eq!(
            loaded.data,
            crate::common::map(json!({"visit": "after the revoke"}))
        );
    }

    // Expired: its expiry passes while it is stored.
    let session = Session::new(
        None,
        store.clone(),
        Some(Expiry::OnInactivity(Duration::hours(1))),
    );
    session.insert("user_id", 2_i64).await.unwrap();
    session.save().await.unwrap();
    let expiring = session.id().unwrap();
    session.set_expiry(Some(Expiry::AtDateTime(
        OffsetDateTime::now_utc() - Duration::seconds(1),
    )));
    session.save().await.unwrap();
    assert_eq!(store.load(&expiring).await.unwrap(), None, "expired");
    let comeback = Session::new(Some(expiring), store.clone(), None);
    assert_eq!(comeback.get_value("user_id").await.unwrap(), None);
    comeback.cycle_id().await.unwrap();
    comeback.insert("visit", "after expiry").await.unwrap();
    comeback.save().await.unwrap();
    let fresh = comeback.id().unwrap();
    assert_ne!(fresh, expiring);
    assert_eq!(
        store
            .load(&fresh)
            .await
            .unwrap()
            .unwrap()
            .data
            .get("user_id"),
        None
    );
    store.delete_expired().await.unwrap();
    assert_eq!(store.load(&expiring).await.unwrap(), None);
    assert_eq!(store.count_by(T::APP_USER_ID, &1).await.unwrap(), 0);
    assert_eq!(store.count_by(T::APP_USER_ID, &2).await.unwrap(), 0);
}

async fn a_delete_between_a_requests_load_and_save_does_not_resurrect<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, _) = stores::<T>(&db.url).await;
    let store = Arc::new(store);
    for revoke in [false, true] {
        let mut stored = record(json!({"user_id": 1, "cart": []}));
        store.create(&mut stored).await.unwrap();
        let session = Session::new(Some(stored.id), store.clone(), None);
        // The request loads the session...
        assert_eq!(session.get_value("user_id").await.unwrap(), Some(json!(1)));
        // ...a logout or a revoke lands...
        if revoke {
            assert_eq!(store.revoke_by(T::APP_USER_ID, &1).await.unwrap(), 1);
        } else {
            store.delete(&stored.id).await.unwrap();
        }
        // ...and the request writes and saves.
        session.insert("cart", ["book"]).await.unwrap();
        session.save().await.unwrap();
        assert_eq!(session.id(), Some(stored.id));
        assert_eq!(store.load(&stored.id).await.unwrap(), None, "resurrected");
        assert_eq!(store.count().await.unwrap(), 0);
    }
}

/// The request's handler, signalled at each step.
#[derive(Clone)]
struct Steps {
    loaded: Arc<Notify>,
    deleted: Arc<Notify>,
}

async fn slow_request(State(steps): State<Steps>, session: Session) -> StatusCode {
    if session.get_value("user_id").await.ok().flatten().is_none() {
        return StatusCode::UNAUTHORIZED;
    }
    steps.loaded.notify_one();
    steps.deleted.notified().await;
    match session.insert("cart", ["book"]).await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn a_logout_during_a_slow_request_is_not_undone_by_its_save<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, _) = stores::<T>(&db.url).await;
    let mut stored = record(json!({"user_id": 1}));
    store.create(&mut stored).await.unwrap();
    let steps = Steps {
        loaded: Arc::new(Notify::new()),
        deleted: Arc::new(Notify::new()),
    };
    let app = Router::new()
        .route("/slow", get(slow_request))
        .with_state(steps.clone())
        .layer(SessionManagerLayer::new(store.clone()).with_secure(false));
    let request = Request::get("/slow")
        .header(header::COOKIE, format!("id={}", stored.id))
        .body(Body::empty())
        .unwrap();
    let response = tokio::spawn(app.oneshot(request));
    steps.loaded.notified().await;
    store.delete(&stored.id).await.unwrap();
    steps.deleted.notify_one();
    let response = response.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        store.load(&stored.id).await.unwrap(),
        None,
        "resurrected by the request's save"
    );
    assert_eq!(store.count().await.unwrap(), 0);
}
