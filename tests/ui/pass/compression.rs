//! `compression = pglz` on PostgreSQL: the `data` column is compressed with
//! pglz instead of the default lz4.

use session_runtime::SessionStore;

#[derive(SessionStore, Debug, Clone, PartialEq)]
#[session(table = http_sessions, backend = postgres, compression = pglz)]
pub struct AppSession {
    pub visits: Option<i32>,
}

pub fn run() {
    let up = AppSessionStore::migration().up();
    assert!(
        up.contains("\"data\" JSONB COMPRESSION pglz NOT NULL"),
        "{up}"
    );
}
