//! Measures the table layouts the store could create, below the store: one
//! connection, prepared statements, no pool and no async hop, so that the
//! figures are the schema's share of a save, a load and `delete_expired`,
//! and nothing else.
//!
//! Every layout has the columns and indexes the benchmark's typed struct
//! gets (`user_id`, a foreign key with its index, and `user_agent`); the
//! layouts differ in what the store could choose: SQLite's `WITHOUT ROWID`
//! and the `expiry_date` index; PostgreSQL's `UNLOGGED`, `JSON` against
//! `JSONB`, and lz4 against pglz compression of `data`.
//!
//! ```text
//! cargo run --release -p example-bench --bin schema_choices [-- --quick]
//! ```

use std::time::{Duration, Instant};

use diesel::sql_types::{Array, BigInt, Binary, Nullable, Text};
use diesel::{Connection as _, SqliteConnection};
use example_bench::cli::BackendKind;
use example_bench::BenchResult;
use rand::Rng as _;
use session_runtime::diesel_async::pg::AsyncPgConnection;
use session_runtime::diesel_async::{AsyncConnection as _, SimpleAsyncConnection as _};

/// How many rows, and how many of them expired, `delete_expired` meets.
const CLEANUP_ROWS: i64 = 1_000_000;
const CLEANUP_EXPIRED: i64 = 10_000;

/// One session payload size, and the table size and operation counts it is
/// measured with: fewer rows of the large payloads, so that every table
/// stays a few hundred megabytes at most.
#[derive(Debug, Clone, Copy)]
struct Workload {
    label: &'static str,
    payload_bytes: usize,
    rows: usize,
    saves: usize,
    loads: usize,
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        label: "200 B",
        payload_bytes: 200,
        rows: 20_000,
        saves: 10_000,
        loads: 40_000,
    },
    Workload {
        label: "4 KB",
        payload_bytes: 4_096,
        rows: 20_000,
        saves: 5_000,
        loads: 20_000,
    },
    Workload {
        label: "64 KB",
        payload_bytes: 65_536,
        rows: 3_000,
        saves: 1_000,
        loads: 4_000,
    },
];

impl Workload {
    /// A tenth of the work, for a smoke run.
    fn quick(self) -> Workload {
        Workload {
            rows: self.rows / 10,
            saves: self.saves / 10,
            loads: self.loads / 10,
            ..self
        }
    }
}

/// A table layout: the typed struct's columns and indexes, with the
/// choices under measurement.
struct Layout {
    name: &'static str,
    /// `UNLOGGED ` (PostgreSQL) or nothing.
    persistence: &'static str,
    id_type: &'static str,
    data_type: &'static str,
    /// `WITHOUT ROWID` (SQLite) or nothing.
    table_options: &'static str,
    expiry_index: bool,
}

impl Layout {
    /// The statements that create the table `s` and its indexes.
    fn create(&self) -> Vec<String> {
        let Layout {
            persistence,
            id_type,
            data_type,
            table_options,
            ..
        } = self;
        let mut statements = vec![format!(
            "CREATE {persistence}TABLE s (id {id_type} PRIMARY KEY NOT NULL, \
             expiry_date BIGINT NOT NULL, \
             user_id BIGINT REFERENCES u (id) ON DELETE CASCADE, user_agent TEXT, \
             data {data_type} NOT NULL){table_options}"
        )];
        if self.expiry_index {
            statements.push("CREATE INDEX s_expiry ON s (expiry_date)".to_owned());
        }
        statements.push("CREATE INDEX s_user ON s (user_id)".to_owned());
        statements
    }
}

/// A SQLite layout: `id` a BLOB, `data` JSON text.
const fn sqlite_layout(name: &'static str, without_rowid: bool, expiry_index: bool) -> Layout {
    Layout {
        name,
        persistence: "",
        id_type: "BLOB",
        data_type: "TEXT",
        table_options: if without_rowid { " WITHOUT ROWID" } else { "" },
        expiry_index,
    }
}

/// A PostgreSQL layout: `id` a BYTEA.
const fn postgres_layout(
    name: &'static str,
    data_type: &'static str,
    unlogged: bool,
    expiry_index: bool,
) -> Layout {
    Layout {
        name,
        persistence: if unlogged { "UNLOGGED " } else { "" },
        id_type: "BYTEA",
        data_type,
        table_options: "",
        expiry_index,
    }
}

