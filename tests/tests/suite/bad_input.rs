//! Bad input: values that do not fit their columns, U+0000, numbers at the
//! edges, deep nesting, huge sessions, keys that collide with a typed
//! column's path, foreign keys to no one and reserved words as names. Each
//! input has one defined result on each backend, an exact round trip or a
//! clear error, and leaves the stored data untouched.
//!
//! Run with `--nocapture` to print the README's table: every line that
//! starts with `TABLE` is one input's result on one backend.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use session_runtime::backend::Backend;
use session_runtime::{DieselStore, IndexedColumn, SessionTable};
use session_tests::suite::LookupValue;
use session_tests::{stores, BackendSchema, Kind, TestDatabase};
use time::{Date, Duration, Month, OffsetDateTime, Time, UtcOffset};
use tower_sessions::session::Record;
use tower_sessions::{session_store, SessionStore as _};

use crate::common::{map, record};

/// What became of one input.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// Loaded back exactly, down to the text of every number.
    RoundTrip,
    /// Loaded back equal, but a `-0.0` as `0.0`: equal as numbers, and the
    /// one difference `==` on floats and on JSON values does not see.
    RoundTripButZeroSign,
    /// Stored, but loaded back different: how, and what loaded.
    Changed(String, HashMap<String, Value>),
    /// Refused with this kind of error and message.
    Refused(&'static str, String),
}

impl Outcome {
    fn kind(&self) -> &'static str {
        match self {
            Outcome::RoundTrip | Outcome::RoundTripButZeroSign => "round trip",
            Outcome::Changed(..) => "changed",
            Outcome::Refused(kind, _) => kind,
        }
    }
}

fn refused(error: session_store::Error) -> Outcome {
    match error {
        session_store::Error::Encode(message) => Outcome::Refused("Encode", message),
        session_store::Error::Decode(message) => Outcome::Refused("Decode", message),
        session_store::Error::Backend(message) => Outcome::Refused("Backend", message),
    }
}

/// A session map as canonical text: sorted keys, every number as written.
fn text(data: &HashMap<String, Value>) -> String {
    serde_json::to_string(&data.iter().collect::<BTreeMap<_, _>>()).unwrap()
}

fn compare(expected: &HashMap<String, Value>, loaded: &HashMap<String, Value>) -> Outcome {
    if text(expected) == text(loaded) {
        Outcome::RoundTrip
    } else if expected == loaded {
        Outcome::RoundTripButZeroSign
    } else {
        let cut = |text: String| text.chars().take(300).collect::<String>();
        let how = format!(
            "stored {} but loaded {}",
            cut(text(expected)),
            cut(text(loaded))
        );
        Outcome::Changed(how, loaded.clone())
    }
}

/// Tries `data` both ways a session is written: saved over `stored` and
/// created afresh. Both must agree. A refused write leaves `stored` as it
/// was and adds no row; a stored one is put back to `stored` afterwards.
async fn attempt<S: SessionTable<B>, B: Backend>(
    store: &DieselStore<S, B>,
    stored: &Record,
    data: HashMap<String, Value>,
) -> Outcome {
    let rows = store.count().await.unwrap();
    let mut changed = stored.clone();
    changed.data = data.clone();
    let saved = match store.save(&changed).await {
        Ok(()) => {
            let loaded = store.load(&stored.id).await.unwrap().expect("saved");
            let outcome = compare(&data, &loaded.data);
            store.save(stored).await.unwrap();
            outcome
        }
        Err(error) => refused(error),
    };
    let untouched = store.load(&stored.id).await.unwrap().expect("still stored");
    assert_eq!(
        text(&untouched.data),
        text(&stored.data),
        "the stored row changed"
    );

    let mut fresh = record(json!({}));
    fresh.data = data.clone();
    let created = match store.create(&mut fresh).await {
        Ok(()) => {
            let loaded = store.load(&fresh.id).await.unwrap().expect("created");
            let outcome = compare(&data, &loaded.data);
            store.delete(&fresh.id).await.unwrap();
            outcome
        }
        Err(error) => refused(error),
    };
    assert_eq!(
        store.count().await.unwrap(),
        rows,
        "a refused create left a row"
    );
    assert_eq!(
        saved.kind(),
        created.kind(),
        "save gave {saved:?}, create gave {created:?}"
    );
    saved
}

