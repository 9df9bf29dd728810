//! Every mistake is reported in one compile, not one per fix.

use session_runtime::SessionStore;

diesel::table! {
    users (id) {
        id -> BigInt,
        login -> Text,
    }
}

#[derive(SessionStore)]
#[session(table = "http_sessions", backend = sqlite, backend = postgres, tabel = x)]
pub struct AppSession {
    pub id: Option<i64>,
    #[session(key = 5, on_delete = set_null)]
    pub visits: u64,
    #[session(references = users, on_delete = set_null, index = yes)]
    pub user_id: i64,
    #[session(key = "user_id", pointer = "name")]
    pub name: Option<String>,
}

fn main() {}