const SQLITE_LAYOUTS: [Layout; 4] = [
    sqlite_layout("WITHOUT ROWID + expiry index", true, true),
    sqlite_layout("rowid + expiry index", false, true),
    sqlite_layout("WITHOUT ROWID, no expiry index", true, false),
    sqlite_layout("rowid, no expiry index", false, false),
];

const POSTGRES_LAYOUTS: [Layout; 5] = [
    postgres_layout("JSONB, lz4, logged", "JSONB COMPRESSION lz4", false, true),
    postgres_layout("JSONB, pglz, logged", "JSONB COMPRESSION pglz", false, true),
    postgres_layout("JSON, lz4, logged", "JSON COMPRESSION lz4", false, true),
    postgres_layout("JSONB, lz4, UNLOGGED", "JSONB COMPRESSION lz4", true, true),
    postgres_layout(
        "JSONB, lz4, logged, no expiry index",
        "JSONB COMPRESSION lz4",
        false,
        false,
    ),
];

/// What one layout did with one workload.
struct Throughput {
    saves_per_second: f64,
    loads_per_second: f64,
}

/// The statements of the store's operations, in one backend's placeholders.
struct Statements {
    insert: &'static str,
    save: &'static str,
    load: &'static str,
    delete_expired: &'static str,
}

const SQLITE_STATEMENTS: Statements = Statements {
    insert: "INSERT INTO s (id, data, expiry_date, user_id, user_agent) VALUES (?, ?, ?, ?, ?)",
    save: "UPDATE s SET data = ?, expiry_date = ?, user_id = ?, user_agent = ? \
           WHERE id = ? AND expiry_date > ?",
    load: "SELECT data, expiry_date, user_id, user_agent FROM s WHERE id = ? AND expiry_date > ?",
    delete_expired: "DELETE FROM s WHERE expiry_date <= ?",
};

const POSTGRES_STATEMENTS: Statements = Statements {
    insert: "INSERT INTO s (id, data, expiry_date, user_id, user_agent) \
             VALUES ($1, $2::text::json, $3, $4, $5)",
    save: "UPDATE s SET data = $1::text::json, expiry_date = $2, user_id = $3, user_agent = $4 \
           WHERE id = $5 AND expiry_date > $6",
    load: "SELECT data::text AS data, expiry_date, user_id, user_agent FROM s \
           WHERE id = $1 AND expiry_date > $2",
    delete_expired: "DELETE FROM s WHERE expiry_date <= $1",
};

/// A row as the load statement returns it.
#[derive(diesel::QueryableByName)]
#[allow(dead_code)] // Read to be decoded, as the store would; never inspected.
struct LoadedRow {
    #[diesel(sql_type = Text)]
    data: String,
    #[diesel(sql_type = BigInt)]
    expiry_date: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    user_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    user_agent: Option<String>,
}

/// The users every layout's `user_id` points at.
const USERS: i64 = 100;

