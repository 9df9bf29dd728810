use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    pub f01: i32,
    pub f02: i32,
    pub f03: i32,
    pub f04: i32,
    pub f05: i32,
    pub f06: i32,
    pub f07: i32,
    pub f08: i32,
    pub f09: i32,
    pub f10: i32,
    pub f11: i32,
    pub f12: i32,
    pub f13: i32,
    pub f14: i32,
}

fn main() {}
