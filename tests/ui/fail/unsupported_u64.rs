use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    pub visits: u64,
    pub counts: Option<Vec<i32>>,
}

fn main() {}