fn main() -> BenchResult<()> {
    let quick = std::env::args().any(|argument| argument == "--quick");
    let workloads = WORKLOADS.map(|workload| if quick { workload.quick() } else { workload });
    let cleanup_rows = if quick {
        CLEANUP_ROWS / 10
    } else {
        CLEANUP_ROWS
    };
    let cleanup_expired = if quick {
        CLEANUP_EXPIRED / 10
    } else {
        CLEANUP_EXPIRED
    };

    println!("## SQLite (WAL, synchronous = NORMAL, one connection)\n");
    print_header(cleanup_rows, cleanup_expired);
    for layout in &SQLITE_LAYOUTS {
        for workload in workloads {
            let throughput = sqlite_throughput(layout, workload)?;
            print_row(layout, workload, &throughput);
        }
    }
    for layout in &SQLITE_LAYOUTS {
        let elapsed = sqlite_delete_expired(layout, cleanup_rows, cleanup_expired)?;
        print_cleanup(layout, elapsed);
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!("\n## PostgreSQL (one connection, autocommit)\n");
    print_header(cleanup_rows, cleanup_expired);
    runtime.block_on(async {
        let url = BackendKind::Postgres.url();
        for layout in &POSTGRES_LAYOUTS {
            for workload in workloads {
                let throughput = postgres_throughput(&url, layout, workload).await?;
                print_row(layout, workload, &throughput);
            }
        }
        for layout in &POSTGRES_LAYOUTS {
            let elapsed =
                postgres_delete_expired(&url, layout, cleanup_rows, cleanup_expired).await?;
            print_cleanup(layout, elapsed);
        }
        Ok(())
    })
}

fn print_header(cleanup_rows: i64, cleanup_expired: i64) {
    println!(
        "Throughput: `layout | payload | saves/s | loads/s`. Cleanup: `layout | \
         delete_expired of {cleanup_expired} expired rows among {cleanup_rows}`.\n"
    );
    println!("| layout | payload | saves/s | loads/s |\n|---|---|--:|--:|");
}

fn print_row(layout: &Layout, workload: Workload, throughput: &Throughput) {
    println!(
        "| {} | {} | {:.0} | {:.0} |",
        layout.name, workload.label, throughput.saves_per_second, throughput.loads_per_second
    );
}

fn print_cleanup(layout: &Layout, elapsed: Duration) {
    println!(
        "| {} | delete_expired | {:.1} ms | |",
        layout.name,
        elapsed.as_secs_f64() * 1e3
    );
}

/// A JSON object of about `bytes` bytes, as a session's `data`.
fn payload(bytes: usize, rng: &mut impl rand::Rng) -> String {
    let filler: String = (0..bytes.saturating_sub(20))
        .map(|_| char::from(rng.random_range(b'a'..=b'z')))
        .collect();
    format!(r#"{{"csrf":"{filler}"}}"#)
}

fn random_id(rng: &mut impl rand::Rng) -> Vec<u8> {
    let mut id = vec![0; 32];
    rng.fill_bytes(&mut id);
    id
}

/// Microseconds since the Unix epoch, the `expiry_date` of every layout.
fn now_micros() -> i64 {
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000;
    i64::try_from(now).unwrap_or(i64::MAX)
}

const HOUR_MICROS: i64 = 3_600_000_000;

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn sqlite_connection(layout: &Layout) -> BenchResult<(SqliteConnection, tempfile_dir::Dir)> {
    let dir = tempfile_dir::Dir::new()?;
    let mut connection = SqliteConnection::establish(&dir.file("choices.db"))?;
    use diesel::connection::SimpleConnection as _;
    connection.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         CREATE TABLE u (id BIGINT PRIMARY KEY NOT NULL);",
    )?;
    for statement in layout.create() {
        connection.batch_execute(&statement)?;
    }
    connection.batch_execute(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {USERS}) \
         INSERT INTO u SELECT i FROM n"
    ))?;
    Ok((connection, dir))
}

/// Inserts `count` rows through `insert`, in one transaction, and returns
/// their ids.
fn sqlite_seed(
    connection: &mut SqliteConnection,
    count: usize,
    payload_bytes: usize,
    expiry_of: impl Fn(usize) -> i64,
) -> BenchResult<Vec<Vec<u8>>> {
    use diesel::RunQueryDsl as _;
    let mut rng = rand::rng();
    let data = payload(payload_bytes, &mut rng);
    let mut ids: Vec<Vec<u8>> = (0..count).map(|_| random_id(&mut rng)).collect();
    // In key order, each insert appends to the B-tree instead of landing on
    // a random page: a million rows seed in seconds, not minutes.
    ids.sort_unstable();
    connection.transaction(|connection| {
        for (index, id) in ids.iter().enumerate() {
            diesel::sql_query(SQLITE_STATEMENTS.insert)
                .bind::<Binary, _>(id)
                .bind::<Text, _>(&data)
                .bind::<BigInt, _>(expiry_of(index))
                .bind::<Nullable<BigInt>, _>(Some(1 + index as i64 % USERS))
                .bind::<Nullable<Text>, _>(Some("Mozilla/5.0"))
                .execute(connection)?;
        }
        diesel::QueryResult::Ok(())
    })?;
    Ok(ids)
}

