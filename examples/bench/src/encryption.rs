//! What encryption at rest costs per operation: **ours encrypted**, the
//! store of a struct with `#[session(data = encrypted)]`, against **ours
//! plain**, the same struct storing `data` in clear as the main tables'
//! `ours plain` does (`TEXT` on SQLite, `JSON` on PostgreSQL, `LONGBLOB` on
//! MySQL), both without typed columns, on the small and the large payload.
//!
//! One task at a time, so that each figure is the latency of one operation
//! and its ratio the cost of sealing or opening `data` on top of the
//! statement:
//!
//! - `create`: an `INSERT` of a new session;
//! - `load`: a `SELECT` of a live session;
//! - `save`: an `UPDATE` of every column, what a save sends when the store
//!   does not know what the request loaded;
//! - `request`: one request as the session middleware runs it, in a task of
//!   its own: a load, one `data` key changed, a save. Ours plain then
//!   patches that key; ours encrypted seals and writes all of `data` again,
//!   since sealed bytes cannot be patched.
//!
//! Each line starts with an untimed run of each store; then the timed runs
//! alternate between the two stores, each going first in every other run,
//! and each figure is the median run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use session_runtime::{DataKey, EncryptionKeys};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore;

use crate::cli::BackendKind;
use crate::payload::Payload;
use crate::BenchResult;

/// The table of ours plain in this figure.
const CLEAR_TABLE: &str = "bench_clear_cost_sessions";
/// The table of ours encrypted.
const SEALED_TABLE: &str = "bench_sealed_cost_sessions";

/// Defines, for one backend, `ClearCostSession` and `SealedCostSession`
/// and their stores: the same struct without fields, `data` in clear with
/// the container keys `clear` adds, and encrypted.
macro_rules! cost_schema {
    ($backend:ident, clear: ($($clear:tt)*)) => {
        /// `data` in clear, as ours plain stores it.
        #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
        #[session(table = bench_clear_cost_sessions, backend = $backend $($clear)*)]
        pub struct ClearCostSession {}

        /// `data` encrypted.
        #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
        #[session(table = bench_sealed_cost_sessions, backend = $backend, data = encrypted)]
        pub struct SealedCostSession {}
    };
}

/// The two structs on SQLite.
pub mod sqlite {
    cost_schema!(sqlite, clear: ());
}

/// The two structs on PostgreSQL.
pub mod postgres {
    cost_schema!(postgres, clear: (, data = json));
}

/// The two structs on MySQL and MariaDB.
pub mod mysql {
    cost_schema!(mysql, clear: (, data = blob));
}

/// An operation of the figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostOp {
    /// `create`.
    Create,
    /// `load` of a live session.
    Load,
    /// `save` of every column.
    Save,
    /// Load, change one key, save, in a task of its own.
    Request,
}

impl CostOp {
    /// Every operation, in the order they run and print.
    pub const ALL: [CostOp; 4] = [CostOp::Create, CostOp::Load, CostOp::Save, CostOp::Request];

    fn name(self) -> &'static str {
        match self {
            CostOp::Create => "create",
            CostOp::Load => "load",
            CostOp::Save => "save (whole row)",
            CostOp::Request => "request (load, change a key, save)",
        }
    }
}

/// One line: an operation on a payload, and the median microseconds per
/// operation of each store.
#[derive(Debug)]
pub struct CostRow {
    /// The backend.
    pub backend: BackendKind,
    /// `small` or `large`.
    pub payload: &'static str,
    /// The operation.
    pub op: CostOp,
    /// Ours plain, µs per operation.
    pub clear_us: f64,
    /// Ours encrypted, µs per operation.
    pub sealed_us: f64,
}

/// How long the figure runs.
#[derive(Debug, Clone, Copy)]
pub struct CostPlan {
    /// The longest a timed run lasts.
    pub duration: Duration,
    /// The most operations of a timed run.
    pub max_ops: usize,
    /// Timed runs per store and line.
    pub repeat: usize,
    /// Sessions loaded and saved over.
    pub live: usize,
}

