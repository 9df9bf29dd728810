//! A fixed number of loads of the large (64 KiB) or the small payload, by
//! ours plain or by the peer: a driver to profile, whose instruction counts, unlike the
//! benchmark's timed runs, repeat from run to run.
//!
//! Under callgrind, the difference between a run of `2N` loads and one of
//! `N` is the cost of `N` loads alone, client side:
//!
//! ```sh
//! valgrind --tool=callgrind target/release/load_cost ours sqlite 200
//! valgrind --tool=callgrind target/release/load_cost peer sqlite 200 small
//! ```

use std::time::Instant;

use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};

use example_bench::cli::BackendKind;
use example_bench::encryption::{mysql, postgres, sqlite};
use example_bench::payload::Payload;
use example_bench::BenchResult;

const HELP: &str = "\
load_cost: N loads of the 64 KiB payload (or the small one) on one store

  load_cost ours|peer sqlite|postgres|mysql N [small]

PostgreSQL: SESSION_TEST_POSTGRES_URL; MySQL: SESSION_TEST_MYSQL_URL.";

/// The peer's table, apart from the benchmark's.
const PEER_TABLE: &str = "load_cost_peer";

/// Creates `record` in `store`, loads it `count` times and deletes it:
/// when the loads started. A macro, as ours and the peer implement two
/// versions of tower-sessions' `SessionStore`.
macro_rules! time_loads {
    ($store:ident, $record:ident, $count:expr) => {{
        $store.create(&mut $record).await?;
        let started = Instant::now();
        for _ in 0..$count {
            $store
                .load(&$record.id)
                .await?
                .ok_or("the session is gone")?;
        }
        $store.delete(&$record.id).await?;
        started
    }};
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (which, backend, count, payload) = match args.as_slice() {
        [which, backend, count] => (which, backend, count, Payload::large()),
        [which, backend, count, small] if small == "small" => {
            (which, backend, count, Payload::small())
        }
        _ => {
            println!("{HELP}");
            return Ok(());
        }
    };
    let kind = BackendKind::from_name(backend).ok_or(HELP)?;
    let count: usize = count.parse()?;
    let dir = std::env::temp_dir().join(format!("load-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("sessions.db").to_string_lossy().into_owned();
    let expiry_date = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let started = match which.as_str() {
        "ours" => {
            let mut record = Record {
                id: Id::default(),
                data: payload.map.clone(),
                expiry_date,
            };
            let store: Box<dyn tower_sessions::SessionStore> = match kind {
                BackendKind::Sqlite => {
                    let store = sqlite::ClearCostSessionStore::connect(&file)?;
                    store.migrate().await?;
                    Box::new(store)
                }
                BackendKind::Postgres => {
                    let store = postgres::ClearCostSessionStore::connect(&kind.url())?;
                    store.migrate().await?;
                    Box::new(store)
                }
                BackendKind::Mysql => {
                    let store = mysql::ClearCostSessionStore::connect(&kind.url())?;
                    store.migrate().await?;
                    Box::new(store)
                }
            };
            time_loads!(store, record, count)
        }
        "peer" => {
            let mut record = tower_sessions_core_014::session::Record {
                id: tower_sessions_core_014::session::Id::default(),
                data: payload.map.clone(),
                expiry_date,
            };
            let store: Box<dyn tower_sessions_core_014::SessionStore> = match kind {
                BackendKind::Sqlite => {
                    let options = sqlx::sqlite::SqliteConnectOptions::new()
                        .filename(&file)
                        .create_if_missing(true)
                        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
                    let pool = sqlx::SqlitePool::connect_with(options).await?;
                    let store = tower_sessions_sqlx_store::SqliteStore::new(pool)
                        .with_table_name(PEER_TABLE)?;
                    store.migrate().await?;
                    Box::new(store)
                }
                BackendKind::Postgres => {
                    let pool = sqlx::PgPool::connect(&kind.url()).await?;
                    let store = tower_sessions_sqlx_store::PostgresStore::new(pool)
                        .with_table_name(PEER_TABLE)?;
                    store.migrate().await?;
                    Box::new(store)
                }
                BackendKind::Mysql => {
                    let pool = sqlx::MySqlPool::connect(&kind.url()).await?;
                    let store = tower_sessions_sqlx_store::MySqlStore::new(pool)
                        .with_table_name(PEER_TABLE)?;
                    store.migrate().await?;
                    Box::new(store)
                }
            };
            time_loads!(store, record, count)
        }
        _ => return Err(HELP.into()),
    };
    let elapsed = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{which} {kind}: {count} loads, {:.1} µs each",
        elapsed.as_secs_f64() * 1e6 / count.max(1) as f64
    );
    Ok(())
}
