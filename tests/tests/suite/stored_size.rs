//! The size limit holds for the stored row: a partial save merges its keys
//! into whatever `data` holds by then, keys that overlapping requests saved
//! included, and the database refuses a result over the limit with a named
//! `Encode` error, leaving the row as it was.

use std::sync::Arc;

use serde_json::{json, Value};
use session_tests::{stores, BackendSchema, TestDatabase};
use tokio::sync::Barrier;
use tower_sessions::session_store::Error;
use tower_sessions::SessionStore as _;

use crate::common::record;

/// The store's limit in these tests.
const LIMIT: usize = 4096;

/// Overlapping requests, each adding a key that fits alone.
const REQUESTS: usize = 4;

/// Marks the values and keys these tests write, so that an error quoting
/// them is caught.
const MARKER: &str = "SIZEMARK";

tests_on_every_backend_and_pgbouncer!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    overlapping_requests_never_store_more_than_the_limit,
    a_partial_save_takes_exactly_the_sessions_a_whole_save_takes,
);

/// The session's bytes as the limit counts them: compact JSON.
fn size(data: &std::collections::HashMap<String, Value>) -> usize {
    serde_json::to_string(data).unwrap().len()
}

async fn overlapping_requests_never_store_more_than_the_limit<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let store = store.with_max_session_bytes(LIMIT);
    let mut session = record(json!({"base": "kept"}));
    store.create(&mut session).await.unwrap();
    let id = session.id;
    let barrier = Arc::new(Barrier::new(REQUESTS));
    // Each request's own session is a little over half the limit: any two
    // of them merged are over it.
    let value = format!("{MARKER}{}", "v".repeat(LIMIT / 2));
    let requests: Vec<_> = (0..REQUESTS)
        .map(|request| {
            let (store, barrier, value) = (store.clone(), barrier.clone(), value.clone());
            tokio::spawn(async move {
                let mut loaded = store.load(&id).await.unwrap().expect("stored");
                barrier.wait().await;
                loaded
                    .data
                    .insert(format!("{MARKER}{request}"), json!(value));
                assert!(size(&loaded.data) <= LIMIT, "each request fits alone");
                store.save(&loaded).await
            })
        })
        .collect();
    let mut saved = 0;
    for request in requests {
        match request.await.unwrap() {
            Ok(()) => saved += 1,
            Err(Error::Encode(message)) => {
                assert!(
                    message.contains("with_max_session_bytes"),
                    "the error names the limit: {message}"
                );
                assert!(!message.contains(MARKER), "the error quotes: {message}");
            }
            Err(other) => panic!("a refused save is an Encode error, not {other:?}"),
        }
    }
    assert_eq!(saved, 1, "exactly one request's key fits beside the others");

    let stored = store.load(&id).await.unwrap().expect("still loadable");
    assert!(
        size(&stored.data) <= LIMIT,
        "stored {} bytes",
        size(&stored.data)
    );
    assert_eq!(stored.data["base"], json!("kept"));
    assert_eq!(stored.data.len(), 2, "base and the one key that fit");

    // Still savable: a small change, then a swap of the big key for another.
    let mut changed = stored.clone();
    changed.data.insert("after".into(), json!(1));
    store.save(&changed).await.unwrap();
    let mut swapped = store.load(&id).await.unwrap().expect("stored");
    assert_eq!(swapped.data["after"], json!(1));
    swapped.data.retain(|key, _| !key.starts_with(MARKER));
    swapped.data.insert("other".into(), json!(value));
    store.save(&swapped).await.unwrap();
    let last = store.load(&id).await.unwrap().expect("stored");
    assert_eq!(last.data, swapped.data);
    assert!(size(&last.data) <= LIMIT);
}

/// The guard counts the stored `data` as the database prints it, and the
/// typed values as the limit does: a session of exactly the limit, its
/// last key added by a partial save, is stored, one byte more is not.
async fn a_partial_save_takes_exactly_the_sessions_a_whole_save_takes<T: BackendSchema>(
    db: TestDatabase,
) {
    let (_, typed) = stores::<T>(&db.url).await;
    let typed = typed.with_max_session_bytes(LIMIT);
    // Many keys, nested, so that a database's spaces after `:` and `,`
    // add up; `visits` is a typed column.
    let items: Vec<Value> = (0..40).map(|i| json!({"a": i, "b": [i, "x"]})).collect();
    let mut session = record(json!({"visits": 3, "items": items, "s": "text"}));
    typed.create(&mut session).await.unwrap();
    for (extra, fits) in [(1, false), (0, true)] {
        let mut loaded = typed.load(&session.id).await.unwrap().expect("stored");
        loaded.data.insert("last".into(), json!(""));
        let missing = LIMIT - size(&loaded.data);
        loaded
            .data
            .insert("last".into(), json!("y".repeat(missing + extra)));
        assert_eq!(size(&loaded.data), LIMIT + extra);
        match typed.save(&loaded).await {
            Ok(()) => assert!(fits, "{} bytes were stored", LIMIT + extra),
            Err(Error::Encode(message)) => {
                assert!(!fits, "exactly the limit was refused: {message}");
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    let stored = typed.load(&session.id).await.unwrap().expect("stored");
    assert_eq!(size(&stored.data), LIMIT);
}
