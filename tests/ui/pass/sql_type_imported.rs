//! `sql_type` may name a SQL type imported at the call site, or one of
//! Diesel's by its bare name.

use diesel::sql_types::BigInt;
use session_runtime::SessionStore;

type Counter = i64;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(sql_type = BigInt)]
    pub counter: Counter,
}

pub fn run() {
    let up = AppSessionStore::migration().up();
    assert!(up.contains("\"counter\" BIGINT NOT NULL"), "{up}");
}
