use session_runtime::SessionStore;

fn guest() -> String {
    "guest".to_owned()
}

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(default = guest)]
    pub login: Option<String>,
}

fn main() {}
