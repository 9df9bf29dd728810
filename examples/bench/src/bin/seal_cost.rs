//! A fixed number of whole-row saves of the large (64 KiB) payload on one
//! store of the encryption figure, ours plain or ours encrypted: a driver
//! to profile, whose instruction counts, unlike the figure's timed runs,
//! repeat from run to run.
//!
//! Each save writes a fresh copy of the payload with one key changed, as
//! the figure's `save (whole row)` does, so the store does not know the
//! map and writes every column. Under callgrind, the difference between a
//! run of `2N` saves and one of `N` is the cost of `N` saves alone:
//!
//! ```sh
//! valgrind --tool=callgrind target/release/seal_cost sealed sqlite 200
//! ```

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use session_runtime::{DataKey, EncryptionKeys};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore;

use example_bench::cli::BackendKind;
use example_bench::encryption::{mysql, postgres, sqlite};
use example_bench::payload::Payload;
use example_bench::BenchResult;

const HELP: &str = "\
seal_cost: N whole-row saves of the 64 KiB payload on one store

  seal_cost clear|sealed sqlite|postgres|mysql N [resize]

With `resize`, every save also changes the JSON's length by a byte, so
that the database cannot overwrite the old value in place.

PostgreSQL: SESSION_TEST_POSTGRES_URL; MySQL: SESSION_TEST_MYSQL_URL.";

type Store = Arc<dyn SessionStore>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (which, backend, count, resize) = match args.as_slice() {
        [which, backend, count] => (which, backend, count, false),
        [which, backend, count, flag] if flag == "resize" => (which, backend, count, true),
        _ => {
            println!("{HELP}");
            return Ok(());
        }
    };
    let sealed = match which.as_str() {
        "clear" => false,
        "sealed" => true,
        _ => return Err(HELP.into()),
    };
    let kind = BackendKind::from_name(backend).ok_or(HELP)?;
    let count: usize = count.parse()?;
    let dir = std::env::temp_dir().join(format!("seal-cost-{}", std::process::id()));
    let store = connect(kind, sealed, &dir).await?;
    let payload = Payload::large();
    let mut record = Record {
        id: Id::default(),
        data: payload.map.clone(),
        expiry_date: OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    store.create(&mut record).await?;
    let started = Instant::now();
    for done in 0..count {
        let mut copy = Record {
            data: payload.map.clone(),
            ..record.clone()
        };
        copy.data.insert("counter".to_owned(), json!(done));
        if resize {
            copy.data
                .insert("pad".to_owned(), json!("x".repeat(done % 2)));
        }
        store.save(&copy).await?;
    }
    let elapsed = started.elapsed();
    store.delete(&record.id).await?;
    if kind == BackendKind::Sqlite {
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "{which} {kind}: {count} saves, {:.1} µs each",
        elapsed.as_secs_f64() * 1e6 / count.max(1) as f64
    );
    Ok(())
}

/// The figure's store of `kind`, migrated: ours encrypted when `sealed`,
/// else ours plain.
async fn connect(kind: BackendKind, sealed: bool, dir: &std::path::Path) -> BenchResult<Store> {
    let keys = EncryptionKeys::new(DataKey::from_bytes([7; 32]));
    let url = kind.url();
    Ok(match (kind, sealed) {
        (BackendKind::Sqlite, _) => {
            std::fs::create_dir_all(dir)?;
            let file = dir.join("sessions.db").to_string_lossy().into_owned();
            if sealed {
                let store = sqlite::SealedCostSessionStore::connect(&file)?;
                store.migrate().await?;
                Arc::new(store.with_encryption_keys(keys))
            } else {
                let store = sqlite::ClearCostSessionStore::connect(&file)?;
                store.migrate().await?;
                Arc::new(store)
            }
        }
        (BackendKind::Postgres, true) => {
            let store = postgres::SealedCostSessionStore::connect(&url)?;
            store.migrate().await?;
            Arc::new(store.with_encryption_keys(keys))
        }
        (BackendKind::Postgres, false) => {
            let store = postgres::ClearCostSessionStore::connect(&url)?;
            store.migrate().await?;
            Arc::new(store)
        }
        (BackendKind::Mysql, true) => {
            let store = mysql::SealedCostSessionStore::connect(&url)?;
            store.migrate().await?;
            Arc::new(store.with_encryption_keys(keys))
        }
        (BackendKind::Mysql, false) => {
            let store = mysql::ClearCostSessionStore::connect(&url)?;
            store.migrate().await?;
            Arc::new(store)
        }
    })
}
