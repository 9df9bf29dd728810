//! The HTTP routes and the session layer in front of them.
//!
//! The handlers read and write the session as a [`DemoSession`] through
//! [`TypedSessionExt`], and list, count and revoke a user's sessions with
//! the runtime's typed queries on its `user_id` column, whichever backend
//! the store runs on.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use session_runtime::{SessionDigest, TypedSessionExt};
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use crate::database::{Database, Registration};
use crate::pages::{self, Admin, Device, Home, MySessions};
use crate::schema::{demo_sessions, DemoSession};
use crate::users::{Credentials, CredentialsError, PasswordHash, User};

/// The name of the session cookie.
pub const COOKIE_NAME: &str = "demo_session";
/// How long an idle session lives.
pub const IDLE_TIMEOUT: time::Duration = time::Duration::days(1);
/// The longest `User-Agent` kept; the header is the client's to choose.
const MAX_USER_AGENT_CHARS: usize = 256;

/// The app's routes on a database:
///
/// | route | does |
/// |---|---|
/// | `GET /` | login and register forms, or who is logged in and this session's typed fields |
/// | `POST /register` | adds an account |
/// | `POST /login` | logs in: a new session id, its typed fields set |
/// | `POST /logout` | ends this session |
/// | `GET /sessions` | the logged-in user's live sessions, this one marked |
/// | `POST /sessions/revoke` | ends one of the user's sessions, named by its digest (`session=<64 hex>`) |
/// | `POST /sessions/revoke-others` | ends every session of the user but this one |
/// | `POST /sessions/revoke-all` | ends every session of the user, this one included |
/// | `GET /admin` | every account with its number of live sessions |
/// | `GET /healthz` | `ok`, without touching sessions |
pub fn router(database: Database) -> Router {
    let sessions = SessionManagerLayer::new(database.sessions().clone())
        .with_name(COOKIE_NAME)
        // The demo serves plain HTTP on localhost, where a `Secure` cookie
        // would never come back. Behind TLS, keep the default (`true`).
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(IDLE_TIMEOUT));
    Router::new()
        .route("/", get(home))
        .route("/register", post(register))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/sessions", get(my_sessions))
        .route("/sessions/revoke", post(revoke_one))
        .route("/sessions/revoke-others", post(revoke_others))
        .route("/sessions/revoke-all", post(revoke_all))
        .route("/admin", get(admin))
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
    BadDigest,
    NotYourSession,
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
            Failure::BadDigest => pages::error(
                StatusCode::BAD_REQUEST,
                "A session is named by 64 hexadecimal digits.",
            ),
            // The same answer whether the session exists for someone else
            // or not at all, so digests of others cannot be probed.
            Failure::NotYourSession => pages::error(
                StatusCode::NOT_FOUND,
                "None of your live sessions has this name.",
            ),
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

/// The session's typed fields. A value of the wrong shape under one of
/// their keys is an error, not a panic.
async fn fields(session: &Session) -> Result<DemoSession, Failure> {
    Ok(session.typed::<DemoSession>().await?)
}

/// The digest of the session's row: the handle the runtime's queries take,
/// which never reveals the cookie. `None` until the session is loaded (any
/// read does it) or when it has no row.
fn current_digest(session: &Session) -> Option<SessionDigest> {
    session.id().map(SessionDigest::from)
}

/// The logged-in user's id and this session's digest, or `NotLoggedIn`.
async fn logged_in(session: &Session) -> Result<(i64, SessionDigest), Failure> {
    let user_id = fields(session).await?.user_id.ok_or(Failure::NotLoggedIn)?;
    // Read after the fields: loading drops the id of a cookie whose row is
    // gone, so a revoked session is never taken for a live one.
    let current = current_digest(session).ok_or(Failure::NotLoggedIn)?;
    Ok((user_id, current))
}

/// The account of a session's `user_id`, if it still exists.
async fn account(database: &Database, fields: &DemoSession) -> Result<Option<User>, Failure> {
    Ok(match fields.user_id {
        Some(id) => database.user_by_id(id).await?,
        None => None,
    })
}

