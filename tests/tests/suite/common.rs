//! Pieces shared by every suite: records, raw SQL on a session row, and a
//! TCP proxy that can cut the database away.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;
use session_runtime::SessionDigest;
use session_tests::Kind;
use time::{Duration, OffsetDateTime};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower_sessions::session::{Id, Record};

/// Stamps out `$suite!` for embedded SQLite, which always runs.
///
/// Every suite macro takes the backend's module name, its `Kind`, and an
/// optional attribute, `[$($ignore:meta)?]`, to put on each of its tests;
/// further arguments follow it.
macro_rules! on_sqlite {
    ($suite:ident $($rest:tt)*) => {
        $suite!(sqlite, session_tests::Kind::Sqlite, [] $($rest)*);
    };
}

/// Stamps out `$suite!` for PostgreSQL: its tests are ignored, with the
/// reason, unless `tests/build.rs` saw `SESSION_TEST_POSTGRES_URL` (or
/// `CI=true`).
macro_rules! on_postgres {
    ($suite:ident $($rest:tt)*) => {
        $suite!(
            postgres,
            session_tests::Kind::Postgres,
            [cfg_attr(
                not(session_test_postgres),
                ignore = "set SESSION_TEST_POSTGRES_URL to run against PostgreSQL"
            )]
            $($rest)*
        );
    };
}

/// Stamps out `$suite!` for MySQL or MariaDB: its tests are ignored, with
/// the reason, unless `tests/build.rs` saw `SESSION_TEST_MYSQL_URL` (or
/// `CI=true`).
macro_rules! on_mysql {
    ($suite:ident $($rest:tt)*) => {
        $suite!(
            mysql,
            session_tests::Kind::Mysql,
            [cfg_attr(
                not(session_test_mysql),
                ignore = "set SESSION_TEST_MYSQL_URL to run against MySQL or MariaDB"
            )]
            $($rest)*
        );
    };
}

/// Stamps out `$suite!` for PostgreSQL behind PgBouncer in transaction
/// mode, with `pgbouncer=true`: its tests are ignored, with the reason,
/// unless `tests/build.rs` saw `SESSION_TEST_PGBOUNCER_URL` (or `CI=true`).
macro_rules! on_pgbouncer {
    ($suite:ident $($rest:tt)*) => {
        $suite!(
            pgbouncer,
            session_tests::Target::PgBouncer,
            [cfg_attr(
                not(session_test_pgbouncer),
                ignore = "set SESSION_TEST_PGBOUNCER_URL (.ci/pgbouncer) to run behind PgBouncer"
            )]
            $($rest)*
        );
    };
}

/// Stamps out `$suite!` once per backend.
macro_rules! on_every_backend {
    ($suite:ident $($rest:tt)*) => {
        on_sqlite!($suite $($rest)*);
        on_postgres!($suite $($rest)*);
        on_mysql!($suite $($rest)*);
    };
}

/// Stamps out, for every backend, a module of `#[tokio::test]` wrappers
/// that run the named plain test bodies of the calling module on a fresh
/// database (see [`session_tests::run`]). Each body is an
/// `async fn name<T: BackendSchema>(db: TestDatabase)`; its wrapper has the
/// same name, and carries the backend's ignore attribute.
///
/// A name may be preceded by `#[tokio::test(...)]`, the runtime its body
/// needs: `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]`.
macro_rules! tests_on_every_backend {
    ($($tests:tt)+) => {
        on_every_backend!(backend_tests $($tests)+);
    };
}

/// [`tests_on_every_backend!`], and once more on PostgreSQL behind
/// PgBouncer in transaction mode: for the suites whose every statement
/// must hold through a transaction-mode pooler.
macro_rules! tests_on_every_backend_and_pgbouncer {
    ($($tests:tt)+) => {
        on_every_backend!(backend_tests $($tests)+);
        on_pgbouncer!(backend_tests $($tests)+);
    };
}

/// [`tests_on_every_backend!`] on PostgreSQL behind PgBouncer only.
macro_rules! tests_behind_pgbouncer {
    ($($tests:tt)+) => {
        on_pgbouncer!(backend_tests $($tests)+);
    };
}

