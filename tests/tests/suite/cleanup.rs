//! The background cleanup: it deletes a backlog in bounded batches, leaves
//! live sessions alone, stops on request, and keeps going through a
//! database outage.

use crate::common::record;

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::json;
use session_runtime::CleanupOptions;
use session_tests::TestDatabase;
use session_tests::{stores, AppStore, BackendSchema};
use time::OffsetDateTime;
use tower_sessions::session::Record;
use tower_sessions::session_store::SessionStore;

/// Polls `done` until it holds, failing after `limit`.
pub async fn eventually<F: Future<Output = bool>>(
    limit: Duration,
    what: &str,
    mut done: impl FnMut() -> F,
) {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

tests_on_every_backend!(
    deletes_a_backlog_in_bounded_batches_and_stops,
    its_cancellation_token_and_its_drop_stop_it,
);

/// `n` sessions that expired a minute ago.
async fn expired<T: BackendSchema>(store: &AppStore<T>, n: usize) {
    for i in 0..n {
        let mut session = record(json!({"n": i}));
        session.expiry_date = OffsetDateTime::now_utc() - time::Duration::minutes(1);
        store.create(&mut session).await.unwrap();
    }
}

async fn live<T: BackendSchema>(store: &AppStore<T>) -> Record {
    let mut session = record(json!({"live": true}));
    store.create(&mut session).await.unwrap();
    session
}

async fn deletes_a_backlog_in_bounded_batches_and_stops<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    expired::<T>(&store, 250).await;
    let kept = live::<T>(&store).await;
    // The first batch is one statement of at most 100 rows.
    assert_eq!(store.delete_expired_batch(100).await.unwrap(), 100);
    assert_eq!(T::app_rows(&store).await, 151);

    let cleanup = store.spawn_cleanup(
        CleanupOptions::default()
            .with_batch_size(40)
            .with_batch_pause(Duration::ZERO),
    );
    eventually(Duration::from_secs(20), "the sweep", || async {
        cleanup.stats().sweeps == 1
    })
    .await;
    // 150 rows in batches of 40: three full, one short.
    let stats = cleanup.stats();
    assert_eq!(
        (stats.sweeps, stats.batches, stats.deleted, stats.failures),
        (1, 4, 150, 0)
    );
    assert_eq!(T::app_rows(&store).await, 1);
    // `load` here would be `diesel_async::RunQueryDsl::load`.
    assert!(SessionStore::load(&store, &kept.id)
        .await
        .unwrap()
        .is_some());

    // Waiting out its 60 s interval, it stops at once.
    let stopping = tokio::time::timeout(Duration::from_secs(2), cleanup.stop());
    stopping
        .await
        .expect("stop ends the task without waiting for the interval");
}

async fn its_cancellation_token_and_its_drop_stop_it<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let options = CleanupOptions::default().with_interval(Duration::from_millis(10));

    let cleanup = store.spawn_cleanup(options.clone());
    cleanup.cancellation_token().cancel();
    eventually(
        Duration::from_secs(5),
        "the cancelled task to end",
        || async { cleanup.is_finished() },
    )
    .await;

    // A dropped handle stops its task: expired rows made
    // afterwards stay until someone else deletes them.
    let dropped = store.spawn_cleanup(options);
    drop(dropped);
    tokio::time::sleep(Duration::from_millis(100)).await;
    expired::<T>(&store, 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(T::app_rows(&store).await, 3);
}

/// The outage test, for the servers the fault proxy can cut.
/// Server backends only: a proxy between the store and its server cuts the
/// database away.
mod outage {
    use std::time::Duration;

    use session_runtime::{CleanupOptions, PoolOptions};
    use session_tests::{stores, AppStore, BackendSchema, TestDatabase};
    use tower_sessions::session_store::SessionStore as _;

    use super::{eventually, expired, live};
    use crate::common::{Mode, Proxy};

    tests_on_servers!(keeps_going_through_an_outage);

    async fn keeps_going_through_an_outage<T: BackendSchema>(db: TestDatabase) {
        let (direct, _) = stores::<T>(&db.url).await;
        expired::<T>(&direct, 300).await;
        let kept = live::<T>(&direct).await;

        let (template, upstream) = Proxy::route(&db.url).await;
        let proxy = Proxy::start(upstream).await;
        let options = PoolOptions::default()
            .with_max_size(2)
            .with_retry_budget(Duration::from_millis(300));
        let store = AppStore::<T>::connect_with(&proxy.url(&template), &options).unwrap();
        let cleanup = store.spawn_cleanup(
            CleanupOptions::default()
                .with_interval(Duration::from_millis(50))
                .with_batch_size(5)
                .with_batch_pause(Duration::from_millis(20))
                .with_first_retry(Duration::from_millis(50))
                .with_max_retry(Duration::from_millis(200)),
        );

        // Cut the database in the middle of the sweep.
        eventually(Duration::from_secs(20), "the first batches", || async {
            cleanup.stats().deleted >= 10
        })
        .await;
        proxy.set(Mode::Refuse).await;
        eventually(Duration::from_secs(20), "failures while cut", || async {
            cleanup.stats().failures >= 3
        })
        .await;
        let during = cleanup.stats();
        assert!(during.deleted < 300, "{during:?}");
        assert!(T::app_rows(&direct).await > 1);

        // Back: it resumes by itself and removes the rest.
        proxy.set(Mode::Up).await;
        eventually(
            Duration::from_secs(30),
            "the rest of the backlog",
            || async { cleanup.stats().deleted == 300 },
        )
        .await;
        assert_eq!(T::app_rows(&direct).await, 1);
        assert!(direct.load(&kept.id).await.unwrap().is_some());
        assert!(!cleanup.is_finished());
        cleanup.stop().await;
    }
}
