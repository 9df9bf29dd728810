//! The cached store (`--only cache`): **ours cached**, a [`CachedStore`]
//! in front of ours plain, against the peer, the peer behind
//! tower-sessions' `CachingSessionStore` with a `MokaStore` in front
//! (**peer + moka**), and ours plain alone, on two figures:
//!
//! - `load hit`: loads of live sessions every cache already holds, from
//!   1, 8 and 32 tasks;
//! - `rolling`: the rolling-expiry figure of [`crate::e2e`], through axum
//!   and the session middleware, nine requests in ten only reading.
//!
//! Each figure is the median of [`Plan::repeat`] runs, the contenders in
//! an order that rotates from run to run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use session_runtime::backend::Backend;
use session_runtime::{CacheOptions, CachedStore, DieselStore, SessionTable};
use tower_sessions_core_014::session_store::CachingSessionStore;
use tower_sessions_moka_store::MokaStore;

use crate::cli::BackendKind;
use crate::e2e::{self, app, app_014, Scenario};
use crate::figure::Figure;
use crate::measure::Measurement;
use crate::payload::Payload;
use crate::percentile::LatencyHistogram;
use crate::runner::{rotation, sqlx_pool_options, Plan};
use crate::BenchResult;

/// The peer's schema (a database on MySQL) and table in this figure.
const PEER_SCHEMA: &str = "bench_cache_peer";
const PEER_TABLE: &str = "sessions";
/// The table of ours plain and ours cached.
const OURS_TABLE: &str = "bench_cached_sessions";
/// How many sessions the peer's moka cache holds at most.
const MOKA_CAPACITY: u64 = 100_000;

/// Defines, for one backend, `CachedBenchSession`: a struct without fields
/// with the `data` type of ours plain.
macro_rules! cache_schema {
    ($backend:ident $($plain:tt)*) => {
        /// Ours plain's struct, on a table of this figure's own.
        #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
        #[session(table = bench_cached_sessions, backend = $backend $($plain)*)]
        pub struct CachedBenchSession {}
    };
}

/// The struct on SQLite.
pub mod sqlite {
    cache_schema!(sqlite);
}

/// The struct on PostgreSQL.
pub mod postgres {
    cache_schema!(postgres, data = json);
}

/// The struct on MySQL and MariaDB.
pub mod mysql {
    cache_schema!(mysql, data = blob);
}

/// The column headings, in table order.
const CONTENDERS: [&str; 4] = ["peer", "peer + moka", "ours plain", "ours cached"];

/// One line of the figure: what ran, and each contender's figure.
#[derive(Debug)]
pub struct CacheRow {
    /// The backend.
    pub backend: BackendKind,
    /// `load hit` or `rolling`.
    pub figure: &'static str,
    /// Concurrent tasks (load hit) or clients (rolling).
    pub tasks: usize,
    /// Each contender's runs, in [`CONTENDERS`] order.
    pub figures: Vec<Option<Figure>>,
}

/// A store as this figure drives it: create and load, on either
/// tower-sessions version.
#[async_trait]
trait Loads: Send + Sync {
    /// Creates a session holding `payload`; its id.
    async fn create(&self, payload: &Payload) -> BenchResult<i128>;
    /// Whether session `id` loaded.
    async fn load(&self, id: i128) -> BenchResult<bool>;
}

/// A store of tower-sessions 0.15: ours.
struct Ours<T>(T);
/// A store of tower-sessions 0.14: the peer.
struct Peer<T>(T);

