use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    pub visits: i32,
    #[session(key = "visits")]
    pub visit_count: Option<i64>,
    #[session(key = "axum-login.data")]
    pub login_data: Option<serde_json::Value>,
    // Inside a key that another field already takes whole.
    #[session(key = "axum-login.data", pointer = "/user_id")]
    pub user_id: Option<i64>,
}

fn main() {}
