use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub union AppSession {
    pub visits: i32,
    pub ratio: f32,
}

fn main() {}
