//! Races: creates under forced id collisions, concurrent saves to one
//! session, a delete racing a save, migrations racing each other and a
//! per-user revoke racing logins. No session is lost, overwritten, torn or
//! resurrected.

use crate::common;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use session_runtime::backend::Backend;
use session_runtime::{DieselStore, PoolOptions, SessionDigest, SessionTable};
use tokio::sync::Barrier;
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore as _;

use crate::common::record;
use session_tests::TestDatabase;
use session_tests::{stores, AppStore, BackendSchema, TypedStore};

/// Concurrent creates in the collision race.
const CREATES: usize = 1_000;
/// Ids the records start with, and the colliding draws come from.
const TAKEN: i128 = 10;
/// Colliding draws each create makes before it gets fresh ids.
const COLLIDING_DRAWS: u32 = 3;

tokio::task_local! {
    /// Draws made so far by the create running in this task.
    static DRAWS: Cell<u32>;
}

/// Fresh ids: far from the taken ones, distinct across the whole run.
static FRESH: AtomicI64 = AtomicI64::new(1_000_000);

/// An id generator that collides on purpose: each create's first draws
/// return ids that are already taken, later ones fresh ids.
fn colliding_ids() -> i128 {
    let draw = DRAWS
        .try_with(|draws| {
            let draw = draws.get();
            draws.set(draw + 1);
            draw
        })
        .unwrap_or(COLLIDING_DRAWS);
    if draw < COLLIDING_DRAWS {
        1 + i128::from(draw) % TAKEN
    } else {
        i128::from(FRESH.fetch_add(1, Ordering::SeqCst))
    }
}

/// A pool wide enough to queue a thousand tasks without timing out.
fn race_pool() -> PoolOptions {
    PoolOptions::default()
        .with_max_size(8)
        .with_retry_budget(Duration::from_secs(60))
}

/// Every stored row of a table, by digest, through the store itself.
async fn loaded_by_digest<S: SessionTable<B>, B: Backend>(
    store: &DieselStore<S, B>,
    records: &[Record],
) -> HashMap<SessionDigest, HashMap<String, Value>> {
    let mut loaded = HashMap::new();
    for record in records {
        if let Some(found) = store.load(&record.id).await.unwrap() {
            loaded.insert(SessionDigest::from(record.id), found.data);
        }
    }
    loaded
}

async fn colliding_creates<S: SessionTable<B>, B: Backend>(store: DieselStore<S, B>) {
    let store = store.with_id_generator(colliding_ids);
    let start = Arc::new(Barrier::new(CREATES));
    let tasks: Vec<_> = (0..CREATES)
        .map(|n| {
            let store = store.clone();
            let start = start.clone();
            tokio::spawn(DRAWS.scope(Cell::new(0), async move {
                let mut record = record(json!({"n": n, "user_id": 1 + n % 3}));
                record.id = Id(1 + n as i128 % TAKEN);
                start.wait().await;
                let created = store.create(&mut record).await;
                // Every draw followed a collision.
                let collisions = DRAWS.with(Cell::get);
                created.map(|()| (record, collisions))
            }))
        })
        .collect();
    let mut records = Vec::new();
    let mut collisions = 0;
    for task in tasks {
        let (record, drawn) = task.await.unwrap().expect("create");
        records.push(record);
        collisions += drawn as usize;
    }

    let ids: HashSet<Id> = records.iter().map(|record| record.id).collect();
    assert_eq!(ids.len(), CREATES, "two creates ended with one id");
    let small = ids.iter().filter(|id| id.0 <= TAKEN).count();
    assert_eq!(
        small, TAKEN as usize,
        "each taken id belongs to exactly one session"
    );
    assert!(
        collisions >= CREATES - TAKEN as usize,
        "only {collisions} collisions"
    );
    assert_eq!(store.count().await.unwrap(), CREATES as u64);
    let loaded = loaded_by_digest(&store, &records).await;
    for record in &records {
        assert_eq!(
            loaded.get(&SessionDigest::from(record.id)),
            Some(&record.data),
            "a session was overwritten"
        );
    }
    eprintln!("races: {CREATES} creates, {collisions} collisions, 0 overwritten");
}

