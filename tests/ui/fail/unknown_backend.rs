use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = mariadb)]
pub struct AppSession {
    pub visits: i32,
}

fn main() {}
