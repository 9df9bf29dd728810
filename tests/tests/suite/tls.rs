//! TLS from the URL, against servers that take nothing else, and how fast
//! a connection that cannot be made is reported.
//!
//! `.ci/tls-servers start` runs a PostgreSQL whose `pg_hba.conf` has
//! `hostssl` lines only and a MariaDB with `require_secure_transport`;
//! `.ci/tls-servers env` prints the variables read here. The suite is
//! ignored, with the reason, unless `SESSION_TEST_TLS_CA` was set when it
//! was built (or `CI=true`).
//!
//! Targets: `require` and `verify-full` / `verify_identity` connect; a CA
//! that did not sign the server's certificate fails within 2 s, naming
//! it; a plain connection fails clearly; a wrong password or user, a
//! missing database and an unknown host fail within 1 s; a refused port
//! is still retried for the pool's timeout.

use std::time::{Duration, Instant};

use serde_json::json;
use session_runtime::PoolOptions;
use session_tests::{AppStore, BackendSchema};
use tower_sessions::SessionStore as _;

use crate::common::record;

/// The variable `name`, which `.ci/tls-servers env` sets.
fn variable(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `.ci/tls-servers start` and export `.ci/tls-servers env`")
    })
}

/// `url` with `parameters` appended to its query.
fn with_parameters(url: &str, parameters: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{parameters}")
}

/// `url` with its password replaced.
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (credentials, host) = rest.split_once('@').unwrap();
    let user = credentials.split(':').next().unwrap();
    format!("{scheme}://{user}:{password}@{host}")
}

/// `url` with another user, whose password is the one given.
fn with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (credentials, host) = rest.split_once('@').unwrap();
    let password = credentials
        .split_once(':')
        .map_or("", |(_, password)| password);
    format!("{scheme}://{user}:{password}@{host}")
}

/// `url` with another database.
fn with_database(url: &str, database: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{database}")
}

/// `url` with another host and port.
fn with_host(url: &str, host: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (credentials, after) = rest.split_once('@').unwrap();
    let (_, path) = after.split_once('/').unwrap();
    format!("{scheme}://{credentials}@{host}/{path}")
}

/// A pool whose timeout (the checkout's retry budget) is short enough
/// for a test, and long enough to tell a retried error from one reported
/// at once.
fn options() -> PoolOptions {
    PoolOptions::default().with_retry_budget(Duration::from_secs(3))
}

/// One TLS-only server: its URL and how its backend spells each mode.
struct TlsServer {
    /// The variable that holds its URL.
    url_variable: &'static str,
    require: &'static str,
    verify_full: &'static str,
    disable: &'static str,
    /// The parameter that names a CA file.
    ca: &'static str,
    users_table: &'static str,
    /// Whether an error is the server's refusal of a plain connection.
    plain_refused: fn(&str) -> bool,
}

const POSTGRES: TlsServer = TlsServer {
    url_variable: "SESSION_TEST_TLS_POSTGRES_URL",
    require: "sslmode=require",
    verify_full: "sslmode=verify-full",
    disable: "sslmode=disable",
    ca: "sslrootcert",
    users_table: "CREATE TABLE IF NOT EXISTS users (id BIGINT PRIMARY KEY, login TEXT NOT NULL)",
    plain_refused: |error| {
        error.contains("no pg_hba.conf entry") && error.contains("no encryption")
    },
};

const MYSQL: TlsServer = TlsServer {
    url_variable: "SESSION_TEST_TLS_MYSQL_URL",
    require: "ssl-mode=REQUIRED",
    verify_full: "ssl-mode=VERIFY_IDENTITY",
    disable: "ssl-mode=DISABLED",
    ca: "ssl-ca",
    users_table: "CREATE TABLE IF NOT EXISTS users (id BIGINT PRIMARY KEY, login TEXT NOT NULL)",
    plain_refused: |error| error.contains("Access denied") && error.contains("ssl-mode=REQUIRED"),
};

impl TlsServer {
    fn url(&self) -> String {
        variable(self.url_variable)
    }

    /// `verify-full` / `VERIFY_IDENTITY` against the CA in `ca`.
    fn verify_full_with(&self, ca: &str) -> String {
        format!("{}&{}={ca}", self.verify_full, self.ca)
    }
}

/// The first connection of a store on `url`: how long it took, and its
/// error.
async fn first_connection<T: BackendSchema>(url: &str) -> (Duration, String) {
    let started = Instant::now();
    let store = match AppStore::<T>::connect_with(url, &options()) {
        Ok(store) => store,
        Err(error) => return (started.elapsed(), error.to_string()),
    };
    let error = match store.connection().await {
        Ok(_) => panic!("{url} connected"),
        Err(error) => error.to_string(),
    };
    (started.elapsed(), error)
}

