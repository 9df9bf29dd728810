//! MariaDB Galera: three nodes, a store on each, as three app servers
//! behind a load balancer that spreads them over the cluster. Targets: a
//! session created through one node is found at once through the others;
//! concurrent saves of one session through all three nodes all succeed and
//! keep every key; migrations racing on all three nodes all succeed; and
//! the plain round trip works.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncMysqlConnection, SimpleAsyncConnection};
use serde_json::{json, Value};
use session_runtime::PoolOptions;
use session_tests::mysql::AppSessionStore;
use tokio::sync::Barrier;
use tower_sessions::session::Record;
use tower_sessions::SessionStore as _;

use super::{exclusive, report, Failures, Topology};
use crate::common::record;

/// Read-after-create rounds.
const READS: usize = 200;
/// Concurrent saves per node.
const SAVES_PER_NODE: usize = 100;
/// How long the cluster may take to show a write everywhere, where a test
/// waits for it outside what it measures.
const SETTLE: Duration = Duration::from_secs(10);
/// The longest a case may take.
const CASE_BOUND: Duration = Duration::from_secs(60);

/// The URL of database `database` on node `node` (1 to 3).
fn url(node: usize, database: &str) -> String {
    // mysql_async would otherwise move to the node's Unix socket, whose
    // root authenticates by the OS user.
    format!(
        "mysql://root@127.0.0.1:{}/{database}?prefer_socket=false",
        3310 + node
    )
}

/// A store on node `node`.
fn store(node: usize, database: &str) -> AppSessionStore {
    AppSessionStore::connect_with(&url(node, database), &PoolOptions::default()).expect("pool")
}