/// One row of the README's table.
fn report(kind: Kind, input: &str, outcome: &Outcome) {
    let result = match outcome {
        Outcome::RoundTrip => "exact round trip".to_owned(),
        Outcome::RoundTripButZeroSign => "round trip, but `-0.0` loads as `0.0`".to_owned(),
        Outcome::Changed(how, _) => format!("CHANGED: {how}"),
        Outcome::Refused(kind, message) => {
            let message: String = message.chars().take(160).collect();
            format!("`{kind}`: {message}")
        }
    };
    eprintln!("TABLE | {input} | {kind:?} | {result}");
}

/// Nested arrays around `1`, `levels` deep.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| Value::Array(vec![inner]))
}

tests_on_every_backend!(
    values_that_do_not_fit_their_typed_column_are_encode_errors,
    u0000_is_refused_by_postgres_and_round_trips_elsewhere,
    numbers_at_the_edges_round_trip,
    deep_nesting_round_trips_or_is_refused_before_anything_is_stored,
    sessions_of_many_mebibytes,
    keys_that_collide_with_a_typed_column_path,
    a_foreign_key_to_no_user_is_a_backend_error_storing_nothing,
    reserved_words_as_table_column_and_key_names,
);

/// The typed columns of an `Order`, whichever its backend.
#[derive(Debug, Clone, PartialEq)]
struct OrderFields {
    user_id: Option<i64>,
    select: Option<String>,
    big: Option<i64>,
}

/// One backend's structs whose names are reserved words (see
/// [`reserved_names!`]).
trait ReservedNames: BackendSchema {
    /// Table `order`, with column `select` under the key `from`.
    type Order: SessionTable<Self::Engine> + Into<OrderFields> + Clone + std::fmt::Debug;
    /// Table `user`, with column `group`.
    type UserSession: SessionTable<Self::Engine>;
    /// `order.select`.
    type OrderSelect: IndexedColumn<Self::Order, Self::Engine> + LookupValue<String>;
    /// `order.user_id`.
    type OrderUserId: IndexedColumn<Self::Order, Self::Engine> + LookupValue<i64>;

    const ORDER_SELECT: Self::OrderSelect;
    const ORDER_USER_ID: Self::OrderUserId;
}

/// The store of `Order` on the backend of `T`.
type OrderStore<T> = DieselStore<<T as ReservedNames>::Order, <T as BackendSchema>::Engine>;
/// The store of `UserSession` on the backend of `T`.
type UserSessionStore<T> =
    DieselStore<<T as ReservedNames>::UserSession, <T as BackendSchema>::Engine>;

/// Names that are reserved words, in a module per backend: a foreign key
/// needs the `users` table defined beside the struct.
macro_rules! reserved_names {
    ($backend:ident, $kind:expr, $ignore:tt) => {
        mod $backend {
            diesel::table! {
                users (id) {
                    id -> BigInt,
                    login -> Text,
                }
            }

            /// A table, a column and a key that are reserved words.
            #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
            #[session(table = order, backend = $backend)]
            pub struct Order {
                #[session(references = users)]
                pub user_id: Option<i64>,
                #[session(index, key = "from")]
                pub select: Option<String>,
                pub big: Option<i64>,
            }

            /// `user` is reserved on PostgreSQL, where unquoted it is the
            /// current user.
            #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
            #[session(table = user, backend = $backend)]
            pub struct UserSession {
                pub group: Option<i32>,
            }

            impl From<Order> for super::super::OrderFields {
                fn from(order: Order) -> Self {
                    super::super::OrderFields {
                        user_id: order.user_id,
                        select: order.select,
                        big: order.big,
                    }
                }
            }

            impl super::super::ReservedNames for session_tests::$backend::Schema {
                type Order = Order;
                type UserSession = UserSession;
                type OrderSelect = order::select;
                type OrderUserId = order::user_id;

                const ORDER_SELECT: Self::OrderSelect = order::select;
                const ORDER_USER_ID: Self::OrderUserId = order::user_id;
            }
        }
    };
}

// The derive's aliases `OrderStore` and `UserSessionStore` go unused: the
// suite names the stores through `ReservedNames`.
#[expect(dead_code)]
mod reserved {
    on_every_backend!(reserved_names);
}

