//! `backend = any`: one struct with a table on every backend, a store that
//! picks the backend from its URL, and the app's own queries per backend.

use diesel::QueryDsl as _;
use session_runtime::diesel_async::RunQueryDsl as _;
use session_runtime::{AnyStore, Error, SessionStore};

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

/// Each backend's table joins the users table, on the connection of the
/// backend the store runs on.
async fn logins(store: &AppSessionStore) -> Result<Vec<String>, Error> {
    macro_rules! logins {
        ($store:expr, $backend:ident) => {{
            use http_sessions::$backend as sessions;
            let mut connection = $store.connection().await?;
            sessions::table
                .inner_join(users::table)
                .select(users::login)
                .load::<String>(&mut *connection)
                .await?
        }};
    }
    Ok(match store {
        AnyStore::Sqlite(store) => logins!(store, sqlite),
        AnyStore::Postgres(store) => logins!(store, postgres),
        AnyStore::Mysql(store) => logins!(store, mysql),
        _ => return Err(store.unmatched()),
    })
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
    let _ = logins;
    let _ = per_user;
}
