//! `backend = any`: one struct with a table on every backend, a store that
//! picks the backend from its URL, the app's own queries written once with
//! `on_backend!`, and its DDL run in one call.

use std::collections::HashMap;

use session_runtime::{AnyStore, Error, SessionStore};
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore as _;

diesel::table! {
    users (id) {
        id -> BigInt,
        login -> Text,
    }
}

mod types {
    pub type Label = diesel::sql_types::Text;
}

#[derive(SessionStore, Debug, Clone, PartialEq)]
#[session(table = http_sessions, backend = any, data = json, unlogged)]
pub struct AppSession {
    #[session(references = users)]
    pub user_id: Option<i64>,
    #[session(index)]
    pub agent: Option<String>,
    pub seen_at: Option<time::OffsetDateTime>,
    pub prefs: Option<serde_json::Value>,
    #[session(sql_type = crate::backend_any::types::Label)]
    pub label: Option<String>,
}

fn same_type(store: AppSessionStore) -> AnyStore<AppSession> {
    store
}

/// The app's queries, in a module of their own, which names the table's
/// module by its path from the crate root.
mod queries {
    use diesel::prelude::*;
    use session_runtime::diesel_async::RunQueryDsl;
    use session_runtime::{on_backend, Error};

    use super::{users, AppSessionStore};

    pub const SQLITE_USERS: &str =
        "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, login TEXT NOT NULL)";
    pub const POSTGRES_USERS: &str =
        "CREATE TABLE IF NOT EXISTS users (id BIGSERIAL PRIMARY KEY, login TEXT NOT NULL)";
    pub const MYSQL_USERS: &str = "CREATE TABLE IF NOT EXISTS users \
         (id BIGINT AUTO_INCREMENT PRIMARY KEY, login VARCHAR(255) NOT NULL)";

    /// A query on the app's table alone needs no session table.
    pub async fn add_user(store: &AppSessionStore, id: i64, login: &str) -> Result<usize, Error> {
        let inserted = on_backend!(store, crate::backend_any::http_sessions, |connection| {
            diesel::insert_into(users::table)
                .values((users::id.eq(id), users::login.eq(login)))
                .execute(connection)
                .await?
        })?;
        Ok(inserted)
    }

    /// Each backend's table joins the users table, on the connection of
    /// the backend the store runs on; the live ones by that backend's
    /// `now()`.
    pub async fn logged_in(store: &AppSessionStore) -> Result<Vec<String>, Error> {
        on_backend!(
            store,
            crate::backend_any::http_sessions,
            |connection, sessions, backend_store| {
                sessions::table
                    .inner_join(users::table)
                    .filter(sessions::expiry_date.gt(backend_store.now()))
                    .select(users::login)
                    .load::<String>(connection)
                    .await?
            }
        )
    }

    /// `_` leaves a binding out; two queries share the connection.
    pub async fn users_and_agents(store: &AppSessionStore) -> Result<(i64, i64), Error> {
        on_backend!(store, super::http_sessions, |connection, sessions, _| {
            let users = users::table.count().get_result::<i64>(connection).await?;
            let agents = sessions::table
                .filter(sessions::agent.is_not_null())
                .count()
                .get_result::<i64>(connection)
                .await?;
            (users, agents)
        })
    }
}

async fn per_user(store: &AppSessionStore) -> Result<(), Error> {
    let _ = store.list_by(http_sessions::user_id, &42).await?;
    let _ = store
        .count_by(http_sessions::agent, &"curl".to_owned())
        .await?;
    Ok(())
}

pub fn run() {
    let _ = same_type;
    let _ = per_user;
    tokio::runtime::Runtime::new()
        .expect("a tokio runtime")
        .block_on(on_sqlite())
        .expect("the queries run on SQLite");
}

async fn on_sqlite() -> Result<(), Error> {
    let dir = std::env::temp_dir().join(format!("ui-pass-backend-any-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("sessions.db");
    let _ = std::fs::remove_file(&path);
    let store = AppSessionStore::connect(path.to_str().expect("a UTF-8 path"))?;

    store
        .batch_execute_per_backend(
            queries::SQLITE_USERS,
            queries::POSTGRES_USERS,
            queries::MYSQL_USERS,
        )
        .await?;
    store.migrate().await?;
    assert_eq!(queries::add_user(&store, 1, "alice").await?, 1);
    assert_eq!(queries::add_user(&store, 2, "bob").await?, 1);

    let mut record = Record {
        id: Id::default(),
        data: HashMap::from([
            ("user_id".to_owned(), serde_json::json!(1)),
            ("agent".to_owned(), serde_json::json!("curl")),
        ]),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    store
        .create(&mut record)
        .await
        .expect("the session is saved");

    assert_eq!(queries::logged_in(&store).await?, ["alice"]);
    assert_eq!(queries::users_and_agents(&store).await?, (2, 1));

    let error = store
        .batch_execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        .await
        .expect_err("the users table exists");
    assert!(
        error
            .to_string()
            .contains("the app's SQL failed on SQLite: table users already exists"),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
