//! What differs between backends: time zones, session sizes, U+0000, and
//! several app servers sharing one database.

use crate::common::record;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt as _;
use serde_json::json;
use session_tests::{stores, AppStore, BackendSchema};
use session_tests::{Kind, TestDatabase};
use tower::ServiceExt as _;
use tower_sessions::session_store;
use tower_sessions::{Session, SessionManagerLayer, SessionStore as _};

tests_on_every_backend!(
    sessions_of_several_mebibytes_round_trip,
    u0000_round_trips_or_is_refused_without_loss,
    two_app_servers_share_sessions,
);

async fn sessions_of_several_mebibytes_round_trip<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    // Past the default limit of 1 MiB, which an app raises for this.
    let store = store.with_max_session_bytes(16 << 20);
    let mut record = record(json!({
        "blob": "x".repeat(1 << 20),
        "items": (0..20_000).collect::<Vec<_>>(),
    }));
    store.create(&mut record).await.unwrap();
    assert_eq!(
        store.load(&record.id).await.unwrap().unwrap().data,
        record.data
    );
    record
        .data
        .insert("blob".into(), json!("y".repeat(3 << 20)));
    store.save(&record).await.unwrap();
    assert_eq!(
        store.load(&record.id).await.unwrap().unwrap().data,
        record.data
    );
}

async fn u0000_round_trips_or_is_refused_without_loss<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let mut record = record(json!({"note": "kept"}));
    store.create(&mut record).await.unwrap();
    record.data.insert("note".into(), json!("a\u{0}b"));
    record.data.insert("k\u{0}ey".into(), json!(1));
    let saved = store.save(&record).await;
    let loaded = store.load(&record.id).await.unwrap().unwrap();
    if T::KIND == Kind::Postgres {
        let error = saved.unwrap_err();
        assert!(
            matches!(&error, session_store::Error::Encode(message) if message.contains("U+0000")),
            "{error:?}"
        );
        assert_eq!(
            loaded.data.get("note"),
            Some(&json!("kept")),
            "the stored row is untouched"
        );
        let mut fresh = crate::common::record(json!({"nested": ["\u{0}"]}));
        assert!(matches!(
            store.create(&mut fresh).await,
            Err(session_store::Error::Encode(_))
        ));
    } else {
        saved.unwrap();
        assert_eq!(loaded.data, record.data);
    }
}