/// Concurrent saves of different maps to one session: the row ends as
/// exactly one of them.
async fn concurrent_saves<S: SessionTable<B>, B: Backend>(
    store: DieselStore<S, B>,
    typed_key: &str,
) -> usize {
    const ROUNDS: usize = 5;
    const WRITERS: usize = 32;
    for round in 0..ROUNDS {
        let mut stored = record(json!({"round": round}));
        store.create(&mut stored).await.unwrap();
        let writes: Vec<Record> = (0..WRITERS)
            .map(|writer| {
                let mut write = stored.clone();
                write.data = common::map(json!({
                    "writer": writer,
                    typed_key: 1 + writer % 3,
                    "payload": "w".repeat(writer * 97 % 4_000),
                    "list": vec![writer; 50],
                }));
                write
            })
            .collect();
        let start = Arc::new(Barrier::new(WRITERS));
        let tasks: Vec<_> = writes
            .iter()
            .cloned()
            .map(|write| {
                let store = store.clone();
                let start = start.clone();
                tokio::spawn(async move {
                    start.wait().await;
                    store.save(&write).await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().expect("a concurrent save fails no one");
        }
        let last = store.load(&stored.id).await.unwrap().expect("still stored");
        assert!(
            writes.iter().any(|write| write.data == last.data),
            "the row is no one's write: {:?}",
            last.data.get("writer")
        );
    }
    ROUNDS * WRITERS
}

/// A delete racing a save: save is an UPDATE, so whichever runs first the
/// session ends deleted, and both report success.
async fn delete_racing_save<S: SessionTable<B>, B: Backend>(store: DieselStore<S, B>) -> usize {
    // Enough that InnoDB picks the save or the delete as a deadlock victim
    // at least once in nearly every run, which the store must absorb.
    const ROUNDS: usize = 300;
    for round in 0..ROUNDS {
        let mut stored = record(json!({"round": round}));
        store.create(&mut stored).await.unwrap();
        let mut changed = stored.clone();
        changed.data.insert("cart".into(), json!(["book"]));
        let start = Arc::new(Barrier::new(2));
        let save = {
            let (store, start) = (store.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                store.save(&changed).await
            })
        };
        let delete = {
            let (store, start, id) = (store.clone(), start.clone(), stored.id);
            tokio::spawn(async move {
                start.wait().await;
                store.delete(&id).await
            })
        };
        save.await.unwrap().expect("the save reports success");
        delete.await.unwrap().expect("the delete reports success");
        assert_eq!(
            store.load(&stored.id).await.unwrap(),
            None,
            "round {round}: resurrected"
        );
    }
    assert_eq!(store.count().await.unwrap(), 0);
    ROUNDS
}

tests_on_every_backend_and_pgbouncer!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_thousand_creates_under_forced_collisions_never_overwrite,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    concurrent_saves_leave_exactly_one_write,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_delete_racing_a_save_leaves_the_session_deleted,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    migrations_racing_from_separate_pools_all_succeed,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_per_user_revoke_racing_logins_accounts_for_every_session,
);

async fn a_thousand_creates_under_forced_collisions_never_overwrite<T: BackendSchema>(
    db: TestDatabase,
) {
    stores::<T>(&db.url).await;
    let store = AppStore::<T>::connect_with(&db.url, &race_pool()).unwrap();
    colliding_creates(store).await;
}

async fn concurrent_saves_leave_exactly_one_write<T: BackendSchema>(db: TestDatabase) {
    let (store, typed) = stores::<T>(&db.url).await;
    let mut races = concurrent_saves(store, "user_id").await;
    races += concurrent_saves(typed, "visits").await;
    eprintln!("races: {races} concurrent saves");
}

async fn a_delete_racing_a_save_leaves_the_session_deleted<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let races = delete_racing_save(store).await;
    eprintln!("races: {races} deletes racing saves");
}

