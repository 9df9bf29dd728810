use session_runtime::SessionStore;

#[derive(SessionStore, Debug)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    pub created_at: Option<i64>,
}

fn main() {}
