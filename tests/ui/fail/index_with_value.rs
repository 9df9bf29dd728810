use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(index = true)]
    pub tenant: Option<String>,
}

fn main() {}
