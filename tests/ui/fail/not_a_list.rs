use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session]
pub struct AppSession {
    #[session = "visits"]
    pub visits: i32,
}

fn main() {}
