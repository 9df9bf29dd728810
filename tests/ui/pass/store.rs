//! `store = Name` names the store alias; by default it is the struct's name
//! followed by `Store`.

use session_runtime::backend::Sqlite;
use session_runtime::{DieselStore, SessionStore};

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite, store = Sessions)]
pub struct AppSession {
    pub visits: i32,
}

fn same_type(store: Sessions) -> DieselStore<AppSession, Sqlite> {
    store
}

pub fn run() {
    let _ = same_type;
}