async fn migrations_racing_from_separate_pools_all_succeed<T: BackendSchema>(db: TestDatabase) {
    const ROUNDS: usize = 10;
    let mut unused = Some(db);
    for _ in 0..ROUNDS {
        // A fresh database each time: the first creation is the
        // race that matters.
        let db = match unused.take() {
            Some(db) => db,
            None => TestDatabase::new(T::KIND).await.expect("a fresh database"),
        };
        let migrators = 4;
        let start = Arc::new(Barrier::new(migrators));
        let tasks: Vec<_> = (0..migrators)
            .map(|n| {
                let url = db.url.clone();
                let start = start.clone();
                tokio::spawn(async move {
                    // Each as a server of its own: its own pool.
                    if n % 2 == 0 {
                        let store = AppStore::<T>::connect(&url).unwrap();
                        start.wait().await;
                        store.migrate().await
                    } else {
                        let store = TypedStore::<T>::connect(&url).unwrap();
                        start.wait().await;
                        store.migrate().await
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().expect("a racing migration succeeds");
        }
        let (store, typed) = stores::<T>(&db.url).await;
        let mut session = record(json!({"user_id": 1}));
        store.create(&mut session).await.unwrap();
        assert!(store.load(&session.id).await.unwrap().is_some());
        let mut session = record(json!({"visits": 1}));
        typed.create(&mut session).await.unwrap();
        assert!(typed.load(&session.id).await.unwrap().is_some());
    }
    eprintln!("races: {} migrations racing", ROUNDS * 4);
}

async fn a_per_user_revoke_racing_logins_accounts_for_every_session<T: BackendSchema>(
    db: TestDatabase,
) {
    const ROUNDS: usize = 15;
    let (store, _) = stores::<T>(&db.url).await;
    let column = T::APP_USER_ID;
    let mut survived = Vec::new();
    for round in 0..ROUNDS {
        store.clear().await.unwrap();
        let mut before = Vec::new();
        for device in 0..3 {
            let mut session = record(json!({"user_id": 1, "device": device}));
            store.create(&mut session).await.unwrap();
            before.push(session);
        }
        let mut bystander = record(json!({"user_id": 2}));
        store.create(&mut bystander).await.unwrap();
        // A visitor who logs in by saving user 1 into an
        // anonymous session.
        let mut anonymous = record(json!({"cart": ["book"]}));
        store.create(&mut anonymous).await.unwrap();
        let mut logged_in = anonymous.clone();
        logged_in.data.insert("user_id".into(), json!(1));

        let start = Arc::new(Barrier::new(5));
        let revoke = {
            let (store, start) = (store.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                store.revoke_by(column, &1).await
            })
        };
        let logins: Vec<_> = (0..3)
            .map(|login| {
                let (store, start) = (store.clone(), start.clone());
                tokio::spawn(async move {
                    let mut session = record(json!({"user_id": 1, "login": login, "round": round}));
                    start.wait().await;
                    store.create(&mut session).await.map(|()| session)
                })
            })
            .collect();
        let save = {
            let (store, start, logged_in) = (store.clone(), start.clone(), logged_in.clone());
            tokio::spawn(async move {
                start.wait().await;
                store.save(&logged_in).await
            })
        };
        let revoked = revoke.await.unwrap().expect("the revoke succeeds");
        let mut created = Vec::new();
        for login in logins {
            created.push(login.await.unwrap().expect("a login succeeds"));
        }
        save.await.unwrap().expect("the logging-in save succeeds");

        for session in &before {
            assert_eq!(store.load(&session.id).await.unwrap(), None, "revoked");
        }
        assert!(
            store.load(&bystander.id).await.unwrap().is_some(),
            "another user's session"
        );
        let mut survivors = 0;
        for session in created.iter().chain([&logged_in]) {
            if let Some(loaded) = store.load(&session.id).await.unwrap() {
                assert_eq!(loaded.data, session.data, "a whole login, never a part");
                survivors += 1;
            }
        }
        assert_eq!(
            revoked + survivors,
            before.len() + created.len() + 1,
            "every session of user 1 was revoked or survived, once"
        );
        assert_eq!(store.count_by(column, &1).await.unwrap(), survivors as u64);
        survived.push(survivors);
        let listed = store.list_by(column, &1).await.unwrap();
        for info in &listed {
            assert!(created
                .iter()
                .chain([&logged_in])
                .any(|s| SessionDigest::from(s.id) == info.digest));
        }
    }
    eprintln!(
        "races: {ROUNDS} revokes racing 4 logins each; logins surviving per round: {survived:?}"
    );
}

/// The servers that break deadlocks by failing a statement. The store runs
/// such a statement again, so it must recognise the server's error; a
/// deadlock between two transactions provokes one for certain.
mod deadlocks {
    use diesel::query_builder::SqlQuery;
    use diesel_async::methods::ExecuteDsl;
    use diesel_async::{AsyncConnection, RunQueryDsl as _, SimpleAsyncConnection as _};
    use session_runtime::backend::Backend;
    // The store's classification of errors is internal; the suite reaches
    // it the way generated code reaches the runtime.
    use session_runtime::__private::BackendInternals;
    use session_tests::{stores, BackendSchema, TestDatabase};

    /// The diesel-async connection of `T`'s backend.
    type Connection<T> = <<T as BackendSchema>::Engine as Backend>::Connection;

    tests_on_servers!(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        the_servers_deadlock_error_is_recognised_as_one,
    );

    async fn lock_row<C>(connection: &mut C, row: i32) -> diesel::QueryResult<usize>
    where
        C: AsyncConnection,
        SqlQuery: ExecuteDsl<C>,
    {
        diesel::sql_query(format!(
            "UPDATE deadlock_probe SET id = id WHERE id = {row}"
        ))
        .execute(connection)
        .await
    }

    async fn the_servers_deadlock_error_is_recognised_as_one<T: BackendSchema>(db: TestDatabase)
    where
        Connection<T>: AsyncConnection,
        SqlQuery: ExecuteDsl<Connection<T>>,
    {
        let (store, _) = stores::<T>(&db.url).await;
        let mut first = store.connection().await.unwrap();
        let mut second = store.connection().await.unwrap();
        first
            .batch_execute(
                "CREATE TABLE deadlock_probe (id INT PRIMARY KEY); \
                 INSERT INTO deadlock_probe VALUES (1), (2);",
            )
            .await
            .unwrap();
        for (connection, row) in [(&mut first, 1), (&mut second, 2)] {
            connection.batch_execute("BEGIN").await.unwrap();
            lock_row(&mut **connection, row).await.unwrap();
        }
        // Each now asks for the row the other holds; whichever asks second
        // closes the cycle.
        let waiting = tokio::spawn(async move {
            let locked = lock_row(&mut *first, 2).await;
            (first, locked)
        });
        let second_locked = lock_row(&mut *second, 1).await;
        let (mut first, first_locked) = waiting.await.unwrap();
        for connection in [&mut first, &mut second] {
            connection.batch_execute("ROLLBACK").await.unwrap();
        }

        let errors: Vec<_> = [first_locked, second_locked]
            .into_iter()
            .filter_map(Result::err)
            .collect();
        assert_eq!(errors.len(), 1, "one victim: {errors:?}");
        assert!(
            <T::Engine as BackendInternals>::is_deadlock(&errors[0]),
            "not recognised as a deadlock: {:?}",
            errors[0]
        );
    }
}
