use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = mysql, data = jsonb)]
pub struct AppSession {
    pub visits: Option<i32>,
}

fn main() {}