fn sqlite_throughput(layout: &Layout, workload: Workload) -> BenchResult<Throughput> {
    use diesel::RunQueryDsl as _;
    let (mut connection, _dir) = sqlite_connection(layout)?;
    let live = now_micros() + HOUR_MICROS;
    let ids = sqlite_seed(
        &mut connection,
        workload.rows,
        workload.payload_bytes,
        |_| live,
    )?;
    let mut rng = rand::rng();
    let data = payload(workload.payload_bytes, &mut rng);

    let started = Instant::now();
    for save in 0..workload.saves {
        let id = &ids[rng.random_range(0..ids.len())];
        // Each save moves the expiry forward, as a touched session does.
        diesel::sql_query(SQLITE_STATEMENTS.save)
            .bind::<Text, _>(&data)
            .bind::<BigInt, _>(live + save as i64)
            .bind::<Nullable<BigInt>, _>(Some(1 + save as i64 % USERS))
            .bind::<Nullable<Text>, _>(Some("Mozilla/5.0"))
            .bind::<Binary, _>(id)
            .bind::<BigInt, _>(now_micros())
            .execute(&mut connection)?;
    }
    let saves_per_second = per_second(workload.saves, started.elapsed());

    let started = Instant::now();
    for _ in 0..workload.loads {
        let id = &ids[rng.random_range(0..ids.len())];
        let row: Option<LoadedRow> = diesel::sql_query(SQLITE_STATEMENTS.load)
            .bind::<Binary, _>(id)
            .bind::<BigInt, _>(now_micros())
            .get_result(&mut connection)
            .map(Some)
            .or_else(|error| match error {
                diesel::result::Error::NotFound => Ok(None),
                error => Err(error),
            })?;
        if row.is_none() {
            return Err("a seeded session did not load".into());
        }
    }
    let loads_per_second = per_second(workload.loads, started.elapsed());
    Ok(Throughput {
        saves_per_second,
        loads_per_second,
    })
}

/// The expiry of seeded row `index` when `expired` of `rows` have expired,
/// spread evenly through the table.
fn cleanup_expiry(index: usize, rows: i64, expired: i64, now: i64) -> i64 {
    let every = (rows / expired.max(1)).max(1) as usize;
    if index.is_multiple_of(every) {
        now - HOUR_MICROS
    } else {
        now + HOUR_MICROS
    }
}

fn sqlite_delete_expired(layout: &Layout, rows: i64, expired: i64) -> BenchResult<Duration> {
    use diesel::RunQueryDsl as _;
    let (mut connection, _dir) = sqlite_connection(layout)?;
    let now = now_micros();
    let count = usize::try_from(rows)?;
    sqlite_seed(&mut connection, count, 200, |index| {
        cleanup_expiry(index, rows, expired, now)
    })?;
    let started = Instant::now();
    let deleted = diesel::sql_query(SQLITE_STATEMENTS.delete_expired)
        .bind::<BigInt, _>(now)
        .execute(&mut connection)?;
    let elapsed = started.elapsed();
    check_deleted(deleted, expired)?;
    Ok(elapsed)
}

fn check_deleted(deleted: usize, expired: i64) -> BenchResult<()> {
    if i64::try_from(deleted)? == expired {
        Ok(())
    } else {
        Err(format!("delete_expired removed {deleted} rows, not {expired}").into())
    }
}

async fn postgres_connection(url: &str, layout: &Layout) -> BenchResult<AsyncPgConnection> {
    let mut connection = AsyncPgConnection::establish(url).await?;
    connection
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS bench_schema_choices CASCADE; \
             CREATE SCHEMA bench_schema_choices; SET search_path = bench_schema_choices; \
             CREATE TABLE u (id BIGINT PRIMARY KEY); \
             INSERT INTO u SELECT generate_series(1, {USERS});"
        ))
        .await?;
    for statement in layout.create() {
        connection.batch_execute(&statement).await?;
    }
    Ok(connection)
}

