//! A `backend = any` struct with a mistake in it, used the way an app uses
//! it: the mistake is reported, and the uses add no errors of their own.

use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = any)]
pub struct AppSession {
    pub visits: u64,
    #[session(index)]
    pub agent: Option<String>,
}

async fn count(store: AppSessionStore) -> u64 {
    store.count().await.unwrap_or(0)
}

fn main() {
    let _ = AppSessionStore::connect("sessions.db");
    let _ = count;
}
