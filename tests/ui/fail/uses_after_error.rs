//! A struct with a mistake in it, used the way an app uses it: the mistake
//! is reported, and the uses add no errors of their own.

use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    pub visits: u64,
    pub agent: Option<String>,
}

fn main() {
    let _ = AppSessionStore::migration();
    let _ = http_sessions::table;
    let _ = http_sessions::agent;
}