/// Fills the table in one statement, every `expired_every`th row expired,
/// and returns the random ids of its rows.
async fn postgres_seed(
    connection: &mut AsyncPgConnection,
    rows: usize,
    payload_bytes: usize,
    expired_every: i64,
    now: i64,
) -> BenchResult<Vec<Vec<u8>>> {
    let mut rng = rand::rng();
    let data = payload(payload_bytes, &mut rng);
    let ids: Vec<Vec<u8>> = (0..rows).map(|_| random_id(&mut rng)).collect();
    session_runtime::diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO s (id, data, expiry_date, user_id, user_agent) \
             SELECT id, $2::text::json, \
                    CASE WHEN i % $3 = 0 THEN $4 - 3600000000 ELSE $4 + 3600000000 END, \
                    1 + i % $5, 'Mozilla/5.0' \
             FROM unnest($1::bytea[]) WITH ORDINALITY AS seeded (id, i)",
        )
        .bind::<Array<Binary>, _>(&ids)
        .bind::<Text, _>(data)
        .bind::<BigInt, _>(expired_every)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(USERS),
        connection,
    )
    .await?;
    connection.batch_execute("VACUUM ANALYZE s").await?;
    Ok(ids)
}

async fn postgres_throughput(
    url: &str,
    layout: &Layout,
    workload: Workload,
) -> BenchResult<Throughput> {
    use session_runtime::diesel_async::RunQueryDsl as _;
    let mut connection = postgres_connection(url, layout).await?;
    let now = now_micros();
    let ids = postgres_seed(
        &mut connection,
        workload.rows,
        workload.payload_bytes,
        i64::MAX,
        now,
    )
    .await?;
    let live = now + HOUR_MICROS;
    let mut rng = rand::rng();
    let data = payload(workload.payload_bytes, &mut rng);

    let started = Instant::now();
    for save in 0..workload.saves {
        let id = &ids[rng.random_range(0..ids.len())];
        let updated = diesel::sql_query(POSTGRES_STATEMENTS.save)
            .bind::<Text, _>(&data)
            .bind::<BigInt, _>(live + save as i64)
            .bind::<Nullable<BigInt>, _>(Some(1 + save as i64 % USERS))
            .bind::<Nullable<Text>, _>(Some("Mozilla/5.0"))
            .bind::<Binary, _>(id)
            .bind::<BigInt, _>(now_micros())
            .execute(&mut connection)
            .await?;
        check_deleted(updated, 1).map_err(|_| "a seeded session did not update")?;
    }
    let saves_per_second = per_second(workload.saves, started.elapsed());

    let started = Instant::now();
    for _ in 0..workload.loads {
        let id = &ids[rng.random_range(0..ids.len())];
        let loaded: Vec<LoadedRow> = diesel::sql_query(POSTGRES_STATEMENTS.load)
            .bind::<Binary, _>(id)
            .bind::<BigInt, _>(now_micros())
            .load(&mut connection)
            .await?;
        if loaded.is_empty() {
            return Err("a seeded session did not load".into());
        }
    }
    let loads_per_second = per_second(workload.loads, started.elapsed());
    Ok(Throughput {
        saves_per_second,
        loads_per_second,
    })
}

async fn postgres_delete_expired(
    url: &str,
    layout: &Layout,
    rows: i64,
    expired: i64,
) -> BenchResult<Duration> {
    use session_runtime::diesel_async::RunQueryDsl as _;
    let mut connection = postgres_connection(url, layout).await?;
    let now = now_micros();
    postgres_seed(
        &mut connection,
        usize::try_from(rows)?,
        200,
        rows / expired.max(1),
        now,
    )
    .await?;
    let started = Instant::now();
    let deleted = diesel::sql_query(POSTGRES_STATEMENTS.delete_expired)
        .bind::<BigInt, _>(now)
        .execute(&mut connection)
        .await?;
    let elapsed = started.elapsed();
    check_deleted(deleted, expired)?;
    connection
        .batch_execute("DROP SCHEMA bench_schema_choices CASCADE")
        .await?;
    Ok(elapsed)
}

/// A directory in the system's temporary directory that is removed when
/// dropped, for one layout's database file.
mod tempfile_dir {
    use std::path::PathBuf;

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new() -> std::io::Result<Dir> {
            let path = std::env::temp_dir().join(format!(
                "schema-choices-{}-{}",
                std::process::id(),
                rand::random::<u64>()
            ));
            std::fs::create_dir(&path)?;
            Ok(Dir(path))
        }

        pub fn file(&self, name: &str) -> String {
            self.0.join(name).to_string_lossy().into_owned()
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            // Best effort: a leftover file in the temporary directory is harmless.
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
