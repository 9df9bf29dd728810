//! Faults: the database cut away mid-run through a TCP proxy and restored,
//! an exhausted pool, rows corrupted by hand, and SQLite files that cannot
//! be used. Every failure is a timely `Backend` or `Decode` error, and no
//! stored session is lost.

use std::time::{Duration, Instant};

use serde_json::json;
use session_runtime::backend::Backend;
use session_runtime::{DieselStore, Error, IndexedColumn, SessionTable};
use tower_sessions::session::Record;
use tower_sessions::{session_store, ExpiredDeletion as _, SessionStore as _};

use crate::common::{record, where_id};
use session_runtime::PoolOptions;
use session_tests::{stores, AppStore, BackendSchema, TypedStore};
use session_tests::{Kind, TestDatabase};

/// How much later than the pool's timeout a failure may arrive.
const GRACE: Duration = Duration::from_millis(1500);

/// A failed operation: the error kind and its message.
#[derive(Debug)]
struct Failure {
    kind: &'static str,
    message: String,
}

fn from_store(error: session_store::Error) -> Failure {
    match error {
        session_store::Error::Encode(message) => Failure {
            kind: "Encode",
            message,
        },
        session_store::Error::Decode(message) => Failure {
            kind: "Decode",
            message,
        },
        session_store::Error::Backend(message) => Failure {
            kind: "Backend",
            message,
        },
    }
}

fn from_runtime(error: Error) -> Failure {
    from_store(error.into())
}

/// One operation's outcome and duration.
#[derive(Debug)]
struct Step {
    name: &'static str,
    outcome: Result<(), Failure>,
    elapsed: Duration,
}

/// Every operation of the store once. `target` is saved as it is, `victim`
/// is deleted; a session created successfully is returned.
async fn every_operation<S, B, C>(
    store: &DieselStore<S, B>,
    column: C,
    target: &Record,
    victim: &Record,
    hang: Duration,
) -> (Vec<Step>, Option<Record>)
where
    S: SessionTable<B>,
    B: Backend,
    C: IndexedColumn<S, B, Value = i64>,
{
    let mut steps = Vec::new();
    let mut created = None;
    macro_rules! step {
        ($name:literal, $operation:expr) => {{
            let started = Instant::now();
            let outcome = tokio::time::timeout(hang, $operation)
                .await
                .unwrap_or_else(|_| panic!("`{}` hung for {hang:?}", $name));
            steps.push(Step {
                name: $name,
                outcome,
                elapsed: started.elapsed(),
            });
        }};
    }
    step!("create", async {
        let mut fresh = record(json!({"user_id": 2, "made": "during the run"}));
        store.create(&mut fresh).await.map_err(from_store)?;
        created = Some(fresh);
        Ok(())
    });
    step!("load", async {
        store.load(&target.id).await.map(drop).map_err(from_store)
    });
    step!("save", async {
        store.save(target).await.map_err(from_store)
    });
    step!("delete", async {
        store.delete(&victim.id).await.map_err(from_store)
    });
    step!("count", async {
        store.count().await.map(drop).map_err(from_runtime)
    });
    step!("delete_expired", async {
        store.delete_expired().await.map_err(from_store)
    });
    step!("list_by", async {
        store
            .list_by(column, &1)
            .await
            .map(drop)
            .map_err(from_runtime)
    });
    step!("count_by", async {
        store
            .count_by(column, &1)
            .await
            .map(drop)
            .map_err(from_runtime)
    });
    step!("revoke_by", async {
        // User 3 has no sessions here: nothing stored is at stake.
        store
            .revoke_by(column, &3)
            .await
            .map(drop)
            .map_err(from_runtime)
    });
    step!("migrate", async {
        store.migrate().await.map(drop).map_err(from_runtime)
    });
    (steps, created)
}

