//! `sql_type = ...` on a field whose type the derive does not know: a
//! newtype that Diesel reads and writes as `Text`, and that serde reads and
//! writes as a string in the session map.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use session_runtime::SessionStore;

#[derive(Debug, Clone, Default, PartialEq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Locale(String);

impl<DB: Backend> ToSql<Text, DB> for Locale
where
    String: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.0.to_sql(out)
    }
}

impl<DB: Backend> FromSql<Text, DB> for Locale
where
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        String::from_sql(bytes).map(Locale)
    }
}

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

/// A type alias hides the type from the derive, which then needs the SQL
/// type too.
type Counter = i64;

#[derive(SessionStore)]
#[session(table = http_sessions, backend = sqlite)]
pub struct AppSession {
    #[session(sql_type = diesel::sql_types::Text)]
    pub locale: Locale,
    #[session(sql_type = diesel::sql_types::Text, index)]
    pub fallback: Option<Locale>,
    #[session(sql_type = diesel::sql_types::BigInt)]
    pub counter: Counter,
}

/// Compiles only if the per-value queries exist for the column.
fn indexed<C: session_runtime::IndexedColumn<AppSession, session_runtime::backend::Sqlite>>(_: C) {}

pub fn run() {
    indexed(http_sessions::fallback);
    let up = AppSessionStore::migration().up();
    assert!(up.contains("\"locale\" TEXT NOT NULL"), "{up}");
}
