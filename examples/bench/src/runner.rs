//! The order of a run: set up a backend's tables and contenders, time every
//! operation on every contender side by side, then tear down.

use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use session_runtime::backend::Backend;
use session_runtime::{AnyStore, AnyTable, DieselStore, PoolOptions, SessionTable};

use crate::cli::BackendKind;
use crate::contender::{Contender, SeedRow, Seeder};
use crate::e2e::{self, E2eResult, Scenario};
use crate::figure::Figure;
use crate::measure::{self, Inputs, Measurement, Op};
use crate::memory::Memory;
use crate::ours::Ours;
use crate::overlap::{self, LostChanges};
use crate::payload::Payload;
use crate::peer::{self, Peer};
use crate::physical_floor::PHYSICAL_TABLE;
use crate::schema::{
    users_ddl, ANY_PLAIN_SESSIONS_TABLE, DISPATCH_PLAIN_SESSIONS_TABLE, PEER_SCHEMA, PEER_TABLE,
    PLAIN_SESSIONS_TABLE, SESSIONS_TABLE, USERS_TABLE,
};
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
    /// Live small sessions every contender's table holds after the create
    /// runs, besides those the runs work on: `delete_expired` then finds
    /// its expired rows among many live ones, as in production, where a
    /// scan of the whole table and an index on the expiry differ most.
    pub background_rows: usize,
    /// Whether every pooled connection is opened and used before the first
    /// timed run.
    pub warm_up: bool,
    /// Timed runs of every line per contender; the tables report the
    /// median run and the spread.
    pub repeat: usize,
    /// Requests of the end-to-end figure per contender; 0 skips it.
    pub e2e_requests: usize,
    /// Requests of the rolling-expiry figure per contender; 0 skips it.
    pub rolling_requests: usize,
    /// Rounds of the lost-changes count per contender; 0 skips it.
    pub overlap_rounds: usize,
    /// Concurrent clients of the end-to-end figure.
    pub e2e_clients: usize,
    /// The connection pool size of every contender.
    pub pool: usize,
    /// The operations timed.
    pub ops: Vec<Op>,
    /// `--only dispatch`: `ours any` against the single-backend store of
    /// the same struct without fields, no other contender.
    pub dispatch: bool,
    /// `--pgbouncer`: on PostgreSQL, ours with its `pgbouncer` switch.
    pub pgbouncer: bool,
    /// `--no-causal-reads` turns it off: ours on MariaDB without
    /// `wsrep_sync_wait`.
    pub causal_reads: bool,
    /// `--direct-postgres-url`: where every PostgreSQL contender but ours
    /// (the peer, both floors) and every seeder connect, when not where
    /// ours do.
    pub direct_postgres_url: Option<String>,
}

/// Sessions of each listed user.
pub const SESSIONS_PER_LISTED_USER: usize = 5;
/// Sessions of each revoked user.
pub const SESSIONS_PER_REVOKED_USER: usize = 3;
/// Users 1 to this are shared by every contender's ordinary sessions.
const GENERAL_USERS: i64 = 1_000;

