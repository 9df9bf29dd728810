use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession<'a> {
    pub name: &'a str,
}

fn main() {}
