//! `data = blob` on MySQL: the `data` column is `LONGBLOB`, in the table
//! module and in the DDL; `data = json` is MySQL's default, and accepted.

use session_runtime::SessionStore;

#[derive(SessionStore, Debug, Clone, PartialEq)]
#[session(table = http_sessions, backend = mysql, data = blob)]
pub struct AppSession {
    pub visits: Option<i32>,
}

#[derive(SessionStore, Debug, Clone, PartialEq)]
#[session(table = json_sessions, backend = mysql, data = json)]
pub struct JsonSession {
    pub visits: Option<i32>,
}

pub fn run() {
    let _: diesel::dsl::SqlTypeOf<http_sessions::data> = diesel::sql_types::Binary;
    let up = AppSessionStore::migration().up();
    assert!(up.contains("`data` LONGBLOB NOT NULL"), "{up}");
    let up = JsonSessionStore::migration().up();
    assert!(up.contains("`data` JSON NOT NULL"), "{up}");
}
