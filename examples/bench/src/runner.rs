//! The order of a run: set up a backend's tables and contenders, time every
//! operation on every contender side by side, then tear down.

use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use session_runtime::PoolOptions;
use tower_sessions_sqlx_store::sqlx;

use crate::cli::BackendKind;
use crate::contender::{Contender, SeedRow};
use crate::e2e::{self, E2eResult};
use crate::measure::{self, Inputs, Measurement, Op};
use crate::memory::Memory;
use crate::ours::Ours;
use crate::payload::Payload;
use crate::peer::{self, Peer};
use crate::schema::{users_ddl, PEER_SCHEMA, PEER_TABLE, SESSIONS_TABLE, USERS_TABLE};
use crate::BenchResult;

/// How much a run does.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The longest a timed run lasts.
    pub duration: Duration,
    /// The most operations of a timed run.
    pub max_ops: usize,
    /// The most creates of the large payload in a timed run, which bounds
    /// the memory the ceiling keeps.
    pub max_large_creates: usize,
    /// Concurrent tasks of the timed runs.
    pub tasks: [usize; 3],
    /// Sessions seeded for each timed run of delete with the small payload,
    /// and users for each of revoke.
    pub seeded: usize,
    /// Sessions seeded for each timed run of delete with the large payload.
    pub seeded_large: usize,
    /// Sessions saved over and loaded, per payload: small, large.
    pub live: [usize; 2],
    /// Users listed, each with [`SESSIONS_PER_LISTED_USER`] sessions.
    pub listed_users: usize,
    /// Expired rows in the table when `delete_expired` runs.
    pub expired_rows: usize,
    /// Runs of `delete_expired`; the median is reported.
    pub expired_runs: usize,
    /// Requests of the end-to-end figure per contender.
    pub e2e_requests: usize,
    /// Concurrent clients of the end-to-end figure.
    pub e2e_clients: usize,
    /// The connection pool size of every contender.
    pub pool: usize,
    /// The operations timed.
    pub ops: Vec<Op>,
}

/// Sessions of each listed user.
pub const SESSIONS_PER_LISTED_USER: usize = 5;
/// Sessions of each revoked user.
pub const SESSIONS_PER_REVOKED_USER: usize = 3;
/// Users 1 to this are shared by every contender's ordinary sessions.
const GENERAL_USERS: i64 = 1_000;

impl Plan {
    /// The full run: a few minutes for all three backends on two cores.
    pub fn full(pool: usize) -> Plan {
        Plan {
            duration: Duration::from_millis(400),
            max_ops: 200_000,
            max_large_creates: 3_000,
            tasks: [1, 8, 32],
            seeded: 5_000,
            seeded_large: 1_000,
            live: [1_000, 200],
            listed_users: 200,
            expired_rows: 10_000,
            expired_runs: 3,
            e2e_requests: 3_000,
            e2e_clients: 8,
            pool,
            ops: Op::ALL.to_vec(),
        }
    }

    /// The smoke run: the same tables from short runs.
    pub fn quick(pool: usize) -> Plan {
        Plan {
            duration: Duration::from_millis(80),
            max_ops: 40_000,
            max_large_creates: 500,
            seeded: 1_000,
            seeded_large: 200,
            live: [200, 50],
            listed_users: 50,
            expired_runs: 1,
            e2e_requests: 400,
            ..Plan::full(pool)
        }
    }

    /// Users the users table needs: the shared ones, then fresh ones for
    /// every contender that lists and revokes.
    fn users_needed(&self) -> i64 {
        let per_contender = self.listed_users + self.seeded * self.tasks.len();
        GENERAL_USERS + 2 * i64::try_from(per_contender).unwrap_or(i64::MAX / 4) + 1
    }

    fn pool_options(&self) -> PoolOptions {
        PoolOptions {
            max_size: self.pool,
            // Generous: 32 tasks share the pool, and SQLite writers queue.
            timeout: Duration::from_secs(30),
            ..PoolOptions::default()
        }
    }
}

