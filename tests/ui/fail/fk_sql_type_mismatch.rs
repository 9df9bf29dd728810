//! A foreign key field with `sql_type = ...` that is not the referenced
//! key's SQL type.

use session_runtime::SessionStore;

diesel::table! {
    users (id) {
        id -> BigInt,
        login -> Text,
    }
}

#[derive(SessionStore)]
#[session(table = http_sessions, backend = postgres)]
pub struct AppSession {
    #[session(references = users, sql_type = diesel::sql_types::Text)]
    pub user_id: Option<String>,
}

fn main() {}
