use session_runtime::SessionStore;

#[derive(SessionStore, Debug)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    pub authenticated_at: Option<i64>,
}

fn main() {}