impl Plan {
    /// The full run: several minutes per backend on two cores.
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
            background_rows: 100_000,
            repeat: 5,
            warm_up: true,
            e2e_requests: 3_000,
            rolling_requests: 3_000,
            overlap_rounds: 100,
            e2e_clients: 8,
            pool,
            ops: Op::ALL.to_vec(),
            dispatch: false,
            pgbouncer: false,
            causal_reads: true,
            direct_postgres_url: None,
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
            background_rows: 10_000,
            repeat: 1,
            e2e_requests: 400,
            rolling_requests: 400,
            overlap_rounds: 20,
            ..Plan::full(pool)
        }
    }

    /// Users the users table needs: the shared ones, then fresh ones for
    /// every contender that lists and revokes (`ours typed` and the
    /// same-schema floor), in every repetition.
    fn users_needed(&self) -> i64 {
        let per_contender = self.listed_users + self.seeded * self.tasks.len() * self.repeat;
        GENERAL_USERS + 2 * i64::try_from(per_contender).unwrap_or(i64::MAX / 4) + 1
    }

    /// Where every contender but ours, and every seeder, connect on
    /// `kind`, when not where ours do.
    fn direct_url(&self, kind: BackendKind) -> Option<String> {
        self.direct_postgres_url
            .clone()
            .filter(|_| kind == BackendKind::Postgres)
    }

    /// Ours' pool options on `kind`. The `pgbouncer` switch is for
    /// PostgreSQL alone: another backend's store refuses it.
    pub(crate) fn pool_options(&self, kind: BackendKind) -> PoolOptions {
        PoolOptions::default()
            .with_max_size(self.pool)
            // Generous: 32 tasks share the pool, and SQLite writers queue.
            .with_retry_budget(Duration::from_secs(30))
            .with_pgbouncer(self.pgbouncer && kind == BackendKind::Postgres)
            .with_causal_reads(self.causal_reads)
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
    pub results: Vec<Option<Figure>>,
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
    /// The rolling-expiry figure.
    pub rolling: Vec<E2eResult>,
    /// The lost-changes count.
    pub overlap: Vec<LostChanges>,
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

/// The contender indices of the `turn`th round, starting one further along
/// each round.
pub(crate) fn rotation(contenders: usize, turn: usize) -> impl Iterator<Item = usize> {
    (0..contenders).map(move |step| (turn + step) % contenders)
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

/// A line of a backend's table before it is timed.
struct Line {
    op: Op,
    payload: Arc<Payload>,
    /// 0 for the small payload, 1 for the large.
    payload_index: usize,
    tasks: usize,
}

/// The lines `plan` times, in table order: every operation it asks for,
/// with both payloads where the payload changes the work, at every task
/// count (`delete_expired` is one call, so one task).
fn lines(plan: &Plan, payloads: &[Arc<Payload>; 2]) -> Vec<Line> {
    let mut lines = Vec::new();
    for op in Op::ALL.into_iter().filter(|op| plan.ops.contains(op)) {
        let payload_count = if op.depends_on_payload() { 2 } else { 1 };
        let task_counts: &[usize] = if op == Op::DeleteExpired {
            &[1]
        } else {
            &plan.tasks
        };
        for (payload_index, payload) in payloads.iter().take(payload_count).enumerate() {
            for &tasks in task_counts {
                lines.push(Line {
                    op,
                    payload: Arc::clone(payload),
                    payload_index,
                    tasks,
                });
            }
        }
    }
    lines
}

/// The contenders and what their tables hold while the suite runs.
struct Suite<'a> {
    contenders: &'a [Arc<dyn Contender>],
    plan: &'a Plan,
    /// The sessions that save and load work on, per contender and payload.
    live: Vec<[Vec<i128>; 2]>,
    /// The users that list works on, per contender.
    listed: Vec<Vec<i64>>,
    /// The users no contender has used yet.
    users: Users,
}

impl Suite<'_> {
    /// Times `line` on every contender: [`Plan::repeat`] rounds, every
    /// contender once per round, side by side so that drift of the machine
    /// hits them alike, in an order that rotates from round to round and
    /// from line to line: whoever runs right after a heavy writer inherits
    /// its checkpoints and flushes, so no contender should always follow
    /// the same one.
    async fn time_line(&mut self, line: &Line, row: usize) -> BenchResult<Row> {
        let count = self.contenders.len();
        let mut runs = vec![Vec::new(); count];
        for round in 0..self.plan.repeat {
            for index in rotation(count, row + round) {
                if let Some(measured) = self.run_once(index, line).await? {
                    runs[index].push(measured);
                }
            }
        }
        Ok(Row {
            op: line.op,
            payload: line.payload.name,
            tasks: line.tasks,
            results: runs.into_iter().map(Figure::new).collect(),
        })
    }

    /// One timed run of `line` on the `index`th contender, after seeding
    /// what it uses up; `None` where the contender has no such operation.
    async fn run_once(&mut self, index: usize, line: &Line) -> BenchResult<Option<Measurement>> {
        let contender = Arc::clone(&self.contenders[index]);
        let plan = self.plan;
        let payload = &line.payload;
        let mut inputs = Inputs {
            payload: Arc::clone(payload),
            ids: Vec::new(),
            users: Vec::new(),
        };
        let mut max_ops = plan.max_ops;
        let mut duration = plan.duration;
        match line.op {
            Op::Create if payload.name == "large" => {
                max_ops = plan.max_large_creates.min(plan.max_ops);
            }
            Op::Create => {}
            Op::DeleteExpired => {
                if !contender.has_delete_expired() {
                    return Ok(None);
                }
                let ids = random_ids(plan.expired_rows);
                contender
                    .seed(&seed_rows(&ids, general_user, true), payload)
                    .await?;
                // One call, however long it takes.
                max_ops = 1;
                duration = Duration::from_secs(600);
            }
            Op::List | Op::Revoke if !contender.has_user_queries() => return Ok(None),
            Op::Delete => {
                let count = if payload.name == "large" {
                    plan.seeded_large
                } else {
                    plan.seeded
                };
                inputs.ids = random_ids(count);
                contender
                    .seed(&seed_rows(&inputs.ids, general_user, false), payload)
                    .await?;
                // The run ends when it has used up what was seeded.
                max_ops = count;
            }
            Op::Revoke => {
                let revoked = self.users.take(plan.seeded);
                let ids = random_ids(revoked.len() * SESSIONS_PER_REVOKED_USER);
                let owners = |row: usize| revoked[row / SESSIONS_PER_REVOKED_USER];
                contender
                    .seed(&seed_rows(&ids, owners, false), payload)
                    .await?;
                max_ops = revoked.len();
                inputs.users = revoked;
            }
            Op::Save | Op::LoadHit | Op::LoadMiss | Op::List => {
                inputs.ids = self.live[index][line.payload_index].clone();
                inputs.users = self.listed[index].clone();
            }
        }
        let measured = measure::run(
            Arc::clone(&contender),
            line.op,
            line.tasks,
            Arc::new(inputs),
            max_ops,
            duration,
        )
        .await?;
        if line.op == Op::Create {
            // The ceiling keeps every session created.
            contender.reset().await?;
        }
        Ok(Some(measured))
    }

    /// Seeds the background of live sessions, the sessions that save and
    /// load work on, and the users that list works on.
    async fn seed_live(&mut self, payloads: &[Arc<Payload>; 2]) -> BenchResult<()> {
        for (index, contender) in self.contenders.iter().enumerate() {
            contender
                .seed(
                    &seed_rows(&random_ids(self.plan.background_rows), general_user, false),
                    &payloads[0],
                )
                .await?;
            for (payload_index, (payload, count)) in payloads.iter().zip(self.plan.live).enumerate()
            {
                let ids = random_ids(count);
                contender
                    .seed(&seed_rows(&ids, general_user, false), payload)
                    .await?;
                self.live[index][payload_index] = ids;
            }
            if contender.has_user_queries() {
                let listed = self.users.take(self.plan.listed_users);
                let ids = random_ids(listed.len() * SESSIONS_PER_LISTED_USER);
                let owners = |row: usize| listed[row / SESSIONS_PER_LISTED_USER];
                contender
                    .seed(&seed_rows(&ids, owners, false), &payloads[0])
                    .await?;
                self.listed[index] = listed;
            }
        }
        Ok(())
    }
}

