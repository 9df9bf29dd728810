//! The HTTP routes and the session layer in front of them.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use session_runtime::SessionDigest;
use time::OffsetDateTime;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use crate::database::{Database, Registration};
use crate::pages::{self, Home, SessionValues};
use crate::schema::keys;
use crate::users::{Credentials, CredentialsError, PasswordHash};

/// The name of the session cookie.
pub const COOKIE_NAME: &str = "demo_session";
/// How long an idle session lives.
pub const IDLE_TIMEOUT: time::Duration = time::Duration::days(1);
/// The longest `User-Agent` kept; the header is the client's to choose.
const MAX_USER_AGENT_CHARS: usize = 256;

/// The app's routes on a database: `GET /`, `POST /register`,
/// `POST /login`, `POST /logout`, `POST /logout-others` and `GET /healthz`.
pub fn router<D: Database>(database: D) -> Router {
    let sessions = SessionManagerLayer::new(database.clone())
        .with_name(COOKIE_NAME)
        // The demo serves plain HTTP on localhost, where a `Secure` cookie
        // would never come back. Behind TLS, keep the default (`true`).
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(IDLE_TIMEOUT));
    Router::new()
        .route("/", get(home::<D>))
        .route("/register", post(register::<D>))
        .route("/login", post(login::<D>))
        .route("/logout", post(logout))
        .route("/logout-others", post(logout_others::<D>))
        .layer(sessions)
        // Added after the layer, so probes neither load nor make sessions.
        .route("/healthz", get(healthz))
        .with_state(database)
}

/// Why a request was refused; each becomes an HTML page with its status.
#[derive(Debug)]
enum Failure {
    BadForm(StatusCode, String),
    Credentials(CredentialsError),
    LoginFailed,
    LoginTaken(String),
    NotLoggedIn,
    Internal(String),
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::BadForm(status, message) => pages::error(status, &message),
            Failure::Credentials(error) => {
                pages::error(StatusCode::BAD_REQUEST, &error.to_string())
            }
            // One message for both cases, so the form does not tell which
            // logins exist.
            Failure::LoginFailed => {
                pages::error(StatusCode::UNAUTHORIZED, "Unknown login or wrong password.")
            }
            Failure::LoginTaken(login) => pages::error(
                StatusCode::CONFLICT,
                &format!("The login `{login}` is taken; choose another."),
            ),
            Failure::NotLoggedIn => pages::error(StatusCode::FORBIDDEN, "Log in first."),
            Failure::Internal(detail) => {
                // The detail may name tables or hosts: it goes to the log,
                // not to the visitor.
                eprintln!("request failed: {detail}");
                pages::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side. Please try again.",
                )
            }
        }
    }
}

impl From<FormRejection> for Failure {
    fn from(rejection: FormRejection) -> Self {
        Failure::BadForm(rejection.status(), rejection.body_text())
    }
}

impl From<CredentialsError> for Failure {
    fn from(error: CredentialsError) -> Self {
        Failure::Credentials(error)
    }
}

impl From<session_runtime::Error> for Failure {
    fn from(error: session_runtime::Error) -> Self {
        Failure::Internal(error.to_string())
    }
}

impl From<tower_sessions::session::Error> for Failure {
    fn from(error: tower_sessions::session::Error) -> Self {
        Failure::Internal(error.to_string())
    }
}

/// The digest of the session's row, once the session has been loaded.
fn current_digest(session: &Session) -> Option<SessionDigest> {
    session.id().map(|id| SessionDigest::of_id(id.0))
}

async fn home<D: Database>(
    State(database): State<D>,
    session: Session,
) -> Result<Html<String>, Failure> {
    let views = session
        .get::<u64>(keys::VIEWS)
        .await?
        .unwrap_or(0)
        .saturating_add(1);
    let user_id = session.get::<i64>(keys::USER_ID).await?;
    let user_agent = session.get::<String>(keys::USER_AGENT).await?;
    let created_at = session.get::<OffsetDateTime>(keys::CREATED_AT).await?;
    // Read after the first `get`: loading drops the id of a cookie whose
    // row is gone, so a stale id is never looked up.
    let current = current_digest(&session);
    let stored = match current {
        Some(digest) => database.stored_session(digest).await?,
        None => None,
    };
    let user = match user_id {
        Some(id) => database.user_by_id(id).await?,
        None => None,
    };
    let devices = match &user {
        Some(user) => database.sessions_of(user.id).await?,
        None => Vec::new(),
    };
    session.insert(keys::VIEWS, views).await?;
    Ok(pages::home(&Home {
        backend: database.backend_name(),
        user: user.as_ref(),
        values: SessionValues {
            user_id,
            user_agent: user_agent.as_deref(),
            created_at,
            views,
            expiry_date: session.expiry_date(),
        },
        stored: stored.as_ref(),
        devices: &devices,
        current,
    }))
}

async fn register<D: Database>(
    State(database): State<D>,
    form: Result<Form<Credentials>, FormRejection>,
) -> Result<Response, Failure> {
    let Form(credentials) = form?;
    let credentials = credentials.for_registration()?;
    let hash = PasswordHash::new(&credentials.password);
    match database
        .create_user(&credentials.login, hash.as_str())
        .await?
    {
        Registration::Created => {
            Ok((StatusCode::CREATED, pages::registered(&credentials.login)).into_response())
        }
        Registration::LoginTaken => Err(Failure::LoginTaken(credentials.login)),
    }
}

async fn login<D: Database>(
    State(database): State<D>,
    session: Session,
    headers: HeaderMap,
    form: Result<Form<Credentials>, FormRejection>,
) -> Result<Redirect, Failure> {
    let Form(credentials) = form?;
    let credentials = credentials.for_login()?;
    let user = match database.user_by_login(&credentials.login).await? {
        Some(user) if PasswordHash::verify(&user.password, &credentials.password) => user,
        Some(_) => return Err(Failure::LoginFailed),
        None => {
            PasswordHash::verify_nothing(&credentials.password);
            return Err(Failure::LoginFailed);
        }
    };
    // A new id on login, so an id planted before it (session fixation)
    // never becomes a logged-in session.
    session.cycle_id().await?;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|agent| agent.chars().take(MAX_USER_AGENT_CHARS).collect::<String>());
    session.insert(keys::USER_ID, user.id).await?;
    session.insert(keys::USER_AGENT, user_agent).await?;
    session
        .insert(keys::CREATED_AT, OffsetDateTime::now_utc())
        .await?;
    Ok(Redirect::to("/"))
}

async fn logout(session: Session) -> Result<Redirect, Failure> {
    session.flush().await?;
    Ok(Redirect::to("/"))
}

async fn logout_others<D: Database>(
    State(database): State<D>,
    session: Session,
) -> Result<Redirect, Failure> {
    let user_id = session
        .get::<i64>(keys::USER_ID)
        .await?
        .ok_or(Failure::NotLoggedIn)?;
    let current = current_digest(&session).ok_or(Failure::NotLoggedIn)?;
    database.revoke_other_sessions(user_id, current).await?;
    Ok(Redirect::to("/"))
}

async fn healthz() -> &'static str {
    "ok"
}
