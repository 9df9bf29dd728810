use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend)]
pub struct AppSession {
    #[session(references)]
    pub user_id: Option<i64>,
}

fn main() {}