/// Times every line of `plan` on every contender.
async fn suite(
    contenders: &[Arc<dyn Contender>],
    plan: &Plan,
    payloads: &[Arc<Payload>; 2],
) -> BenchResult<Vec<Row>> {
    let small = &payloads[0];
    for contender in contenders {
        sanity_check(contender, small).await?;
        if plan.warm_up {
            warm_up(contender, plan, small).await?;
        }
    }
    let mut suite = Suite {
        contenders,
        plan,
        live: vec![Default::default(); contenders.len()],
        listed: vec![Vec::new(); contenders.len()],
        users: Users {
            next: GENERAL_USERS + 1,
        },
    };
    let (creates, others): (Vec<Line>, Vec<Line>) = lines(plan, payloads)
        .into_iter()
        .partition(|line| line.op == Op::Create);
    let mut rows = Vec::new();
    // Creates first: the ceiling keeps every session created and is reset
    // after each run, before anything else is stored in it.
    for line in &creates {
        rows.push(suite.time_line(line, rows.len()).await?);
    }
    suite.seed_live(payloads).await?;
    for line in &others {
        rows.push(suite.time_line(line, rows.len()).await?);
    }
    // No contender of `--only dispatch` lists or revokes by user.
    rows.retain(|row| row.results.iter().any(Option::is_some));
    Ok(rows)
}

