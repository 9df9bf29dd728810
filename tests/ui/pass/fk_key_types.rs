//! A foreign key field of each built-in type to a key of the SQL type it
//! maps to, and one with `sql_type` to a key of that SQL type: the
//! foreign key assertion accepts every one.

use session_runtime::SessionStore;

diesel::table! {
    small_keys (id) {
        id -> SmallInt,
    }
}

diesel::table! {
    int_keys (id) {
        id -> Integer,
    }
}

diesel::table! {
    text_keys (id) {
        id -> Text,
    }
}

diesel::table! {
    binary_keys (id) {
        id -> Binary,
    }
}

diesel::table! {
    time_keys (id) {
        id -> TimestamptzSqlite,
    }
}

diesel::table! {
    named_keys (id) {
        id -> Text,
    }
}

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(references = small_keys)]
    pub small_id: Option<i16>,
    #[session(references = int_keys)]
    pub int_id: i32,
    #[session(references = text_keys)]
    pub text_id: Option<String>,
    #[session(references = binary_keys)]
    pub binary_id: Option<Vec<u8>>,
    #[session(references = time_keys)]
    pub time_id: Option<time::OffsetDateTime>,
    #[session(references = named_keys, sql_type = diesel::sql_types::Text)]
    pub named_id: Option<String>,
}

diesel::table! {
    pg_time_keys (id) {
        id -> Timestamptz,
    }
}

diesel::table! {
    json_keys (id) {
        id -> Json,
    }
}

#[derive(SessionStore)]
#[session(table = pg_sessions, backend = postgres)]
pub struct PgSession {
    #[session(references = pg_time_keys)]
    pub time_id: Option<time::OffsetDateTime>,
    #[session(references = json_keys)]
    pub json_id: Option<serde_json::Value>,
}

diesel::table! {
    my_time_keys (id) {
        id -> Datetime,
    }
}

#[derive(SessionStore)]
#[session(table = my_sessions, backend = mysql)]
pub struct MySession {
    #[session(references = my_time_keys)]
    pub time_id: Option<time::OffsetDateTime>,
}