/// Every step failed with `Backend`, a message, and within the timeout.
fn assert_all_failed(steps: &[Step], timeout: Duration, during: &str) {
    for step in steps {
        let Err(failure) = &step.outcome else {
            panic!("`{}` succeeded {during}", step.name);
        };
        assert_eq!(
            failure.kind, "Backend",
            "`{}` {during}: {failure:?}",
            step.name
        );
        assert!(
            failure.message.to_lowercase().contains("connection"),
            "`{}` {during}: the message does not say what failed: {failure:?}",
            step.name
        );
        assert!(
            step.elapsed <= timeout + GRACE,
            "`{}` {during} took {:?}, past the pool timeout of {timeout:?}",
            step.name,
            step.elapsed
        );
    }
}

fn assert_all_succeeded(steps: &[Step], during: &str) {
    for step in steps {
        if let Err(failure) = &step.outcome {
            panic!("`{}` failed {during}: {failure:?}", step.name);
        }
    }
}

/// Each of `sessions` is stored as it was written, read through `direct`,
/// a store that no fault touched.
async fn assert_all_survive<'a>(
    direct: &impl tower_sessions::SessionStore,
    sessions: impl IntoIterator<Item = &'a tower_sessions::session::Record>,
) {
    for session in sessions {
        let loaded = direct
            .load(&session.id)
            .await
            .unwrap()
            .expect("a stored session survives");
        assert_eq!(loaded.data, session.data);
    }
}

/// Pool exhaustion on any backend: with every connection held, each
/// operation fails after the pool's wait timeout, then all recover.
async fn exhaustion<S, B, C, H>(
    store: DieselStore<S, B>,
    column: C,
    timeout: Duration,
    [mut target, victim]: [Record; 2],
    held: H,
) where
    S: SessionTable<B>,
    B: Backend,
    C: IndexedColumn<S, B, Value = i64>,
{
    target.data.insert("v".into(), json!(2));
    let (steps, _) = every_operation(&store, column, &target, &victim, timeout * 10).await;
    assert_all_failed(&steps, timeout, "with the pool exhausted");
    for step in &steps {
        assert!(
            step.elapsed + Duration::from_millis(50) >= timeout,
            "`{}` failed before the pool timeout: {:?}",
            step.name,
            step.elapsed
        );
        let message = &step.outcome.as_ref().unwrap_err().message;
        assert!(
            message.contains("Timeout") && message.contains("connection"),
            "{message}"
        );
    }
    drop(held);

    // Nothing changed meanwhile.
    let loaded = store.load(&target.id).await.unwrap().unwrap();
    assert_eq!(loaded.data.get("v"), Some(&json!(1)));
    assert!(store.load(&victim.id).await.unwrap().is_some());

    let (steps, _) = every_operation(&store, column, &target, &victim, timeout * 10).await;
    assert_all_succeeded(&steps, "once connections were released");
    assert_eq!(
        store.load(&target.id).await.unwrap().unwrap().data,
        target.data
    );
    assert_eq!(store.load(&victim.id).await.unwrap(), None);

    // Many more requests than connections all get through, in turn.
    let loads = (0..64).map(|_| {
        let store = store.clone();
        let id = target.id;
        tokio::spawn(async move { store.load(&id).await })
    });
    for load in loads {
        assert!(load.await.unwrap().unwrap().is_some());
    }
}

tests_on_every_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    pool_exhaustion_is_a_timely_error_not_a_deadlock,
    a_row_corrupted_by_hand_is_a_decode_error_for_that_session_alone,
    a_corrupted_row_starts_over_when_the_store_says_so,
);

async fn pool_exhaustion_is_a_timely_error_not_a_deadlock<T: BackendSchema>(db: TestDatabase) {
    stores::<T>(&db.url).await;
    let timeout = Duration::from_millis(150);
    let options = PoolOptions::default()
        .with_max_size(2)
        .with_retry_budget(timeout);
    let store = AppStore::<T>::connect_with(&db.url, &options).unwrap();
    let mut target = record(json!({"user_id": 1, "v": 1}));
    store.create(&mut target).await.unwrap();
    let mut victim = record(json!({"user_id": 1, "v": "victim"}));
    store.create(&mut victim).await.unwrap();
    // Every connection, held as stuck requests would.
    let held = (
        store.connection().await.unwrap(),
        store.connection().await.unwrap(),
    );
    exhaustion(store, T::APP_USER_ID, timeout, [target, victim], held).await;
}

