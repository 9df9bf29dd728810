//! Property test: any session map round-trips exactly through create, save
//! and load, on every backend.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::Value;
use session_tests::{stores, BackendSchema, Kind, TestDatabase};
use time::{Duration, OffsetDateTime};
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore as _;

use crate::common::blocking;

/// Keys the structs under test keep in typed columns; a random value there
/// would be refused as not fitting the column, which other tests cover.
const TYPED_KEYS: &[&str] = &["user_id", "optional"];

fn json_value(strings: BoxedStrategy<String>) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        strings.clone().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::hash_map(strings.clone(), inner, 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Session maps; `nul_free` keeps U+0000 out for PostgreSQL, whose JSONB
/// refuses it (a separate test covers the refusal).
pub fn session_map(nul_free: bool) -> impl Strategy<Value = HashMap<String, Value>> {
    let strings = if nul_free {
        any::<String>()
            .prop_map(|text| text.replace('\0', ""))
            .boxed()
    } else {
        any::<String>().boxed()
    };
    prop::collection::hash_map(
        strings
            .clone()
            .prop_filter("typed keys hold typed values", |key| {
                !TYPED_KEYS.contains(&key.as_str())
            }),
        json_value(strings),
        0..8,
    )
}

tests_on_every_backend!(
    // proptest's runner blocks: on a worker of its own, it hands each case
    // to the test's runtime (see `common::blocking`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    any_session_map_round_trips_exactly,
);

async fn any_session_map_round_trips_exactly<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let config = ProptestConfig {
        cases: 256,
        // The regression seeds stay next to this file,
        // `round_trip.proptest-regressions`; the default would look for
        // them beside the binary's `main.rs`.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    };
    let nul_free = T::KIND == Kind::Postgres;
    blocking(|runtime| {
        proptest!(config, |(first in session_map(nul_free), second in session_map(nul_free))| {
            runtime.block_on(async {
                let mut record = Record {
                    id: Id::default(),
                    data: first,
                    expiry_date: OffsetDateTime::now_utc() + Duration::hours(1),
                };
                store.create(&mut record).await.unwrap();
                let loaded = store.load(&record.id).await.unwrap().unwrap();
                prop_assert_eq!(&loaded.data, &record.data);
                record.data = second;
                store.save(&record).await.unwrap();
                let loaded = store.load(&record.id).await.unwrap().unwrap();
                prop_assert_eq!(&loaded.data, &record.data);
                Ok(())
            })?;
        });
    });
}
