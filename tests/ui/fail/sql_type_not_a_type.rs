use session_runtime::SessionStore;

pub struct Locale(String);

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    // A Rust type where the SQL type belongs.
    #[session(sql_type = String)]
    pub locale: Option<String>,
}

fn main() {}