async fn values_that_do_not_fit_their_typed_column_are_encode_errors<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, typed) = stores::<T>(&db.url).await;
    let mut app_row = record(json!({"user_id": 1, "optional": "kept", "other": [1]}));
    store.create(&mut app_row).await.unwrap();
    let mut typed_row =
        record(json!({"axum-login.data": {"user_id": 1, "auth_hash": [1]}, "visits": 3}));
    typed.create(&mut typed_row).await.unwrap();
    let long_agent = "a".repeat(300);
    let app_cases = [
        ("user_id", json!("abc")),
        ("user_id", json!(1.5)),
        ("user_id", json!(u64::MAX)),
        ("user_id", json!([1])),
        ("user_id", json!({"id": 1})),
        ("user_id", json!(true)),
        ("optional", json!(5)),
    ];
    for (key, value) in app_cases {
        let field = if key == "user_id" {
            "user_id: Option<i64>"
        } else {
            "optional: Option<String>"
        };
        let input = format!("`{field}` ← `{value}`");
        let outcome = attempt(&store, &app_row, map(json!({key: value, "other": 2}))).await;
        report(T::KIND, &input, &outcome);
        assert!(
            matches!(&outcome, Outcome::Refused("Encode", message) if message.contains(key)),
            "{input}: {outcome:?}"
        );
    }
    let typed_cases = [
        ("visits: i32", json!({"visits": 2_147_483_648_i64})),
        ("visits: i32", json!({"visits": "3"})),
        ("small: Option<i16>", json!({"small": 40_000, "visits": 1})),
        ("ratio: Option<f64>", json!({"ratio": "0.5", "visits": 1})),
        ("ratio: Option<f64>", json!({"ratio": 1, "visits": 1})),
        ("weight: Option<f32>", json!({"weight": 1e300, "visits": 1})),
        ("weight: Option<f32>", json!({"weight": 0.1, "visits": 1})),
        ("flag: Option<bool>", json!({"flag": 1, "visits": 1})),
        ("blob: Option<Vec<u8>>", json!({"blob": [256], "visits": 1})),
        (
            "blob: Option<Vec<u8>>",
            json!({"blob": "bytes", "visits": 1}),
        ),
        (
            "seen_at: Option<OffsetDateTime>",
            json!({"seen_at": "2024-01-01T00:00:00Z", "visits": 1}),
        ),
        ("agent: Option<String>", json!({"agent": 5, "visits": 1})),
        (
            "user_id (axum-login.data/user_id)",
            json!({"axum-login.data": {"user_id": "7"}, "visits": 1}),
        ),
    ];
    for (field, data) in typed_cases {
        let input = format!("`{field}` ← `{data}`");
        let outcome = attempt(&typed, &typed_row, map(data)).await;
        report(T::KIND, &input, &outcome);
        let name = field.split(':').next().unwrap().split(' ').next().unwrap();
        assert!(
            matches!(&outcome, Outcome::Refused("Encode", message) if message.contains(name)),
            "{input}: {outcome:?}"
        );
    }
    // An indexed text column is VARCHAR(255) on MySQL only.
    let input = "`agent: Option<String>` (indexed) ← 300 characters";
    let outcome = attempt(
        &typed,
        &typed_row,
        map(json!({"agent": long_agent, "visits": 1})),
    )
    .await;
    report(T::KIND, input, &outcome);
    if T::KIND == Kind::Mysql {
        assert!(
            matches!(&outcome, Outcome::Refused("Encode", message) if message.contains("agent") && message.contains("255")),
            "{outcome:?}"
        );
    } else {
        assert_eq!(outcome, Outcome::RoundTrip);
    }
}

