//! On Postgres the referenced table also shares queries with `ONLY` or
//! `TABLESAMPLE` of it, and a sample of the sessions joins the users once
//! the app writes the one impl the derive leaves out (see
//! `session-derive/src/expand/foreign_keys.rs`).

use diesel::dsl::{OnlyDsl, TablesampleDsl};
use diesel::prelude::*;
use diesel::query_builder::{Tablesample, TablesampleMethod};
use diesel::query_source::TableNotEqual;
use session_runtime::SessionStore;

diesel::table! {
    users (id) {
        id -> BigInt,
        login -> Text,
    }
}

#[derive(SessionStore)]
#[session(table = http_sessions, backend = postgres)]
pub struct AppSession {
    #[session(references = users)]
    pub user_id: Option<i64>,
}

impl<Method: TablesampleMethod> TableNotEqual<users::table>
    for Tablesample<http_sessions::table, Method>
{
}

pub fn run() {
    let sampled = http_sessions::table
        .tablesample_system(10)
        .inner_join(users::table)
        .select(users::login);
    let sql = diesel::debug_query::<diesel::pg::Pg, _>(&sampled).to_string();
    assert!(sql.contains("TABLESAMPLE SYSTEM"), "{sql}");
    let only_users = http_sessions::table
        .inner_join(users::table.only())
        .select(http_sessions::user_id);
    let sql = diesel::debug_query::<diesel::pg::Pg, _>(&only_users).to_string();
    assert!(sql.contains("ONLY \"users\""), "{sql}");
}
