use axum::extract::{Path, State};
use axum::http::{header::USER_AGENT, HeaderMap, StatusCode};
use axum::{routing::get, routing::post, Router};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
use session_runtime::diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use session_runtime::{CleanupOptions, SessionDigest, SessionStore, TypedSessionExt};
use tower_sessions::{Expiry, Session, SessionManagerLayer};

// Your own table, as `diesel print-schema` writes it.
diesel::table! { users (id) { id -> BigInt, login -> Text } }

/// The table `http_sessions`: `id` (a SHA-256 digest), `expiry_date`, one
/// column per field, and `data` (JSON) for every other session key.
#[derive(SessionStore, Debug, Clone)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    /// BIGINT, a foreign key to users(id) ON DELETE CASCADE, indexed.
    #[session(references = users)]
    pub user_id: Option<i64>,
    /// TEXT NULL.
    pub user_agent: Option<String>,
}

type Failure = (StatusCode, String);

fn internal(error: impl std::fmt::Display) -> Failure {
    (StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}

/// `POST /login/{login}` (a real app checks a password too).
async fn login(
    State(store): State<AppSessionStore>,
    Path(login): Path<String>,
    headers: HeaderMap,
    session: Session,
) -> Result<String, Failure> {
    let mut connection = store.connection().await.map_err(internal)?;
    let user_id: Option<i64> = users::table
        .filter(users::login.eq(&login))
        .select(users::id)
        .first(&mut *connection)
        .await
        .optional()
        .map_err(internal)?;
    drop(connection);
    let Some(user_id) = user_id else {
        return Err((StatusCode::UNAUTHORIZED, "unknown login\n".into()));
    };
    // A new session id at login; the row is written as the response leaves.
    session.cycle_id().await.map_err(internal)?;
    let agent = headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
    let user_agent = agent.map(String::from);
    let fields = AppSession {
        user_id: Some(user_id),
        user_agent,
    };
    session.set_typed(fields).await.map_err(internal)?;
    Ok(format!("logged in as {login}\n"))
}

/// `GET /sessions`: the logged-in user's live sessions, this one starred.
async fn my_sessions(
    State(store): State<AppSessionStore>,
    session: Session,
) -> Result<String, Failure> {
    let me: AppSession = session.typed().await.map_err(internal)?;
    let Some(user_id) = me.user_id else {
        return Err((StatusCode::FORBIDDEN, "log in first\n".into()));
    };
    let current = session.id().map(SessionDigest::from);
    let mine = store.list_by(http_sessions::user_id, &user_id).await;
    let mut page = String::new();
    for info in mine.map_err(internal)? {
        let here = Some(info.digest) == current;
        let star = if here { '*' } else { ' ' };
        let agent = info.fields.user_agent.unwrap_or_default();
        let until = info.expiry_date;
        page += &format!("{star} {} until {until} {agent}\n", info.digest);
    }
    Ok(page)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Prints the store's warnings and errors (a failed statement, a refused
    // session) on the console; `RUST_LOG=session_runtime=debug` shows all.
    tracing_subscriber::fmt::init();
    // A pool of connections to the file; nothing connects until first use.
    let store = AppSessionStore::connect("quickstart.db")?;
    // The table a foreign key references must exist before `migrate()`.
    let mut connection = store.connection().await?;
    connection
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, login TEXT NOT NULL);
             INSERT OR IGNORE INTO users VALUES (1, 'alice'), (2, 'bob');",
        )
        .await?;
    drop(connection);
    // Creates `http_sessions`, or adds the columns the struct gained since.
    store.migrate().await?;
    // Fails now, not at the first request, if the store cannot serve.
    store.verify().await?;
    // Deletes expired rows every minute, in batches, until dropped.
    let _cleanup = store.spawn_cleanup(CleanupOptions::default());

    let sessions = SessionManagerLayer::new(store.clone())
        .with_secure(false) // plain HTTP on localhost; keep `true` behind TLS
        .with_expiry(Expiry::OnInactivity(time::Duration::days(1)))
        .with_always_save(true); // every request extends the session
    let app = Router::new()
        .route("/login/{login}", post(login))
        .route("/sessions", get(my_sessions))
        .layer(sessions)
        .with_state(store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