async fn home(State(database): State<Database>, session: Session) -> Result<Html<String>, Failure> {
    let fields = fields(&session).await?;
    let user = account(&database, &fields).await?;
    let live_sessions = match &user {
        Some(user) => Some(
            database
                .sessions()
                .count_by(demo_sessions::user_id, &user.id)
                .await?,
        ),
        None => None,
    };
    Ok(pages::home(&Home {
        backend: database.backend_name(),
        user: user.as_ref(),
        fields: &fields,
        expiry_date: session.expiry_date(),
        authenticated_at: session.authenticated_at().await?,
        live_sessions,
    }))
}

async fn register(
    State(database): State<Database>,
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

async fn login(
    State(database): State<Database>,
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
    // Every field at once, each to its own column.
    session
        .set_typed(DemoSession {
            user_id: Some(user.id),
            user_agent,
        })
        .await?;
    // The store's `authenticated_at`: the sessions page shows it, and it
    // survives later id changes.
    session.mark_authenticated().await?;
    Ok(Redirect::to("/"))
}

async fn logout(session: Session) -> Result<Redirect, Failure> {
    session.flush().await?;
    Ok(Redirect::to("/"))
}

async fn my_sessions(
    State(database): State<Database>,
    session: Session,
) -> Result<Html<String>, Failure> {
    let (user_id, current) = logged_in(&session).await?;
    let user = database
        .user_by_id(user_id)
        .await?
        .ok_or(Failure::NotLoggedIn)?;
    let mut devices: Vec<Device> = database
        .sessions()
        .list_by(demo_sessions::user_id, &user_id)
        .await?
        .into_iter()
        .map(|info| Device {
            current: info.digest == current,
            digest: info.digest,
            expiry_date: info.expiry_date,
            authenticated_at: info.authenticated_at,
            fields: info.fields,
        })
        .collect();
    // This session first, then the others as listed: latest expiry first.
    devices.sort_by_key(|device| !device.current);
    Ok(pages::my_sessions(&MySessions {
        user: &user,
        devices: &devices,
    }))
}

/// The form of `POST /sessions/revoke`.
#[derive(Debug, Deserialize)]
struct RevokeForm {
    /// The digest of the session to end, as the sessions page shows it.
    session: String,
}

async fn revoke_one(
    State(database): State<Database>,
    session: Session,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> Result<Redirect, Failure> {
    let Form(form) = form?;
    let target: SessionDigest = form
        .session
        .trim()
        .parse()
        .map_err(|_| Failure::BadDigest)?;
    let (user_id, current) = logged_in(&session).await?;
    // Deletes the row only if its `user_id` is this user's: a digest of
    // someone else's session changes nothing.
    let revoked = database
        .sessions()
        .revoke_one_by(demo_sessions::user_id, &user_id, target)
        .await?;
    if !revoked {
        return Err(Failure::NotYourSession);
    }
    if target == current {
        // The row is gone already; this also drops the cookie.
        session.flush().await?;
        return Ok(Redirect::to("/"));
    }
    Ok(Redirect::to("/sessions"))
}

async fn revoke_others(
    State(database): State<Database>,
    session: Session,
) -> Result<Redirect, Failure> {
    let (user_id, current) = logged_in(&session).await?;
    database
        .sessions()
        .revoke_by_except(demo_sessions::user_id, &user_id, current)
        .await?;
    Ok(Redirect::to("/sessions"))
}

async fn revoke_all(
    State(database): State<Database>,
    session: Session,
) -> Result<Redirect, Failure> {
    let (user_id, _) = logged_in(&session).await?;
    database
        .sessions()
        .revoke_by(demo_sessions::user_id, &user_id)
        .await?;
    // This session's row went with the others; flushing also drops the
    // cookie.
    session.flush().await?;
    Ok(Redirect::to("/"))
}

/// Open to anyone, as a demo on localhost: a real app would check that the
/// visitor is an administrator first.
async fn admin(State(database): State<Database>) -> Result<Html<String>, Failure> {
    let users = database.session_counts().await?;
    let total = database.sessions().count().await?;
    Ok(pages::admin(&Admin {
        backend: database.backend_name(),
        users: &users,
        total,
    }))
}

async fn healthz() -> &'static str {
    "ok"
}