/// Opens every pooled connection, so that no timed run pays for
/// connecting, and runs every statement of a lookup once.
async fn warm_up(
    contender: &Arc<dyn Contender>,
    plan: &Plan,
    payload: &Arc<Payload>,
) -> BenchResult<()> {
    let inputs = Arc::new(Inputs {
        payload: Arc::clone(payload),
        ids: Vec::new(),
        users: Vec::new(),
    });
    measure::run(
        Arc::clone(contender),
        Op::LoadMiss,
        plan.pool * 2,
        inputs,
        plan.pool * 20,
        Duration::from_secs(2),
    )
    .await?;
    Ok(())
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
    let mut statements: Vec<String> = [
        SESSIONS_TABLE,
        PLAIN_SESSIONS_TABLE,
        ANY_PLAIN_SESSIONS_TABLE,
        DISPATCH_PLAIN_SESSIONS_TABLE,
        PHYSICAL_TABLE,
        USERS_TABLE,
    ]
    .iter()
    .map(|table| format!("DROP TABLE IF EXISTS {table}"))
    .collect();
    match kind {
        BackendKind::Postgres => {
            statements.push(format!("DROP SCHEMA IF EXISTS {PEER_SCHEMA} CASCADE"));
        }
        BackendKind::Mysql => statements.push(format!("DROP DATABASE IF EXISTS {PEER_SCHEMA}")),
        BackendKind::Sqlite => {}
    }
    statements
}

/// The contenders that need a database, each on a pool of its own.
struct Lineup {
    peer: Arc<dyn Contender>,
    ours_plain: Arc<dyn Contender>,
    ours_typed: Arc<dyn Contender>,
    same_schema_floor: Arc<dyn Contender>,
    physical_floor: Arc<dyn Contender>,
    /// With `--only dispatch`: ours plain (or the single-backend store of
    /// the any struct's keys, see [`crate::schema`]) and ours any.
    dispatch: Option<[Arc<dyn Contender>; 2]>,
}

impl Lineup {
    /// Every contender, the ceiling first, in column order: the peer, then
    /// ours from the plain to the typed store, then the floors from the one
    /// nearest ours to the barest. With `--only dispatch`, ours plain and
    /// ours any alone.
    fn columns(self) -> Vec<Arc<dyn Contender>> {
        if let Some(dispatch) = self.dispatch {
            return dispatch.to_vec();
        }
        vec![
            Arc::new(Memory::default()),
            self.peer,
            self.ours_plain,
            self.ours_typed,
            self.same_schema_floor,
            self.physical_floor,
        ]
    }
}

/// Times the lineup, then runs the end-to-end figures over its stores.
async fn measure_all(
    kind: BackendKind,
    plan: &Plan,
    lineup: Lineup,
    e2e_stores: e2e::Stores<impl e2e::OursStore, impl e2e::OursStore, impl e2e::PeerStore>,
) -> BenchResult<BackendReport> {
    let payloads = payloads();
    let contenders = lineup.columns();
    // `--only rolling` and the like time no operation: no seeding either.
    let rows = if plan.ops.is_empty() {
        Vec::new()
    } else {
        suite(&contenders, plan, &payloads).await?
    };
    let e2e = if plan.e2e_requests > 0 {
        e2e::measure(e2e_stores.clone(), plan, Scenario::Visits).await?
    } else {
        Vec::new()
    };
    let rolling = if plan.rolling_requests > 0 {
        e2e::measure(e2e_stores.clone(), plan, Scenario::Rolling).await?
    } else {
        Vec::new()
    };
    let overlap = if plan.overlap_rounds > 0 {
        overlap::measure(e2e_stores, plan).await?
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
        rolling,
        overlap,
    })
}

/// An sqlx pool on the SQLite file at `path`, its connections set up as
/// ours are: WAL, synchronous NORMAL, a five-second busy timeout.
async fn sqlite_pool(path: &std::path::Path, plan: &Plan) -> BenchResult<sqlx::SqlitePool> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5));
    Ok(sqlx_pool_options::<sqlx::Sqlite>(plan)
        .connect_with(options)
        .await?)
}

