use axum::extract::{Path, State};
use axum::http::{header::USER_AGENT, HeaderMap, StatusCode};
use axum::{routing::get, routing::post, Router};
use sqlx::SqlitePool;
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

type Failure = (StatusCode, String);

fn internal(error: impl std::fmt::Display) -> Failure {
    (StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}

async fn login(
    State(pool): State<SqlitePool>,
    Path(login): Path<String>,
    headers: HeaderMap,
    session: Session,
) -> Result<String, Failure> {
    let user_id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE login = ?")
        .bind(&login)
        .fetch_optional(&pool)
        .await
        .map_err(internal)?;
    let Some(user_id) = user_id else {
        return Err((StatusCode::UNAUTHORIZED, "unknown login\n".into()));
    };
    session.cycle_id().await.map_err(internal)?;
    let agent = headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map(String::from);
    session.insert("user_id", user_id).await.map_err(internal)?;
    session.insert("user_agent", agent).await.map_err(internal)?;
    Ok(format!("logged in as {login}\n"))
}

async fn me(session: Session) -> Result<String, Failure> {
    let Some(user_id) = session.get::<i64>("user_id").await.map_err(internal)? else {
        return Err((StatusCode::FORBIDDEN, "log in first\n".into()));
    };
    let agent: Option<String> = session.get("user_agent").await.map_err(internal)?.flatten();
    Ok(format!("user {user_id} {agent:?}\n"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().init();
    let pool = SqlitePool::connect("sqlite://quickstart.db?mode=rwc").await?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, login TEXT NOT NULL);
         INSERT OR IGNORE INTO users VALUES (1, 'alice'), (2, 'bob');",
    )
    .execute(&pool)
    .await?;
    let store = SqliteStore::new(pool.clone());
    store.migrate().await?;
    let layer = SessionManagerLayer::new(store)
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(1)));
    let app = Router::new()
        .route("/login/{login}", post(login))
        .route("/me", get(me))
        .layer(layer)
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
