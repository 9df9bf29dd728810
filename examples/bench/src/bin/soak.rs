//! The soak: resident memory over a long run of requests through axum and
//! the session middleware, with rolling expiry, on ours plain.
//!
//! Every request saves its session (`Expiry::OnInactivity` with
//! `with_always_save(true)`), one in ten changes its value, and the
//! requests go round the sessions in turn from a few concurrent tasks.
//! Every `--sample-every` requests the run reads its resident memory
//! (`VmRSS`) and what the store's load memo holds.
//!
//! Each backend runs once per load memo budget, each run in a process of
//! its own so that no run inherits another's heap. The smallest budget is
//! the baseline: it still holds every load waiting for its save, so saves
//! write as they do under any budget, and the difference of resident
//! memory at the end with a larger budget is what that budget costs. The
//! program prints a markdown table and writes a CSV and an SVG chart of
//! resident memory against requests.
//!
//! `cargo run --release -p example-bench --bin soak -- --help`

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, SimpleAsyncConnection as _};
use plotters::prelude::*;
use tower::ServiceExt as _;

use example_bench::cli::BackendKind;
use example_bench::e2e::{app, Scenario};
use example_bench::BenchResult;
use session_runtime::PoolOptions;

const HELP: &str = "\
soak: resident memory over a long run of rolling-expiry requests

  --backend sqlite|postgres|all   where to run (all)
  --sessions N                    sessions the requests go round (200000)
  --requests N                    requests per run (1000000)
  --tasks N                       concurrent clients, and the pool size (8)
  --sample-every N                requests between samples (10000)
  --budgets B,B,...               load memo budgets in bytes, one run each;
                                  the smallest is the baseline (16384,8388608)
  --out DIR                       where soak.csv and soak.svg go (target/soak)

PostgreSQL: SESSION_TEST_POSTGRES_URL, in a schema of the run's own.";

/// Bytes in a MiB.
const MIB: f64 = 1024.0 * 1024.0;

#[derive(Debug, Clone)]
struct Options {
    backends: Vec<BackendKind>,
    sessions: usize,
    requests: usize,
    tasks: usize,
    sample_every: usize,
    budgets: Vec<usize>,
    out: PathBuf,
    /// Set in a child process: the one budget it runs, and its CSV.
    child: Option<(usize, PathBuf)>,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> BenchResult<Options> {
        let mut options = Options {
            backends: vec![BackendKind::Sqlite, BackendKind::Postgres],
            sessions: 200_000,
            requests: 1_000_000,
            tasks: 8,
            sample_every: 10_000,
            budgets: vec![16 << 10, 8 << 20],
            out: PathBuf::from("target/soak"),
            child: None,
        };
        let mut child_budget = None;
        while let Some(flag) = args.next() {
            if flag == "--help" || flag == "-h" {
                println!("{HELP}");
                std::process::exit(0);
            }
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<usize>()
                    .map_err(|_| format!("{flag} {value}: not a count"))
            };
            match flag.as_str() {
                "--backend" => {
                    options.backends = match value.as_str() {
                        "sqlite" => vec![BackendKind::Sqlite],
                        "postgres" => vec![BackendKind::Postgres],
                        "all" => vec![BackendKind::Sqlite, BackendKind::Postgres],
                        _ => {
                            return Err(format!("--backend {value}: sqlite, postgres or all").into())
                        }
                    }
                }
                "--sessions" => options.sessions = number()?,
                "--requests" => options.requests = number()?,
                "--tasks" => options.tasks = number()?.max(1),
                "--sample-every" => options.sample_every = number()?.max(1),
                "--budgets" => {
                    options.budgets = value
                        .split(',')
                        .map(|budget| budget.trim().parse::<usize>())
                        .collect::<Result<_, _>>()
                        .map_err(|_| format!("--budgets {value}: not a list of byte counts"))?;
                    options.budgets.sort_unstable();
                    options.budgets.dedup();
                }
                "--out" => options.out = PathBuf::from(value),
                "--child-budget" => child_budget = Some(number()?),
                "--child-csv" => {
                    options.child = Some((child_budget.unwrap_or(0), PathBuf::from(value)));
                }
                _ => return Err(format!("unknown flag {flag}; --help lists them").into()),
            }
        }
        if options.sessions <= options.tasks * 2 {
            // Requests go round the sessions in turn: with more, no two
            // requests of one session ever run at once.
            return Err("--sessions must be more than twice --tasks".into());
        }
        if options.budgets.is_empty() {
            return Err("--budgets needs at least one budget".into());
        }
        Ok(options)
    }

    /// The flags a child process runs one budget on one backend with.
    fn child_args(&self, backend: BackendKind, budget: usize, csv: &Path) -> Vec<String> {
        let backend = match backend {
            BackendKind::Postgres => "postgres",
            _ => "sqlite",
        };
        [
            ("--backend", backend.to_owned()),
            ("--sessions", self.sessions.to_string()),
            ("--requests", self.requests.to_string()),
            ("--tasks", self.tasks.to_string()),
            ("--sample-every", self.sample_every.to_string()),
            ("--child-budget", budget.to_string()),
            ("--child-csv", csv.to_string_lossy().into_owned()),
        ]
        .into_iter()
        .flat_map(|(flag, value)| [flag.to_owned(), value])
        .collect()
    }
}

