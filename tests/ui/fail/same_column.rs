use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    pub agent: Option<String>,
    #[session(key = "user-agent", column = agent)]
    pub user_agent: Option<String>,
}

fn main() {}
