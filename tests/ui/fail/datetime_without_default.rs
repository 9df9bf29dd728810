use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = postgres)]
pub struct AppSession {
    pub logged_in_at: time::OffsetDateTime,
}

fn main() {}
