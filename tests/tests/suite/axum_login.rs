//! axum-login 0.18, on tower-sessions 0.14, logs users in through the
//! derived store; its user id lands in a typed foreign-key column, where
//! the user's sessions are found and revoked.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use axum_login::tower_sessions::SessionManagerLayer;
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId};
use http_body_util::BodyExt as _;
use session_tests::suite::TypedFields;
use session_tests::TestDatabase;
use session_tests::{stores, BackendSchema, TypedStore};
use tower::ServiceExt as _;

tests_on_every_backend!(
    logs_in_through_axum_login_and_revokes_by_column,
    deleting_the_user_logs_them_out,
);

#[derive(Debug, Clone)]
struct User {
    id: i64,
    auth_hash: Vec<u8>,
}

impl AuthUser for User {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.auth_hash
    }
}

/// Users 1, 2 and 3 of the test database; the credential is the id.
#[derive(Debug, Clone)]
struct Users;

impl AuthnBackend for Users {
    type User = User;
    type Credentials = i64;
    type Error = std::convert::Infallible;

    async fn authenticate(&self, id: i64) -> Result<Option<User>, Self::Error> {
        self.get_user(&id).await
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, Self::Error> {
        Ok((1..=3).contains(id).then(|| User {
            id: *id,
            auth_hash: id.to_be_bytes().to_vec(),
        }))
    }
}

fn app<T: BackendSchema>(store: TypedStore<T>) -> Router {
    async fn login(mut auth: AuthSession<Users>, Path(id): Path<i64>) -> StatusCode {
        match auth.authenticate(id).await {
            Ok(Some(user)) if auth.login(&user).await.is_ok() => StatusCode::OK,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
    async fn me(auth: AuthSession<Users>) -> String {
        auth.user.map_or_else(
            || "anonymous".to_owned(),
            |user| format!("user {}", user.id),
        )
    }
    let sessions = SessionManagerLayer::new(store).with_secure(false);
    Router::new()
        .route("/login/{id}", get(login))
        .route("/me", get(me))
        .layer(AuthManagerLayerBuilder::new(Users, sessions).build())
}

async fn request(
    app: &Router,
    uri: &str,
    cookie: Option<&str>,
) -> (StatusCode, Option<String>, String) {
    let mut request = Request::get(uri);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let cookie = response.headers().get(header::SET_COOKIE).map(|value| {
        value
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    });
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, cookie, String::from_utf8(body.to_vec()).unwrap())
}

async fn logs_in_through_axum_login_and_revokes_by_column<T: BackendSchema>(db: TestDatabase) {
    let (_, store) = stores::<T>(&db.url).await;
    let app = app::<T>(store.clone());

    let (status, cookie, _) = request(&app, "/login/2", None).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = cookie.expect("a session cookie");
    let (_, other_cookie, _) = request(&app, "/login/2", None).await;
    let other_cookie = other_cookie.unwrap();
    assert_eq!(request(&app, "/me", Some(&cookie)).await.2, "user 2");

    let sessions = store.list_by(T::TYPED_USER_ID, &2).await.unwrap();
    assert_eq!(
        sessions.len(),
        2,
        "axum-login's user id is in the typed column"
    );
    assert!(sessions
        .iter()
        .all(|session| Into::<TypedFields>::into(session.fields.clone()).user_id == Some(2)));

    let current = sessions[0].digest;
    assert_eq!(
        store
            .revoke_by_except(T::TYPED_USER_ID, &2, current)
            .await
            .unwrap(),
        1
    );
    let mut answers = vec![
        request(&app, "/me", Some(&cookie)).await.2,
        request(&app, "/me", Some(&other_cookie)).await.2,
    ];
    answers.sort();
    assert_eq!(answers, ["anonymous", "user 2"], "one device is logged out");

    store.revoke_by(T::TYPED_USER_ID, &2).await.unwrap();
    assert_eq!(request(&app, "/me", Some(&cookie)).await.2, "anonymous");
    assert_eq!(
        request(&app, "/me", Some(&other_cookie)).await.2,
        "anonymous"
    );
}

async fn deleting_the_user_logs_them_out<T: BackendSchema>(db: TestDatabase) {
    let (_, store) = stores::<T>(&db.url).await;
    let app = app::<T>(store.clone());
    let (_, cookie, _) = request(&app, "/login/1", None).await;
    let cookie = cookie.unwrap();
    assert_eq!(request(&app, "/me", Some(&cookie)).await.2, "user 1");
    // ON DELETE SET NULL clears axum-login's user id, and only it.
    db.execute("DELETE FROM users WHERE id = 1").await;
    assert_eq!(request(&app, "/me", Some(&cookie)).await.2, "anonymous");
}
