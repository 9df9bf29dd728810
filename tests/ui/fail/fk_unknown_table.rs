use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(references = accounts)]
    pub account_id: Option<i64>,
}

fn main() {}