/// One line of a backend's table: an operation, a payload, a task count and
/// each contender's measurement (`None` where it has no such operation).
#[derive(Debug)]
pub struct Row {
    /// The operation.
    pub op: Op,
    /// `small` or `large`.
    pub payload: &'static str,
    /// Concurrent tasks.
    pub tasks: usize,
    /// Per contender, in [`BackendReport::contenders`] order.
    pub results: Vec<Option<Measurement>>,
}

/// Everything measured on one backend.
#[derive(Debug)]
pub struct BackendReport {
    /// The backend.
    pub kind: BackendKind,
    /// The contenders' names, in column order.
    pub contenders: Vec<&'static str>,
    /// The operation table.
    pub rows: Vec<Row>,
    /// The end-to-end figure.
    pub e2e: Vec<E2eResult>,
}

/// Hands out users no contender has used yet.
struct Users {
    next: i64,
}

impl Users {
    fn take(&mut self, count: usize) -> Vec<i64> {
        let count = i64::try_from(count).unwrap_or(0);
        let users = (self.next..self.next + count).collect();
        self.next += count;
        users
    }
}

fn seed_rows(ids: &[i128], users: impl Fn(usize) -> i64, expired: bool) -> Vec<SeedRow> {
    ids.iter()
        .enumerate()
        .map(|(index, id)| SeedRow {
            id: *id,
            user_id: users(index),
            expired,
        })
        .collect()
}

/// The contender indices of the `row`th line, starting one further along
/// each line: whoever runs right after a heavy writer inherits its
/// checkpoints and flushes, so no contender should always follow the same
/// one.
fn rotation(contenders: usize, row: usize) -> impl Iterator<Item = usize> {
    (0..contenders).map(move |step| (row + step) % contenders)
}

fn random_ids(count: usize) -> Vec<i128> {
    (0..count).map(|_| rand::random()).collect()
}

/// The shared user of the `index`th ordinary session.
fn general_user(index: usize) -> i64 {
    i64::try_from(index).unwrap_or(0) % GENERAL_USERS + 1
}

/// Checks that a contender round-trips a session before it is timed.
async fn sanity_check(contender: &Arc<dyn Contender>, payload: &Arc<Payload>) -> BenchResult<()> {
    let name = contender.name();
    let mut slot = crate::contender::Slot::new(payload);
    let id = rand::random();
    contender.create(&mut slot, id).await?;
    let keys = contender.load(id).await?;
    if keys != Some(payload.map.len()) {
        return Err(format!(
            "{name}: a created session loaded with {keys:?} keys, not {}",
            payload.map.len()
        )
        .into());
    }
    contender.save(&mut slot, id).await?;
    contender.delete(id).await?;
    if contender.load(id).await?.is_some() {
        return Err(format!("{name}: a deleted session still loads").into());
    }
    Ok(())
}

