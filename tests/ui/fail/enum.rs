use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub enum AppSession {
    Anonymous,
    User { user_id: i64 },
}

fn main() {}