impl CostPlan {
    /// A short run, for `--quick`.
    pub fn quick() -> Self {
        CostPlan {
            duration: Duration::from_millis(150),
            max_ops: 1_000,
            repeat: 1,
            live: 100,
        }
    }

    /// The full run: about 20 seconds a backend.
    pub fn full(repeat: usize) -> Self {
        CostPlan {
            duration: Duration::from_millis(400),
            max_ops: 5_000,
            repeat,
            live: 200,
        }
    }
}

/// A store of either struct, through the tower-sessions trait as an app
/// drives it.
type Store = Arc<dyn SessionStore>;

/// Measures one backend; `None` when its server cannot be reached.
pub async fn measure(kind: BackendKind, plan: &CostPlan) -> BenchResult<Option<Vec<CostRow>>> {
    let keys = || EncryptionKeys::new(DataKey::from_bytes(rand::random()));
    let dir = std::env::temp_dir().join(format!("example-bench-cost-{}", std::process::id()));
    let (clear, sealed): (Store, Store) = match kind {
        BackendKind::Sqlite => {
            std::fs::create_dir_all(&dir)?;
            let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
            let clear = sqlite::ClearCostSessionStore::connect(&file("clear.db"))?;
            let sealed = sqlite::SealedCostSessionStore::connect(&file("sealed.db"))?;
            clear.migrate().await?;
            sealed.migrate().await?;
            (
                Arc::new(clear),
                Arc::new(sealed.with_encryption_keys(keys())),
            )
        }
        BackendKind::Postgres => {
            let url = kind.url();
            let clear = postgres::ClearCostSessionStore::connect(&url)?;
            let sealed = postgres::SealedCostSessionStore::connect(&url)?;
            if !reached(kind, &url, clear.migrate()).await {
                return Ok(None);
            }
            sealed.migrate().await?;
            (
                Arc::new(clear),
                Arc::new(sealed.with_encryption_keys(keys())),
            )
        }
        BackendKind::Mysql => {
            let url = kind.url();
            let clear = mysql::ClearCostSessionStore::connect(&url)?;
            let sealed = mysql::SealedCostSessionStore::connect(&url)?;
            if !reached(kind, &url, clear.migrate()).await {
                return Ok(None);
            }
            sealed.migrate().await?;
            (
                Arc::new(clear),
                Arc::new(sealed.with_encryption_keys(keys())),
            )
        }
    };
    let mut rows = Vec::new();
    for payload in [Payload::small(), Payload::large()] {
        let stores = [&clear, &sealed];
        let mut live = Vec::new();
        for store in stores {
            live.push(create_sessions(store, &payload, plan.live).await?);
        }
        for op in CostOp::ALL {
            let warm_up = CostPlan {
                duration: plan.duration / 4,
                ..*plan
            };
            for (store, ids) in stores.into_iter().zip(&live) {
                run(store, op, &payload, ids, &warm_up).await?;
            }
            let mut timings = [Vec::new(), Vec::new()];
            for repeat in 0..plan.repeat {
                // Each store goes first in every other run.
                for index in [repeat % 2, (repeat + 1) % 2] {
                    let (store, ids) = (stores[index], &live[index]);
                    timings[index].push(run(store, op, &payload, ids, plan).await?);
                }
            }
            let [clear_us, sealed_us] = timings.map(median);
            rows.push(CostRow {
                backend: kind,
                payload: payload.name,
                op,
                clear_us,
                sealed_us,
            });
        }
        for (store, ids) in stores.into_iter().zip(&live) {
            delete_sessions(store, ids).await?;
        }
    }
    drop_tables(kind).await;
    if kind == BackendKind::Sqlite {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(Some(rows))
}

/// Whether the first migration reached the server; says why not if not.
async fn reached(
    kind: BackendKind,
    url: &str,
    migrate: impl std::future::Future<
        Output = Result<session_runtime::SchemaDiff, session_runtime::Error>,
    >,
) -> bool {
    match tokio::time::timeout(Duration::from_secs(10), migrate).await {
        Ok(Ok(_)) => true,
        Ok(Err(error)) => {
            println!("> note: {kind} skipped in the encryption figure: {url}: {error}\n");
            false
        }
        Err(_) => {
            println!("> note: {kind} skipped in the encryption figure: {url} did not answer\n");
            false
        }
    }
}

/// Creates `count` sessions of `payload`.
async fn create_sessions(store: &Store, payload: &Payload, count: usize) -> BenchResult<Vec<Id>> {
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        let mut record = record(payload, Id::default());
        store.create(&mut record).await?;
        ids.push(record.id);
    }
    Ok(ids)
}

