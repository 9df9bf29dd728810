//! `index` gives a column an index of its own.

use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(index)]
    pub tenant: Option<String>,
    pub visits: i32,
}

pub fn run() {
    let up = AppSessionStore::migration().up();
    assert!(up.contains("\"http_sessions_tenant_idx\""), "{up}");
    assert!(!up.contains("\"http_sessions_visits_idx\""), "{up}");
}
