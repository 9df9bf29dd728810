use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite, data = encrypt)]
pub struct AppSession {
    pub visits: Option<i32>,
}

fn main() {}
