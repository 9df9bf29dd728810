//! The app on an ephemeral port, driven by real HTTP clients, each with
//! its own cookie jar: register, log in from several browsers, list and
//! revoke sessions, count them per user, log out. It runs on SQLite
//! always, and on PostgreSQL and MySQL when the conformance suite's server
//! URLs are set (`SESSION_TEST_POSTGRES_URL`, `SESSION_TEST_MYSQL_URL`).

use std::sync::Arc;

use example_axum_demo::routes::COOKIE_NAME;
use example_axum_demo::{serve, Config, Database};
use reqwest::cookie::{CookieStore as _, Jar};
use reqwest::{Client, StatusCode, Url};
use session_tests::{Kind, TestDatabase};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A server on 127.0.0.1:0, stopped when dropped.
struct Server {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), example_axum_demo::Error>>,
}

impl Server {
    async fn start(database: Database) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, database, async {
            let _ = stopped.await;
        }));
        Server {
            base,
            stop: Some(stop),
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task)
            .await
            .expect("the server task does not panic")
            .expect("the server shuts down cleanly");
    }
}

/// A client with its own cookie jar and `User-Agent`, like one browser.
struct Browser {
    client: Client,
    jar: Arc<Jar>,
}

impl Browser {
    fn new(user_agent: &str) -> Browser {
        let jar = Arc::new(Jar::default());
        let client = Client::builder()
            .cookie_provider(jar.clone())
            .user_agent(user_agent)
            .build()
            .unwrap();
        Browser { client, jar }
    }

    async fn get(&self, url: String) -> (StatusCode, String) {
        let response = self.client.get(url).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn post(&self, url: String, form: &[(&str, &str)]) -> (StatusCode, String) {
        let response = self.client.post(url).form(form).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// The value of the session cookie this browser holds for `server`.
    fn cookie(&self, server: &Server) -> Option<String> {
        let url = Url::parse(&server.base).unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .unwrap()
            .split("; ")
            .find_map(|pair| pair.strip_prefix(&format!("{COOKIE_NAME}=")))
            .map(str::to_owned)
    }
}

/// A line of the sessions page.
#[derive(Debug)]
struct Listed {
    digest: String,
    current: bool,
    row: String,
}

/// The rows of `GET /sessions`, as the page lists them.
fn listed(body: &str) -> Vec<Listed> {
    body.split("<tr data-session=\"")
        .skip(1)
        .map(|rest| {
            let row = &rest[..rest.find("</tr>").expect("a closed row")];
            let digest = row[..row.find('"').unwrap()].to_owned();
            assert_eq!(digest.len(), 64, "{row}");
            assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()), "{row}");
            Listed {
                current: row.contains("(this one)"),
                digest,
                row: row.to_owned(),
            }
        })
        .collect()
}

/// The one listed session whose row mentions `user_agent`.
fn listed_for<'a>(rows: &'a [Listed], user_agent: &str) -> &'a Listed {
    let found: Vec<&Listed> = rows
        .iter()
        .filter(|row| row.row.contains(user_agent))
        .collect();
    assert_eq!(found.len(), 1, "one session of {user_agent} in {rows:#?}");
    found[0]
}

/// Checks the admin page: the total and each `(login, count)`.
async fn assert_admin(server: &Server, total: u64, counts: &[(&str, u64)]) {
    // No cookie, no login: the page is open (see `routes::admin`).
    let (status, body) = Browser::new("admin-probe").get(server.url("/admin")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains(&format!("<p>{total} live session(s) in all.</p>")),
        "total {total}: {body}"
    );
    for (login, count) in counts {
        assert!(
            body.contains(&format!("<td>{login}</td><td>{count}</td>")),
            "{login} has {count}: {body}"
        );
    }
}

