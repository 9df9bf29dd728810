use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(key = "axum-login.data", pointer = "user_id")]
    pub user_id: Option<i64>,
}

fn main() {}
