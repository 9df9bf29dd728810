//! No session value or key in any error: every bad value of the bad-input
//! suite, with a marker inside the value (and inside the key where the key
//! is what is bad), is saved and created, and each error's `Display` and
//! `Debug` are searched for the marker.

use serde_json::{json, Value};
use session_runtime::backend::Backend;
use session_runtime::{DieselStore, SessionTable};
use session_tests::{stores, BackendSchema, TestDatabase};
use tower_sessions::session::Record;
use tower_sessions::SessionStore as _;

use crate::common::{map, record};

/// What no error may quote.
const MARKER: &str = "QX7MARKER";

/// A user id no `users` row has, as the marker of a foreign key's value.
const NO_USER: i64 = 731_731_731;

tests_on_every_backend!(no_error_quotes_a_session_value_or_key);

/// Saves `data` over `stored` and creates it afresh; each error, if any,
/// must not quote `marker`.
async fn assert_quiet<S: SessionTable<B>, B: Backend>(
    store: &DieselStore<S, B>,
    stored: &Record,
    data: Value,
    marker: &str,
) -> usize {
    let mut errors = Vec::new();
    let mut changed = stored.clone();
    changed.data = map(data.clone());
    if let Err(error) = store.save(&changed).await {
        errors.push(error);
    }
    let mut fresh = record(data);
    if let Err(error) = store.create(&mut fresh).await {
        errors.push(error);
    }
    for error in &errors {
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(
                !text.contains(marker),
                "an error quotes a session value: {text}"
            );
        }
    }
    errors.len()
}

async fn no_error_quotes_a_session_value_or_key<T: BackendSchema>(db: TestDatabase) {
    let (store, typed) = stores::<T>(&db.url).await;
    let store = store.with_max_session_bytes(64 << 10);
    let mut app_row = record(json!({"user_id": 1, "optional": "kept"}));
    store.create(&mut app_row).await.unwrap();
    let mut typed_row = record(json!({"visits": 1}));
    typed.create(&mut typed_row).await.unwrap();
    let m = MARKER;
    let deep = (0..200).fold(json!(m), |inner, _| Value::Array(vec![inner]));
    let app_cases = [
        json!({"user_id": m}),
        json!({"user_id": [m]}),
        json!({"user_id": {m: 1}}),
        json!({"user_id": {"id": m}}),
        json!({"optional": [m]}),
        json!({"optional": {m: 5}}),
        // U+0000, which PostgreSQL refuses, in a value and in a key.
        json!({"note": format!("{m}\u{0}")}),
        json!({format!("{m}\u{0}"): 1}),
        json!({"nested": {format!("{m}\u{0}"): [m]}}),
        // Deeper than any backend keeps.
        json!({"deep": deep}),
        // Over the store's limit.
        json!({"big": format!("{m}{}", "x".repeat(64 << 10))}),
    ];
    let mut refused = 0;
    for data in app_cases {
        refused += assert_quiet(&store, &app_row, data, MARKER).await;
    }
    let typed_cases = [
        json!({"visits": m}),
        json!({"visits": [m]}),
        json!({"small": m, "visits": 1}),
        json!({"ratio": m, "visits": 1}),
        json!({"flag": m, "visits": 1}),
        json!({"blob": m, "visits": 1}),
        json!({"blob": [m], "visits": 1}),
        json!({"seen_at": format!("2024-01-01T00:00:00Z{m}"), "visits": 1}),
        json!({"agent": [m], "visits": 1}),
        json!({"agent": {m: m}, "visits": 1}),
        json!({"agent": format!("{m}{}", "a".repeat(300)), "visits": 1}),
        json!({"axum-login.data": {"user_id": m}, "visits": 1}),
        json!({"axum-login.data": {"user_id": {m: 1}}, "visits": 1}),
        json!({"axum-login.data": m, "visits": 1}),
    ];
    for data in typed_cases {
        refused += assert_quiet(&typed, &typed_row, data, MARKER).await;
    }
    // A foreign key to no user: the database's own words must not quote
    // the id either.
    let no_user = NO_USER.to_string();
    refused += assert_quiet(&store, &app_row, json!({"user_id": NO_USER}), &no_user).await;
    refused += assert_quiet(
        &typed,
        &typed_row,
        json!({"axum-login.data": {"user_id": NO_USER}, "visits": 1}),
        &no_user,
    )
    .await;
    // 22 of the 27 cases are refused on every backend, both ways: the
    // search above looked at real errors. (U+0000 round-trips outside
    // PostgreSQL, 300 characters outside MySQL, and SQLite keeps deeper
    // nesting.)
    assert!(refused >= 44, "only {refused} errors");
}
