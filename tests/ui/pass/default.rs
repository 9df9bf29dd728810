//! `default = path` names the function that fills a non-`Option` field when
//! the session has no value for it; without it the field's `Default` is used.

use session_runtime::{SessionData, SessionFields, SessionStore};

fn one() -> i32 {
    1
}

mod defaults {
    pub fn locale() -> String {
        "en".to_owned()
    }
}

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(default = one)]
    pub visits: i32,
    #[session(default = defaults::locale)]
    pub locale: String,
    #[session(default = String::new)]
    pub theme: String,
    pub flag: bool,
    /// `OffsetDateTime` has no `Default`, so it needs `default` or `Option`.
    #[session(default = time::OffsetDateTime::now_utc)]
    pub since: time::OffsetDateTime,
}

pub fn run() {
    let session = AppSession::read_fields(&SessionData::new()).unwrap();
    assert_eq!(session.visits, 1);
    assert_eq!(session.locale, "en");
    assert_eq!(session.theme, "");
    assert!(!session.flag);
}
