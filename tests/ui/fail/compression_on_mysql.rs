use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = mysql, compression = lz4)]
pub struct AppSession {
    pub visits: Option<i32>,
}

fn main() {}