async fn u0000_is_refused_by_postgres_and_round_trips_elsewhere<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, typed) = stores::<T>(&db.url).await;
    let mut app_row = record(json!({"user_id": 1, "optional": "kept"}));
    store.create(&mut app_row).await.unwrap();
    let mut typed_row = record(json!({"visits": 1}));
    typed.create(&mut typed_row).await.unwrap();
    let app_cases = [
        (
            "a string in `data` holding U+0000",
            json!({"note": "a\u{0}b"}),
        ),
        ("a key holding U+0000", json!({"k\u{0}ey": 1})),
        ("U+0000 deep in `data`", json!({"list": [{"x": ["\u{0}"]}]})),
        (
            "a typed text column (`optional`) holding U+0000",
            json!({"optional": "\u{0}"}),
        ),
    ];
    let typed_cases = [
        (
            "an indexed text column (`agent`) holding U+0000",
            json!({"agent": "curl\u{0}", "visits": 1}),
        ),
        (
            "a typed JSON column (`prefs`) holding U+0000",
            json!({"prefs": {"a\u{0}": "\u{0}"}, "visits": 1}),
        ),
    ];
    let mut outcomes = Vec::new();
    for (input, data) in app_cases {
        outcomes.push((input, attempt(&store, &app_row, map(data)).await));
    }
    for (input, data) in typed_cases {
        outcomes.push((input, attempt(&typed, &typed_row, map(data)).await));
    }
    // Bytes that are no UTF-8 have a binary column to go to.
    let input = "a typed bytes column (`blob`) holding bytes that are not UTF-8 (and 0x00)";
    let outcome = attempt(
        &typed,
        &typed_row,
        map(json!({"blob": [0xff, 0xfe, 0xc3, 0x28, 0], "visits": 1})),
    )
    .await;
    report(T::KIND, input, &outcome);
    assert_eq!(outcome, Outcome::RoundTrip, "{input}");
    for (input, outcome) in outcomes {
        report(T::KIND, input, &outcome);
        if T::KIND == Kind::Postgres {
            assert!(
                matches!(&outcome, Outcome::Refused("Encode", message) if message.contains("U+0000")),
                "{input}: {outcome:?}"
            );
        } else {
            assert_eq!(outcome, Outcome::RoundTrip, "{input}");
        }
    }
}

