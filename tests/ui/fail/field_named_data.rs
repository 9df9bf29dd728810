use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    pub data: Option<serde_json::Value>,
    // A reserved column name given with `column` is just as wrong.
    #[session(column = data)]
    pub extra: Option<String>,
}

fn main() {}
