//! The end-to-end figures: requests per second of a minimal axum handler
//! that reads one session value through the session middleware, and writes
//! it on every request ([`Scenario::Visits`]) or on one in ten under rolling
//! expiry ([`Scenario::Rolling`]), driven in-process with
//! `tower::ServiceExt::oneshot`.

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

/// The stores the figures wrap in middleware.
#[derive(Clone)]
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

/// The inactivity after which a rolling session expires.
const INACTIVITY: time::Duration = time::Duration::hours(1);

/// What an end-to-end figure's clients do, and how its middleware is set
/// up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The middleware's defaults, and every request reads and writes the
    /// value: every request loads and saves the session.
    Visits,
    /// Rolling sessions as tower-sessions documents them,
    /// `Expiry::OnInactivity` and `with_always_save(true)`: every request
    /// saves the session to move its expiry on, while nine requests in ten
    /// only read the value, as most requests of a real app do. A store that
    /// writes the whole row on every save pays a full write for each of
    /// those nine; one that writes only what changed, far less.
    Rolling,
}

impl Scenario {
    /// Every how many requests a client writes the value: its `n`th
    /// request (from 0) writes when `n % write_every == 0`, so its first
    /// request creates the session.
    fn write_every(self) -> u64 {
        match self {
            Scenario::Visits => 1,
            Scenario::Rolling => 10,
        }
    }

    /// The timed requests of one run per contender.
    fn requests(self, plan: &Plan) -> usize {
        match self {
            Scenario::Visits => plan.e2e_requests,
            Scenario::Rolling => plan.rolling_requests,
        }
    }
}

/// Defines a router of the scenario's handlers and middleware, for one
/// tower-sessions version: the body is the same for both, but their
/// `Session` and layer types differ (ours runs on 0.15, the peer on 0.14).
///
/// `/` counts the client's visits in its session, one read and one write;
/// `/read` answers the count without writing it.
macro_rules! visit_app {
    ($name:ident, $store:ident, $tower_sessions:ident) => {
        /// The router of the scenario's handlers, `/` and `/read`, behind
        /// its session middleware on `store`.
        pub fn $name(store: impl $store, scenario: Scenario) -> Router {
            async fn visit(session: $tower_sessions::Session) -> Result<String, StatusCode> {
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

            async fn read(session: $tower_sessions::Session) -> Result<String, StatusCode> {
                let visits: u64 = session
                    .get(KEY)
                    .await
                    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
                    .unwrap_or(0);
                Ok(visits.to_string())
            }

            let layer = $tower_sessions::SessionManagerLayer::new(store).with_secure(false);
            let layer = match scenario {
                Scenario::Visits => layer,
                Scenario::Rolling => layer
                    .with_expiry($tower_sessions::Expiry::OnInactivity(INACTIVITY))
                    .with_always_save(true),
            };
            Router::new()
                .route("/", get(visit))
                .route("/read", get(read))
                .layer(layer)
        }
    };
}
visit_app!(app, OursStore, tower_sessions);
visit_app!(app_014, PeerStore, tower_sessions_014);

/// The figure of `scenario` for the ceiling, the peer and ours plain and
/// typed, in that order; [`Plan::repeat`] rounds of every contender, in an
/// order that rotates from round to round, as the operation tables are
/// timed.
pub async fn measure(
    stores: Stores<impl OursStore, impl OursStore, impl PeerStore>,
    plan: &Plan,
    scenario: Scenario,
) -> BenchResult<Vec<E2eResult>> {
    let apps = [
        (
            names::CEILING,
            app(tower_sessions::MemoryStore::default(), scenario),
        ),
        (names::PEER, app_014(stores.peer, scenario)),
        (names::OURS_PLAIN, app(stores.ours_plain, scenario)),
        (names::OURS_TYPED, app(stores.ours_typed, scenario)),
    ];
    measure_apps(&apps, plan, scenario).await
}

/// The figure of `scenario` for each of `apps`, routers of
/// [`app`] or [`app_014`] on the contenders' stores, timed as
/// [`measure`] times its own.
pub async fn measure_apps(
    apps: &[(&'static str, Router)],
    plan: &Plan,
    scenario: Scenario,
) -> BenchResult<Vec<E2eResult>> {
    let every = scenario.write_every();
    for (_, app) in apps {
        // Warms the pool and the prepared statements up, untimed.
        drive(app.clone(), plan.e2e_clients, plan.e2e_clients * 4, every).await?;
    }
    let requests = scenario.requests(plan);
    let mut runs = vec![Vec::new(); apps.len()];
    for round in 0..plan.repeat {
        for index in crate::runner::rotation(apps.len(), round) {
            let app = apps[index].1.clone();
            runs[index].push(drive(app, plan.e2e_clients, requests, every).await?);
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
/// Each client's `n`th request (from 0) writes when `n % write_every == 0`
/// and only reads otherwise.
async fn drive(
    app: Router,
    clients: usize,
    requests: usize,
    write_every: u64,
) -> BenchResult<Measurement> {
    let counter = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let app = app.clone();
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut cookie: Option<String> = None;
                let (mut sent, mut visits) = (0_u64, 0_u64);
                let mut latencies = LatencyHistogram::default();
                while counter.fetch_add(1, Ordering::Relaxed) < requests {
                    let writes = sent % write_every == 0;
                    sent += 1;
                    let began = Instant::now();
                    let mut request = Request::get(if writes { "/" } else { "/read" });
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
                    visits += u64::from(writes);
                    if body != visits.to_string().as_bytes() {
                        return Err(format!(
                            "request {sent} answered {:?}, not {visits}: the session was lost",
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
