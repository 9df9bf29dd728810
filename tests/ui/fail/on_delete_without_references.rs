use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(on_delete = set_null)]
    pub user_id: Option<i64>,
    #[session(referenced_column = login)]
    pub login: Option<String>,
}

fn main() {}
