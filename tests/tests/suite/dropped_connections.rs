//! The server drops every pooled connection (`pg_terminate_backend`,
//! MariaDB's `KILL`): no operation that is safe to run again fails, and the
//! hot path pays no extra round trip for it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts the store's "connection lost" events: statements that ran again
/// on a new connection.
#[derive(Clone, Default)]
pub struct LostConnections(Arc<AtomicUsize>);

impl LostConnections {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

struct Message(Option<String>);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl tracing::Subscriber for LostConnections {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut message = Message(None);
        event.record(&mut message);
        if message
            .0
            .is_some_and(|text| text.starts_with("session connection lost"))
        {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

mod servers {
    use std::time::Duration;

    use diesel_async::{
        AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, SimpleAsyncConnection,
    };
    use serde_json::json;
    use session_runtime::PoolOptions;
    use session_tests::{stores, AppStore, BackendSchema, Kind, TestDatabase};
    use tower_sessions::session::Record;
    use tower_sessions::session_store::SessionStore;

    use super::LostConnections;
    use crate::common::record;

    tests_on_servers!(
        no_safe_operation_fails_after_the_server_drops_every_connection,
        idle_validation_catches_dropped_connections_before_use,
    );

    /// The store's URL, tagged so that its connections can be found on the
    /// server among those of other tests.
    fn tagged(db: &TestDatabase, tag: &str) -> String {
        match db.kind {
            Kind::Postgres => format!("{}&application_name={tag}", db.url),
            _ => db.url.clone(),
        }
    }

    /// Has the server drop every connection of the store; returns how many
    /// it dropped.
    async fn drop_all(db: &TestDatabase, tag: &str) -> usize {
        match db.kind {
            Kind::Postgres => {
                let mut admin = AsyncPgConnection::establish(&db.url).await.unwrap();
                let killed: Vec<bool> = diesel_async::RunQueryDsl::load(
                    diesel::sql_query(format!(
                        "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
                         WHERE application_name = '{tag}'"
                    )),
                    &mut admin,
                )
                .await
                .map(|rows: Vec<Killed>| rows.into_iter().map(|row| row.killed).collect())
                .unwrap();
                killed.len()
            }
            _ => {
                let mut admin = AsyncMysqlConnection::establish(&db.url).await.unwrap();
                let ids: Vec<ProcessId> = diesel_async::RunQueryDsl::load(
                    diesel::sql_query(
                        "SELECT id FROM information_schema.processlist \
                         WHERE db = DATABASE() AND id <> CONNECTION_ID()",
                    ),
                    &mut admin,
                )
                .await
                .unwrap();
                for process in &ids {
                    // A connection may close between the listing and its
                    // `KILL`; it is gone either way.
                    if let Err(error) = admin.batch_execute(&format!("KILL {}", process.id)).await {
                        assert!(
                            error.to_string().contains("Unknown thread id"),
                            "KILL {}: {error}",
                            process.id
                        );
                    }
                }
                ids.len()
            }
        }
    }

    #[derive(diesel::QueryableByName)]
    struct Killed {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        killed: bool,
    }

    #[derive(diesel::QueryableByName)]
    struct ProcessId {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }

    async fn no_safe_operation_fails_after_the_server_drops_every_connection<T: BackendSchema>(
        db: TestDatabase,
    ) {
        // No idle validation: every dead connection is met by a statement,
        // and the statement runs again.
        let lost = drop_every_connection_three_times::<T>(&db, None, 0).await;
        if T::KIND == Kind::Mysql {
            // mysql_async cannot tell a killed connection until it writes
            // to it.
            assert!(lost > 0, "{lost}");
        }
    }

    async fn idle_validation_catches_dropped_connections_before_use<T: BackendSchema>(
        db: TestDatabase,
    ) {
        // Validation after 50 ms idle, and 200 ms between the drop and the
        // requests: the pool pings and replaces every dead connection, and
        // no statement is sent on one.
        let lost =
            drop_every_connection_three_times::<T>(&db, Some(Duration::from_millis(50)), 200).await;
        assert_eq!(lost, 0);
    }

    /// Three rounds of: open connections, have the server drop them all,
    /// wait `pause` ms, and run loads, saves and creates at once; nothing
    /// may fail. How many statements ran again.
    async fn drop_every_connection_three_times<T: BackendSchema>(
        db: &TestDatabase,
        validate_after_idle: Option<Duration>,
        pause: u64,
    ) -> usize {
        stores::<T>(&db.url).await;
        let lost = LostConnections::default();
        let _guard = tracing::subscriber::set_default(lost.clone());
        let tag = format!("dropped_{:08x}", rand::random::<u32>());
        let options = PoolOptions::default().with_validate_after_idle(validate_after_idle);
        let store = AppStore::<T>::connect_with(&tagged(db, &tag), &options).unwrap();
        let mut sessions: Vec<Record> = Vec::new();
        for n in 0..8 {
            let mut session = record(json!({"n": n, "user_id": 1}));
            store.create(&mut session).await.unwrap();
            sessions.push(session);
        }
        for round in 0..3 {
            // Open several connections, all idle in the pool.
            let loads = sessions.iter().map(|session| store.load(&session.id));
            for loaded in futures_join(loads).await {
                assert!(loaded.unwrap().is_some());
            }
            let dropped = drop_all(db, &tag).await;
            assert!(dropped >= 2, "round {round}: dropped {dropped}");
            tokio::time::sleep(Duration::from_millis(pause)).await;

            let loads = sessions.iter().map(|session| store.load(&session.id));
            let saves = sessions.iter().map(|session| store.save(session));
            let mut fresh: Vec<Record> = (0..4).map(|n| record(json!({"fresh": n}))).collect();
            let creates = fresh.iter_mut().map(|session| store.create(session));
            let (loaded, saved, created) = tokio::join!(
                futures_join(loads),
                futures_join(saves),
                futures_join(creates)
            );
            let mut failures: Vec<String> = Vec::new();
            for result in loaded {
                match result {
                    Ok(Some(_)) => {}
                    other => failures.push(format!("load: {other:?}")),
                }
            }
            for (operation, results) in [("save", saved), ("create", created)] {
                failures.extend(results.into_iter().filter_map(|result| {
                    result.err().map(|error| format!("{operation}: {error}"))
                }));
            }
            assert!(failures.is_empty(), "round {round}: {failures:#?}");
            // Each create wrote one row, and no other.
            for session in &fresh {
                assert!(store.load(&session.id).await.unwrap().is_some());
            }
            assert_eq!(store.count().await.unwrap(), 8 + 4 * (round + 1));
            // Deletes and counts, right after another drop.
            drop_all(db, &tag).await;
            tokio::time::sleep(Duration::from_millis(pause)).await;
            store.delete(&fresh[0].id).await.unwrap();
            store.create(&mut fresh[0]).await.unwrap();
        }
        lost.count()
    }

    /// The outputs of `futures`, run concurrently on this task: each on a
    /// task of its own would need them `'static`.
    async fn futures_join<F: std::future::Future>(
        futures: impl Iterator<Item = F>,
    ) -> Vec<F::Output> {
        let mut pinned: Vec<_> = futures.map(Box::pin).collect();
        let mut done: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (future, slot) in pinned.iter_mut().zip(done.iter_mut()) {
                if slot.is_none() {
                    match future.as_mut().poll(cx) {
                        std::task::Poll::Ready(output) => *slot = Some(output),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        done.into_iter().flatten().collect()
    }
}