/// Times every operation on every contender, the contenders side by side
/// within each line so that drift of the machine hits them alike, in an
/// order that rotates from line to line.
async fn suite(
    contenders: &[Arc<dyn Contender>],
    plan: &Plan,
    payloads: &[Arc<Payload>; 2],
) -> BenchResult<Vec<Row>> {
    let small = &payloads[0];
    for contender in contenders {
        sanity_check(contender, small).await?;
        // Opens every pooled connection, so that no timed run pays for
        // connecting.
        let warm = Arc::new(Inputs {
            payload: Arc::clone(small),
            ids: Vec::new(),
            users: Vec::new(),
        });
        measure::run(
            Arc::clone(contender),
            Op::LoadMiss,
            plan.pool * 2,
            warm,
            plan.pool * 20,
            Duration::from_secs(2),
        )
        .await?;
    }
    let mut users = Users {
        next: GENERAL_USERS + 1,
    };
    let mut rows = Vec::new();

    // Creates first: the ceiling keeps every session created and is reset
    // after each run, before anything else is stored in it.
    let creates: &[Arc<Payload>] = if plan.ops.contains(&Op::Create) {
        payloads
    } else {
        &[]
    };
    for payload in creates {
        for &tasks in &plan.tasks {
            let max_ops = if payload.name == "large" {
                plan.max_large_creates
            } else {
                plan.max_ops
            };
            let mut results = vec![None; contenders.len()];
            for index in rotation(contenders.len(), rows.len()) {
                let contender = &contenders[index];
                let inputs = Arc::new(Inputs {
                    payload: Arc::clone(payload),
                    ids: Vec::new(),
                    users: Vec::new(),
                });
                let measured = measure::run(
                    Arc::clone(contender),
                    Op::Create,
                    tasks,
                    inputs,
                    max_ops,
                    plan.duration,
                )
                .await?;
                contender.reset().await?;
                results[index] = Some(measured);
            }
            rows.push(Row {
                op: Op::Create,
                payload: payload.name,
                tasks,
                results,
            });
        }
    }

    // The sessions that save and load work on, per contender and payload.
    let mut live: Vec<[Vec<i128>; 2]> = Vec::new();
    let mut listed: Vec<Vec<i64>> = Vec::new();
    for contender in contenders {
        let mut sets = [Vec::new(), Vec::new()];
        for (set, (payload, count)) in sets.iter_mut().zip(payloads.iter().zip(plan.live)) {
            *set = random_ids(count);
            contender
                .seed(&seed_rows(set, general_user, false), payload)
                .await?;
        }
        live.push(sets);
        let mut listed_users = Vec::new();
        if contender.has_user_queries() {
            listed_users = users.take(plan.listed_users);
            let ids = random_ids(listed_users.len() * SESSIONS_PER_LISTED_USER);
            let owners = |row: usize| listed_users[row / SESSIONS_PER_LISTED_USER];
            contender
                .seed(&seed_rows(&ids, owners, false), small)
                .await?;
        }
        listed.push(listed_users);
    }

    for op in Op::ALL {
        if op == Op::Create || !plan.ops.contains(&op) {
            continue;
        }
        let op_payloads: &[Arc<Payload>] = if op.depends_on_payload() {
            payloads
        } else {
            &payloads[..1]
        };
        for (payload_index, payload) in op_payloads.iter().enumerate() {
            if op == Op::DeleteExpired {
                let mut results = vec![None; contenders.len()];
                for index in rotation(contenders.len(), rows.len()) {
                    let contender = &contenders[index];
                    if contender.has_delete_expired() {
                        results[index] = Some(delete_expired(contender, plan, payload).await?);
                    }
                }
                rows.push(Row {
                    op,
                    payload: payload.name,
                    tasks: 1,
                    results,
                });
                continue;
            }
            for &tasks in &plan.tasks {
                let mut results = vec![None; contenders.len()];
                for index in rotation(contenders.len(), rows.len()) {
                    let contender = &contenders[index];
                    if matches!(op, Op::List | Op::Revoke) && !contender.has_user_queries() {
                        continue;
                    }
                    let inputs = match op {
                        Op::Delete => {
                            let count = if payload.name == "large" {
                                plan.seeded_large
                            } else {
                                plan.seeded
                            };
                            let ids = random_ids(count);
                            contender
                                .seed(&seed_rows(&ids, general_user, false), payload)
                                .await?;
                            Inputs {
                                payload: Arc::clone(payload),
                                ids,
                                users: Vec::new(),
                            }
                        }
                        Op::Revoke => {
                            let revoked = users.take(plan.seeded);
                            let ids = random_ids(revoked.len() * SESSIONS_PER_REVOKED_USER);
                            let owners = |row: usize| revoked[row / SESSIONS_PER_REVOKED_USER];
                            contender
                                .seed(&seed_rows(&ids, owners, false), payload)
                                .await?;
                            Inputs {
                                payload: Arc::clone(payload),
                                ids: Vec::new(),
                                users: revoked,
                            }
                        }
                        _ => Inputs {
                            payload: Arc::clone(payload),
                            ids: live[index][payload_index].clone(),
                            users: listed[index].clone(),
                        },
                    };
                    // A run that uses up what was seeded ends when it runs
                    // out.
                    let max_ops = if op.consumes_seed() {
                        inputs.ids.len().max(inputs.users.len())
                    } else {
                        plan.max_ops
                    };
                    let measured = measure::run(
                        Arc::clone(contender),
                        op,
                        tasks,
                        Arc::new(inputs),
                        max_ops,
                        plan.duration,
                    )
                    .await?;
                    results[index] = Some(measured);
                }
                rows.push(Row {
                    op,
                    payload: payload.name,
                    tasks,
                    results,
                });
            }
        }
    }
    Ok(rows)
}

