//! `crate = ...` for code that reaches session_runtime under another path,
//! such as a facade crate that re-exports it. The facade,
//! `extern crate session_runtime as sessions_facade`, is declared at the
//! crate root, `ui/pass.rs`.

use sessions_facade::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite, crate = ::sessions_facade)]
pub struct AppSession {
    pub visits: i32,
}

pub fn run() {
    let _: AppSessionStore;
}