/// Raw SQL that corrupts one row, the table it is on, and
/// whether the row then reads as expired rather than broken.
struct Corruption {
    what: &'static str,
    typed: bool,
    sql: String,
    expired: bool,
}

fn corruptions(kind: Kind, id: tower_sessions::session::Id) -> Vec<Corruption> {
    let at = where_id(kind, id);
    let app = |what, set: &str| Corruption {
        what,
        typed: false,
        sql: format!("UPDATE http_sessions SET {set} WHERE {at}"),
        expired: false,
    };
    let typed = |what, set: &str| Corruption {
        what,
        typed: true,
        sql: format!("UPDATE typed_sessions SET {set} WHERE {at}"),
        expired: false,
    };
    let expired = |what, set: &str| Corruption {
        expired: true,
        ..app(what, set)
    };
    let mut list = vec![
        app("data is an array", "data = '[1, 2]'"),
        app("data is a string", "data = '\"text\"'"),
        app("data holds a number past f64", "data = '{\"x\": 1e400}'"),
        typed(
            "a nested column's parent key is no object",
            "data = '{\"axum-login.data\": \"text\"}', user_id = 1",
        ),
    ];
    match kind {
        Kind::Sqlite => list.extend([
            app("data is not JSON", "data = 'not json'"),
            app("data is not UTF-8", "data = CAST(X'7B22C3' AS TEXT)"),
            // `{"a":"` 0xC3 `"}`: complete JSON but for one byte,
            // which must not load as U+FFFD.
            app(
                "a string in data is not UTF-8",
                "data = CAST(X'7B2261223A22C3227D' AS TEXT)",
            ),
            app(
                "a text column is not UTF-8",
                "optional = CAST(X'C328' AS TEXT)",
            ),
            typed("a timestamp column holds words", "seen_at = 'yesterday'"),
            typed("a JSON column is not JSON", "prefs = '{oops'"),
            // Compared as TEXT, later than every number; read
            // as a number, 1970.
            expired("expiry_date is a word", "expiry_date = 'soon'"),
            expired(
                "expiry_date is a date in text",
                "expiry_date = datetime('now', '+1 day')",
            ),
        ]),
        Kind::Postgres => list.extend([
            typed("a timestamp column holds infinity", "seen_at = 'infinity'"),
            app("expiry_date is infinity", "expiry_date = 'infinity'"),
        ]),
        Kind::Mysql => list.extend([
            app(
                "data is not JSON (CHECK constraints off)",
                "data = 'not json'",
            ),
            typed(
                "a datetime column holds the zero date",
                "seen_at = '0000-00-00 00:00:00'",
            ),
        ]),
    }
    list
}

/// Stores one session in both tables under one id, then applies
/// corruption `index` to it by hand; gives the case and the id.
async fn stored_and_corrupted<T: BackendSchema>(
    db: &TestDatabase,
    store: &AppStore<T>,
    typed: &TypedStore<T>,
    index: usize,
) -> (Corruption, tower_sessions::session::Id) {
    let mut broken = record(json!({"user_id": 1, "optional": "o", "n": index}));
    let seen_at = serde_json::to_value(time::OffsetDateTime::UNIX_EPOCH).unwrap();
    let data = json!({"axum-login.data": {"user_id": 1}, "visits": 1, "seen_at": seen_at});
    let mut broken_typed = record(data);
    broken_typed.id = broken.id;
    store.create(&mut broken).await.unwrap();
    typed.create(&mut broken_typed).await.unwrap();
    let case = corruptions(T::KIND, broken.id).remove(index);
    let sql = if T::KIND == Kind::Mysql {
        format!(
            "SET SESSION check_constraint_checks = 0; SET SESSION sql_mode = ''; {}",
            case.sql
        )
    } else {
        case.sql.clone()
    };
    db.execute(&sql).await;
    (case, broken.id)
}

