use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(rename = "visit_count")]
    pub visits: i32,
    #[session(diesel::column = agent, indexed)]
    pub agent: Option<String>,
}

fn main() {}
