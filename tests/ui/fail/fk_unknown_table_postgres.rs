//! `fk_unknown_table` on Postgres, where the generated impls for `ONLY`
//! and `TABLESAMPLE` must not turn the unknown table into conflicting
//! impls either (see `session-derive/src/expand/foreign_keys.rs`).

use session_runtime::SessionStore;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = postgres)]
pub struct AppSession {
    #[session(references = accounts)]
    pub account_id: Option<i64>,
}

fn main() {}