async fn a_row_corrupted_by_hand_is_a_decode_error_for_that_session_alone<T: BackendSchema>(
    db: TestDatabase,
) {
    let (store, typed) = stores::<T>(&db.url).await;
    let mut fine = record(json!({"user_id": 1, "note": "fine"}));
    store.create(&mut fine).await.unwrap();
    let mut fine_typed = record(json!({"axum-login.data": {"user_id": 1}, "visits": 2}));
    typed.create(&mut fine_typed).await.unwrap();
    let cases = corruptions(T::KIND, fine.id).len();
    let mut expected_rows = 1;
    for index in 0..cases {
        let (case, id) = stored_and_corrupted::<T>(&db, &store, &typed, index).await;
        let loaded = if case.typed {
            typed.load(&id).await
        } else {
            store.load(&id).await
        };
        match loaded {
            Ok(None) if case.expired => {
                eprintln!(
                    "{:?} corrupted, {}: never served (expired)",
                    T::KIND,
                    case.what
                );
            }
            Err(session_store::Error::Decode(message)) if !case.expired => {
                eprintln!("{:?} corrupted, {}: Decode: {message}", T::KIND, case.what);
                assert!(message.contains("session"), "{message}");
            }
            other => panic!("{}: {other:?}", case.what),
        }
        // Others keep working, and the broken one can be deleted.
        assert_eq!(
            store.load(&fine.id).await.unwrap().unwrap().data,
            fine.data,
            "{}",
            case.what
        );
        assert_eq!(
            typed.load(&fine_typed.id).await.unwrap().unwrap().data,
            fine_typed.data
        );
        if case.typed {
            expected_rows += 1;
            typed.delete(&id).await.unwrap();
            assert_eq!(typed.load(&id).await.unwrap(), None);
        } else {
            store.delete(&id).await.unwrap();
            assert_eq!(store.load(&id).await.unwrap(), None);
        }
        let mut next = record(json!({"user_id": 2}));
        store.create(&mut next).await.unwrap();
        expected_rows += 1;
    }
    assert_eq!(store.count().await.unwrap(), expected_rows);
}

/// With `Undecodable::StartOver`, every corruption above is no
/// session: the row is deleted and the load answers nothing.
async fn a_corrupted_row_starts_over_when_the_store_says_so<T: BackendSchema>(db: TestDatabase) {
    use session_runtime::Undecodable;
    let (store, typed) = stores::<T>(&db.url).await;
    let store = store.with_undecodable(Undecodable::StartOver);
    let typed = typed.with_undecodable(Undecodable::StartOver);
    let mut fine = record(json!({"user_id": 1, "note": "fine"}));
    store.create(&mut fine).await.unwrap();
    let cases = corruptions(T::KIND, fine.id).len();
    for index in 0..cases {
        let (case, id) = stored_and_corrupted::<T>(&db, &store, &typed, index).await;
        // The corrupted side: its row is deleted and loads as
        // nothing; the session's row in the other table is fine.
        macro_rules! starts_over {
            ($side:expr, $other:expr) => {{
                let before = $side.count().await.unwrap();
                assert_eq!($side.load(&id).await.unwrap(), None, "{}", case.what);
                if !case.expired {
                    assert_eq!(
                        $side.count().await.unwrap(),
                        before - 1,
                        "{}: the row stays",
                        case.what
                    );
                }
                assert!($other.load(&id).await.unwrap().is_some(), "{}", case.what);
            }};
        }
        if case.typed {
            starts_over!(typed, store);
        } else {
            starts_over!(store, typed);
        }
        store.delete(&id).await.unwrap();
        typed.delete(&id).await.unwrap();
    }
    assert_eq!(store.load(&fine.id).await.unwrap().unwrap().data, fine.data);
}

/// Server backends only: SQLite has no network to cut.
mod through_a_proxy {
    use std::time::{Duration, Instant};

    use diesel_async::SimpleAsyncConnection as _;
    use serde_json::json;
    use session_runtime::PoolOptions;
    use session_tests::{stores, AppStore, BackendSchema, Kind, TestDatabase};
    use tower_sessions::session::Record;
    use tower_sessions::SessionStore as _;

    use crate::common::{record, Mode, Proxy};
    use crate::faults::{
        assert_all_failed, assert_all_succeeded, assert_all_survive, every_operation, GRACE,
    };

    tests_on_servers!(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        a_frozen_network_fails_each_operation_in_time_and_loses_nothing,
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        the_database_cut_away_mid_run_and_restored_loses_nothing,
    );

