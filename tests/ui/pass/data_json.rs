//! `data = json` on PostgreSQL: the `data` column is `JSON`, in the table
//! module and in the DDL.

use session_runtime::SessionStore;

#[derive(SessionStore, Debug, Clone, PartialEq)]
#[session(table = http_sessions, backend = postgres, data = json)]
pub struct AppSession {
    pub visits: Option<i32>,
}

pub fn run() {
    let _: AppSessionStore;
    let _: diesel::dsl::SqlTypeOf<http_sessions::data> = diesel::sql_types::Json;
    let up = AppSessionStore::migration().up();
    assert!(
        up.contains("\"data\" JSON COMPRESSION lz4 NOT NULL"),
        "{up}"
    );
}