#[async_trait]
impl<T: tower_sessions::SessionStore> Loads for Ours<T> {
    async fn create(&self, payload: &Payload) -> BenchResult<i128> {
        let mut record = tower_sessions::session::Record {
            id: tower_sessions::session::Id(rand::random()),
            data: payload.map.clone(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        self.0.create(&mut record).await?;
        Ok(record.id.0)
    }

    async fn load(&self, id: i128) -> BenchResult<bool> {
        Ok(self
            .0
            .load(&tower_sessions::session::Id(id))
            .await?
            .is_some())
    }
}

#[async_trait]
impl<T: tower_sessions_core_014::SessionStore> Loads for Peer<T> {
    async fn create(&self, payload: &Payload) -> BenchResult<i128> {
        let mut record = tower_sessions_core_014::session::Record {
            id: tower_sessions_core_014::session::Id(rand::random()),
            data: payload.map.clone(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        self.0.create(&mut record).await?;
        Ok(record.id.0)
    }

    async fn load(&self, id: i128) -> BenchResult<bool> {
        Ok(self
            .0
            .load(&tower_sessions_core_014::session::Id(id))
            .await?
            .is_some())
    }
}

/// Measures one backend; `None` when its server cannot be reached.
pub async fn measure(kind: BackendKind, plan: &Plan) -> BenchResult<Option<Vec<CacheRow>>> {
    let dir = std::env::temp_dir().join(format!("example-bench-cache-{}", std::process::id()));
    let result = match kind {
        BackendKind::Sqlite => {
            std::fs::create_dir_all(&dir)?;
            let ours_url = dir.join("ours.db").to_string_lossy().into_owned();
            let ours =
                sqlite::CachedBenchSessionStore::connect_with(&ours_url, &plan.pool_options(kind))?;
            ours.migrate().await?;
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(dir.join("peer.db"))
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5));
            let pool = sqlx_pool_options::<sqlx::Sqlite>(plan)
                .connect_with(options)
                .await?;
            let peer =
                tower_sessions_sqlx_store::SqliteStore::new(pool).with_table_name(PEER_TABLE)?;
            peer.migrate().await?;
            Some(run_figures(kind, plan, ours, peer).await)
        }
        BackendKind::Postgres => {
            let url = kind.url();
            let ours =
                postgres::CachedBenchSessionStore::connect_with(&url, &plan.pool_options(kind))?;
            match tokio::time::timeout(Duration::from_secs(10), ours.migrate()).await {
                Ok(Ok(_)) => {
                    let pool = sqlx_pool_options::<sqlx::Postgres>(plan)
                        .connect(&url)
                        .await?;
                    let peer = tower_sessions_sqlx_store::PostgresStore::new(pool)
                        .with_schema_name(PEER_SCHEMA)?
                        .with_table_name(PEER_TABLE)?;
                    peer.migrate().await?;
                    Some(run_figures(kind, plan, ours, peer).await)
                }
                _ => None,
            }
        }
        BackendKind::Mysql => {
            let url = kind.url();
            let ours =
                mysql::CachedBenchSessionStore::connect_with(&url, &plan.pool_options(kind))?;
            match tokio::time::timeout(Duration::from_secs(10), ours.migrate()).await {
                Ok(Ok(_)) => {
                    let pool = sqlx_pool_options::<sqlx::MySql>(plan).connect(&url).await?;
                    let peer = tower_sessions_sqlx_store::MySqlStore::new(pool)
                        .with_schema_name(PEER_SCHEMA)?
                        .with_table_name(PEER_TABLE)?;
                    peer.migrate().await?;
                    Some(run_figures(kind, plan, ours, peer).await)
                }
                _ => None,
            }
        }
    };
    drop_tables(kind).await;
    if kind == BackendKind::Sqlite {
        let _ = std::fs::remove_dir_all(&dir);
    }
    match result {
        None => {
            println!("> note: {kind} skipped in the cache figure: its server did not answer\n");
            Ok(None)
        }
        Some(rows) => rows.map(Some),
    }
}

/// Both figures on one backend's stores: `ours`, ours plain's store, and
/// `peer`.
async fn run_figures<S, B, P>(
    kind: BackendKind,
    plan: &Plan,
    ours: DieselStore<S, B>,
    peer: P,
) -> BenchResult<Vec<CacheRow>>
where
    S: SessionTable<B>,
    B: Backend,
    P: e2e::PeerStore,
{
    let cached = CachedStore::new(ours.clone(), CacheOptions::default())?;
    let caching_peer = CachingSessionStore::new(MokaStore::new(Some(MOKA_CAPACITY)), peer.clone());
    let stores: [Arc<dyn Loads>; 4] = [
        Arc::new(Peer(peer.clone())),
        Arc::new(Peer(caching_peer.clone())),
        Arc::new(Ours(ours.clone())),
        Arc::new(Ours(cached.clone())),
    ];
    let mut rows = load_hits(kind, plan, &stores).await?;
    let apps = [
        (CONTENDERS[0], app_014(peer, Scenario::Rolling)),
        (CONTENDERS[1], app_014(caching_peer, Scenario::Rolling)),
        (CONTENDERS[2], app(ours, Scenario::Rolling)),
        (CONTENDERS[3], app(cached, Scenario::Rolling)),
    ];
    let rolling = e2e::measure_apps(&apps, plan, Scenario::Rolling).await?;
    rows.push(CacheRow {
        backend: kind,
        figure: "rolling",
        tasks: plan.e2e_clients,
        figures: CONTENDERS
            .iter()
            .map(|name| {
                rolling
                    .iter()
                    .find(|result| result.contender == *name)
                    .map(|result| result.figure.clone())
            })
            .collect(),
    });
    Ok(rows)
}

/// The load-hit lines: every contender's caches warmed on its own live
/// sessions, then timed from each task count.
async fn load_hits(
    kind: BackendKind,
    plan: &Plan,
    stores: &[Arc<dyn Loads>; 4],
) -> BenchResult<Vec<CacheRow>> {
    let payload = Payload::small();
    let live = plan.live[0];
    let mut ids = Vec::new();
    for store in stores {
        let mut created = Vec::with_capacity(live);
        for _ in 0..live {
            created.push(store.create(&payload).await?);
        }
        for id in &created {
            if !store.load(*id).await? {
                return Err("a session just created did not load".into());
            }
        }
        ids.push(Arc::new(created));
    }
    let mut rows = Vec::new();
    for tasks in plan.tasks {
        let mut runs = vec![Vec::new(); stores.len()];
        for round in 0..plan.repeat {
            for index in rotation(stores.len(), round) {
                let store = Arc::clone(&stores[index]);
                let measured = time_loads(store, Arc::clone(&ids[index]), tasks, plan).await?;
                runs[index].push(measured);
            }
        }
        rows.push(CacheRow {
            backend: kind,
            figure: "load hit",
            tasks,
            figures: runs.into_iter().map(Figure::new).collect(),
        });
    }
    Ok(rows)
}

/// Loads of `ids` from `tasks` tasks for the plan's duration or its most
/// operations.
async fn time_loads(
    store: Arc<dyn Loads>,
    ids: Arc<Vec<i128>>,
    tasks: usize,
    plan: &Plan,
) -> BenchResult<Measurement> {
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + plan.duration;
    let max_ops = plan.max_ops;
    let handles = (0..tasks)
        .map(|_| {
            let (store, ids, counter) =
                (Arc::clone(&store), Arc::clone(&ids), Arc::clone(&counter));
            tokio::spawn(async move {
                let mut latencies = LatencyHistogram::default();
                loop {
                    let index = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if index >= max_ops || Instant::now() >= deadline {
                        break;
                    }
                    let began = Instant::now();
                    if !store.load(ids[index % ids.len()]).await? {
                        return Err("a live session did not load".into());
                    }
                    latencies.record(began.elapsed());
                }
                Ok::<_, crate::BoxError>((latencies, Instant::now()))
            })
        })
        .collect();
    Measurement::from_tasks(start, handles).await
}

/// Drops the figure's tables on a server; SQLite's files go with their
/// folder.
async fn drop_tables(kind: BackendKind) {
    use diesel_async::{AsyncConnection as _, SimpleAsyncConnection as _};
    let url = kind.url();
    let result: BenchResult<()> = match kind {
        BackendKind::Sqlite => Ok(()),
        BackendKind::Postgres => {
            async {
                let mut connection = diesel_async::AsyncPgConnection::establish(&url).await?;
                connection
                    .batch_execute(&format!(
                    "DROP TABLE IF EXISTS {OURS_TABLE}; DROP SCHEMA IF EXISTS {PEER_SCHEMA} CASCADE"
                ))
                    .await?;
                Ok(())
            }
            .await
        }
        BackendKind::Mysql => {
            async {
                let mut connection = diesel_async::AsyncMysqlConnection::establish(&url).await?;
                connection
                    .batch_execute(&format!(
                        "DROP TABLE IF EXISTS {OURS_TABLE}; DROP DATABASE IF EXISTS {PEER_SCHEMA}"
                    ))
                    .await?;
                Ok(())
            }
            .await
        }
    };
    if let Err(error) = result {
        println!("> note: the cache figure's tables stay: {error}");
    }
}

/// The markdown table of every backend's lines.
pub fn table(rows: &[CacheRow], plan: &Plan) -> String {
    let mut out = format!(
        "### The cached store: ours cached against the peer and the peer + moka\n\n\
         `load hit`: loads per second of live sessions each cache holds (small payload, pool of \
         {pool}); `rolling`: requests per second of the rolling-expiry figure ({clients} clients, \
         9 reads in 10). Ours cached is a `CachedStore` of the default options in front of ours \
         plain; peer + moka is tower-sessions' `CachingSessionStore` with a `MokaStore` in front \
         of the peer. The median of {repeat} run(s) ± half their range.\n\n\
         | backend | figure | tasks | {} | cached/peer | cached/peer + moka | cached/plain |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        CONTENDERS.join(" | "),
        pool = plan.pool,
        clients = plan.e2e_clients,
        repeat = plan.repeat,
    );
    for row in rows {
        let cells: Vec<String> = row
            .figures
            .iter()
            .map(|figure| crate::report::rate_cell(figure.as_ref(), plan.repeat > 1))
            .collect();
        let ratio = |over: usize| {
            crate::report::ratio_of(row.figures[3].as_ref(), row.figures[over].as_ref())
                .map_or("n/a".to_owned(), |ratio| format!("{ratio:.2}"))
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            row.backend,
            row.figure,
            row.tasks,
            cells.join(" | "),
            ratio(0),
            ratio(1),
            ratio(2),
        ));
    }
    out
}