    /// A query that sleeps ten seconds on the server, marked so that
    /// [`running`] finds it.
    fn sleep(kind: Kind) -> &'static str {
        match kind {
            Kind::Postgres => "SELECT 'faults-marker', pg_sleep(10)",
            _ => "SELECT 'faults-marker', SLEEP(10)",
        }
    }

    /// A query counting, as `n`, the server's running [`sleep`]s.
    fn running(kind: Kind) -> &'static str {
        match kind {
            Kind::Postgres => {
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE query LIKE 'SELECT ''faults-marker'', pg_sleep%' AND state = 'active'"
            }
            _ => {
                "SELECT COUNT(*) AS n FROM information_schema.processlist \
                 WHERE info LIKE 'SELECT ''faults-marker'', SLEEP%'"
            }
        }
    }

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    /// Waits until the server runs the marked sleep: a state to observe,
    /// polled, since the server sends no signal.
    async fn wait_until_running(db: &TestDatabase) {
        let started = Instant::now();
        loop {
            let seen: Vec<Count> = db.query(running(db.kind)).await;
            if seen.iter().any(|count| count.n > 0) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the sleep never started"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn a_frozen_network_fails_each_operation_in_time_and_loses_nothing<T: BackendSchema>(
        db: TestDatabase,
    ) {
        let (direct, _) = stores::<T>(&db.url).await;
        let (template, upstream) = Proxy::route(&db.url).await;
        let proxy = Proxy::start(upstream).await;
        let options = PoolOptions::default()
            .with_max_size(4)
            .with_retry_budget(Duration::from_millis(400))
            .with_statement_timeout(Duration::from_millis(300));
        let store = AppStore::<T>::connect_with(&proxy.url(&template), &options).unwrap();
        let hang = options.retry_budget * 4 + GRACE;
        let mut target = record(json!({"user_id": 1}));
        store.create(&mut target).await.unwrap();
        let mut victim = record(json!({"user_id": 1, "victim": true}));
        store.create(&mut victim).await.unwrap();

        // The pool's open connection goes silent mid-use: no reset,
        // no close, nothing a driver could notice.
        proxy.set(Mode::Freeze).await;
        let mut during = target.clone();
        during
            .data
            .insert("written".into(), json!("during the freeze"));
        let (steps, created) =
            every_operation(&store, T::APP_USER_ID, &during, &victim, hang).await;
        assert!(created.is_none());
        for step in &steps {
            eprintln!("Freeze {}: {:?}", step.name, step.outcome);
        }
        assert_all_failed(&steps, options.retry_budget, "while the network was frozen");
        assert!(
            steps.iter().any(|step| matches!(
                &step.outcome,
                Err(failure) if failure.message.contains("statement timeout")
            )),
            "no operation met the frozen connection"
        );

        proxy.set(Mode::Up).await;
        target
            .data
            .insert("written".into(), json!("after the freeze"));
        let (steps, created) =
            every_operation(&store, T::APP_USER_ID, &target, &victim, hang).await;
        assert_all_succeeded(&steps, "once the network was back");
        let created = created.expect("created after the freeze");
        assert_all_survive(&direct, [&target, &created]).await;
        assert_eq!(
            direct.load(&victim.id).await.unwrap(),
            None,
            "deleted after the freeze"
        );
    }

    async fn the_database_cut_away_mid_run_and_restored_loses_nothing<T: BackendSchema>(
        db: TestDatabase,
    ) {
        let (direct, _) = stores::<T>(&db.url).await;
        let (template, upstream) = Proxy::route(&db.url).await;
        let proxy = Proxy::start(upstream).await;
        let timeout = Duration::from_millis(400);
        let options = PoolOptions::default()
            .with_max_size(4)
            .with_retry_budget(timeout);
        let store = AppStore::<T>::connect_with(&proxy.url(&template), &options).unwrap();
        let hang = timeout * 4 + GRACE;

        // Stored before the outage, on every connection of the pool.
        let creates: Vec<_> = (0..16)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut fresh = record(json!({"user_id": 1 + n % 2, "n": n}));
                    store.create(&mut fresh).await.map(|()| fresh)
                })
            })
            .collect();
        let mut stored: Vec<Record> = Vec::new();
        for create in creates {
            stored.push(create.await.unwrap().unwrap());
        }

        let mut failed_operations = 0;
        for (round, mode) in [Mode::Refuse, Mode::Blackhole].into_iter().enumerate() {
            let mut victim = record(json!({"user_id": 1, "victim": round}));
            store.create(&mut victim).await.unwrap();
            // A query is in flight when the database goes away.
            let mut busy = store.connection().await.unwrap();
            let in_flight = tokio::spawn(async move {
                let result = busy.batch_execute(sleep(T::KIND)).await;
                drop(busy);
                result
            });
            wait_until_running(&db).await;
            let cut_at = Instant::now();
            proxy.set(mode).await;
            let interrupted = in_flight.await.unwrap();
            assert!(interrupted.is_err(), "the sleep survived the cut");
            assert!(
                cut_at.elapsed() < GRACE,
                "the cut query hung for {:?}",
                cut_at.elapsed()
            );

            let mut target = stored[0].clone();
            target
                .data
                .insert("written".into(), json!("during the outage"));
            // Refused: the first pass meets the pool's dead
            // connections, the second opens new ones. Swallowed:
            // each operation waits out the pool's timeout once.
            let attempts = if mode == Mode::Refuse { 2 } else { 1 };
            for attempt in 0..attempts {
                let (steps, created) =
                    every_operation(&store, T::APP_USER_ID, &target, &victim, hang).await;
                assert!(created.is_none());
                if round == 0 && attempt == 0 {
                    for step in &steps {
                        eprintln!("{mode:?} {}: {:?}", step.name, step.outcome);
                    }
                }
                assert_all_failed(
                    &steps,
                    timeout,
                    &format!("while the database was away ({mode:?})"),
                );
                failed_operations += steps.len();
            }

            proxy.set(Mode::Up).await;
            target
                .data
                .insert("written".into(), json!(format!("after round {round}")));
            let (steps, created) =
                every_operation(&store, T::APP_USER_ID, &target, &victim, hang).await;
            assert_all_succeeded(&steps, &format!("once the database was back ({mode:?})"));
            stored[0] = target;
            stored.push(created.expect("created after the restore"));
            assert_eq!(
                direct.load(&victim.id).await.unwrap(),
                None,
                "deleted after the restore"
            );
        }

        // A blip while every connection idles: nothing notices the
        // cut until the next use, and each dead connection fails at
        // most one operation before it leaves the pool.
        let loads: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                let id = stored[1].id;
                tokio::spawn(async move { store.load(&id).await })
            })
            .collect();
        for load in loads {
            assert!(load.await.unwrap().unwrap().is_some());
        }
        proxy.set(Mode::Refuse).await;
        proxy.set(Mode::Up).await;
        let mut failures_after_the_blip = 0;
        while let Err(error) = store.load(&stored[1].id).await {
            failures_after_the_blip += 1;
            assert!(
                failures_after_the_blip <= options.max_size,
                "still failing after the blip: {error:?}"
            );
        }
        let (steps, created) =
            every_operation(&store, T::APP_USER_ID, &stored[0], &stored[1], hang).await;
        assert_all_succeeded(&steps, "after the blip");
        stored.remove(1);
        stored.push(created.unwrap());
        eprintln!(
            "{:?}: {failures_after_the_blip} operations failed after the blip",
            T::KIND
        );

        // No stored session was lost or changed by the outages.
        assert_all_survive(&direct, &stored).await;
        assert_eq!(direct.count().await.unwrap(), stored.len() as u64);
        eprintln!(
        "faults: {} outages, {} connections cut, {} refused or swallowed, {failed_operations} operations failed as Backend, 0 of {} sessions lost",
        3,
        proxy.cut.load(std::sync::atomic::Ordering::SeqCst),
        proxy.refused.load(std::sync::atomic::Ordering::SeqCst),
        stored.len()
    );
    }
}

