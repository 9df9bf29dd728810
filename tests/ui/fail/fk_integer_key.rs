//! A foreign key to an `Integer` key with an `i64` field: the note names
//! `i32`, the Rust type of an `Integer`.

use session_runtime::SessionStore;

diesel::table! {
    users (id) {
        id -> Integer,
        login -> Text,
    }
}

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(references = users)]
    pub user_id: Option<i64>,
}

fn main() {}