async fn require_and_verify_full_connect_migrate_and_round_trip<T: BackendSchema>(
    server: &TlsServer,
) {
    let ca = variable("SESSION_TEST_TLS_CA");
    for parameters in [server.require.to_owned(), server.verify_full_with(&ca)] {
        let url = with_parameters(&server.url(), &parameters);
        let store = AppStore::<T>::connect_with(&url, &options()).unwrap();
        let mut connection = store
            .connection()
            .await
            .unwrap_or_else(|error| panic!("{parameters}: {error}"));
        diesel_async::SimpleAsyncConnection::batch_execute(&mut *connection, server.users_table)
            .await
            .unwrap();
        drop(connection);
        store.migrate().await.unwrap();
        let mut session = record(json!({ "visits": 1 }));
        store.create(&mut session).await.unwrap();
        let loaded = store.load(&session.id).await.unwrap().unwrap();
        assert_eq!(loaded.data, session.data, "{parameters}");
    }
}

async fn a_ca_that_did_not_sign_the_certificate_fails_at_once_naming_it<T: BackendSchema>(
    server: &TlsServer,
) {
    let other_ca = variable("SESSION_TEST_TLS_OTHER_CA");
    let url = with_parameters(&server.url(), &server.verify_full_with(&other_ca));
    let (took, error) = first_connection::<T>(&url).await;
    eprintln!(
        "tls: {:?}: unrelated CA failed in {took:?}: {error}",
        T::KIND
    );
    assert!(
        error.contains(&format!("is not signed by the CA in `{other_ca}`")),
        "{error}"
    );
    assert!(took < Duration::from_secs(2), "{took:?}: {error}");
}

async fn a_plain_connection_to_a_tls_only_server_fails_clearly<T: BackendSchema>(
    server: &TlsServer,
) {
    let url = with_parameters(&server.url(), server.disable);
    let (took, error) = first_connection::<T>(&url).await;
    eprintln!(
        "tls: {:?}: plain connection failed in {took:?}: {error}",
        T::KIND
    );
    assert!((server.plain_refused)(&error), "{error}");
    assert!(took < Duration::from_secs(1), "{took:?}: {error}");
}

async fn permanent_errors_fail_on_the_first_attempt<T: BackendSchema>(server: &TlsServer) {
    let tls = |url: String| with_parameters(&url, server.require);
    let url = server.url();
    for (what, url, names) in [
        ("a wrong password", tls(with_password(&url, "wrong")), None),
        (
            "an unknown user",
            tls(with_user(&url, "nobody")),
            Some("nobody"),
        ),
        (
            "a missing database",
            tls(with_database(&url, "missing_db")),
            Some("missing_db"),
        ),
        (
            "an unknown host",
            tls(with_host(&url, "nonexistent.invalid:5432")),
            Some("unknown host"),
        ),
    ] {
        let (took, error) = first_connection::<T>(&url).await;
        eprintln!("tls: {:?}: {what} failed in {took:?}: {error}", T::KIND);
        assert!(took < Duration::from_secs(1), "{what}: {took:?}: {error}");
        // A wrong password is said in each server's words.
        if let Some(names) = names {
            assert!(error.contains(names), "{what}: {error}");
        }
    }
}

async fn a_refused_port_is_still_retried_for_the_pool_timeout<T: BackendSchema>(
    server: &TlsServer,
) {
    // Port 1 on loopback: nothing listens there.
    let url = with_parameters(&with_host(&server.url(), "127.0.0.1:1"), server.require);
    let (took, error) = first_connection::<T>(&url).await;
    eprintln!(
        "tls: {:?}: a refused port failed after {took:?}: {error}",
        T::KIND
    );
    assert!(error.contains("refused"), "{error}");
    assert!(took >= Duration::from_millis(2500), "{took:?}: {error}");
    assert!(took < Duration::from_secs(5), "{took:?}: {error}");
}

/// One `#[tokio::test]` per body on one TLS-only server, ignored with the
/// reason unless the suite was built with the servers' variables.
macro_rules! tls_tests {
    ($backend:ident, $server:expr, [$($body:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[tokio::test]
                #[cfg_attr(
                    not(session_test_tls),
                    ignore = "run `.ci/tls-servers start` and export `.ci/tls-servers env`"
                )]
                async fn $body() {
                    super::$body::<session_tests::$backend::Schema>(&$server).await;
                }
            )*
        }
    };
}

macro_rules! tls_suite {
    ($($backend:ident => $server:expr),* $(,)?) => {
        $(
            tls_tests!($backend, $server, [
                require_and_verify_full_connect_migrate_and_round_trip,
                a_ca_that_did_not_sign_the_certificate_fails_at_once_naming_it,
                a_plain_connection_to_a_tls_only_server_fails_clearly,
                permanent_errors_fail_on_the_first_attempt,
                a_refused_port_is_still_retried_for_the_pool_timeout,
            ]);
        )*
    };
}

tls_suite!(postgres => super::POSTGRES, mysql => super::MYSQL);
