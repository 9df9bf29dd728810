//! A struct without fields, as a unit or with empty braces: a session table
//! with the fixed columns only. `table` defaults to `sessions`.

use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(backend = sqlite)]
pub struct Plain;

mod braces {
    use session_runtime::SessionStore;

    #[derive(SessionStore)]
    #[session(table = brace_sessions, backend = postgres)]
    pub struct Braces {}
}

pub fn run() {
    let _ = (sessions::id, sessions::data, sessions::expiry_date);
    let _: PlainStore;
    let _: braces::BracesStore;
    let up = PlainStore::migration().up();
    assert!(
        up.starts_with("CREATE TABLE IF NOT EXISTS \"sessions\""),
        "{up}"
    );
}