/// Seeds the expired rows and times one `delete_expired`, several times;
/// the median run.
async fn delete_expired(
    contender: &Arc<dyn Contender>,
    plan: &Plan,
    payload: &Arc<Payload>,
) -> BenchResult<Measurement> {
    let mut runs = Vec::new();
    for _ in 0..plan.expired_runs {
        let ids = random_ids(plan.expired_rows);
        contender
            .seed(&seed_rows(&ids, general_user, true), payload)
            .await?;
        let inputs = Arc::new(Inputs {
            payload: Arc::clone(payload),
            ids: Vec::new(),
            users: Vec::new(),
        });
        runs.push(
            measure::run(
                Arc::clone(contender),
                Op::DeleteExpired,
                1,
                inputs,
                1,
                Duration::from_secs(600),
            )
            .await?,
        );
    }
    Ok(Measurement::median_of(runs))
}

/// The payloads every contender stores: small, large.
pub fn payloads() -> [Arc<Payload>; 2] {
    [Arc::new(Payload::small()), Arc::new(Payload::large())]
}

/// Runs the whole benchmark on one backend. `Ok(None)` when its server
/// cannot be reached.
pub async fn run_backend(kind: BackendKind, plan: &Plan) -> BenchResult<Option<BackendReport>> {
    match kind {
        BackendKind::Sqlite => sqlite(plan).await.map(Some),
        BackendKind::Postgres => postgres(plan).await,
        BackendKind::Mysql => mysql(plan).await,
    }
}

/// Connects, or says why not, within a few seconds.
async fn reach<C: AsyncConnection>(kind: BackendKind, url: &str) -> Option<C> {
    match tokio::time::timeout(Duration::from_secs(5), C::establish(url)).await {
        Ok(Ok(connection)) => Some(connection),
        Ok(Err(error)) => {
            println!("> note: {kind} skipped: cannot connect to {url}: {error}\n");
            None
        }
        Err(_) => {
            println!("> note: {kind} skipped: {url} did not answer within 5 s\n");
            None
        }
    }
}

/// Runs the statements one by one: MySQL takes one per call.
async fn execute_all<C: SimpleAsyncConnection + Send>(
    connection: &mut C,
    statements: &[String],
) -> BenchResult<()> {
    for statement in statements {
        connection
            .batch_execute(statement)
            .await
            .map_err(|error| format!("{statement}: {error}"))?;
    }
    Ok(())
}

fn drop_statements(kind: BackendKind) -> Vec<String> {
    let mut statements = vec![
        format!("DROP TABLE IF EXISTS {SESSIONS_TABLE}"),
        format!("DROP TABLE IF EXISTS {USERS_TABLE}"),
    ];
    match kind {
        BackendKind::Postgres => {
            statements.push(format!("DROP SCHEMA IF EXISTS {PEER_SCHEMA} CASCADE"));
        }
        BackendKind::Mysql => statements.push(format!("DROP DATABASE IF EXISTS {PEER_SCHEMA}")),
        BackendKind::Sqlite => {}
    }
    statements
}

