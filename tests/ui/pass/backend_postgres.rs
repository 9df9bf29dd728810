//! The contract's example on PostgreSQL: the table module and the store alias
//! exist at the call site, and the DDL has the foreign key.

use session_runtime::SessionStore;

diesel::table! {
    users (id) {
        id -> BigInt,
        login -> Text,
    }
}

#[derive(SessionStore, Debug, Clone, PartialEq)]
#[session(table = http_sessions, backend = postgres)]
pub struct AppSession {
    #[session(references = users)]
    pub user_id: Option<i64>,
    pub optional: Option<String>,
}

pub fn run() {
    let _: AppSessionStore;
    let _ = http_sessions::table;
    let _ = (http_sessions::user_id, http_sessions::optional);
    let up = AppSessionStore::migration().up();
    assert!(
        up.contains("REFERENCES \"users\" (\"id\") ON DELETE CASCADE"),
        "{up}"
    );
}
