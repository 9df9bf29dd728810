//! Fuzzing the record-to-row mapping: random session maps, with random
//! and well-typed values under every typed key, saved and created on every
//! backend. Each write is an exact round trip (modulo the documented
//! normalizations), an `Encode` error or a foreign-key `Backend` error, as
//! an independent oracle predicts, and a refused write leaves the stored
//! row untouched.
//!
//! 512 cases per backend by default; `PROPTEST_CASES` sets another number.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Map, Value};
use session_tests::{stores, BackendSchema, Kind, TestDatabase};
use time::{OffsetDateTime, UtcOffset};
use tower_sessions::session_store;
use tower_sessions::SessionStore as _;

use crate::common::{blocking, proptest_cases, record};

/// The typed keys of `TypedSession`, top level.
const TYPED_KEYS: &[&str] = &[
    "axum-login.data",
    "visits",
    "small",
    "ratio",
    "weight",
    "flag",
    "blob",
    "seen_at",
    "prefs",
    "agent",
];

fn strings(nul_free: bool) -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[a-z_. -]{0,12}",
        1 => any::<String>(),
    ]
    .prop_map(move |text| {
        if nul_free {
            text.replace('\0', "")
        } else {
            text
        }
    })
    .boxed()
}

fn floats() -> BoxedStrategy<f64> {
    prop_oneof![
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()),
        any::<f32>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(f64::from),
        Just(-0.0),
        Just(0.1),
        Just(1.0),
        Just(f64::MAX),
        Just(5e-324),
    ]
    .boxed()
}

fn json_value(nul_free: bool) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        floats().prop_map(Value::from),
        strings(nul_free).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(strings(nul_free), inner, 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Values for one typed key: mostly ones that fit, some near misses, and
/// now and then any JSON at all.
fn typed_value(key: &'static str, nul_free: bool) -> BoxedStrategy<Value> {
    let integers = || {
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            (-40_000_i64..40_000).prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            floats().prop_map(Value::from),
        ]
    };
    let datetime = |nanos: i64, offset_hours: i8| {
        (-62_000_000_000_i64..250_000_000_000, 0..nanos).prop_map(move |(seconds, fraction)| {
            let step = 1_000_000_000 / nanos;
            let at = OffsetDateTime::from_unix_timestamp(seconds).unwrap()
                + time::Duration::nanoseconds(fraction * step);
            let offset = UtcOffset::from_hms(offset_hours, 0, 0).unwrap();
            serde_json::to_value(at.to_offset(offset)).unwrap()
        })
    };
    let (fits, misses): (BoxedStrategy<Value>, BoxedStrategy<Value>) = match key {
        "visits" => (
            any::<i32>().prop_map(Value::from).boxed(),
            integers().boxed(),
        ),
        "small" => (
            any::<i16>().prop_map(Value::from).boxed(),
            integers().boxed(),
        ),
        "ratio" => (floats().prop_map(Value::from).boxed(), integers().boxed()),
        "weight" => (
            any::<f32>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from)
                .boxed(),
            floats().prop_map(Value::from).boxed(),
        ),
        "flag" => (
            any::<bool>().prop_map(Value::from).boxed(),
            (0..2_i64).prop_map(Value::from).boxed(),
        ),
        "blob" => (
            prop::collection::vec(any::<u8>(), 0..24)
                .prop_map(|bytes| json!(bytes))
                .boxed(),
            prop::collection::vec(200_i64..300, 1..4)
                .prop_map(|bytes| json!(bytes))
                .boxed(),
        ),
        // Stored as given: UTC to the microsecond. Normalized: another
        // offset. Refused on the servers: nanoseconds.
        "seen_at" => (
            datetime(1_000_000, 0).boxed(),
            prop_oneof![
                datetime(1_000_000_000, 0),
                datetime(1_000_000, 5),
                datetime(1_000, -11)
            ]
            .boxed(),
        ),
        "agent" => (
            strings(nul_free).prop_map(Value::from).boxed(),
            (250_usize..262)
                .prop_map(|length| Value::from("é".repeat(length)))
                .boxed(),
        ),
        "axum-login.data" => {
            let login = |user_id: BoxedStrategy<Value>| {
                (
                    user_id,
                    prop::collection::btree_map(strings(nul_free), json_value(nul_free), 0..3),
                )
                    .prop_map(|(user_id, others)| {
                        let mut object: Map<String, Value> = others.into_iter().collect();
                        object.insert("user_id".into(), user_id);
                        Value::Object(object)
                    })
            };
            (
                login((1_i64..4).prop_map(Value::from).boxed()).boxed(),
                prop_oneof![
                    login(integers().boxed()),
                    login(Just(Value::Null).boxed()),
                    login(json_value(nul_free)),
                ]
                .boxed(),
            )
        }
        _ => (json_value(nul_free), json_value(nul_free)),
    };
    prop_oneof![8 => fits, 1 => misses, 1 => json_value(nul_free)].boxed()
}

