use session_runtime::SessionStore;

#[derive(SessionStore)]
pub struct AppSession {
    pub visits: i32,
}

fn main() {}