/// Runs SQL on node `node`.
async fn execute(node: usize, database: &str, sql: &str) {
    let mut connection = AsyncMysqlConnection::establish(&url(node, database))
        .await
        .unwrap_or_else(|error| panic!("connect to node {node}: {error}"));
    connection
        .batch_execute(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}

/// Creates database `database` with the suite's `users` table and users
/// 1 to 3 through node 1, and waits until every node shows them.
async fn database_with_users(database: &str) {
    execute(
        1,
        "test",
        &format!("CREATE DATABASE IF NOT EXISTS {database}"),
    )
    .await;
    execute(
        1,
        database,
        "CREATE TABLE users (id BIGINT PRIMARY KEY, login VARCHAR(255) NOT NULL) ENGINE=InnoDB;
         INSERT INTO users (id, login) VALUES (1, 'ada'), (2, 'brian'), (3, 'carol');",
    )
    .await;
    for node in 2..=3 {
        let shown = settle(|| async move {
            let Ok(mut connection) = AsyncMysqlConnection::establish(&url(node, database)).await
            else {
                return false;
            };
            connection
                .batch_execute("DO (SELECT 1 FROM users WHERE id = 3)")
                .await
                .is_ok()
        })
        .await;
        assert!(
            shown,
            "node {node} did not show {database}.users within {SETTLE:?}"
        );
    }
}

/// Polls `check` until it holds, for at most [`SETTLE`].
async fn settle<F, Fut>(check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + SETTLE;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (c) Three fresh stores, one per node, migrate an empty database at once.
async fn concurrent_migrations() -> Failures {
    database_with_users("race").await;
    let start = Arc::new(Barrier::new(3));
    let tasks: Vec<_> = (1..=3)
        .map(|node| {
            let start = start.clone();
            tokio::spawn(async move {
                let store = store(node, "race");
                start.wait().await;
                (node, store.migrate().await)
            })
        })
        .collect();
    let mut failures = Failures::default();
    for task in tasks {
        let (node, migrated) = task.await.expect("a migration task");
        if let Err(error) = migrated {
            failures.add(&format!("migrate on node {node}"), error);
        }
    }
    if failures.total() == 0 {
        // Each node's table is then the struct's.
        for node in 1..=3 {
            let store = store(node, "race");
            let current = settle(|| {
                let store = store.clone();
                async move {
                    store
                        .check_schema()
                        .await
                        .is_ok_and(|diff| diff.is_current())
                }
            })
            .await;
            if !current {
                failures.add(
                    &format!("check_schema on node {node}"),
                    "the table is not the struct's",
                );
            }
        }
    }
    report(&format!(
        "galera(concurrent migrate): 3 migrations, {} failed",
        failures.total()
    ));
    failures
}

/// (d) Create, load, save, load, delete, load through one node.
async fn round_trip(store: &AppSessionStore) -> Failures {
    let mut failures = Failures::default();
    let mut session = record(json!({ "user_id": 1, "optional": "a", "theme": "dark" }));
    if let Err(error) = store.create(&mut session).await {
        failures.add("create", error);
        return failures;
    }
    let expect = |failures: &mut Failures,
                  step: &str,
                  loaded: Result<Option<Record>, _>,
                  want: Option<&Record>| {
        match loaded {
            Ok(found) if found.as_ref().map(|r| &r.data) == want.map(|r| &r.data) => {}
            Ok(found) => failures.add(
                step,
                format!(
                    "loaded {:?}, expected {:?}",
                    found.map(|r| r.data),
                    want.map(|r| &r.data)
                ),
            ),
            Err(error) => failures.add(step, error),
        }
    };
    expect(
        &mut failures,
        "load after create",
        store.load(&session.id).await,
        Some(&session),
    );
    session.data.insert("theme".into(), json!("light"));
    session.data.insert("user_id".into(), json!(2));
    if let Err(error) = store.save(&session).await {
        failures.add("save", error);
    }
    expect(
        &mut failures,
        "load after save",
        store.load(&session.id).await,
        Some(&session),
    );
    if let Err(error) = store.delete(&session.id).await {
        failures.add("delete", error);
    }
    expect(
        &mut failures,
        "load after delete",
        store.load(&session.id).await,
        None,
    );
    report(&format!(
        "galera(round trip on node 1): {} failed steps",
        failures.total()
    ));
    failures
}

/// (a) Creates through node 1, each loaded at once through node 2, then
/// node 3. Returns the failed creates and the misses.
async fn read_after_create(stores: &[AppSessionStore; 3]) -> Failures {
    let mut failures = Failures::default();
    let mut creates_failed = 0;
    let mut misses = [0_usize; 3];
    for round in 0..READS {
        let mut session = record(json!({ "round": round }));
        if let Err(error) = stores[0].create(&mut session).await {
            creates_failed += 1;
            failures.add("create on node 1", error);
            continue;
        }
        for node in 2..=3 {
            let step = format!("load on node {node} right after the create");
            match stores[node - 1].load(&session.id).await {
                Ok(Some(found)) if found.data == session.data => {}
                Ok(Some(found)) => {
                    misses[node - 1] += 1;
                    failures.add(&step, format!("other data: {:?}", found.data));
                }
                Ok(None) => {
                    misses[node - 1] += 1;
                    failures.add(&step, "no such session (a miss)");
                }
                Err(error) => {
                    misses[node - 1] += 1;
                    failures.add(&step, error);
                }
            }
        }
    }
    report(&format!(
        "galera(read after create): {READS} creates on node 1 ({creates_failed} failed); \
         misses: node 2 {}, node 3 {}",
        misses[1], misses[2]
    ));
    failures
}

/// (b) One session saved by 300 requests at once, 100 through each node,
/// each after loading it in its own task (as a request does) and setting
/// a key of its own. Returns the failures and the missing keys (and how
/// many of those a save had acknowledged).
async fn concurrent_saves(stores: &[AppSessionStore; 3]) -> (Failures, usize, usize) {
    let mut failures = Failures::default();
    let mut session = record(json!({ "base": true }));
    stores[0]
        .create(&mut session)
        .await
        .expect("create the shared session on node 1");
    let id = session.id;
    for node in 2..=3 {
        let store = stores[node - 1].clone();
        let shown = settle(|| {
            let store = store.clone();
            async move { matches!(store.load(&id).await, Ok(Some(_))) }
        })
        .await;
        assert!(
            shown,
            "node {node} did not show the session within {SETTLE:?}"
        );
    }

    let saves = 3 * SAVES_PER_NODE;
    let start = Arc::new(Barrier::new(saves));
    let tasks: Vec<_> = (0..saves)
        .map(|n| {
            let node = n % 3 + 1;
            let store = stores[node - 1].clone();
            let start = start.clone();
            tokio::spawn(async move {
                let loaded = store.load(&id).await;
                // Every task meets the others, loaded or not, so that none
                // waits forever.
                start.wait().await;
                let mut session = match loaded {
                    Ok(Some(session)) => session,
                    Ok(None) => return (n, node, Err("load: no such session".to_string())),
                    Err(error) => return (n, node, Err(format!("load: {error}"))),
                };
                session.data.insert(format!("k{n}"), json!(n));
                let saved = store.save(&session).await;
                (n, node, saved.map_err(|error| format!("save: {error}")))
            })
        })
        .collect();
    let mut acknowledged = vec![false; saves];
    for task in tasks {
        let (n, node, outcome) = task.await.expect("a save task");
        match outcome {
            Ok(()) => acknowledged[n] = true,
            Err(error) => failures.add(&format!("node {node}"), error),
        }
    }

    // The cluster converges: every node shows the same row.
    let mut views: Vec<BTreeMap<String, Value>> = Vec::new();
    let converged = settle(|| {
        let stores = stores.clone();
        async move {
            let mut seen = Vec::new();
            for store in &stores {
                match store.load(&id).await {
                    Ok(Some(found)) => {
                        seen.push(found.data.into_iter().collect::<BTreeMap<_, _>>())
                    }
                    _ => return false,
                }
            }
            seen.windows(2).all(|pair| pair[0] == pair[1])
        }
    })
    .await;
    for store in stores {
        if let Ok(Some(found)) = store.load(&id).await {
            views.push(found.data.into_iter().collect());
        }
    }
    if !converged {
        failures.add("check", "the nodes show different rows after the saves");
    }
    let final_data = views.first().cloned().unwrap_or_default();
    let missing: Vec<usize> = (0..saves)
        .filter(|n| final_data.get(&format!("k{n}")) != Some(&json!(n)))
        .collect();
    let missing_acknowledged = missing.iter().filter(|n| acknowledged[**n]).count();
    let failed_saves = acknowledged.iter().filter(|ok| !**ok).count();
    report(&format!(
        "galera(concurrent saves): {saves} saves ({SAVES_PER_NODE} per node), {failed_saves} failed, \
         {} of {saves} keys missing ({missing_acknowledged} of them acknowledged)",
        missing.len()
    ));
    (failures, missing.len(), missing_acknowledged)
}

/// Runs `case` within [`CASE_BOUND`].
async fn bounded<T>(name: &str, case: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(CASE_BOUND, case)
        .await
        .unwrap_or_else(|_| panic!("galera({name}) took more than {CASE_BOUND:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(session_test_topologies),
    ignore = "set SESSION_TEST_TOPOLOGIES=1 to start a PostgreSQL pair and a Galera cluster"
)]
async fn galera_cluster_reads_its_writes_and_keeps_concurrent_saves() {
    let _exclusive = exclusive().await;
    let cluster = Topology::start("galera", Duration::from_secs(150));

    let migrations = bounded("concurrent migrate", concurrent_migrations()).await;

    database_with_users("sessions").await;
    let stores = [
        store(1, "sessions"),
        store(2, "sessions"),
        store(3, "sessions"),
    ];
    stores[0].migrate().await.expect("migrate through node 1");
    for (node, store) in stores.iter().enumerate().skip(1) {
        let shown = settle(|| {
            let store = store.clone();
            async move {
                store
                    .check_schema()
                    .await
                    .is_ok_and(|diff| diff.is_current())
            }
        })
        .await;
        assert!(
            shown,
            "node {} did not show http_sessions within {SETTLE:?}",
            node + 1
        );
    }

    let round_trip = bounded("round trip", round_trip(&stores[0])).await;
    let reads = bounded("read after create", read_after_create(&stores)).await;
    let (saves, missing_keys, missing_acknowledged) =
        bounded("concurrent saves", concurrent_saves(&stores)).await;

    migrations.report("galera(concurrent migrate)");
    round_trip.report("galera(round trip)");
    reads.report("galera(read after create)");
    saves.report("galera(concurrent saves)");
    drop(stores);
    drop(cluster);

    let targets = [
        ("concurrent migrate: failed migrations", migrations.total()),
        ("round trip: failed steps", round_trip.total()),
        (
            "read after create: failed creates and misses",
            reads.total(),
        ),
        ("concurrent saves: failures", saves.total()),
        (
            "concurrent saves: acknowledged keys missing",
            missing_acknowledged,
        ),
    ];
    let missed: Vec<String> = targets
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(what, count)| format!("{what}: {count}"))
        .collect();
    report(&format!(
        "galera: concurrent saves left {missing_keys} keys missing in all"
    ));
    assert!(missed.is_empty(), "targets: every count 0; got {missed:?}");
}
