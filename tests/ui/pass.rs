//! Every supported form of `#[derive(SessionStore)]`, one module per file
//! of `ui/pass/`: each compiles, and its `run` asserts on what the derive
//! generated. The `ui_pass` test of `session-tests`: a binary crate, as a
//! user's would be, without the test harness.

// The structs exist to be derived from, not all to be used (trybuild,
// which ran these cases before, allowed the same lint).
#![allow(dead_code)]

// `crate_path`'s facade. An `extern crate` alias joins the extern prelude
// only at the crate root, where a facade crate's users have it too.
extern crate session_runtime as sessions_facade;

#[path = "pass/attributes.rs"]
mod attributes;
#[path = "pass/backend_any.rs"]
mod backend_any;
#[path = "pass/backend_mysql.rs"]
mod backend_mysql;
#[path = "pass/backend_postgres.rs"]
mod backend_postgres;
#[path = "pass/backend_sqlite.rs"]
mod backend_sqlite;
#[path = "pass/column.rs"]
mod column;
#[path = "pass/compression.rs"]
mod compression;
#[path = "pass/crate_path.rs"]
mod crate_path;
#[path = "pass/data_blob.rs"]
mod data_blob;
#[path = "pass/data_encrypted.rs"]
mod data_encrypted;
#[path = "pass/data_json.rs"]
mod data_json;
#[path = "pass/default.rs"]
mod default;
#[path = "pass/field_types.rs"]
mod field_types;
#[path = "pass/fk_key_types.rs"]
mod fk_key_types;
#[path = "pass/index.rs"]
mod index;
#[path = "pass/joinable.rs"]
mod joinable;
#[path = "pass/joinable_postgres.rs"]
mod joinable_postgres;
#[path = "pass/key.rs"]
mod key;
#[path = "pass/on_delete.rs"]
mod on_delete;
#[path = "pass/pointer.rs"]
mod pointer;
#[path = "pass/raw_identifiers.rs"]
mod raw_identifiers;
#[path = "pass/referenced_column.rs"]
mod referenced_column;
#[path = "pass/sql_type.rs"]
mod sql_type;
#[path = "pass/sql_type_imported.rs"]
mod sql_type_imported;
#[path = "pass/store.rs"]
mod store;
#[path = "pass/unit_struct.rs"]
mod unit_struct;

fn main() {
    backend_any::run();
    backend_mysql::run();
    backend_postgres::run();
    backend_sqlite::run();
    column::run();
    compression::run();
    crate_path::run();
    data_blob::run();
    data_encrypted::run();
    data_json::run();
    default::run();
    field_types::run();
    index::run();
    joinable::run();
    joinable_postgres::run();
    key::run();
    on_delete::run();
    pointer::run();
    raw_identifiers::run();
    referenced_column::run();
    sql_type::run();
    sql_type_imported::run();
    store::run();
    unit_struct::run();
}
