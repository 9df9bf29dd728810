//! `column = ...` names the column differently from the field. The session
//! key is still the field's name.

use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = mysql)]
pub struct AppSession {
    #[session(column = user_agent)]
    pub agent: Option<String>,
    // A field may take a reserved name's column under another name.
    #[session(column = user_data)]
    pub data_: Option<serde_json::Value>,
}

pub fn run() {
    let _ = (http_sessions::user_agent, http_sessions::user_data);
    let up = AppSessionStore::migration().up();
    assert!(up.contains("`user_agent`"), "{up}");
}