/// The contenders in column order, the stores the end-to-end figure wraps,
/// and the suite over them.
async fn measure_all(
    kind: BackendKind,
    plan: &Plan,
    peer: Arc<dyn Contender>,
    ours: Arc<dyn Contender>,
    floor: Arc<dyn Contender>,
    e2e_stores: e2e::Stores<impl e2e::OursStore, impl e2e::PeerStore>,
) -> BenchResult<BackendReport> {
    let payloads = payloads();
    let contenders: Vec<Arc<dyn Contender>> = vec![Arc::new(Memory::default()), peer, ours, floor];
    let rows = suite(&contenders, plan, &payloads).await?;
    let e2e = if plan.e2e_requests > 0 {
        e2e::measure(e2e_stores, plan).await?
    } else {
        Vec::new()
    };
    Ok(BackendReport {
        kind,
        contenders: contenders
            .iter()
            .map(|contender| contender.name())
            .collect(),
        rows,
        e2e,
    })
}

async fn sqlite(plan: &Plan) -> BenchResult<BackendReport> {
    use crate::sqlite::{bench_sessions, BenchSessionStore};
    use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;

    let dir = std::env::temp_dir().join(format!("example-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = async {
        let ours_path = dir.join("ours.db").to_string_lossy().into_owned();
        let peer_path = dir.join("peer.db");
        let mut admin =
            SyncConnectionWrapper::<diesel::SqliteConnection>::establish(&ours_path).await?;
        execute_all(&mut admin, &[users_ddl("SQLite")]).await?;

        let store = BenchSessionStore::connect_with(&ours_path, &plan.pool_options())?;
        store.migrate().await?;
        let floor = crate::floor::sqlite::Floor::new(
            BenchSessionStore::connect_with(&ours_path, &plan.pool_options())?
                .pool()
                .clone(),
        );
        floor.insert_users(1, plan.users_needed()).await?;
        let ours = Ours::new(
            store.clone(),
            bench_sessions::user_id,
            Arc::new(crate::floor::sqlite::Floor::new(store.pool().clone())),
        );

        // The peer's connections are set up as ours are: WAL, synchronous
        // NORMAL, a five-second busy timeout.
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&peer_path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        let pool = peer_pool_options::<sqlx::Sqlite>(plan)
            .connect_with(options)
            .await?;
        let peer_store = tower_sessions_sqlx_store::SqliteStore::new(pool.clone())
            .with_table_name(PEER_TABLE)?;
        peer_store.migrate().await?;
        let peer = Peer::new(
            peer_store.clone(),
            Box::new(peer::SqliteSeeder::new(pool, PEER_TABLE.to_owned())),
        );
        measure_all(
            BackendKind::Sqlite,
            plan,
            Arc::new(peer),
            Arc::new(ours),
            Arc::new(floor),
            e2e::Stores {
                ours: store,
                peer: peer_store,
            },
        )
        .await
    }
    .await;
    // Best effort: the files are in the temporary directory anyway.
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The peer's pool: the same size as ours, and, like ours, no ping before
/// each checkout (sqlx's default pings, which would cost it a round trip
/// per operation; the comparison is of the stores, not of that default).
fn peer_pool_options<D: sqlx::Database>(plan: &Plan) -> sqlx::pool::PoolOptions<D> {
    sqlx::pool::PoolOptions::new()
        .max_connections(u32::try_from(plan.pool).unwrap_or(u32::MAX))
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(30))
}

async fn postgres(plan: &Plan) -> BenchResult<Option<BackendReport>> {
    use crate::postgres::{bench_sessions, BenchSessionStore};

    let kind = BackendKind::Postgres;
    let url = kind.url();
    let Some(mut admin) = reach::<diesel_async::AsyncPgConnection>(kind, &url).await else {
        return Ok(None);
    };
    let drops = drop_statements(kind);
    execute_all(&mut admin, &drops).await?;
    let result = async {
        execute_all(&mut admin, &[users_ddl("PostgreSQL")]).await?;
        let store = BenchSessionStore::connect_with(&url, &plan.pool_options())?;
        store.migrate().await?;
        let floor = crate::floor::postgres::Floor::new(
            BenchSessionStore::connect_with(&url, &plan.pool_options())?
                .pool()
                .clone(),
        );
        floor.insert_users(1, plan.users_needed()).await?;
        let ours = Ours::new(
            store.clone(),
            bench_sessions::user_id,
            Arc::new(crate::floor::postgres::Floor::new(store.pool().clone())),
        );

        let pool = peer_pool_options::<sqlx::Postgres>(plan)
            .connect(&url)
            .await?;
        let peer_store = tower_sessions_sqlx_store::PostgresStore::new(pool.clone())
            .with_schema_name(PEER_SCHEMA)?
            .with_table_name(PEER_TABLE)?;
        peer_store.migrate().await?;
        let peer = Peer::new(
            peer_store.clone(),
            Box::new(peer::PostgresSeeder::new(
                pool,
                format!("\"{PEER_SCHEMA}\".\"{PEER_TABLE}\""),
            )),
        );
        measure_all(
            kind,
            plan,
            Arc::new(peer),
            Arc::new(ours),
            Arc::new(floor),
            e2e::Stores {
                ours: store,
                peer: peer_store,
            },
        )
        .await
    }
    .await;
    // Leaves the server as it was found; a failure here changes no figure.
    let _ = execute_all(&mut admin, &drops).await;
    result.map(Some)
}

async fn mysql(plan: &Plan) -> BenchResult<Option<BackendReport>> {
    use crate::mysql::{bench_sessions, BenchSessionStore};

    let kind = BackendKind::Mysql;
    let url = kind.url();
    let Some(mut admin) = reach::<diesel_async::AsyncMysqlConnection>(kind, &url).await else {
        return Ok(None);
    };
    let drops = drop_statements(kind);
    execute_all(&mut admin, &drops).await?;
    let result = async {
        execute_all(&mut admin, &[users_ddl("MySQL")]).await?;
        let store = BenchSessionStore::connect_with(&url, &plan.pool_options())?;
        store.migrate().await?;
        let floor = crate::floor::mysql::Floor::new(
            BenchSessionStore::connect_with(&url, &plan.pool_options())?
                .pool()
                .clone(),
        );
        floor.insert_users(1, plan.users_needed()).await?;
        let ours = Ours::new(
            store.clone(),
            bench_sessions::user_id,
            Arc::new(crate::floor::mysql::Floor::new(store.pool().clone())),
        );

        let pool = peer_pool_options::<sqlx::MySql>(plan).connect(&url).await?;
        let peer_store = tower_sessions_sqlx_store::MySqlStore::new(pool.clone())
            .with_schema_name(PEER_SCHEMA)?
            .with_table_name(PEER_TABLE)?;
        peer_store.migrate().await?;
        let peer = Peer::new(
            peer_store.clone(),
            Box::new(peer::MysqlSeeder::new(
                pool,
                format!("`{PEER_SCHEMA}`.`{PEER_TABLE}`"),
            )),
        );
        measure_all(
            kind,
            plan,
            Arc::new(peer),
            Arc::new(ours),
            Arc::new(floor),
            e2e::Stores {
                ours: store,
                peer: peer_store,
            },
        )
        .await
    }
    .await;
    let _ = execute_all(&mut admin, &drops).await;
    result.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_rotates_and_covers_everyone() {
        assert_eq!(rotation(4, 0).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(rotation(4, 5).collect::<Vec<_>>(), [1, 2, 3, 0]);
    }

    #[test]
    fn users_are_handed_out_once() {
        let mut users = Users { next: 10 };
        assert_eq!(users.take(2), [10, 11]);
        assert_eq!(users.take(1), [12]);
    }

    #[test]
    fn the_users_table_covers_the_plan() {
        for plan in [Plan::full(16), Plan::quick(16)] {
            let taken = plan.listed_users + plan.seeded * plan.tasks.len();
            assert!(plan.users_needed() > GENERAL_USERS + 2 * taken as i64);
        }
    }
}