async fn log_in(browser: &Browser, server: &Server, login: &str, password: &str) {
    let (status, body) = browser
        .post(
            server.url("/login"),
            &[("login", login), ("password", password)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains(&format!("Logged in as <strong>{login}</strong>")),
        "{body}"
    );
}

async fn assert_logged_out(browser: &Browser, server: &Server) {
    let (status, body) = browser.get(server.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Not logged in."), "{body}");
    let (status, _) = browser.get(server.url("/sessions")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Registration and login, then what the issue asks of the demo: two
/// browsers of one user, the list, revoking one by its digest from the
/// page, "log out my other devices", and the admin counts.
async fn full_flow(database: Database) {
    let server = Server::start(database).await;
    let login = "ada-lovelace";
    let password = "correct horse battery";
    let other_login = "bob-the-builder";
    let other_password = "can we fix it?";

    let (status, body) = Browser::new("probe").get(server.url("/healthz")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));

    let laptop = Browser::new("laptop-browser/1.0");
    assert_logged_out(&laptop, &server).await;

    // Registration and its refusals.
    let credentials = [("login", login), ("password", password)];
    let (status, body) = laptop.post(server.url("/register"), &credentials).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.contains("Account created"), "{body}");
    let (status, _) = laptop.post(server.url("/register"), &credentials).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = laptop
        .post(
            server.url("/register"),
            &[("login", "bob"), ("password", "short")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("at least 8 characters"), "{body}");
    let (status, _) = laptop
        .post(server.url("/register"), &[("login", "bob")])
        .await;
    assert!(
        status.is_client_error(),
        "a form without a password: {status}"
    );
    let (status, _) = laptop
        .post(
            server.url("/register"),
            &[("login", other_login), ("password", other_password)],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Wrong password and unknown login look the same.
    let (status, wrong) = laptop
        .post(
            server.url("/login"),
            &[("login", login), ("password", "wrong password")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, unknown) = laptop
        .post(
            server.url("/login"),
            &[("login", "nobody-at-all"), ("password", password)],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, unknown);

    // Anonymous visits store nothing.
    assert_admin(&server, 0, &[(login, 0), (other_login, 0)]).await;

    // Client A logs in; home shows the typed fields read back from the
    // session.
    log_in(&laptop, &server, login, password).await;
    let (_, body) = laptop.get(server.url("/")).await;
    assert!(body.contains("laptop-browser/1.0"), "{body}");
    assert!(body.contains("You have 1 live session(s)"), "{body}");

    // Client B logs in as the same user; A lists two sessions.
    let phone = Browser::new("phone-browser/2.0");
    log_in(&phone, &server, login, password).await;
    let (_, body) = laptop.get(server.url("/")).await;
    assert!(body.contains("You have 2 live session(s)"), "{body}");
    let (status, body) = laptop.get(server.url("/sessions")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows = listed(&body);
    assert_eq!(rows.len(), 2, "{body}");
    let laptop_row = listed_for(&rows, "laptop-browser/1.0");
    let phone_row = listed_for(&rows, "phone-browser/2.0");
    assert!(laptop_row.current && !phone_row.current, "{rows:#?}");
    // This session comes first; every typed column and the expiry is set.
    assert!(rows[0].current, "{rows:#?}");
    assert!(!phone_row.row.contains("<em>none</em>"), "{rows:#?}");
    // The page names sessions by digest, never by cookie.
    for browser in [&laptop, &phone] {
        let cookie = browser.cookie(&server).expect("a session cookie");
        assert!(!body.contains(&cookie), "the cookie {cookie} is shown");
    }
    let phone_digest = phone_row.digest.clone();
    let laptop_digest = laptop_row.digest.clone();

    // Another user cannot revoke A's sessions, even knowing a digest.
    let intruder = Browser::new("intruder-browser/6.6");
    let (status, _) = intruder
        .post(
            server.url("/sessions/revoke"),
            &[("session", &phone_digest)],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not logged in");
    log_in(&intruder, &server, other_login, other_password).await;
    let (status, body) = intruder
        .post(
            server.url("/sessions/revoke"),
            &[("session", &phone_digest)],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = intruder
        .post(
            server.url("/sessions/revoke"),
            &[("session", "not-a-digest")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, body) = phone.get(server.url("/")).await;
    assert!(body.contains("Logged in as"), "B is still in: {body}");

    // A revokes B by the digest from the page; B is logged out.
    let (status, body) = laptop
        .post(
            server.url("/sessions/revoke"),
            &[("session", &phone_digest)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows = listed(&body);
    assert_eq!(rows.len(), 1, "{body}");
    assert!(
        rows[0].current && rows[0].digest == laptop_digest,
        "{rows:#?}"
    );
    assert_logged_out(&phone, &server).await;
    let (status, _) = laptop
        .post(
            server.url("/sessions/revoke"),
            &[("session", &phone_digest)],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already gone");

    // "Log out my other devices": two more logins, then only A's stays.
    let tablet = Browser::new("tablet-browser/3.0");
    log_in(&phone, &server, login, password).await;
    log_in(&tablet, &server, login, password).await;
    let (_, body) = laptop.get(server.url("/sessions")).await;
    assert_eq!(listed(&body).len(), 3, "{body}");
    assert!(body.contains("Log out my other devices"), "{body}");
    assert_admin(&server, 4, &[(login, 3), (other_login, 1)]).await;
    let (status, body) = laptop
        .post(server.url("/sessions/revoke-others"), &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows = listed(&body);
    assert_eq!(rows.len(), 1, "{body}");
    assert!(
        rows[0].current && rows[0].digest == laptop_digest,
        "{rows:#?}"
    );
    assert!(!body.contains("Log out my other devices"), "{body}");
    assert_logged_out(&phone, &server).await;
    assert_logged_out(&tablet, &server).await;
    let (status, _) = phone.post(server.url("/sessions/revoke-others"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The admin view counts live sessions per user.
    assert_admin(&server, 2, &[(login, 1), (other_login, 1)]).await;

    // "Log out everywhere" ends every session of the user, this one too.
    let workshop = Browser::new("workshop-browser/4.0");
    log_in(&workshop, &server, other_login, other_password).await;
    assert_admin(&server, 3, &[(login, 1), (other_login, 2)]).await;
    let (status, body) = intruder.post(server.url("/sessions/revoke-all"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Not logged in."), "{body}");
    assert_logged_out(&intruder, &server).await;
    assert_logged_out(&workshop, &server).await;
    assert_admin(&server, 1, &[(login, 1), (other_login, 0)]).await;

    // Revoking one's own session from the list logs out.
    let (status, body) = laptop
        .post(
            server.url("/sessions/revoke"),
            &[("session", &laptop_digest)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Not logged in."), "{body}");
    assert_logged_out(&laptop, &server).await;

    // Logging out ends the session.
    log_in(&laptop, &server, login, password).await;
    let (status, body) = laptop.post(server.url("/logout"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Not logged in."), "{body}");
    let (_, body) = laptop.get(server.url("/")).await;
    assert!(!body.contains(login), "{body}");
    assert_admin(&server, 0, &[(login, 0), (other_login, 0)]).await;

    server.stop().await;
}

async fn flow_on(kind: Kind) {
    let Some(database) = TestDatabase::new(kind).await else {
        return;
    };
    full_flow(Database::connect(&database.url).unwrap()).await;
    drop(database);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_flow_on_sqlite() {
    flow_on(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_flow_on_postgres() {
    flow_on(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_flow_on_mysql() {
    flow_on(Kind::Mysql).await;
}

#[test]
fn database_url_picks_the_backend() {
    let parse = |args: &[&str], env: Option<&str>| {
        Config::parse(args.iter().map(|a| a.to_string()), env.map(String::from)).unwrap()
    };
    // The store opens no connection until asked, so no server is needed.
    let backend = |config: Config| {
        Database::connect(&config.database_url)
            .unwrap()
            .backend_name()
    };
    let cases = [
        (
            &["--database-url", "postgres://postgres@127.0.0.1:5432/test"][..],
            "PostgreSQL",
        ),
        (
            &["--database-url=postgresql://localhost/app"][..],
            "PostgreSQL",
        ),
        (
            &["--database-url", "mysql://root@127.0.0.1:3306/test"][..],
            "MySQL",
        ),
        (
            &["--database-url", "mariadb://root@127.0.0.1:3306/test"][..],
            "MySQL",
        ),
        (&["--database-url", "/tmp/app.db"][..], "SQLite"),
        (&["--database-url", "sqlite://app.db"][..], "SQLite"),
        (&[][..], "SQLite"),
    ];
    for (args, name) in cases {
        assert_eq!(backend(parse(args, None)), name, "{args:?}");
    }
    let config = parse(&[], None);
    assert_eq!(config.database_url, "demo.db");

    // The flag wins over DATABASE_URL, which wins over the default.
    let from_env = parse(&[], Some("mysql://root@127.0.0.1:3306/test"));
    assert_eq!(backend(from_env), "MySQL");
    let flag_wins = parse(
        &["--database-url", "postgres://localhost/app"],
        Some("mysql://root@127.0.0.1:3306/test"),
    );
    assert_eq!(backend(flag_wins), "PostgreSQL");

    let listen = parse(&["--listen", "0.0.0.0:8080"], None);
    assert_eq!(listen.listen, "0.0.0.0:8080".parse().unwrap());

    let unsupported = Database::connect("redis://localhost").unwrap_err();
    assert!(
        unsupported.to_string().contains("`redis://`"),
        "{unsupported}"
    );
}
