use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions)]
pub struct AppSession {
    pub visits: i32,
}

fn main() {
    // Using the store adds no error of its own.
    let _ = AppSessionStore::migration();
}
