use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    pub r#expiry_date: Option<time::OffsetDateTime>,
}

fn main() {}
