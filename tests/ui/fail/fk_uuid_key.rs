//! A foreign key of a built-in field type to a key of a SQL type that no
//! built-in field type has: the first error says to name it with
//! `sql_type`.

use session_runtime::SessionStore;

diesel::table! {
    accounts (id) {
        id -> Uuid,
    }
}

#[derive(SessionStore)]
#[session(table = http_sessions, backend = postgres)]
pub struct AppSession {
    #[session(references = accounts)]
    pub account_id: Option<String>,
}

fn main() {}
