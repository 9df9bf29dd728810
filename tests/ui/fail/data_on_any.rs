use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = any, data = jsonb)]
pub struct AppSession {
    pub optional: Option<String>,
}

fn main() {}
