use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(key = 5)]
    pub visits: i32,
    #[session(key = visit_count)]
    pub count: i32,
}

fn main() {}
