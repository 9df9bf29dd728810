use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession(pub Option<i64>, pub Option<String>);

fn main() {}