/// SQLite files that cannot be used: no database in them, no directory
/// for them, or locked by another writer.
mod sqlite_files {
    use std::time::{Duration, Instant};

    use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
    use diesel_async::{AsyncConnection as _, SimpleAsyncConnection as _};
    use serde_json::json;
    use session_runtime::PoolOptions;
    use session_tests::sqlite::*;
    use session_tests::{Kind, TestDatabase};
    use tower_sessions::SessionStore as _;

    use crate::common::record;
    use crate::faults::{assert_all_failed, every_operation, from_store, GRACE};

    async fn unusable(url: &str, expected: &str) {
        let timeout = Duration::from_millis(500);
        let options = PoolOptions::default()
            .with_max_size(2)
            .with_retry_budget(timeout);
        let store = AppSessionStore::connect_with(url, &options).unwrap();
        let target = record(json!({"user_id": 1}));
        let (steps, _) = every_operation(
            &store,
            http_sessions::user_id,
            &target,
            &target,
            timeout * 10,
        )
        .await;
        assert_all_failed(&steps, timeout, "on an unusable file");
        for step in &steps {
            let message = &step.outcome.as_ref().unwrap_err().message;
            assert!(
                message.to_lowercase().contains(expected),
                "`{}`: {message}",
                step.name
            );
        }
    }