async fn numbers_at_the_edges_round_trip<T: ReservedNames>(db: TestDatabase) {
    let (store, typed) = stores::<T>(&db.url).await;
    let mut app_row = record(json!({"user_id": 1}));
    store.create(&mut app_row).await.unwrap();
    let mut typed_row = record(json!({"visits": 1}));
    typed.create(&mut typed_row).await.unwrap();
    let order = OrderStore::<T>::connect(&db.url).unwrap();
    order.migrate().await.unwrap();
    let mut order_row = record(json!({"big": 1}));
    order.create(&mut order_row).await.unwrap();

    let floats = [
        ("f64::MAX", f64::MAX),
        ("f64::MIN", f64::MIN),
        ("f64::MIN_POSITIVE", f64::MIN_POSITIVE),
        ("the smallest subnormal f64", 5e-324),
        ("-0.0", -0.0),
        ("0.1", 0.1),
        ("1e-300", 1e-300),
        ("3.5e17", 3.5e17),
        ("1.0", 1.0),
        ("2^53 + 2 as a float", 9_007_199_254_740_994.0),
    ];
    let mut outcomes = Vec::new();
    for (name, value) in [
        ("u64::MAX", json!(u64::MAX)),
        ("i64::MIN", json!(i64::MIN)),
        ("i64::MAX", json!(i64::MAX)),
        ("2^53 + 1", json!(9_007_199_254_740_993_u64)),
    ] {
        let outcome = attempt(&store, &app_row, map(json!({"n": value, "in": [value]}))).await;
        outcomes.push((format!("{name} in `data`"), outcome));
    }
    for (name, value) in floats {
        let outcome = attempt(
            &store,
            &app_row,
            map(json!({"x": value, "in": {"x": [value]}})),
        )
        .await;
        outcomes.push((format!("{name} in `data`"), outcome));
        let outcome = attempt(
            &typed,
            &typed_row,
            map(json!({"ratio": value, "visits": 1})),
        )
        .await;
        outcomes.push((format!("{name} in `ratio: Option<f64>`"), outcome));
        let outcome = attempt(
            &typed,
            &typed_row,
            map(json!({"prefs": {"x": value}, "visits": 1})),
        )
        .await;
        outcomes.push((
            format!("{name} in `prefs: Option<serde_json::Value>`"),
            outcome,
        ));
    }
    for (name, value) in [
        ("f32::MAX", f32::MAX),
        ("f32::MIN_POSITIVE", f32::MIN_POSITIVE),
        ("the smallest subnormal f32", f32::from_bits(1)),
        ("-0.0f32", -0.0_f32),
        ("0.1f32", 0.1_f32),
    ] {
        let outcome = attempt(
            &typed,
            &typed_row,
            map(json!({"weight": value, "visits": 1})),
        )
        .await;
        outcomes.push((format!("{name} in `weight: Option<f32>`"), outcome));
    }
    for (name, data) in [
        (
            "i32::MIN, i32::MAX",
            json!({"visits": i32::MIN, "prefs": i32::MAX}),
        ),
        ("i16::MIN", json!({"small": i16::MIN, "visits": i32::MAX})),
        ("i16::MAX", json!({"small": i16::MAX, "visits": 0})),
    ] {
        let outcome = attempt(&typed, &typed_row, map(data)).await;
        outcomes.push((format!("{name} in typed integer columns"), outcome));
    }
    // What a typed timestamp column keeps: the instant in UTC.
    // Nanoseconds are refused where the column keeps
    // microseconds (every backend but SQLite).
    let kept = |at: OffsetDateTime| serde_json::to_value(at.to_offset(UtcOffset::UTC)).unwrap();
    let refused_nanoseconds =
        |input: &str| T::KIND != Kind::Sqlite && input.starts_with("a timestamp in nanoseconds");
    let mut stored_timestamps = Vec::new();
    let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    for (name, value) in [
        (
            "a UTC timestamp in microseconds",
            at + Duration::microseconds(123_456),
        ),
        (
            "a timestamp in nanoseconds",
            at + Duration::nanoseconds(123_456_789),
        ),
        (
            "a timestamp at +02:00",
            at.to_offset(UtcOffset::from_hms(2, 0, 0).unwrap()),
        ),
        (
            "the year 9999",
            OffsetDateTime::new_utc(
                Date::from_calendar_date(9999, Month::December, 31).unwrap(),
                Time::MIDNIGHT,
            ),
        ),
        (
            "the year 1",
            OffsetDateTime::new_utc(
                Date::from_calendar_date(1, Month::January, 1).unwrap(),
                Time::MIDNIGHT,
            ),
        ),
    ] {
        let input = serde_json::to_value(value).unwrap();
        let outcome = attempt(
            &typed,
            &typed_row,
            map(json!({"seen_at": input, "visits": 1})),
        )
        .await;
        let name = format!("{name} in `seen_at: Option<OffsetDateTime>`");
        stored_timestamps.push((name.clone(), kept(value)));
        outcomes.push((name, outcome));
    }
    for (name, value) in [("i64::MIN", i64::MIN), ("i64::MAX", i64::MAX)] {
        let outcome = attempt(&order, &order_row, map(json!({"big": value}))).await;
        outcomes.push((format!("{name} in `big: Option<i64>`"), outcome));
    }
    let mut failures = Vec::new();
    for (input, outcome) in &outcomes {
        report(T::KIND, input, outcome);
        let zero = input.starts_with("-0.0");
        let accepted = match outcome {
            Outcome::RoundTrip => true,
            // PostgreSQL's numeric has no negative zero, nor do
            // SQLite's REAL and MySQL's DOUBLE and FLOAT.
            Outcome::RoundTripButZeroSign => zero,
            // A typed timestamp column keeps the same instant,
            // in UTC: another offset loads as UTC.
            Outcome::Changed(_, loaded) => {
                !refused_nanoseconds(input)
                    && stored_timestamps
                        .iter()
                        .any(|(name, kept)| name == input && loaded.get("seen_at") == Some(kept))
            }
            Outcome::Refused("Encode", _) => refused_nanoseconds(input),
            Outcome::Refused(..) => false,
        };
        if !accepted {
            failures.push(format!("{input}: {outcome:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

async fn deep_nesting_round_trips_or_is_refused_before_anything_is_stored<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, typed) = stores::<T>(&db.url).await;
    let mut app_row = record(json!({"user_id": 1, "shallow": [1]}));
    store.create(&mut app_row).await.unwrap();
    let mut typed_row = record(json!({"visits": 1}));
    typed.create(&mut typed_row).await.unwrap();
    // MariaDB's JSON stops at 31 levels, serde_json's parser at
    // 127; `levels` counts every container, the map included.
    let limit = if T::KIND == Kind::Mysql { 31 } else { 127 };
    for levels in [31, 32, 100, 127, 128, 1_000] {
        let outcomes = [
            (
                "`data`",
                attempt(&store, &app_row, map(json!({"deep": nested(levels - 1)}))).await,
            ),
            (
                "`prefs: Option<Value>`",
                attempt(
                    &typed,
                    &typed_row,
                    map(json!({"prefs": nested(levels - 1), "visits": 1})),
                )
                .await,
            ),
        ];
        for (place, outcome) in outcomes {
            report(
                T::KIND,
                &format!("{place} nested {levels} levels deep"),
                &outcome,
            );
            if levels <= limit {
                assert_eq!(outcome, Outcome::RoundTrip, "{levels} levels in {place}");
            } else {
                assert!(
                    matches!(&outcome, Outcome::Refused("Encode", m) if m.contains(&format!("{limit} levels"))),
                    "{levels} levels in {place}: {outcome:?}"
                );
            }
        }
    }
}

async fn sessions_of_many_mebibytes<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let mut app_row = record(json!({"user_id": 1}));
    store.create(&mut app_row).await.unwrap();
    // The default limit, 1 MiB, refuses before anything is sent.
    let over = map(json!({"blob": "x".repeat(1 << 20), "user_id": 2}));
    let outcome = attempt(&store, &app_row, over).await;
    report(T::KIND, "a 1 MiB session under the default limit", &outcome);
    assert!(
        matches!(&outcome, Outcome::Refused("Encode", m)
            if m.contains("bytes as JSON, more than the store's limit of 1048576 bytes")),
        "{outcome:?}"
    );
    let store = store.with_max_session_bytes(64 << 20);
    // Above MariaDB's default `max_allowed_packet` (16 MiB) on
    // MySQL only: elsewhere it is the same as 6 MiB, and slow.
    let sizes: &[usize] = if T::KIND == Kind::Mysql {
        &[6, 17]
    } else {
        &[6]
    };
    for &mebibytes in sizes {
        let data = map(json!({"blob": "x".repeat(mebibytes << 20), "user_id": 2}));
        let outcome = attempt(&store, &app_row, data).await;
        report(
            T::KIND,
            &format!("a {mebibytes} MiB session under a 64 MiB limit"),
            &outcome,
        );
        if mebibytes > 16 {
            assert!(
                matches!(&outcome, Outcome::Refused("Backend", m) if m.contains("max_allowed_packet")),
                "{outcome:?}"
            );
        } else {
            assert_eq!(outcome, Outcome::RoundTrip, "{mebibytes} MiB");
        }
    }
    // The store keeps working.
    assert!(store.load(&app_row.id).await.unwrap().is_some());
}

async fn keys_that_collide_with_a_typed_column_path<T: BackendSchema>(db: TestDatabase) {
    let (_, typed) = stores::<T>(&db.url).await;
    let mut typed_row =
        record(json!({"axum-login.data": {"user_id": 1, "auth_hash": [1]}, "visits": 1}));
    typed.create(&mut typed_row).await.unwrap();
    let exact = [
        json!({"axum-login.data": "a string where an object holds user_id", "visits": 1}),
        json!({"axum-login.data": [1, 2], "visits": 1}),
        json!({"axum-login.data": null, "visits": 1}),
        json!({"axum-login.data": {}, "visits": 1}),
        json!({"axum-login.data": {"user_id": 2, "user_id/x": 3}, "visits": 1}),
        json!({"axum-login.data/user_id": 1, "visits": 1}),
        json!({"user_agent": "the column's name as a key", "visits": 1}),
    ];
    for data in exact {
        let outcome = attempt(&typed, &typed_row, map(data.clone())).await;
        report(
            T::KIND,
            &format!("`{data}` (a key on the path of `axum-login.data/user_id`)"),
            &outcome,
        );
        assert_eq!(outcome, Outcome::RoundTrip, "{data}");
    }
    let data = json!({"axum-login.data": {"user_id": {"id": 1}}, "visits": 1});
    let outcome = attempt(&typed, &typed_row, map(data.clone())).await;
    report(T::KIND, &format!("`{data}`"), &outcome);
    assert!(
        matches!(&outcome, Outcome::Refused("Encode", m) if m.contains("user_id")),
        "{outcome:?}"
    );
}

async fn a_foreign_key_to_no_user_is_a_backend_error_storing_nothing<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, typed) = stores::<T>(&db.url).await;
    let mut app_row = record(json!({"user_id": 1, "kept": true}));
    store.create(&mut app_row).await.unwrap();
    let mut typed_row = record(json!({"axum-login.data": {"user_id": 1}, "visits": 1}));
    typed.create(&mut typed_row).await.unwrap();
    let outcomes = [
        (
            "`user_id` ← 999 (no such user)",
            attempt(&store, &app_row, map(json!({"user_id": 999}))).await,
        ),
        (
            "`user_id` ← -1 (no such user)",
            attempt(&store, &app_row, map(json!({"user_id": -1}))).await,
        ),
        (
            "`axum-login.data/user_id` ← 999 (no such user)",
            attempt(
                &typed,
                &typed_row,
                map(json!({"axum-login.data": {"user_id": 999}})),
            )
            .await,
        ),
    ];
    for (input, outcome) in outcomes {
        report(T::KIND, input, &outcome);
        assert!(
            matches!(&outcome, Outcome::Refused("Backend", m)
                if m.starts_with("session references a missing row: ")
                    && m.to_lowercase().contains("foreign key")),
            "{input}: {outcome:?}"
        );
    }
}

