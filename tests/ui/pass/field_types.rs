//! Every supported field type, plain and in an `Option`, on every backend.
//! `OffsetDateTime` and `serde_json::Value` map to a different SQL type on
//! each one.

use session_runtime::SessionStore;

macro_rules! every_type {
    ($backend:ident) => {
        pub mod $backend {
            use super::*;

            #[derive(SessionStore)]
            #[session(table = required_sessions, backend = $backend)]
            pub struct Required {
                pub small: i16,
                pub int: i32,
                pub big: i64,
                pub float: f32,
                pub double: f64,
                pub flag: bool,
                pub text: String,
                pub blob: Vec<u8>,
                // `OffsetDateTime` has no `Default`; see `default.rs`.
                #[session(default = time::OffsetDateTime::now_utc)]
                pub at: time::OffsetDateTime,
                pub json: serde_json::Value,
            }

            #[derive(SessionStore)]
            #[session(table = optional_sessions, backend = $backend)]
            pub struct Optional {
                pub small: Option<i16>,
                pub int: Option<i32>,
                pub big: Option<i64>,
                pub float: Option<f32>,
                pub double: Option<f64>,
                pub flag: Option<bool>,
                pub text: Option<String>,
                pub blob: Option<Vec<u8>>,
                pub at: Option<time::OffsetDateTime>,
                pub json: Option<serde_json::Value>,
            }
        }
    };
}

every_type!(sqlite);
every_type!(postgres);
every_type!(mysql);

/// The types by their own names, as a user who imported them writes them.
pub mod imported {
    use serde_json::Value;
    use session_runtime::SessionStore;
    use time::OffsetDateTime;

    #[derive(SessionStore)]
    #[session(backend = sqlite)]
    pub struct Imported {
        #[session(default = OffsetDateTime::now_utc)]
        pub at: OffsetDateTime,
        pub json: Option<Value>,
        pub text: std::string::String,
        pub blob: std::vec::Vec<u8>,
    }
}

pub fn run() {
    let _ = (
        sqlite::required_sessions::at,
        sqlite::optional_sessions::json,
    );
    let _ = (
        postgres::required_sessions::at,
        postgres::optional_sessions::json,
    );
    let _ = (mysql::required_sessions::at, mysql::optional_sessions::json);
    let _ = imported::sessions::table;
}
