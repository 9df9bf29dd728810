//! The end-to-end figure: requests per second of a minimal axum handler
//! that reads and writes one session value through the session middleware,
//! driven in-process with `tower::ServiceExt::oneshot`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt as _;

use crate::contender::names;
use crate::figure::Figure;
use crate::measure::Measurement;
use crate::percentile::LatencyHistogram;
use crate::runner::Plan;
use crate::BenchResult;

/// A store for tower-sessions 0.15's middleware: ours, plain or typed, or
/// the ceiling.
pub trait OursStore: tower_sessions::SessionStore + Clone {}
impl<T: tower_sessions::SessionStore + Clone> OursStore for T {}

/// A store for tower-sessions 0.14's middleware: the peer.
pub trait PeerStore: tower_sessions_core_014::SessionStore + Clone {}
impl<T: tower_sessions_core_014::SessionStore + Clone> PeerStore for T {}

/// The stores the figure wraps in middleware.
pub struct Stores<T, L, P> {
    /// The derived store with typed columns.
    pub ours_typed: T,
    /// The derived store without.
    pub ours_plain: L,
    /// The sqlx store.
    pub peer: P,
}

/// One contender's requests.
#[derive(Debug)]
pub struct E2eResult {
    /// The contender.
    pub contender: &'static str,
    /// Its requests, in every repetition.
    pub figure: Figure,
}

const KEY: &str = "visits";

/// A handler that counts the client's visits in its session: one read, one
/// write. One body for both tower-sessions versions, whose `Session` types
/// differ: ours runs on 0.15, the peer on 0.14.
macro_rules! visit_handler {
    ($name:ident, $session:ty) => {
        async fn $name(session: $session) -> Result<String, StatusCode> {
            let visits: u64 = session
                .get(KEY)
                .await
                .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
                .unwrap_or(0);
            session
                .insert(KEY, visits + 1)
                .await
                .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
            Ok((visits + 1).to_string())
        }
    };
}
visit_handler!(visit, tower_sessions::Session);
visit_handler!(visit_014, tower_sessions_014::Session);

fn app(store: impl OursStore) -> Router {
    Router::new()
        .route("/", get(visit))
        .layer(tower_sessions::SessionManagerLayer::new(store).with_secure(false))
}

fn app_014(store: impl PeerStore) -> Router {
    Router::new()
        .route("/", get(visit_014))
        .layer(tower_sessions_014::SessionManagerLayer::new(store).with_secure(false))
}

/// The figure for the ceiling, the peer and ours plain and typed, in that
/// order; [`Plan::repeat`] rounds of every contender, in an order that
/// rotates from round to round, as the operation tables are timed.
pub async fn measure(
    stores: Stores<impl OursStore, impl OursStore, impl PeerStore>,
    plan: &Plan,
) -> BenchResult<Vec<E2eResult>> {
    let apps = [
        (names::CEILING, app(tower_sessions::MemoryStore::default())),
        (names::PEER, app_014(stores.peer)),
        (names::OURS_PLAIN, app(stores.ours_plain)),
        (names::OURS_TYPED, app(stores.ours_typed)),
    ];
    for (_, app) in &apps {
        // Warms the pool and the prepared statements up, untimed.
        drive(app.clone(), plan.e2e_clients, plan.e2e_clients * 4).await?;
    }
    let mut runs = vec![Vec::new(); apps.len()];
    for round in 0..plan.repeat {
        for index in crate::runner::rotation(apps.len(), round) {
            let app = apps[index].1.clone();
            runs[index].push(drive(app, plan.e2e_clients, plan.e2e_requests).await?);
        }
    }
    Ok(apps
        .iter()
        .zip(runs)
        .filter_map(|((contender, _), runs)| {
            Some(E2eResult {
                contender,
                figure: Figure::new(runs)?,
            })
        })
        .collect())
}

/// Sends `requests` requests from `clients` concurrent clients, each with
/// a session of its own, checking that every response counts its visits.
async fn drive(app: Router, clients: usize, requests: usize) -> BenchResult<Measurement> {
    let counter = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let app = app.clone();
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut cookie: Option<String> = None;
                let mut visits = 0_u64;
                let mut latencies = LatencyHistogram::default();
                while counter.fetch_add(1, Ordering::Relaxed) < requests {
                    let began = Instant::now();
                    let mut request = Request::get("/");
                    if let Some(cookie) = &cookie {
                        request = request.header(header::COOKIE, cookie);
                    }
                    let response = app.clone().oneshot(request.body(Body::empty())?).await?;
                    if response.status() != StatusCode::OK {
                        return Err(format!("the handler answered {}", response.status()).into());
                    }
                    if cookie.is_none() {
                        cookie = response
                            .headers()
                            .get(header::SET_COOKIE)
                            .and_then(|value| value.to_str().ok())
                            .and_then(|value| value.split(';').next())
                            .map(str::to_owned);
                    }
                    let body = axum::body::to_bytes(response.into_body(), 64).await?;
                    visits += 1;
                    if body != visits.to_string().as_bytes() {
                        return Err(format!(
                            "visit {visits} answered {:?}: the session was lost",
                            String::from_utf8_lossy(&body)
                        )
                        .into());
                    }
                    latencies.record(began.elapsed());
                }
                Ok::<_, crate::BoxError>((latencies, Instant::now()))
            })
        })
        .collect();
    Measurement::from_tasks(start, handles).await
}
