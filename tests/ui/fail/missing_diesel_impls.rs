//! `sql_type` on a type that serde knows but Diesel does not.

use session_runtime::SessionStore;

#[derive(Debug, Default)]
pub struct Locale(String);

impl serde::Serialize for Locale {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Locale {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Locale)
    }
}

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(sql_type = diesel::sql_types::Text)]
    pub locale: Option<Locale>,
}

fn main() {}
