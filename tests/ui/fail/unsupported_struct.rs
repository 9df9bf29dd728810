use session_runtime::SessionStore;

#[derive(Default)]
pub struct Cart {
    pub items: Vec<i64>,
}

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    pub cart: Option<Cart>,
}

fn main() {}