/// A session map: a random subset of the typed keys, and random others.
fn session_map(nul_free: bool) -> impl Strategy<Value = HashMap<String, Value>> {
    let typed: Vec<_> = TYPED_KEYS
        .iter()
        .map(|key| {
            prop::option::weighted(0.5, typed_value(key, nul_free))
                .prop_map(move |value| (*key, value))
        })
        .collect();
    let others = prop::collection::hash_map(
        prop_oneof![
            strings(nul_free),
            Just("user_agent".to_owned()),
            Just("user_id".to_owned())
        ]
        .prop_filter("typed keys are chosen above", |key| {
            !TYPED_KEYS.contains(&key.as_str())
        }),
        json_value(nul_free),
        0..4,
    );
    (typed, others).prop_map(|(typed, mut map)| {
        for (key, value) in typed {
            if let Some(value) = value {
                map.insert(key.to_owned(), value);
            }
        }
        map
    })
}

/// What the store must do with a map.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// Store it, and load back this.
    Stored(HashMap<String, Value>),
    /// Refuse it: a value does not fit.
    Encode,
    /// Refuse it: the user id names no user.
    ForeignKey,
}

fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(members) => members
            .iter()
            .any(|(key, value)| key.contains('\0') || has_nul(value)),
        _ => false,
    }
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Whether `value` fits the typed field under `key` exactly, from the
/// rules the README states, not from the store's code.
fn fits(kind: Kind, key: &str, value: &Value) -> bool {
    let integer_in =
        |low: i64, high: i64| value.as_i64().is_some_and(|n| (low..=high).contains(&n));
    match key {
        "user_id" => value.as_i64().is_some(),
        "visits" => integer_in(i32::MIN.into(), i32::MAX.into()),
        "small" => integer_in(i16::MIN.into(), i16::MAX.into()),
        // An integer would come back a float: not exact.
        "ratio" => value.is_f64(),
        "weight" => value.is_f64() && value.as_f64().is_some_and(|x| f64::from(x as f32) == x),
        "flag" => value.is_boolean(),
        "blob" => value.as_array().is_some_and(|bytes| {
            bytes
                .iter()
                .all(|byte| byte.as_u64().is_some_and(|byte| byte <= 255))
        }),
        // The servers' columns keep microseconds, and finer is refused.
        "seen_at" => serde_json::from_value::<OffsetDateTime>(value.clone()).is_ok_and(|at| {
            serde_json::to_value(at).ok().as_ref() == Some(value)
                && (kind == Kind::Sqlite || at.nanosecond() % 1_000 == 0)
        }),
        "agent" => value
            .as_str()
            .is_some_and(|text| kind != Kind::Mysql || text.chars().count() <= 255),
        "prefs" => true,
        other => unreachable!("{other} is no typed key"),
    }
}

/// The oracle.
fn expect(kind: Kind, map: &HashMap<String, Value>) -> Expect {
    let limit = if kind == Kind::Mysql { 31 } else { 127 };
    if map
        .values()
        .map(|value| 1 + depth(value))
        .max()
        .unwrap_or(1)
        > limit
    {
        return Expect::Encode;
    }
    if kind == Kind::Postgres
        && map
            .iter()
            .any(|(key, value)| key.contains('\0') || has_nul(value))
    {
        return Expect::Encode;
    }
    let mut stored = map.clone();
    // The nested user id: inside `axum-login.data` when that is an object.
    let mut user_id = None;
    if let Some(Value::Object(login)) = stored.get_mut("axum-login.data") {
        match login.get("user_id") {
            Some(Value::Null) => {
                login.remove("user_id");
            }
            Some(value) if !fits(kind, "user_id", value) => return Expect::Encode,
            Some(value) => user_id = value.as_i64(),
            None => {}
        }
    }
    for key in &TYPED_KEYS[1..] {
        match stored.get(*key) {
            None | Some(Value::Null) if *key == "visits" => {
                stored.insert((*key).to_owned(), json!(0));
            }
            Some(Value::Null) => {
                stored.remove(*key);
            }
            Some(value) if !fits(kind, key, value) => return Expect::Encode,
            _ => {}
        }
    }
    if let Some(value) = stored.get_mut("seen_at") {
        // A timestamp column keeps the instant in UTC: another offset
        // loads as UTC.
        let at: OffsetDateTime = serde_json::from_value(value.clone()).unwrap();
        *value = serde_json::to_value(at.to_offset(UtcOffset::UTC)).unwrap();
    }
    match user_id {
        Some(id) if !(1..=3).contains(&id) => Expect::ForeignKey,
        _ => Expect::Stored(stored),
    }
}

