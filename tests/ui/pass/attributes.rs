//! Keys may be spread over several `#[session(...)]` attributes, mixed with
//! doc comments and other derives' attributes.

use session_runtime::SessionStore;

diesel::table! {
    users (id) {
        id -> BigInt,
        login -> Text,
    }
}

/// The app's session.
#[derive(SessionStore, Debug)]
#[session(table = http_sessions)]
#[session(backend = sqlite)]
#[allow(dead_code)]
pub struct AppSession {
    /// The logged-in user.
    #[session(references = users)]
    #[session(on_delete = set_null, index)]
    #[allow(clippy::all)]
    pub user_id: Option<i64>,
    #[session(key = "visit-count")]
    visits: i32,
}
