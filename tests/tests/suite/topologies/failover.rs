//! PostgreSQL failover: a store on a primary and its synchronous standby,
//! named together in one URL with `target_session_attrs=read-write`, under
//! a steady load of creates, saves and loads. The primary dies mid-run and
//! the standby is promoted, after a second or at once. Targets: no failed
//! operation, and every session a `create` or `save` acknowledged is there
//! afterwards, as it was written.

use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use serde_json::{json, Value};
use session_runtime::PoolOptions;
use session_tests::postgres::AppSessionStore;
use tower_sessions::session::Id;
use tower_sessions::SessionStore as _;

use super::{exclusive, report, run_script, Failures, Topology};
use crate::common::record;

/// Both servers; a connection goes to the one that accepts writes.
const URL: &str =
    "postgres://postgres@127.0.0.1:5440,127.0.0.1:5441/test?target_session_attrs=read-write";
/// Tasks running the load.
const TASKS: usize = 8;
/// How long the load runs.
const RUN: Duration = Duration::from_secs(12);
/// When the primary dies, from the start of the load.
const KILL_AT: Duration = Duration::from_secs(4);
/// The longest one operation may take before it counts as failed.
const OPERATION_BOUND: Duration = Duration::from_secs(15);
/// The pause of a task after a failed operation, so that a down database
/// does not turn the load into a busy loop on two cores.
const PAUSE_AFTER_FAILURE: Duration = Duration::from_millis(20);
/// The data key each save changes.
const KEY: &str = "n";

/// A session a task created: the values of [`KEY`] it may hold now. The
/// first is the last acknowledged one; values of saves that failed after
/// it follow, since a failed save may still have been applied.
struct Tracked {
    id: Id,
    acceptable: Vec<Value>,
}

/// What one task did.
#[derive(Default)]
struct Outcome {
    operations: usize,
    failures: Failures,
    /// When each failure happened.
    failed_at: Vec<Instant>,
    sessions: Vec<Tracked>,
}

impl Outcome {
    fn fail(&mut self, operation: &str, message: impl std::fmt::Display) {
        self.failures.add(operation, message);
        self.failed_at.push(Instant::now());
    }
}

/// One task of the load: create a session, change its key, load it back,
/// until `deadline`.
async fn work(store: AppSessionStore, task: usize, deadline: Instant) -> Outcome {
    let mut outcome = Outcome::default();
    let mut round = 0_u64;
    while Instant::now() < deadline {
        round += 1;
        let mut failed = false;

        let mut session = record(json!({ "task": task, KEY: 0 }));
        outcome.operations += 1;
        match tokio::time::timeout(OPERATION_BOUND, store.create(&mut session)).await {
            Ok(Ok(())) => outcome.sessions.push(Tracked {
                id: session.id,
                acceptable: vec![json!(0)],
            }),
            Ok(Err(error)) => {
                outcome.fail("create", error);
                tokio::time::sleep(PAUSE_AFTER_FAILURE).await;
                continue;
            }
            Err(_) => {
                outcome.fail("create", format!("no answer within {OPERATION_BOUND:?}"));
                continue;
            }
        }
        let tracked = outcome.sessions.len() - 1;

        session.data.insert(KEY.into(), json!(round));
        outcome.operations += 1;
        match tokio::time::timeout(OPERATION_BOUND, store.save(&session)).await {
            Ok(Ok(())) => outcome.sessions[tracked].acceptable = vec![json!(round)],
            Ok(Err(error)) => {
                outcome.sessions[tracked].acceptable.push(json!(round));
                outcome.fail("save", error);
                failed = true;
            }
            Err(_) => {
                outcome.sessions[tracked].acceptable.push(json!(round));
                outcome.fail("save", format!("no answer within {OPERATION_BOUND:?}"));
                failed = true;
            }
        }

        outcome.operations += 1;
        match tokio::time::timeout(OPERATION_BOUND, store.load(&session.id)).await {
            Ok(Ok(Some(loaded))) => {
                let value = loaded.data.get(KEY).cloned().unwrap_or(Value::Null);
                if !outcome.sessions[tracked].acceptable.contains(&value) {
                    outcome.fail("load", format!("returned a value no save wrote: {value}"));
                    failed = true;
                }
            }
            Ok(Ok(None)) => {
                outcome.fail("load", "returned no session for one `create` had stored");
                failed = true;
            }
            Ok(Err(error)) => {
                outcome.fail("load", error);
                failed = true;
            }
            Err(_) => {
                outcome.fail("load", format!("no answer within {OPERATION_BOUND:?}"));
                failed = true;
            }
        }
        if failed {
            tokio::time::sleep(PAUSE_AFTER_FAILURE).await;
        }
    }
    outcome
}

/// The counts of one failover.
struct Counts {
    operations: usize,
    failed: usize,
    lost: usize,
}

