//! `data = encrypted` on every backend: the `data` column is `Binary` in
//! the table module and the backend's binary string in the DDL, and the
//! store takes keys.

use session_runtime::{DataKey, EncryptionKeys, SessionStore};

#[derive(SessionStore, Debug)]
#[session(table = sqlite_sessions, backend = sqlite, data = encrypted)]
pub struct SqliteSession {
    pub user_id: Option<i64>,
}

#[derive(SessionStore, Debug)]
#[session(table = postgres_sessions, backend = postgres, data = encrypted, unlogged)]
pub struct PostgresSession {
    pub user_id: Option<i64>,
}

#[derive(SessionStore, Debug)]
#[session(table = mysql_sessions, backend = mysql, data = encrypted)]
pub struct MysqlSession {
    pub user_id: Option<i64>,
}

#[derive(SessionStore, Debug)]
#[session(table = any_sessions, backend = any, data = encrypted)]
pub struct AnySession {
    pub user_id: Option<i64>,
}

pub fn run() {
    let _: diesel::dsl::SqlTypeOf<sqlite_sessions::data> = diesel::sql_types::Binary;
    assert!(SqliteSessionStore::migration()
        .up()
        .contains("\"data\" BLOB NOT NULL"));
    assert!(PostgresSessionStore::migration()
        .up()
        .contains("\"data\" BYTEA NOT NULL"));
    assert!(MysqlSessionStore::migration()
        .up()
        .contains("`data` LONGBLOB NOT NULL"));
    let _: diesel::dsl::SqlTypeOf<any_sessions::postgres::data> = diesel::sql_types::Binary;
    let keys = || EncryptionKeys::new(DataKey::from_bytes([7; 32]));
    let _ = AnySessionStore::connect("sessions.db").map(|store| store.with_encryption_keys(keys()));
    let _ =
        SqliteSessionStore::connect("sessions.db").map(|store| store.with_encryption_keys(keys()));
    let _ = PostgresSessionStore::connect("postgres://localhost/test")
        .map(|store| store.with_encryption_keys(keys()));
    let _ = MysqlSessionStore::connect("mysql://localhost/test")
        .map(|store| store.with_encryption_keys(keys()));
}
