//! The session table joins the app's own tables like any Diesel table:
//! `references = users` emits `joinable!` and
//! `allow_tables_to_appear_in_same_query!`.

use diesel::prelude::*;
use session_runtime::SessionStore;

diesel::table! {
    users (id) {
        id -> BigInt,
        login -> Text,
    }
}

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(references = users)]
    pub user_id: Option<i64>,
    pub optional: Option<String>,
}

fn main() {
    let query = http_sessions::table
        .inner_join(users::table)
        .filter(users::login.eq("alice"))
        .select((http_sessions::optional, users::login));
    let sql = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&query).to_string();
    assert!(
        sql.contains("INNER JOIN `users` ON (`http_sessions`.`user_id` = `users`.`id`)"),
        "{sql}"
    );
    let _ = http_sessions::table.left_join(users::table);
}