/// Starts the pair, runs the load, kills the primary at [`KILL_AT`] and
/// promotes the standby `promote_after` later, then checks every session.
async fn failover(label: &str, promote_after: Duration) -> Counts {
    let pair = Topology::start("pg-pair", Duration::from_secs(90));

    let mut connection = AsyncPgConnection::establish(URL)
        .await
        .expect("connect to the primary");
    connection
        .batch_execute(
            "CREATE TABLE users (id BIGINT PRIMARY KEY, login TEXT NOT NULL);
             INSERT INTO users (id, login) VALUES (1, 'ada'), (2, 'brian'), (3, 'carol');",
        )
        .await
        .expect("create users");
    drop(connection);
    let store = AppSessionStore::connect_with(URL, &PoolOptions::default()).expect("pool");
    store.migrate().await.expect("migrate");

    let started = Instant::now();
    let deadline = started + RUN;
    let workers: Vec<_> = (0..TASKS)
        .map(|task| tokio::spawn(work(store.clone(), task, deadline)))
        .collect();

    tokio::time::sleep_until((started + KILL_AT).into()).await;
    let kill_requested = Instant::now();
    let kill = tokio::task::spawn_blocking(|| {
        run_script(&["pg-pair", "kill-primary"], Duration::from_secs(60))
    });
    kill.await
        .unwrap()
        .unwrap_or_else(|error| panic!("{error}"));
    let killed = Instant::now();
    tokio::time::sleep(promote_after).await;
    let promote = tokio::task::spawn_blocking(|| {
        run_script(&["pg-pair", "promote"], Duration::from_secs(60))
    });
    promote
        .await
        .unwrap()
        .unwrap_or_else(|error| panic!("{error}"));
    let promoted = Instant::now();

    let mut operations = 0;
    let mut failures = Failures::default();
    let mut failed_at = Vec::new();
    let mut sessions = Vec::new();
    for worker in workers {
        let outcome = worker.await.expect("a load task");
        operations += outcome.operations;
        failures.merge(outcome.failures);
        failed_at.extend(outcome.failed_at);
        sessions.extend(outcome.sessions);
    }
    let ended = Instant::now();

    // Every acknowledged session, as acknowledged; a load that fails here
    // is tried again, since the run is over.
    let mut lost = 0;
    let mut losses = Failures::default();
    for session in &sessions {
        let mut loaded = Err(String::new());
        for _ in 0..5 {
            loaded = match tokio::time::timeout(OPERATION_BOUND, store.load(&session.id)).await {
                Ok(Ok(found)) => Ok(found),
                Ok(Err(error)) => Err(error.to_string()),
                Err(_) => Err(format!("no answer within {OPERATION_BOUND:?}")),
            };
            if loaded.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        match loaded {
            Ok(Some(record)) => {
                let value = record.data.get(KEY).cloned().unwrap_or(Value::Null);
                if !session.acceptable.contains(&value) {
                    lost += 1;
                    losses.add("check", "an acknowledged save is missing");
                }
            }
            Ok(None) => {
                lost += 1;
                losses.add("check", "an acknowledged session is missing");
            }
            Err(error) => {
                lost += 1;
                losses.add("check, cannot load it", error);
            }
        }
    }
    drop(store);
    drop(pair);

    let phase = |from: Instant, to: Instant| {
        failed_at
            .iter()
            .filter(|at| **at >= from && **at < to)
            .count()
    };
    let last_failure = failed_at.iter().max().copied();
    failures.report(&format!("failover({label})"));
    losses.report(&format!("failover({label})"));
    report(&format!(
        "failover({label}): primary killed at {:.1}s (down at {:.1}s), standby writable at {:.1}s; \
         failures before the kill {}, from the kill to promotion {}, after it {}; last failure {}",
        (kill_requested - started).as_secs_f64(),
        (killed - started).as_secs_f64(),
        (promoted - started).as_secs_f64(),
        phase(started, kill_requested),
        phase(kill_requested, promoted),
        phase(promoted, ended + Duration::from_secs(1)),
        last_failure.map_or("none".into(), |at| format!(
            "{:.1}s after promotion",
            at.saturating_duration_since(promoted).as_secs_f64()
        )),
    ));
    let failed = failures.total();
    report(&format!(
        "failover({label}): {operations} ops, {failed} failed, {lost} lost"
    ));
    Counts {
        operations,
        failed,
        lost,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(session_test_topologies),
    ignore = "set SESSION_TEST_TOPOLOGIES=1 to start a PostgreSQL pair and a Galera cluster"
)]
async fn postgres_failover_loses_no_operation_and_no_session() {
    let _exclusive = exclusive().await;
    let cases = [
        ("promote after 1s", Duration::from_secs(1)),
        ("promote at once", Duration::ZERO),
    ];
    let mut outcomes = Vec::new();
    for (label, promote_after) in cases {
        outcomes.push((label, failover(label, promote_after).await));
    }
    for (label, counts) in &outcomes {
        assert!(counts.operations > 0, "failover({label}): no operation ran");
    }
    let missed: Vec<String> = outcomes
        .iter()
        .filter(|(_, counts)| counts.failed > 0 || counts.lost > 0)
        .map(|(label, counts)| {
            format!(
                "failover({label}): {} ops, {} failed, {} lost",
                counts.operations, counts.failed, counts.lost
            )
        })
        .collect();
    assert!(
        missed.is_empty(),
        "targets: 0 failed operations, 0 lost sessions; got {missed:?}"
    );
}