/// One reading, after `requests` requests.
#[derive(Debug, Clone, Copy)]
struct Sample {
    requests: usize,
    rss_kib: u64,
    memo_entries: usize,
    memo_bytes: usize,
}

/// This process's resident memory in KiB, from `/proc/self/status`.
fn rss_kib() -> BenchResult<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/self/status".into())
}

/// A client's session: its cookie, once the first response set it, and
/// the visits it has counted. Fixed size, and every slot is written when
/// the slots are made, so the clients' memory is resident before the
/// first sample.
#[derive(Clone, Copy)]
struct Slot {
    cookie: [u8; 64],
    cookie_len: usize,
    visits: u64,
}

impl Slot {
    const EMPTY: Slot = Slot {
        cookie: [b' '; 64],
        cookie_len: 0,
        visits: 0,
    };
}

/// Whether request `index` changes its session's value: one in ten, spread
/// over the sessions rather than always the same ones.
fn changes(index: usize) -> bool {
    let mut mixed = (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    mixed ^= mixed >> 31;
    mixed.wrapping_mul(0xBF58_476D_1CE4_E5B9).is_multiple_of(10)
}

/// The run of one budget on one backend, in this process.
async fn child(options: &Options, budget: usize, csv: &Path) -> BenchResult<()> {
    let backend = options.backends[0];
    let pool = PoolOptions::default().with_max_size(options.tasks);
    let dir = std::env::temp_dir().join(format!("example-bench-soak-{}", std::process::id()));
    let schema = format!("soak_{}", std::process::id());
    let server = BackendKind::Postgres.url();
    let url = match backend {
        BackendKind::Postgres => {
            let mut admin = AsyncPgConnection::establish(&server).await?;
            admin
                .batch_execute(&format!("CREATE SCHEMA {schema}"))
                .await?;
            let separator = if server.contains('?') { '&' } else { '?' };
            format!("{server}{separator}options=-csearch_path%3D{schema}")
        }
        _ => {
            std::fs::create_dir_all(&dir)?;
            dir.join("soak.db").to_string_lossy().into_owned()
        }
    };
    let result = async {
        let samples = match backend {
            BackendKind::Postgres => {
                let store =
                    example_bench::postgres::PlainBenchSessionStore::connect_with(&url, &pool)?
                        .with_load_memo_bytes(budget);
                store.migrate().await?;
                let memo = store.clone();
                soak(options, app(store, Scenario::Rolling), move || {
                    memo.load_memo_usage()
                })
                .await?
            }
            _ => {
                let store =
                    example_bench::sqlite::PlainBenchSessionStore::connect_with(&url, &pool)?
                        .with_load_memo_bytes(budget);
                store.migrate().await?;
                let memo = store.clone();
                soak(options, app(store, Scenario::Rolling), move || {
                    memo.load_memo_usage()
                })
                .await?
            }
        };
        let mut text = String::from("requests,rss_kib,memo_entries,memo_bytes\n");
        for sample in samples {
            writeln!(
                text,
                "{},{},{},{}",
                sample.requests, sample.rss_kib, sample.memo_entries, sample.memo_bytes
            )?;
        }
        std::fs::write(csv, text)?;
        Ok::<_, example_bench::BoxError>(())
    }
    .await;
    match backend {
        BackendKind::Postgres => {
            let mut admin = AsyncPgConnection::establish(&server).await?;
            admin
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .await?;
        }
        _ => std::fs::remove_dir_all(&dir)?,
    }
    result
}

/// Sends the requests through `app`, and samples resident memory and the
/// memo's `usage` every `sample_every` requests.
async fn soak(
    options: &Options,
    app: Router,
    usage: impl Fn() -> (usize, usize) + Send + Sync + 'static,
) -> BenchResult<Vec<Sample>> {
    let slots: Arc<Vec<Mutex<Slot>>> = Arc::new(
        (0..options.sessions)
            .map(|_| Mutex::new(Slot::EMPTY))
            .collect(),
    );
    let usage = Arc::new(usage);
    let sample = {
        let usage = Arc::clone(&usage);
        move |requests| -> BenchResult<Sample> {
            let (memo_entries, memo_bytes) = usage();
            Ok(Sample {
                requests,
                rss_kib: rss_kib()?,
                memo_entries,
                memo_bytes,
            })
        }
    };
    let samples = Arc::new(Mutex::new(vec![sample(0)?]));
    let (next, done) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let start = Instant::now();
    let handles: Vec<_> = (0..options.tasks)
        .map(|_| {
            let (app, slots, samples) = (app.clone(), Arc::clone(&slots), Arc::clone(&samples));
            let (next, done, sample) = (Arc::clone(&next), Arc::clone(&done), sample.clone());
            let (requests, every) = (options.requests, options.sample_every);
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= requests {
                        return Ok::<_, example_bench::BoxError>(());
                    }
                    let slot_of = &slots[index % slots.len()];
                    let mut slot = *slot_of.lock().unwrap_or_else(PoisonError::into_inner);
                    let writes = slot.cookie_len == 0 || changes(index);
                    let mut request = Request::get(if writes { "/" } else { "/read" });
                    if slot.cookie_len > 0 {
                        request = request.header(header::COOKIE, &slot.cookie[..slot.cookie_len]);
                    }
                    let response = app.clone().oneshot(request.body(Body::empty())?).await?;
                    if response.status() != StatusCode::OK {
                        return Err(format!("the handler answered {}", response.status()).into());
                    }
                    if slot.cookie_len == 0 {
                        let cookie = response
                            .headers()
                            .get(header::SET_COOKIE)
                            .and_then(|value| value.as_bytes().split(|&byte| byte == b';').next())
                            .filter(|cookie| cookie.len() <= slot.cookie.len())
                            .ok_or("the first response set no cookie that fits")?;
                        slot.cookie[..cookie.len()].copy_from_slice(cookie);
                        slot.cookie_len = cookie.len();
                    }
                    let body = axum::body::to_bytes(response.into_body(), 64).await?;
                    slot.visits += u64::from(writes);
                    if body != slot.visits.to_string().as_bytes() {
                        return Err(format!("request {index} lost its session's visits").into());
                    }
                    *slot_of.lock().unwrap_or_else(PoisonError::into_inner) = slot;
                    let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if finished.is_multiple_of(every) || finished == requests {
                        let reading = sample(finished)?;
                        samples
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(reading);
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await??;
    }
    eprintln!(
        "  {} requests in {:.0} s",
        options.requests,
        start.elapsed().as_secs_f64()
    );
    let mut samples = std::mem::take(&mut *samples.lock().unwrap_or_else(PoisonError::into_inner));
    samples.sort_by_key(|sample| sample.requests);
    Ok(samples)
}

/// One run's samples, read back from its child's CSV.
struct Run {
    backend: BackendKind,
    budget: usize,
    samples: Vec<Sample>,
}

impl Run {
    fn read(backend: BackendKind, budget: usize, csv: &Path) -> BenchResult<Run> {
        let samples = std::fs::read_to_string(csv)?
            .lines()
            .skip(1)
            .map(|line| {
                let fields: Vec<&str> = line.split(',').collect();
                let field = |index: usize| -> BenchResult<u64> {
                    Ok(fields.get(index).ok_or("a short CSV line")?.parse()?)
                };
                Ok(Sample {
                    requests: usize::try_from(field(0)?)?,
                    rss_kib: field(1)?,
                    memo_entries: usize::try_from(field(2)?)?,
                    memo_bytes: usize::try_from(field(3)?)?,
                })
            })
            .collect::<BenchResult<Vec<_>>>()?;
        if samples.is_empty() {
            return Err(format!("{} holds no samples", csv.display()).into());
        }
        Ok(Run {
            backend,
            budget,
            samples,
        })
    }

    /// The first sample at which the memo is full: within one entry (of
    /// the largest seen) of its budget.
    fn full(&self) -> Option<&Sample> {
        let entry = self
            .samples
            .iter()
            .filter(|sample| sample.memo_entries > 0)
            .map(|sample| sample.memo_bytes.div_ceil(sample.memo_entries))
            .max()?;
        self.samples
            .iter()
            .find(|sample| sample.memo_bytes + 2 * entry > self.budget)
    }

    fn last(&self) -> &Sample {
        // `read` refuses a run without samples.
        &self.samples[self.samples.len() - 1]
    }

    fn label(&self) -> String {
        format!("{} {}", self.backend, budget_label(self.budget))
    }
}

fn budget_label(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} B")
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 * 1024.0 / MIB
}

/// The markdown table of every run: resident memory when its memo first
/// filled and at the end, the growth between, and the memo's resident
/// cost over the baseline of the same backend.
fn table(runs: &[Run]) -> String {
    let mut text = String::from(
        "| backend | budget | memo at end (loads, MiB) | RSS at start | RSS when memo full (at request) | RSS at end | growth after full | resident cost over baseline | cost / budget |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for run in runs {
        let baseline = runs
            .iter()
            .filter(|other| other.backend == run.backend)
            .min_by_key(|other| other.budget)
            .filter(|baseline| baseline.budget < run.budget);
        let last = run.last();
        let full = match run.full() {
            Some(full) => format!("{:.1} MiB ({})", mib(full.rss_kib), full.requests),
            None => "never full".to_owned(),
        };
        let growth = run.full().map_or("–".to_owned(), |full| {
            format!(
                "{:+.1} %",
                (last.rss_kib as f64 / full.rss_kib as f64 - 1.0) * 100.0
            )
        });
        let (cost, ratio) = baseline.map_or(("baseline".to_owned(), "–".to_owned()), |baseline| {
            let cost = last.rss_kib as f64 - baseline.last().rss_kib as f64;
            (
                format!("{:.1} MiB", cost * 1024.0 / MIB),
                format!("{:.2}", cost * 1024.0 / run.budget as f64),
            )
        });
        writeln!(
            text,
            "| {} | {} | {}, {:.2} | {:.1} MiB | {full} | {:.1} MiB | {growth} | {cost} | {ratio} |",
            run.backend,
            budget_label(run.budget),
            last.memo_entries,
            last.memo_bytes as f64 / MIB,
            mib(run.samples[0].rss_kib),
            mib(last.rss_kib),
        )
        .ok();
    }
    text
}

/// Writes the chart of resident memory against requests, one line per
/// run.
fn chart(runs: &[Run], path: &Path) -> BenchResult<()> {
    let requests = runs
        .iter()
        .map(|run| run.last().requests)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let highest = runs
        .iter()
        .flat_map(|run| run.samples.iter().map(|sample| mib(sample.rss_kib)))
        .fold(1.0_f64, f64::max);
    let root = SVGBackend::new(path, (1_000, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "resident memory through a rolling-expiry soak, by load memo budget",
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..requests / 1000.0, 0.0..highest * 1.3)?;
    chart
        .configure_mesh()
        .x_desc("requests (thousands)")
        .y_desc("VmRSS (MiB)")
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .draw()?;
    let colours = [
        RGBColor(31, 119, 180),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
    ];
    for (index, run) in runs.iter().enumerate() {
        let style = colours[index % colours.len()].stroke_width(2);
        chart
            .draw_series(LineSeries::new(
                run.samples
                    .iter()
                    .map(|sample| (sample.requests as f64 / 1000.0, mib(sample.rss_kib))),
                style,
            ))?
            .label(run.label())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()?;
    root.present()?;
    Ok(())
}

/// Runs every budget on every backend, each in a child process, then
/// reports.
fn parent(options: &Options) -> BenchResult<()> {
    std::fs::create_dir_all(&options.out)?;
    let program = std::env::current_exe()?;
    let mut runs = Vec::new();
    for &backend in &options.backends {
        for &budget in &options.budgets {
            let csv = options.out.join(format!(
                "soak-{}-{budget}.csv",
                match backend {
                    BackendKind::Postgres => "postgres",
                    _ => "sqlite",
                }
            ));
            eprintln!("{backend}, budget {}:", budget_label(budget));
            let status = Command::new(&program)
                .args(options.child_args(backend, budget, &csv))
                .status()?;
            if !status.success() {
                return Err(
                    format!("the run of {backend} at {budget} bytes failed: {status}").into(),
                );
            }
            runs.push(Run::read(backend, budget, &csv)?);
        }
    }
    let mut csv = String::from("backend,budget,requests,rss_kib,memo_entries,memo_bytes\n");
    for run in &runs {
        for sample in &run.samples {
            writeln!(
                csv,
                "{},{},{},{},{},{}",
                run.backend,
                run.budget,
                sample.requests,
                sample.rss_kib,
                sample.memo_entries,
                sample.memo_bytes
            )?;
        }
    }
    std::fs::write(options.out.join("soak.csv"), csv)?;
    chart(&runs, &options.out.join("soak.svg"))?;
    println!(
        "{} requests over {} sessions, {} tasks, rolling expiry, one request in ten changing its value\n",
        options.requests, options.sessions, options.tasks
    );
    println!("{}", table(&runs));
    println!(
        "CSV and chart: {} and {}",
        options.out.join("soak.csv").display(),
        options.out.join("soak.svg").display()
    );
    Ok(())
}

fn main() -> BenchResult<()> {
    let options = Options::parse(std::env::args().skip(1))?;
    match options.child.clone() {
        Some((budget, csv)) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(child(&options, budget, &csv)),
        None => parent(&options),
    }
}
