//! `referenced_column` points a foreign key at a column other than the
//! referenced table's primary key. Diesel joins on primary keys only, so
//! there is no `joinable!`, but both tables may appear in one query.

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
    #[session(references = users, referenced_column = login, on_delete = set_null)]
    pub login: Option<String>,
}

pub fn run() {
    let up = AppSessionStore::migration().up();
    assert!(
        up.contains("REFERENCES \"users\" (\"login\") ON DELETE SET NULL"),
        "{up}"
    );
}
