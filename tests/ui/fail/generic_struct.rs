use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession<T> {
    pub value: Option<T>,
}

fn main() {}