/// Deletes the sessions `ids`, so that the table stays small.
async fn delete_sessions(store: &Store, ids: &[Id]) -> BenchResult<()> {
    for id in ids {
        store.delete(id).await?;
    }
    Ok(())
}

fn record(payload: &Payload, id: Id) -> Record {
    Record {
        id,
        data: payload.map.clone(),
        expiry_date: OffsetDateTime::now_utc() + time::Duration::hours(1),
    }
}

/// One timed run of `op`: microseconds per operation.
async fn run(
    store: &Store,
    op: CostOp,
    payload: &Payload,
    ids: &[Id],
    plan: &CostPlan,
) -> BenchResult<f64> {
    let mut created = Vec::new();
    let started = Instant::now();
    let mut done = 0;
    while done < plan.max_ops && started.elapsed() < plan.duration {
        let id = ids[done % ids.len()];
        match op {
            CostOp::Create => {
                let mut record = record(payload, Id::default());
                store.create(&mut record).await?;
                created.push(record.id);
            }
            CostOp::Load => {
                store
                    .load(&id)
                    .await?
                    .ok_or("a live session was not found")?;
            }
            CostOp::Save => {
                let mut record = record(payload, id);
                record.data.insert("counter".to_owned(), json!(done));
                store.save(&record).await?;
            }
            CostOp::Request => {
                let store = Arc::clone(store);
                tokio::spawn(async move {
                    let mut record = store
                        .load(&id)
                        .await?
                        .ok_or("a live session was not found")?;
                    record.data.insert("counter".to_owned(), json!(done));
                    store.save(&record).await?;
                    Ok::<_, crate::BoxError>(())
                })
                .await??;
            }
        }
        done += 1;
    }
    let micros = started.elapsed().as_secs_f64() * 1e6 / done.max(1) as f64;
    delete_sessions(store, &created).await?;
    Ok(micros)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Drops the figure's tables on a server; SQLite's files go with their
/// folder.
async fn drop_tables(kind: BackendKind) {
    if kind == BackendKind::Sqlite {
        return;
    }
    let url = kind.url();
    let statements =
        [CLEAR_TABLE, SEALED_TABLE].map(|table| format!("DROP TABLE IF EXISTS {table}"));
    let result: BenchResult<()> = async {
        use diesel_async::{AsyncConnection as _, SimpleAsyncConnection as _};
        match kind {
            BackendKind::Postgres => {
                let mut connection = diesel_async::AsyncPgConnection::establish(&url).await?;
                for statement in &statements {
                    connection.batch_execute(statement).await?;
                }
            }
            _ => {
                let mut connection = diesel_async::AsyncMysqlConnection::establish(&url).await?;
                for statement in &statements {
                    connection.batch_execute(statement).await?;
                }
            }
        }
        Ok(())
    }
    .await;
    if let Err(error) = result {
        println!("> note: the encryption figure's tables stay: {error}");
    }
}

/// The markdown table of every backend's lines.
pub fn table(rows: &[CostRow], plan: &CostPlan) -> String {
    let mut out = format!(
        "### Encryption at rest: ours encrypted against ours plain\n\n\
         µs per operation, one task at a time, the median of {} run(s) each; \
         `encrypted/plain` is what sealing and opening `data` cost on top of the statement.\n\n\
         | backend | payload | operation | ours plain µs | ours encrypted µs | encrypted/plain |\n\
         |---|---|---|---:|---:|---:|\n",
        plan.repeat
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.2} |\n",
            row.backend,
            row.payload,
            row.op.name(),
            row.clear_us,
            row.sealed_us,
            row.sealed_us / row.clear_us
        ));
    }
    out
}
