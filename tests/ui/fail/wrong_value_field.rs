use session_runtime::SessionStore;

diesel::table! {
    users (id) {
        id -> BigInt,
        login -> Text,
    }
}

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(references = "users", on_delete = "cascade")]
    pub user_id: Option<i64>,
    #[session(index = true, column = "user_agent")]
    pub agent: Option<String>,
    #[session(sql_type = "Text", default = "fallback")]
    pub theme: String,
}

fn main() {}
