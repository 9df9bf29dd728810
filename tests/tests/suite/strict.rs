//! Strict and precise: MySQL connections refuse what a column cannot hold,
//! and a typed timestamp either round-trips exactly or is refused, at the
//! microsecond edge, on every backend.

use crate::common::record;

use diesel::sql_types::Text;
use diesel::QueryableByName;
use serde_json::json;
use session_tests::{stores, BackendSchema};
use session_tests::{Kind, TestDatabase};
use time::{Duration, OffsetDateTime};
use tower_sessions::session_store::{self, SessionStore};

#[derive(QueryableByName, Debug)]
struct Setting {
    #[diesel(sql_type = Text)]
    value: String,
}

mod mysql_strict {
    use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl, SimpleAsyncConnection};
    use session_tests::mysql::stores;
    use session_tests::{Kind, TestDatabase};

    use super::Setting;

    const PROBE: &str = "CREATE TEMPORARY TABLE strict_probe (v VARCHAR(3), n TINYINT, d DATETIME)";

    #[tokio::test]
    #[cfg_attr(
        not(session_test_mysql),
        ignore = "set SESSION_TEST_MYSQL_URL to run against MySQL or MariaDB"
    )]
    async fn every_pooled_connection_is_strict() {
        let Some(db) = TestDatabase::new(Kind::Mysql).await else {
            return;
        };
        let (store, _) = stores(&db.url).await;
        // Two connections at once: the setup runs on each.
        let mut first = store.connection().await.unwrap();
        let mut second = store.connection().await.unwrap();
        for connection in [&mut first, &mut second] {
            let mode: Setting = diesel::sql_query("SELECT @@SESSION.sql_mode AS value")
                .get_result(&mut **connection)
                .await
                .unwrap();
            for flag in [
                "STRICT_ALL_TABLES",
                "NO_ZERO_DATE",
                "NO_ZERO_IN_DATE",
                "ERROR_FOR_DIVISION_BY_ZERO",
            ] {
                assert!(mode.value.contains(flag), "{flag} in {}", mode.value);
            }
            connection.batch_execute(PROBE).await.unwrap();
            let too_long = connection
                .batch_execute("INSERT INTO strict_probe (v) VALUES ('abcd')")
                .await
                .expect_err("a value that would be cut short");
            assert!(too_long.to_string().contains("Data too long"), "{too_long}");
            let out_of_range = connection
                .batch_execute("INSERT INTO strict_probe (n) VALUES (300)")
                .await
                .expect_err("a value out of range");
            assert!(
                out_of_range.to_string().contains("Out of range"),
                "{out_of_range}"
            );
            let zero_date = connection
                .batch_execute("INSERT INTO strict_probe (d) VALUES ('0000-00-00 00:00:00')")
                .await
                .expect_err("the zero date");
            assert!(
                zero_date.to_string().contains("Incorrect datetime"),
                "{zero_date}"
            );
            connection
                .batch_execute("DROP TEMPORARY TABLE strict_probe")
                .await
                .unwrap();
        }

        // The control: without the store's setup, this server cuts the
        // value short and only warns.
        let mut lax = AsyncMysqlConnection::establish(&db.url).await.unwrap();
        lax.batch_execute("SET SESSION sql_mode = ''")
            .await
            .unwrap();
        lax.batch_execute(PROBE).await.unwrap();
        lax.batch_execute("INSERT INTO strict_probe (v) VALUES ('abcd')")
            .await
            .unwrap();
        let kept: Setting = diesel::sql_query("SELECT v AS value FROM strict_probe")
            .get_result(&mut lax)
            .await
            .unwrap();
        assert_eq!(kept.value, "abc");
    }
}

tests_on_every_backend!(a_typed_timestamp_round_trips_exactly_or_is_refused,);

fn at(seconds: i64, nanoseconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap() + Duration::nanoseconds(nanoseconds)
}

async fn a_typed_timestamp_round_trips_exactly_or_is_refused<T: BackendSchema>(db: TestDatabase) {
    let (_, typed) = stores::<T>(&db.url).await;
    // Microsecond-exact instants, after and before 2000 (where
    // PostgreSQL counts its microseconds from), and the last
    // microsecond of a second.
    let exact = [
        at(1_700_000_000, 123_456_000),
        at(1_700_000_000, 999_999_000),
        at(900_000_000, 1_000),
        at(-1, 999_999_000),
    ];
    for instant in exact {
        let value = serde_json::to_value(instant).unwrap();
        let mut session = record(json!({"seen_at": value, "visits": 1}));
        typed.create(&mut session).await.unwrap();
        let loaded = SessionStore::load(&typed, &session.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(loaded.data.get("seen_at"), Some(&value), "{instant}");
    }

    // One nanosecond either side of a microsecond.
    let base = at(1_700_000_000, 123_456_000);
    let mut stored = record(json!({"seen_at": serde_json::to_value(base).unwrap(), "visits": 1}));
    typed.create(&mut stored).await.unwrap();
    for instant in [
        base + Duration::nanoseconds(1),
        base - Duration::nanoseconds(1),
        at(900_000_000, 1),
    ] {
        let value = serde_json::to_value(instant).unwrap();
        let mut fresh = record(json!({"seen_at": value, "visits": 1}));
        let created = typed.create(&mut fresh).await;
        let mut changed = stored.clone();
        changed.data.insert("seen_at".into(), value.clone());
        let saved = typed.save(&changed).await;
        let loaded = SessionStore::load(&typed, &stored.id)
            .await
            .unwrap()
            .unwrap();
        if T::KIND == Kind::Sqlite {
            // SQLite's text column keeps the nanoseconds.
            created.unwrap();
            saved.unwrap();
            assert_eq!(loaded.data.get("seen_at"), Some(&value), "{instant}");
            let back = SessionStore::load(&typed, &fresh.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(back.data.get("seen_at"), Some(&value), "{instant}");
            // Put the row back for the next instant.
            typed.save(&stored).await.unwrap();
        } else {
            for outcome in [created, saved] {
                let Err(session_store::Error::Encode(message)) = outcome else {
                    panic!("{instant}: {outcome:?}");
                };
                assert!(
                    message.contains("seen_at") && message.contains("microseconds"),
                    "{message}"
                );
            }
            // Nothing written: the stored instant is unchanged.
            let kept = serde_json::to_value(base).unwrap();
            assert_eq!(loaded.data.get("seen_at"), Some(&kept), "{instant}");
        }
    }
}
