//! The lost-changes count: two overlapping requests of one session, each
//! changing a key of its own, and whether both changes survive.
//!
//! tower-sessions loads a session's record when a handler first reads it
//! and saves the whole record after the handler. When two requests of one
//! session both load before either saves, each writes back the other's key
//! as it loaded it, and the later save undoes the earlier one's change: the
//! "last writer wins" the runtime's guarantees guide documents. A store
//! that writes only the keys and columns a request changed keeps both.
//!
//! Each round forces the overlap rather than hoping for it: both handlers
//! read the session, then meet at a barrier before changing anything, so
//! both have loaded before either saves, and the count does not depend on
//! the scheduler. The count is of rounds, not a rate: it says whether a
//! store loses changes, not how fast it does so.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use tokio::sync::Barrier;
use tower::ServiceExt as _;

use crate::contender::names;
use crate::e2e::{OursStore, PeerStore, Stores};
use crate::runner::Plan;
use crate::schema::TYPED_KEYS;
use crate::BenchResult;

/// The data key request B changes, on every contender.
const CART: &str = "cart";
/// The data key request A changes on a store without typed columns.
const THEME: &str = "theme";
/// The key request A changes on ours typed: `user_agent`, a typed text
/// column, so that one request changes a column and the other `data`, as
/// when one request logs a user in while another fills their cart.
const TYPED_KEY: &str = TYPED_KEYS[1];
/// What the first request of a round sets both keys to.
const START: &str = "start";
/// How long a handler waits for the other at the barrier. A store that
/// made the second load wait for the first save would otherwise hang the
/// benchmark; this way the figure fails with a message.
const BARRIER_TIMEOUT: Duration = Duration::from_secs(10);

/// One contender's count.
#[derive(Debug)]
pub struct LostChanges {
    /// The contender.
    pub contender: &'static str,
    /// The session key request A changes: a typed column's on ours typed,
    /// a data key otherwise. Request B changes the data key `cart`.
    pub first_key: &'static str,
    /// The rounds after which either change was missing.
    pub lost: usize,
    /// The rounds run.
    pub rounds: usize,
}

/// A handler's answer to a session error.
fn internal<E>(_: E) -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

/// Defines the router of a round, for one tower-sessions version: the body
/// is the same for both, but their `Session` and layer types differ (ours
/// runs on 0.15, the peer on 0.14). The middleware keeps its defaults: a
/// session is saved when a handler changed it.
///
/// - `/start/{first}` creates the session, with `first` and `cart` set to
///   `start`;
/// - `/set/{key}/{value}` reads the session, waits at the barrier for the
///   other request to have read it too, then sets `key` to `value`;
/// - `/read/{first}/{second}` answers both keys' values, a space between.
macro_rules! overlap_app {
    ($name:ident, $store:ident, $tower_sessions:ident) => {
        fn $name(store: impl $store) -> Router {
            async fn start(
                Path(first): Path<String>,
                session: $tower_sessions::Session,
            ) -> Result<(), StatusCode> {
                for key in [first.as_str(), CART] {
                    session.insert(key, START).await.map_err(internal)?;
                }
                Ok(())
            }

            async fn set(
                State(barrier): State<Arc<Barrier>>,
                Path((key, value)): Path<(String, String)>,
                session: $tower_sessions::Session,
            ) -> Result<(), StatusCode> {
                // The read loads the record; the save comes after the
                // handler, so past the barrier both requests have loaded.
                session.get_value(&key).await.map_err(internal)?;
                tokio::time::timeout(BARRIER_TIMEOUT, barrier.wait())
                    .await
                    .map_err(|_| StatusCode::GATEWAY_TIMEOUT)?;
                session.insert(&key, value).await.map_err(internal)?;
                Ok(())
            }

            async fn read(
                Path((first, second)): Path<(String, String)>,
                session: $tower_sessions::Session,
            ) -> Result<String, StatusCode> {
                let mut values = Vec::new();
                for key in [first, second] {
                    let value: Option<String> = session.get(&key).await.map_err(internal)?;
                    values.push(value.unwrap_or_default());
                }
                Ok(values.join(" "))
            }

            Router::new()
                .route("/start/{first}", get(start))
                .route("/set/{key}/{value}", get(set))
                .route("/read/{first}/{second}", get(read))
                .with_state(Arc::new(Barrier::new(2)))
                .layer($tower_sessions::SessionManagerLayer::new(store).with_secure(false))
        }
    };
}
overlap_app!(app, OursStore, tower_sessions);
overlap_app!(app_014, PeerStore, tower_sessions_014);

/// The count for the peer and ours plain and typed, in that order, over
/// [`Plan::overlap_rounds`] rounds each.
pub async fn measure(
    stores: Stores<impl OursStore, impl OursStore, impl PeerStore>,
    plan: &Plan,
) -> BenchResult<Vec<LostChanges>> {
    let apps = [
        (names::PEER, THEME, app_014(stores.peer)),
        (names::OURS_PLAIN, THEME, app(stores.ours_plain)),
        (names::OURS_TYPED, TYPED_KEY, app(stores.ours_typed)),
    ];
    let mut counts = Vec::new();
    for (contender, first_key, app) in apps {
        let mut lost = 0;
        for round in 0..plan.overlap_rounds {
            if round_lost(&app, first_key, round)
                .await
                .map_err(|error| format!("{contender}, round {round}: {error}"))?
            {
                lost += 1;
            }
        }
        counts.push(LostChanges {
            contender,
            first_key,
            lost,
            rounds: plan.overlap_rounds,
        });
    }
    Ok(counts)
}

/// One round on a session of its own: whether a change was lost.
async fn round_lost(app: &Router, first_key: &str, round: usize) -> BenchResult<bool> {
    let (cookie, _) = send(app.clone(), format!("/start/{first_key}"), None).await?;
    let cookie = cookie.ok_or("the first request set no session cookie")?;
    let (first, second) = (format!("a{round}"), format!("b{round}"));
    // Tasks of their own, as a server would run two connections' requests.
    let a = tokio::spawn(send(
        app.clone(),
        format!("/set/{first_key}/{first}"),
        Some(cookie.clone()),
    ));
    let b = tokio::spawn(send(
        app.clone(),
        format!("/set/{CART}/{second}"),
        Some(cookie.clone()),
    ));
    a.await??;
    b.await??;
    let (_, body) = send(
        app.clone(),
        format!("/read/{first_key}/{CART}"),
        Some(cookie),
    )
    .await?;
    let (read_first, read_second) = body
        .split_once(' ')
        .ok_or_else(|| format!("the read answered {body:?}"))?;
    // A lost change leaves the key as the first request set it; anything
    // else is a broken session, not a lost change, and fails the figure.
    for (read, written) in [(read_first, &first), (read_second, &second)] {
        if read != written && read != START {
            return Err(format!("the read answered {body:?}: the session was lost").into());
        }
    }
    Ok(read_first != first || read_second != second)
}

/// Sends a GET of `uri`, with the session `cookie` if there is one; the
/// session cookie the response sets, if any, and its body. Anything but
/// 200 is an error.
async fn send(
    app: Router,
    uri: String,
    cookie: Option<String>,
) -> BenchResult<(Option<String>, String)> {
    let mut request = Request::get(&uri);
    if let Some(cookie) = &cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = app.oneshot(request.body(Body::empty())?).await?;
    if response.status() != StatusCode::OK {
        return Err(format!("{uri} answered {}", response.status()).into());
    }
    let set_cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::to_owned);
    let body = axum::body::to_bytes(response.into_body(), 256).await?;
    Ok((set_cookie, String::from_utf8(body.to_vec())?))
}
