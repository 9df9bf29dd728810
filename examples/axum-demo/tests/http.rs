//! The app on an ephemeral port, driven by a real HTTP client with a cookie
//! jar: register, log in, see the session, log out. It runs on SQLite
//! always, and on PostgreSQL and MySQL when the conformance suite's server
//! URLs are set (`SESSION_TEST_POSTGRES_URL`, `SESSION_TEST_MYSQL_URL`).

use example_axum_demo::{serve, Config, DatabaseConfig, DatabaseKind};
use reqwest::{Client, StatusCode};
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
    async fn start(database: DatabaseConfig) -> Server {
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

fn browser(name: &str) -> Client {
    Client::builder()
        .cookie_store(true)
        .user_agent(name)
        .build()
        .unwrap()
}

async fn page(client: &Client, url: String) -> (StatusCode, String) {
    let response = client.get(url).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn post(client: &Client, url: String, form: &[(&str, &str)]) -> (StatusCode, String) {
    let response = client.post(url).form(form).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Register, log in on two browsers, log the other one out, log out.
async fn full_flow(database: DatabaseConfig) {
    let server = Server::start(database).await;
    let login = "ada-lovelace".to_owned();
    let password = "correct horse battery";

    let (status, body) = page(&browser("probe"), server.url("/healthz")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));

    let laptop = browser("laptop-browser/1.0");
    let (status, body) = page(&laptop, server.url("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Not logged in."), "{body}");

    // Registration and its refusals.
    let credentials = [("login", login.as_str()), ("password", password)];
    let (status, body) = post(&laptop, server.url("/register"), &credentials).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.contains("Account created"), "{body}");
    let (status, _) = post(&laptop, server.url("/register"), &credentials).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = post(
        &laptop,
        server.url("/register"),
        &[("login", "bob"), ("password", "short")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("at least 8 characters"), "{body}");
    let (status, _) = post(&laptop, server.url("/register"), &[("login", "bob")]).await;
    assert!(
        status.is_client_error(),
        "a form without a password: {status}"
    );

    // Wrong password and unknown login look the same.
    let (status, wrong) = post(
        &laptop,
        server.url("/login"),
        &[("login", login.as_str()), ("password", "wrong password")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, unknown) = post(
        &laptop,
        server.url("/login"),
        &[("login", "nobody-at-all"), ("password", password)],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, unknown);

    // Logging in redirects home, which shows the typed columns.
    let (status, body) = post(&laptop, server.url("/login"), &credentials).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains(&format!("Logged in as <strong>{login}</strong>")),
        "{body}"
    );
    assert!(body.contains("laptop-browser/1.0"), "{body}");
    // The row written by the login request, joined to its user.
    assert!(
        body.contains(&format!("<th>demo_users.login</th><td>{login}</td>")),
        "{body}"
    );
    assert!(body.contains("(this one)"), "{body}");

    // A second browser logs in; the first one logs it out.
    let phone = browser("phone-browser/2.0");
    let (status, body) = post(&phone, server.url("/login"), &credentials).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Logged in as"), "{body}");
    let (_, body) = page(&laptop, server.url("/")).await;
    assert!(body.contains("phone-browser/2.0"), "{body}");
    let (status, body) = post(&laptop, server.url("/logout-others"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains("phone-browser/2.0"), "{body}");
    let (_, body) = page(&phone, server.url("/")).await;
    assert!(body.contains("Not logged in."), "{body}");
    let (status, _) = post(&phone, server.url("/logout-others"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Logging out ends the session.
    let (status, body) = post(&laptop, server.url("/logout"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Not logged in."), "{body}");
    let (_, body) = page(&laptop, server.url("/")).await;
    assert!(body.contains("Not logged in."), "{body}");
    assert!(!body.contains(&login), "{body}");

    server.stop().await;
}

async fn flow_on(kind: Kind) {
    let Some(database) = TestDatabase::new(kind).await else {
        return;
    };
    full_flow(DatabaseConfig::from_url(database.url.clone()).unwrap()).await;
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
    let cases = [
        (
            &["--database-url", "postgres://postgres@127.0.0.1:5432/test"][..],
            DatabaseKind::Postgres,
        ),
        (
            &["--database-url=postgresql://localhost/app"][..],
            DatabaseKind::Postgres,
        ),
        (
            &["--database-url", "mysql://root@127.0.0.1:3306/test"][..],
            DatabaseKind::Mysql,
        ),
        (&["--database-url", "/tmp/app.db"][..], DatabaseKind::Sqlite),
        (
            &["--database-url", "sqlite://app.db"][..],
            DatabaseKind::Sqlite,
        ),
        (&[][..], DatabaseKind::Sqlite),
    ];
    for (args, kind) in cases {
        let config = parse(args, None);
        assert_eq!(config.database.kind, kind, "{args:?}");
    }
    let config = parse(&[], None);
    assert_eq!(config.database.url, "demo.db");

    // The flag wins over DATABASE_URL, which wins over the default.
    let from_env = parse(&[], Some("mysql://root@127.0.0.1:3306/test"));
    assert_eq!(from_env.database.kind, DatabaseKind::Mysql);
    let flag_wins = parse(
        &["--database-url", "postgres://localhost/app"],
        Some("mysql://root@127.0.0.1:3306/test"),
    );
    assert_eq!(flag_wins.database.kind, DatabaseKind::Postgres);

    let listen = parse(&["--listen", "0.0.0.0:8080"], None);
    assert_eq!(listen.listen, "0.0.0.0:8080".parse().unwrap());

    assert!(Config::parse(
        ["--database-url", "redis://localhost"].map(String::from),
        None
    )
    .is_err());
}
