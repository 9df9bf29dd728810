use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite, index)]
pub struct AppSession {
    #[session(backend = postgres)]
    pub visits: i32,
    #[session(tabel = agents, refrences = users)]
    pub agent_id: Option<i64>,
}

fn main() {}
