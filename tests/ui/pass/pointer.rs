//! `pointer = "/..."` reaches inside a key's JSON value, as axum-login
//! keeps its user id in `{"axum-login.data": {"user_id": ...}}`. Several
//! fields may point into one key, and `~1` escapes a `/`.

use serde_json::json;
use session_runtime::{SessionData, SessionFields, SessionStore};

diesel::table! {
    users (id) {
        id -> BigInt,
        login -> Text,
    }
}

#[derive(SessionStore)]
#[session(table = http_sessions, backend = postgres)]
pub struct AppSession {
    #[session(
        key = "axum-login.data",
        pointer = "/user_id",
        references = users,
        on_delete = set_null
    )]
    pub user_id: Option<i64>,
    #[session(key = "axum-login.data", pointer = "/auth_hash")]
    pub auth_hash: Option<Vec<u8>>,
    #[session(key = "prefs", pointer = "/ui/theme~1colour")]
    pub theme: Option<String>,
}

pub fn run() {
    let _ = (
        http_sessions::user_id,
        http_sessions::auth_hash,
        http_sessions::theme,
    );
    let data = SessionData::from([
        (
            "axum-login.data".to_owned(),
            json!({"user_id": 7, "auth_hash": [1, 2]}),
        ),
        ("prefs".to_owned(), json!({"ui": {"theme/colour": "dark"}})),
    ]);
    let session = AppSession::read_fields(&data).unwrap();
    assert_eq!(session.user_id, Some(7));
    assert_eq!(session.auth_hash, Some(vec![1, 2]));
    assert_eq!(session.theme.as_deref(), Some("dark"));
}
