use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(key = "visit-count", index, key = "visits")]
    pub visits: i32,
}

fn main() {}
