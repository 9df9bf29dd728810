//! The session table joins the app's own tables like any Diesel table:
//! `references = users` emits `joinable!` and
//! `allow_tables_to_appear_in_same_query!`. The app can still allow its
//! other tables next to the session table with its own macro call.

use diesel::prelude::*;
use session_runtime::SessionStore;

diesel::table! {
    users (id) {
        id -> BigInt,
        login -> Text,
    }
}

diesel::table! {
    devices (id) {
        id -> BigInt,
        name -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(http_sessions, devices);

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(references = users)]
    pub user_id: Option<i64>,
    pub optional: Option<String>,
}

pub fn run() {
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
    let _ = http_sessions::table
        .inner_join(users::table)
        .filter(diesel::dsl::exists(
            devices::table.filter(devices::name.eq(users::login)),
        ));
}