    #[tokio::test]
    async fn a_file_that_is_no_database_gives_backend_errors_and_stays_as_it_was() {
        let path = std::env::temp_dir().join(format!(
            "session-faults-{}-{:x}.db",
            std::process::id(),
            rand::random::<u64>()
        ));
        let garbage = "these bytes are no SQLite database, just text. ".repeat(100);
        std::fs::write(&path, &garbage).unwrap();
        unusable(path.to_str().unwrap(), "file is not a database").await;
        assert_eq!(std::fs::read_to_string(&path).unwrap(), garbage);
        std::fs::remove_file(&path).unwrap();
    }

    #[tokio::test]
    async fn a_file_in_a_missing_directory_gives_backend_errors() {
        let path = std::env::temp_dir()
            .join(format!(
                "session-faults-missing-{:x}",
                rand::random::<u64>()
            ))
            .join("sessions.db");
        unusable(path.to_str().unwrap(), "unable to open the database file").await;
        assert!(!path.exists());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_database_locked_by_another_writer_fails_writes_in_time_and_recovers() {
        let Some(db) = TestDatabase::new(Kind::Sqlite).await else {
            return;
        };
        let (store, _) = stores(&db.url).await;
        let mut stored = record(json!({"user_id": 1, "v": 1}));
        store.create(&mut stored).await.unwrap();

        let mut locker = SyncConnectionWrapper::<diesel::SqliteConnection>::establish(&db.url)
            .await
            .unwrap();
        locker.batch_execute("BEGIN EXCLUSIVE").await.unwrap();

        // Reads go on under WAL; writes wait for the busy timeout, then fail.
        assert!(store.load(&stored.id).await.unwrap().is_some());
        let started = Instant::now();
        let mut fresh = record(json!({"user_id": 2}));
        let mut changed = stored.clone();
        changed.data.insert("v".into(), json!(2));
        let (created, saved, deleted) = tokio::join!(
            store.create(&mut fresh),
            store.save(&changed),
            store.delete(&stored.id)
        );
        let elapsed = started.elapsed();
        for (name, outcome) in [("create", created), ("save", saved), ("delete", deleted)] {
            let failure = from_store(outcome.unwrap_err());
            assert_eq!(failure.kind, "Backend", "{name}: {failure:?}");
            assert!(
                failure.message.contains("database is locked"),
                "{name}: {failure:?}"
            );
        }
        let busy_timeout = Duration::from_secs(5);
        assert!(
            elapsed >= busy_timeout - Duration::from_millis(100) && elapsed <= busy_timeout + GRACE,
            "{elapsed:?}"
        );

        locker.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(
            store.load(&stored.id).await.unwrap().unwrap().data,
            stored.data
        );
        store.save(&changed).await.unwrap();
        store.create(&mut fresh).await.unwrap();
        assert_eq!(
            store.load(&stored.id).await.unwrap().unwrap().data,
            changed.data
        );
        assert_eq!(store.count().await.unwrap(), 2);
    }
}
