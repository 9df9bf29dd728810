//! `references = users` with each `on_delete` rule; cascade is the default.

use session_runtime::SessionStore;

diesel::table! {
    users (id) {
        id -> BigInt,
        login -> Text,
    }
}

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(references = users)]
    pub user_id: Option<i64>,
    #[session(references = users, on_delete = cascade)]
    pub owner_id: i64,
    #[session(references = users, on_delete = set_null)]
    pub impersonator_id: Option<i64>,
    #[session(references = users, on_delete = restrict)]
    pub admin_id: Option<i64>,
}

pub fn run() {
    let up = AppSessionStore::migration().up();
    for (column, rule) in [
        ("user_id", "CASCADE"),
        ("owner_id", "CASCADE"),
        ("impersonator_id", "SET NULL"),
        ("admin_id", "RESTRICT"),
    ] {
        let fk =
            format!("FOREIGN KEY (\"{column}\") REFERENCES \"users\" (\"id\") ON DELETE {rule}");
        assert!(up.contains(&fk), "{fk} in {up}");
    }
}
