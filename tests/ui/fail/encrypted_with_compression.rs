use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = postgres, data = encrypted, compression = lz4)]
pub struct AppSession {
    pub visits: Option<i32>,
}

fn main() {}