/// [`tests_on_every_backend!`] on PostgreSQL and MySQL only.
macro_rules! tests_on_servers {
    ($($tests:tt)+) => {
        on_postgres!(backend_tests $($tests)+);
        on_mysql!(backend_tests $($tests)+);
    };
}

/// One backend's module of wrappers, for [`tests_on_every_backend!`]: the
/// one place the ignore attribute and the database setup are written.
macro_rules! backend_tests {
    (
        $backend:ident, $kind:expr, $ignore:tt
        $($(#[tokio::test($($runtime:tt)*)])? $test:ident),+ $(,)?
    ) => {
        mod $backend {
            $(backend_tests!(@test $backend, $kind, $ignore, [$($($runtime)*)?] $test);)+
        }
    };
    (@test $backend:ident, $kind:expr, [$($ignore:meta)?], [$($runtime:tt)*] $test:ident) => {
        #[tokio::test($($runtime)*)]
        $(#[$ignore])?
        async fn $test() {
            session_tests::run($kind, super::$test::<session_tests::$backend::Schema>).await;
        }
    };
}

/// A record expiring in an hour, holding `data` (a JSON object).
pub fn record(data: Value) -> Record {
    Record {
        id: Id::default(),
        data: map(data),
        expiry_date: OffsetDateTime::now_utc() + Duration::hours(1),
    }
}

/// Microseconds since the epoch: the precision every backend keeps.
pub fn micros(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1_000
}

/// A session map from a JSON object.
pub fn map(data: Value) -> HashMap<String, Value> {
    serde_json::from_value(data).expect("a JSON object")
}

/// The SQL condition selecting the row of session `id`.
pub fn where_id(kind: Kind, id: Id) -> String {
    let digest = SessionDigest::of_id(id.0).to_string();
    match kind {
        Kind::Sqlite => format!("id = X'{digest}'"),
        Kind::Postgres => format!("id = '\\x{digest}'"),
        Kind::Mysql => format!("id = UNHEX('{digest}')"),
    }
}

/// Moves `column`, one of the row's timestamps (`created_at`,
/// `authenticated_at`), of session `id` `hours` into the past: how the
/// suites move the clock, never by sleeping.
pub async fn hours_ago(db: &session_tests::TestDatabase, id: Id, column: &str, hours: i64) {
    let set = match db.kind {
        Kind::Sqlite => format!("{column} = {column} - {hours} * 3600000000"),
        Kind::Postgres => format!("{column} = {column} - interval '{hours} hours'"),
        Kind::Mysql => format!("{column} = {column} - INTERVAL {hours} HOUR"),
    };
    let at = where_id(db.kind, id);
    db.execute(&format!("UPDATE http_sessions SET {set} WHERE {at}"))
        .await;
}

/// Proptest cases: `default`, unless `PROPTEST_CASES` asks for more.
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default)
}

/// Runs `body`, which blocks (a proptest runner), from an async test body,
/// and hands it the test's runtime to run each case's futures on. The
/// test's runtime must be multi-threaded, so that the runtime keeps a
/// worker while `body` blocks:
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 1)]`.
pub fn blocking<R>(body: impl FnOnce(&tokio::runtime::Handle) -> R) -> R {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| body(&runtime))
}

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards to the database.
    Up,
    /// Closes new connections at once, as a host whose database is down.
    Refuse,
    /// Accepts new connections and never answers, as a dead network.
    Blackhole,
    /// Stops forwarding on open connections without closing them, and
    /// swallows new ones: a network that drops every packet.
    Freeze,
}

/// The proxy's state: its mode, and how many times it cut every
/// connection, so that a forwarding task never misses a cut.
#[derive(Debug, Clone, Copy)]
struct State {
    mode: Mode,
    cuts: u64,
}

/// A TCP proxy on loopback between a store and its database server. It
/// can cut every open connection and refuse or swallow new ones, then
/// forward again.
pub struct Proxy {
    pub addr: SocketAddr,
    state: watch::Sender<State>,
    /// Connections being forwarded right now.
    open: Arc<watch::Sender<usize>>,
    accept: tokio::task::JoinHandle<()>,
    /// Connections forwarded to the server.
    pub forwarded: Arc<AtomicUsize>,
    /// Connections closed or swallowed while the database was away.
    pub refused: Arc<AtomicUsize>,
    /// Open connections cut.
    pub cut: Arc<AtomicUsize>,
}

impl Proxy {
    /// A proxy to `upstream`, forwarding.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind the proxy on loopback");
        let addr = listener.local_addr().unwrap();
        let (state, receiver) = watch::channel(State {
            mode: Mode::Up,
            cuts: 0,
        });
        let forwarded = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let cut = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(watch::Sender::new(0));
        let accept = tokio::spawn(accept_loop(
            listener,
            upstream,
            receiver,
            open.clone(),
            [forwarded.clone(), refused.clone(), cut.clone()],
        ));
        Proxy {
            addr,
            state,
            open,
            accept,
            forwarded,
            refused,
            cut,
        }
    }

    /// The database URL `url` with its host and port replaced by the
    /// proxy's, and the server address it named.
    pub async fn route(url: &str) -> (String, SocketAddr) {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (user, rest) = rest.split_once('@').expect("a URL with a user");
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (host, path) = rest.split_at(end);
        let upstream = tokio::net::lookup_host(host)
            .await
            .expect("resolve the database host")
            .next()
            .expect("an address");
        let mut template = format!("{scheme}://{user}@{{proxy}}{path}");
        if scheme == "mysql" {
            // mysql_async otherwise reconnects to a loopback server through
            // its Unix socket, around the proxy.
            template.push(if path.contains('?') { '&' } else { '?' });
            template.push_str("prefer_socket=false");
        }
        (template, upstream)
    }

    /// Connections being forwarded right now.
    pub fn open_connections(&self) -> usize {
        *self.open.borrow()
    }

    /// `template` from [`Proxy::route`], pointed at this proxy.
    pub fn url(&self, template: &str) -> String {
        template.replace("{proxy}", &self.addr.to_string())
    }

    /// Applies `mode` to new connections and, when refusing or swallowing,
    /// cuts every open one, returning once all are closed. Freezing keeps
    /// them open; leaving a freeze cuts them.
    pub async fn set(&self, mode: Mode) {
        self.switch(mode);
        if matches!(mode, Mode::Refuse | Mode::Blackhole) {
            let mut open = self.open.subscribe();
            let _ = open.wait_for(|open| *open == 0).await;
        }
    }

    fn switch(&self, mode: Mode) {
        self.state.send_modify(|state| {
            if mode != Mode::Up || state.mode == Mode::Freeze {
                state.cuts += 1;
            }
            state.mode = mode;
        });
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.switch(Mode::Refuse);
        self.accept.abort();
    }
}

/// Counts a forwarded connection as open until dropped.
struct Open(Arc<watch::Sender<usize>>);

impl Open {
    fn new(open: Arc<watch::Sender<usize>>) -> Open {
        open.send_modify(|open| *open += 1);
        Open(open)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.send_modify(|open| *open -= 1);
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    state: watch::Receiver<State>,
    open: Arc<watch::Sender<usize>>,
    [forwarded, refused, cut]: [Arc<AtomicUsize>; 3],
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let now = *state.borrow();
        match now.mode {
            Mode::Refuse => {
                refused.fetch_add(1, Ordering::SeqCst);
                drop(client);
            }
            Mode::Blackhole | Mode::Freeze => {
                refused.fetch_add(1, Ordering::SeqCst);
                let mut state = state.clone();
                // Held open, unanswered, until the next change of mode.
                tokio::spawn(async move {
                    let _ = state
                        .wait_for(|next| next.cuts != now.cuts || next.mode != now.mode)
                        .await;
                    drop(client);
                });
            }
            Mode::Up => {
                forwarded.fetch_add(1, Ordering::SeqCst);
                let mut state = state.clone();
                let cut = cut.clone();
                let open = Open::new(open.clone());
                tokio::spawn(async move {
                    let _open = open;
                    let mut client = client;
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let was_cut = tokio::select! {
                        biased;
                        _ = state.wait_for(|next| next.cuts != now.cuts) => true,
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => false,
                    };
                    if was_cut {
                        cut.fetch_add(1, Ordering::SeqCst);
                        // A freeze holds both ends open, silent, until the
                        // next change of mode.
                        let frozen = *state.borrow();
                        if frozen.mode == Mode::Freeze {
                            let _ = state.wait_for(|next| next.cuts != frozen.cuts).await;
                        }
                    }
                });
            }
        }
    }
}