/// JSON equality; under `prefs` on PostgreSQL, numbers compare by value.
/// KNOWN: a typed JSONB column turns a float from 1e16 to 2^64 into an
/// integer (the `data` column does not).
fn same(kind: Kind, expected: &HashMap<String, Value>, loaded: &HashMap<String, Value>) -> bool {
    fn loose(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(a), Value::Number(b)) => {
                a == b || (a.as_f64() == b.as_f64() && a.is_f64() != b.is_f64())
            }
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| loose(a, b))
            }
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(key, a)| b.get(key).is_some_and(|b| loose(a, b)))
            }
            (a, b) => a == b,
        }
    }
    expected.len() == loaded.len()
        && expected.iter().all(|(key, value)| {
            loaded.get(key).is_some_and(|loaded| {
                if kind == Kind::Postgres && key == "prefs" {
                    loose(value, loaded)
                } else {
                    value == loaded
                }
            })
        })
}

tests_on_every_backend!(
    // proptest's runner blocks: on a worker of its own, it hands each case
    // to the test's runtime (see `common::blocking`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    random_maps_round_trip_or_are_refused_leaving_the_row_untouched,
);

/// What one write on `kind` did, checked against the oracle: `Ok(true)`
/// when it stored the map, `Ok(false)` when it refused it as expected.
fn check(
    kind: Kind,
    expected: &Expect,
    result: Result<(), session_store::Error>,
    loaded: Option<&HashMap<String, Value>>,
) -> Result<bool, String> {
    match (expected, result) {
        (Expect::Stored(stored), Ok(())) => {
            let loaded = loaded.ok_or("stored, but loads nothing")?;
            if same(kind, stored, loaded) {
                Ok(true)
            } else {
                Err(format!("expected {stored:?}\nloaded {loaded:?}"))
            }
        }
        (Expect::Encode, Err(session_store::Error::Encode(_))) => Ok(false),
        (Expect::ForeignKey, Err(session_store::Error::Backend(message)))
            if message.to_lowercase().contains("foreign key") =>
        {
            Ok(false)
        }
        (expected, result) => Err(format!("expected {expected:?}, got {result:?}")),
    }
}

async fn random_maps_round_trip_or_are_refused_leaving_the_row_untouched<T: BackendSchema>(
    db: TestDatabase,
) {
    let kind = T::KIND;
    let (_, store) = stores::<T>(&db.url).await;
    let mut stored = record(json!({"visits": 1}));
    store.create(&mut stored).await.unwrap();
    let current = RefCell::new(stored.data.clone());
    let tally = [Cell::new(0_usize), Cell::new(0)];
    let config = ProptestConfig {
        cases: proptest_cases(512),
        max_shrink_iters: 256,
        // Seeds of failures go next to this file, as
        // `mapping_fuzz.proptest-regressions`.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    };
    blocking(|runtime| {
        proptest!(config, |(map in session_map(kind == Kind::Postgres))| {
            let expected = expect(kind, &map);
            runtime.block_on(async {
                // Saved over the stored session.
                let mut write = stored.clone();
                write.data = map.clone();
                let saved = store.save(&write).await;
                let loaded = store.load(&stored.id).await.unwrap().map(|record| record.data);
                match check(kind, &expected, saved, loaded.as_ref()) {
                    Ok(true) => *current.borrow_mut() = loaded.unwrap(),
                    Ok(false) => prop_assert_eq!(
                        loaded.as_ref(),
                        Some(&*current.borrow()),
                        "a refused save changed the row"
                    ),
                    Err(why) => {
                        return Err(TestCaseError::fail(format!("save of {map:?}: {why}")))
                    }
                }
                // Created afresh.
                let mut fresh = record(json!({}));
                fresh.data = map.clone();
                let created = store.create(&mut fresh).await;
                let loaded = store.load(&fresh.id).await.unwrap().map(|record| record.data);
                match check(kind, &expected, created, loaded.as_ref()) {
                    Ok(true) => store.delete(&fresh.id).await.unwrap(),
                    Ok(false) => prop_assert_eq!(loaded, None, "a refused create stored a row"),
                    Err(why) => {
                        return Err(TestCaseError::fail(format!("create of {map:?}: {why}")))
                    }
                }
                let counter = &tally[usize::from(matches!(expected, Expect::Stored(_)))];
                counter.set(counter.get() + 1);
                Ok(())
            })?;
        });
    });
    assert_eq!(store.count().await.unwrap(), 1);
    eprintln!(
        "fuzz: {kind:?}: {} maps stored, {} refused",
        tally[1].get(),
        tally[0].get()
    );
}
