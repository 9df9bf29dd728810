//! Raw identifiers name plain SQL columns and session keys: `r#type` is the
//! column `type` and the key `type`.

use serde_json::json;
use session_runtime::{SessionData, SessionFields, SessionStore};

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    pub r#type: Option<String>,
    #[session(column = r#match)]
    pub matched: Option<bool>,
}

pub fn run() {
    let _ = (http_sessions::r#type, http_sessions::r#match);
    let up = AppSessionStore::migration().up();
    assert!(up.contains("\"type\" TEXT NULL"), "{up}");
    assert!(up.contains("\"match\""), "{up}");
    let data = SessionData::from([("type".to_owned(), json!("admin"))]);
    let session = AppSession::read_fields(&data).unwrap();
    assert_eq!(session.r#type.as_deref(), Some("admin"));
}