async fn reserved_words_as_table_column_and_key_names<T: ReservedNames>(db: TestDatabase) {
    let quoted = match T::KIND {
        Kind::Mysql => ["`order`", "`select`", "`user`", "`group`"],
        _ => ["\"order\"", "\"select\"", "\"user\"", "\"group\""],
    };
    let order_sql = OrderStore::<T>::migration().up();
    let user_sql = UserSessionStore::<T>::migration().up();
    assert!(
        order_sql.contains(&format!("CREATE TABLE IF NOT EXISTS {}", quoted[0])),
        "{order_sql}"
    );
    assert!(
        order_sql.contains(&format!("{} ", quoted[1])),
        "{order_sql}"
    );
    assert!(
        user_sql.contains(&format!("CREATE TABLE IF NOT EXISTS {}", quoted[2])),
        "{user_sql}"
    );
    assert!(user_sql.contains(&format!("{} ", quoted[3])), "{user_sql}");

    let order = OrderStore::<T>::connect(&db.url).unwrap();
    let user = UserSessionStore::<T>::connect(&db.url).unwrap();
    order.migrate().await.unwrap();
    order.migrate().await.unwrap();
    user.migrate().await.unwrap();

    let mut first = record(json!({"user_id": 1, "from": "laptop", "big": 7, "where": "a key"}));
    order.create(&mut first).await.unwrap();
    let mut second = record(json!({"user_id": 1, "from": "phone"}));
    order.create(&mut second).await.unwrap();
    assert_eq!(
        order.load(&first.id).await.unwrap().unwrap().data,
        first.data
    );
    first.data.insert("from".into(), json!("desktop"));
    order.save(&first).await.unwrap();
    assert_eq!(
        order.load(&first.id).await.unwrap().unwrap().data,
        first.data
    );
    let listed = order
        .list_by(T::ORDER_SELECT, &"desktop".to_owned())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let fields: OrderFields = listed[0].fields.clone().into();
    assert_eq!(
        fields,
        OrderFields {
            user_id: Some(1),
            select: Some("desktop".into()),
            big: Some(7)
        }
    );
    assert_eq!(order.count_by(T::ORDER_USER_ID, &1).await.unwrap(), 2);
    order.delete(&first.id).await.unwrap();
    assert_eq!(order.load(&first.id).await.unwrap(), None);
    assert_eq!(order.revoke_by(T::ORDER_USER_ID, &1).await.unwrap(), 1);
    assert_eq!(order.count().await.unwrap(), 0);
    order.delete_expired_sessions().await.unwrap();

    let mut session = record(json!({"group": 3}));
    user.create(&mut session).await.unwrap();
    assert_eq!(
        user.load(&session.id).await.unwrap().unwrap().data,
        session.data
    );
    user.delete(&session.id).await.unwrap();
    assert_eq!(user.count().await.unwrap(), 0);
    assert_eq!(user.clear().await.unwrap(), 0);
    report(
        T::KIND,
        "tables `order` and `user`, column `select`, key `from`",
        &Outcome::RoundTrip,
    );
}