/// One app server: `/login` puts a user id in the session and
/// `/whoami` reads it back.
fn app_server<T: BackendSchema>(store: AppStore<T>) -> Router {
    async fn login(session: Session) -> StatusCode {
        match session.insert("user_id", 1_i64).await {
            Ok(()) => StatusCode::OK,
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    async fn whoami(session: Session) -> String {
        match session.get::<i64>("user_id").await {
            Ok(Some(id)) => format!("user {id}"),
            _ => "nobody".to_owned(),
        }
    }
    Router::new()
        .route("/login", get(login))
        .route("/whoami", get(whoami))
        .layer(SessionManagerLayer::new(store).with_secure(false))
}

async fn body_of(app: &Router, cookie: &str) -> String {
    let request = Request::get("/whoami")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap()
}

async fn two_app_servers_share_sessions<T: BackendSchema>(db: TestDatabase) {
    let (first_store, _) = stores::<T>(&db.url).await;
    let second_store = AppStore::<T>::connect(&db.url).unwrap();
    let (first, second) = (app_server::<T>(first_store), app_server::<T>(second_store));

    let response = first
        .clone()
        .oneshot(Request::get("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    assert_eq!(
        body_of(&second, &cookie).await,
        "user 1",
        "the second server knows the session"
    );
    assert_eq!(body_of(&first, &cookie).await, "user 1");
    assert_eq!(body_of(&second, "id=unknown").await, "nobody");
}

/// Expiry must not depend on the time zone of the server or the
/// connection; every connection here runs in a zone far from UTC.
mod time_zones {
    use diesel::QueryDsl as _;
    use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
    use diesel_async::{AsyncConnection, SimpleAsyncConnection};
    use session_runtime::backend::Backend;
    use session_runtime::{DieselStore, SessionTable};
    use session_tests::{Kind, TestDatabase};
    use time::{Duration, OffsetDateTime};
    use tower_sessions::{ExpiredDeletion as _, SessionStore as _};

    use super::record;

    /// A pool whose connections first run `setup`.
    fn pool_with<C>(
        url: &str,
        setup: &'static str,
    ) -> diesel_async::pooled_connection::deadpool::Pool<C>
    where
        C: AsyncConnection
            + SimpleAsyncConnection
            + diesel_async::pooled_connection::PoolableConnection
            + Send
            + 'static,
        AsyncDieselConnectionManager<C>: deadpool::managed::Manager<
            Type = C,
            Error = diesel_async::pooled_connection::PoolError,
        >,
    {
        let mut config = ManagerConfig::default();
        config.custom_setup = Box::new(move |url| {
            Box::pin(async move {
                let mut connection = C::establish(url).await?;
                connection
                    .batch_execute(setup)
                    .await
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(connection)
            })
        });
        let manager = AsyncDieselConnectionManager::<C>::new_with_config(url, config);
        diesel_async::pooled_connection::deadpool::Pool::builder(manager)
            .build()
            .unwrap()
    }

    async fn expiry_is_exact<S: SessionTable<B>, B: Backend>(store: DieselStore<S, B>) {
        let mut live = record(serde_json::json!({"live": true}));
        live.expiry_date = OffsetDateTime::now_utc() + Duration::minutes(2);
        store.create(&mut live).await.unwrap();
        let mut expired = record(serde_json::json!({"live": false}));
        expired.expiry_date = OffsetDateTime::now_utc() - Duration::minutes(2);
        store.create(&mut expired).await.unwrap();

        let loaded = store
            .load(&live.id)
            .await
            .unwrap()
            .expect("a live session loads");
        assert_eq!(
            loaded.expiry_date.unix_timestamp_nanos() / 1_000,
            live.expiry_date.unix_timestamp_nanos() / 1_000
        );
        assert_eq!(store.load(&expired.id).await.unwrap(), None);
        store.delete_expired().await.unwrap();
        assert_eq!(store.count().await.unwrap(), 1);
        assert!(store.load(&live.id).await.unwrap().is_some());
    }

    #[tokio::test]
    #[cfg_attr(
        not(session_test_postgres),
        ignore = "set SESSION_TEST_POSTGRES_URL to run against PostgreSQL"
    )]
    async fn postgres_expiry_ignores_the_connection_time_zone() {
        use session_tests::postgres::*;
        let Some(db) = TestDatabase::new(Kind::Postgres).await else {
            return;
        };
        stores(&db.url).await;
        for zone in [
            "SET TIME ZONE 'Pacific/Kiritimati'",
            "SET TIME ZONE 'Pacific/Pago_Pago'",
        ] {
            let store = AppSessionStore::new(pool_with(&db.url, zone));
            store.clear().await.unwrap();
            expiry_is_exact(store.clone()).await;
            // The column holds the instant, whatever zone wrote it.
            let mut connection = store.pool().get().await.unwrap();
            let stored: Vec<OffsetDateTime> = diesel_async::RunQueryDsl::load(
                http_sessions::table.select(http_sessions::expiry_date),
                &mut *connection,
            )
            .await
            .unwrap();
            assert!(
                stored.iter().all(|at| *at > OffsetDateTime::now_utc()),
                "{stored:?}"
            );
        }
    }

    #[tokio::test]
    #[cfg_attr(
        not(session_test_mysql),
        ignore = "set SESSION_TEST_MYSQL_URL to run against MySQL or MariaDB"
    )]
    async fn mysql_expiry_ignores_the_connection_time_zone() {
        use session_tests::mysql::*;
        let Some(db) = TestDatabase::new(Kind::Mysql).await else {
            return;
        };
        stores(&db.url).await;
        for zone in ["SET time_zone = '+13:00'", "SET time_zone = '-12:00'"] {
            let store = AppSessionStore::new(pool_with(&db.url, zone));
            store.clear().await.unwrap();
            expiry_is_exact(store).await;
        }
    }
}
