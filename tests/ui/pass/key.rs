//! `key = "..."` reads and writes the value under another session key than
//! the field's name, such as one with characters a field name cannot have.

use serde_json::json;
use session_runtime::{SessionData, SessionFields, SessionStore};

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(key = "user-agent")]
    pub agent: Option<String>,
    #[session(key = "axum.csrf token")]
    pub csrf: Option<String>,
}

pub fn run() {
    let _ = (http_sessions::agent, http_sessions::csrf);
    let data = SessionData::from([
        ("user-agent".to_owned(), json!("curl")),
        ("axum.csrf token".to_owned(), json!("abc")),
    ]);
    let session = AppSession::read_fields(&data).unwrap();
    assert_eq!(session.agent.as_deref(), Some("curl"));
    assert_eq!(session.csrf.as_deref(), Some("abc"));
}
