//! `crate = ...` for code that reaches session_runtime under another path,
//! such as a facade crate that re-exports it.

extern crate session_runtime as sessions_facade;

use sessions_facade::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite, crate = ::sessions_facade)]
pub struct AppSession {
    pub visits: i32,
}

fn main() {
    let _: AppSessionStore;
}