/// The typed schema and its users in the SQLite file at `url`: a store on
/// it, and the same-schema floor on the store's pool.
async fn sqlite_typed_file(
    url: &str,
    plan: &Plan,
) -> BenchResult<(
    crate::sqlite::BenchSessionStore,
    crate::floor::sqlite::Floor,
)> {
    use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;

    let mut admin = SyncConnectionWrapper::<diesel::SqliteConnection>::establish(url).await?;
    execute_all(&mut admin, &[users_ddl("SQLite")]).await?;
    let store = crate::sqlite::BenchSessionStore::connect_with(
        url,
        &plan.pool_options(BackendKind::Sqlite),
    )?;
    store.migrate().await?;
    let floor = crate::floor::sqlite::Floor::new(store.pool().clone());
    floor.insert_users(1, plan.users_needed()).await?;
    Ok((store, floor))
}

async fn sqlite(plan: &Plan) -> BenchResult<BackendReport> {
    use crate::physical_floor::sqlite::PhysicalFloor;
    use crate::sqlite::{
        bench_sessions, AnyPlainBenchSessionStore, DispatchPlainBenchSessionStore,
        PlainBenchSessionStore, DISPATCH_PLAIN_TABLE,
    };

    let dir = std::env::temp_dir().join(format!("example-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = async {
        // Every contender has a file of its own: no table holds another
        // contender's rows when `delete_expired` scans it, and no
        // contender's writes fill the write-ahead log that another's
        // commit then checkpoints.
        let typed_url = dir.join("typed.db").to_string_lossy().into_owned();
        let plain_path = dir.join("plain.db");
        let plain_url = plain_path.to_string_lossy().into_owned();
        let floor_url = dir.join("floor.db").to_string_lossy().into_owned();
        let (typed, typed_seeder) = sqlite_typed_file(&typed_url, plan).await?;
        let (_, same_schema_floor) = sqlite_typed_file(&floor_url, plan).await?;
        let ours_typed = Ours::typed(
            typed.clone(),
            bench_sessions::user_id,
            Arc::new(typed_seeder),
        );
        let plain = PlainBenchSessionStore::connect_with(
            &plain_url,
            &plan.pool_options(BackendKind::Sqlite),
        )?;
        plain.migrate().await?;
        let ours_plain = Ours::plain(
            plain.clone(),
            Arc::new(PhysicalFloor::on_table(
                sqlite_pool(&plain_path, plan).await?,
                PLAIN_SESSIONS_TABLE,
            )),
        );
        let physical_floor = PhysicalFloor::create(
            sqlite_pool(&dir.join("physical.db"), plan).await?,
            PHYSICAL_TABLE,
        )
        .await?;
        let dispatch = if plan.dispatch {
            // Files of their own, as every contender has.
            let plain_path = dir.join("dispatch-plain.db");
            let any_path = dir.join("any.db");
            let plain = DispatchPlainBenchSessionStore::connect_with(
                &plain_path.to_string_lossy(),
                &plan.pool_options(BackendKind::Sqlite),
            )?;
            let any = AnyPlainBenchSessionStore::connect_with(
                &any_path.to_string_lossy(),
                &plan.pool_options(BackendKind::Sqlite),
            )?;
            let seeders = [
                PhysicalFloor::on_table(
                    sqlite_pool(&plain_path, plan).await?,
                    DISPATCH_PLAIN_TABLE,
                ),
                PhysicalFloor::on_table(
                    sqlite_pool(&any_path, plan).await?,
                    ANY_PLAIN_SESSIONS_TABLE,
                ),
            ];
            Some(
                dispatch_pair(
                    BackendKind::Sqlite,
                    plain,
                    DISPATCH_PLAIN_TABLE,
                    any,
                    seeders,
                )
                .await?,
            )
        } else {
            None
        };

        let pool = sqlite_pool(&dir.join("peer.db"), plan).await?;
        let peer_store = tower_sessions_sqlx_store::SqliteStore::new(pool.clone())
            .with_table_name(PEER_TABLE)?;
        peer_store.migrate().await?;
        let peer = Peer::new(
            peer_store.clone(),
            Box::new(peer::SqliteSeeder::new(pool, PEER_TABLE.to_owned())),
        );
        let lineup = Lineup {
            peer: Arc::new(peer),
            ours_plain: Arc::new(ours_plain),
            ours_typed: Arc::new(ours_typed),
            same_schema_floor: Arc::new(same_schema_floor),
            physical_floor: Arc::new(physical_floor),
            dispatch,
        };
        let e2e_stores = e2e::Stores {
            ours_typed: typed,
            ours_plain: plain,
            peer: peer_store,
        };
        measure_all(BackendKind::Sqlite, plan, lineup, e2e_stores).await
    }
    .await;
    // Best effort: the files are in the temporary directory anyway.
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The contenders of `--only dispatch` on `kind`: `plain`, the
/// single-backend store of a struct without fields, on `plain_table`, and
/// `any`, the same struct derived with `backend = any`, each with the bulk
/// writer of its table. It checks that `any` picked `kind` from its URL and
/// makes `plain`'s table under its own name, so that the two differ in the
/// store type alone, then migrates both.
async fn dispatch_pair<P, B, A, W>(
    kind: BackendKind,
    plain: DieselStore<P, B>,
    plain_table: &str,
    any: AnyStore<A>,
    [plain_seeder, any_seeder]: [W; 2],
) -> BenchResult<[Arc<dyn Contender>; 2]>
where
    P: SessionTable<B>,
    B: Backend,
    A: AnyTable,
    W: Seeder + 'static,
{
    let backend = any.backend_name();
    if backend != B::NAME {
        return Err(format!("ours any runs on {backend}, not {}", B::NAME).into());
    }
    let any_ddl = any
        .migration()
        .up()
        .replace(ANY_PLAIN_SESSIONS_TABLE, plain_table);
    let plain_ddl = DieselStore::<P, B>::migration().up();
    if any_ddl != plain_ddl {
        return Err(format!(
            "ours any's table is not ours plain's on {kind}:\n{any_ddl}\nagainst\n{plain_ddl}"
        )
        .into());
    }
    plain.migrate().await?;
    any.migrate().await?;
    Ok([
        Arc::new(Ours::plain(plain, Arc::new(plain_seeder))),
        Arc::new(Ours::any(any, Arc::new(any_seeder))),
    ])
}

/// The pool of every sqlx contender: the same size as ours, and, like
/// ours, no ping before each checkout (sqlx's default pings, which would
/// cost a round trip per operation; the comparison is of the stores, not
/// of that default).
pub(crate) fn sqlx_pool_options<D: sqlx::Database>(plan: &Plan) -> sqlx::pool::PoolOptions<D> {
    sqlx::pool::PoolOptions::new()
        .max_connections(u32::try_from(plan.pool).unwrap_or(u32::MAX))
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(30))
}

/// Defines the setup of a server backend: the users table, ours plain and
/// typed, both floors and the peer in a schema of its own.
macro_rules! server_backend {
    (
        $name:ident,
        $module:ident,
        $kind:expr,
        $users_backend:literal,
        $connection:ty,
        $database:ty,
        $peer_store:ty,
        $peer_seeder:ident,
        $peer_table:expr
    ) => {
        async fn $name(plan: &Plan) -> BenchResult<Option<BackendReport>> {
            use crate::physical_floor::$module::PhysicalFloor;
            use crate::$module::{
                bench_sessions, AnyPlainBenchSessionStore, BenchSessionStore,
                DispatchPlainBenchSessionStore, PlainBenchSessionStore, DISPATCH_PLAIN_TABLE,
            };

            let kind = $kind;
            let url = kind.url();
            let Some(mut admin) = reach::<$connection>(kind, &url).await else {
                return Ok(None);
            };
            let drops = drop_statements(kind);
            execute_all(&mut admin, &drops).await?;
            let result = async {
                execute_all(&mut admin, &[users_ddl($users_backend)]).await?;
                // Every contender but ours, and every seeder, sends its
                // statements outside a transaction of its own, so it runs
                // at `--direct-postgres-url` when ours go through a pooler.
                let direct_url = plan.direct_url(kind).unwrap_or_else(|| url.clone());
                let typed = BenchSessionStore::connect_with(&url, &plan.pool_options(kind))?;
                typed.migrate().await?;
                let floor_pool =
                    BenchSessionStore::connect_with(&direct_url, &plan.pool_options(kind))?
                        .pool()
                        .clone();
                let same_schema_floor = crate::floor::$module::Floor::new(floor_pool.clone());
                same_schema_floor
                    .insert_users(1, plan.users_needed())
                    .await?;
                let ours_typed = Ours::typed(
                    typed.clone(),
                    bench_sessions::user_id,
                    Arc::new(crate::floor::$module::Floor::new(floor_pool)),
                );
                let physical_pool = sqlx_pool_options::<$database>(plan)
                    .connect(&direct_url)
                    .await?;
                let plain = PlainBenchSessionStore::connect_with(&url, &plan.pool_options(kind))?;
                plain.migrate().await?;
                let ours_plain = Ours::plain(
                    plain.clone(),
                    Arc::new(PhysicalFloor::on_table(
                        physical_pool.clone(),
                        PLAIN_SESSIONS_TABLE,
                    )),
                );
                let dispatch = if plan.dispatch {
                    let plain = DispatchPlainBenchSessionStore::connect_with(
                        &url,
                        &plan.pool_options(kind),
                    )?;
                    let any =
                        AnyPlainBenchSessionStore::connect_with(&url, &plan.pool_options(kind))?;
                    let seeders = [
                        PhysicalFloor::on_table(physical_pool.clone(), DISPATCH_PLAIN_TABLE),
                        PhysicalFloor::on_table(physical_pool.clone(), ANY_PLAIN_SESSIONS_TABLE),
                    ];
                    Some(dispatch_pair(kind, plain, DISPATCH_PLAIN_TABLE, any, seeders).await?)
                } else {
                    None
                };
                let physical_floor = PhysicalFloor::create(physical_pool, PHYSICAL_TABLE).await?;

                let pool = sqlx_pool_options::<$database>(plan)
                    .connect(&direct_url)
                    .await?;
                let peer_store = <$peer_store>::new(pool.clone())
                    .with_schema_name(PEER_SCHEMA)?
                    .with_table_name(PEER_TABLE)?;
                peer_store.migrate().await?;
                let peer = Peer::new(
                    peer_store.clone(),
                    Box::new(peer::$peer_seeder::new(pool, $peer_table)),
                );
                let lineup = Lineup {
                    peer: Arc::new(peer),
                    ours_plain: Arc::new(ours_plain),
                    ours_typed: Arc::new(ours_typed),
                    same_schema_floor: Arc::new(same_schema_floor),
                    physical_floor: Arc::new(physical_floor),
                    dispatch,
                };
                let e2e_stores = e2e::Stores {
                    ours_typed: typed,
                    ours_plain: plain,
                    peer: peer_store,
                };
                measure_all(kind, plan, lineup, e2e_stores).await
            }
            .await;
            // Leaves the server as it was found; a failure here changes no
            // figure.
            let _ = execute_all(&mut admin, &drops).await;
            result.map(Some)
        }
    };
}

server_backend!(
    postgres,
    postgres,
    BackendKind::Postgres,
    "PostgreSQL",
    diesel_async::AsyncPgConnection,
    sqlx::Postgres,
    tower_sessions_sqlx_store::PostgresStore,
    PostgresSeeder,
    format!("\"{PEER_SCHEMA}\".\"{PEER_TABLE}\"")
);
server_backend!(
    mysql,
    mysql,
    BackendKind::Mysql,
    "MySQL",
    diesel_async::AsyncMysqlConnection,
    sqlx::MySql,
    tower_sessions_sqlx_store::MySqlStore,
    MysqlSeeder,
    format!("`{PEER_SCHEMA}`.`{PEER_TABLE}`")
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_rotates_and_covers_everyone() {
        assert_eq!(rotation(4, 0).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(rotation(4, 5).collect::<Vec<_>>(), [1, 2, 3, 0]);
    }

    #[test]
    fn the_pgbouncer_setting_reaches_postgresql_alone() {
        let plan = Plan {
            pgbouncer: true,
            ..Plan::quick(16)
        };
        assert!(plan.pool_options(BackendKind::Postgres).pgbouncer);
        assert!(!plan.pool_options(BackendKind::Sqlite).pgbouncer);
        assert!(!plan.pool_options(BackendKind::Mysql).pgbouncer);
        let direct = "postgres://postgres@127.0.0.1:5432/test";
        let plan = Plan {
            direct_postgres_url: Some(direct.to_owned()),
            ..plan
        };
        assert_eq!(
            plan.direct_url(BackendKind::Postgres).as_deref(),
            Some(direct)
        );
        assert_eq!(plan.direct_url(BackendKind::Mysql), None);
        assert!(
            !Plan::quick(16)
                .pool_options(BackendKind::Postgres)
                .pgbouncer
        );
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
            let taken = plan.listed_users + plan.seeded * plan.tasks.len() * plan.repeat;
            assert!(plan.users_needed() > GENERAL_USERS + 2 * taken as i64);
        }
    }
}
