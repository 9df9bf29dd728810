//! The command line.

use std::fmt;
use std::path::PathBuf;

use crate::measure::Op;

/// The environment variable naming the PostgreSQL server.
pub const POSTGRES_URL: &str = "SESSION_TEST_POSTGRES_URL";
/// The environment variable naming the MySQL or MariaDB server.
pub const MYSQL_URL: &str = "SESSION_TEST_MYSQL_URL";
/// The PostgreSQL server used when [`POSTGRES_URL`] is not set.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The MySQL server used when [`MYSQL_URL`] is not set.
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// A database the benchmark runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Embedded SQLite, on files in the temporary directory.
    Sqlite,
    /// The PostgreSQL server of [`POSTGRES_URL`].
    Postgres,
    /// The MySQL or MariaDB server of [`MYSQL_URL`].
    Mysql,
}

impl BackendKind {
    /// The backend a command line names: `sqlite`, `postgres` (`postgresql`,
    /// `pg`) or `mysql` (`mariadb`).
    pub fn from_name(name: &str) -> Option<BackendKind> {
        match name {
            "sqlite" => Some(BackendKind::Sqlite),
            "postgres" | "postgresql" | "pg" => Some(BackendKind::Postgres),
            "mysql" | "mariadb" => Some(BackendKind::Mysql),
            _ => None,
        }
    }

    /// Every backend, in the order they run.
    pub const ALL: [BackendKind; 3] = [
        BackendKind::Sqlite,
        BackendKind::Postgres,
        BackendKind::Mysql,
    ];

    /// The server URL: the environment's, or this machine's default.
    pub fn url(self) -> String {
        let (variable, default) = match self {
            BackendKind::Sqlite => return String::new(),
            BackendKind::Postgres => (POSTGRES_URL, DEFAULT_POSTGRES_URL),
            BackendKind::Mysql => (MYSQL_URL, DEFAULT_MYSQL_URL),
        };
        match std::env::var(variable) {
            Ok(url) if !url.is_empty() => url,
            _ => default.to_owned(),
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Sqlite => "SQLite",
            BackendKind::Postgres => "PostgreSQL",
            BackendKind::Mysql => "MySQL/MariaDB",
        })
    }
}

/// A figure driven through axum and the session middleware, which
/// `--only` picks by name as it picks an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndToEnd {
    /// Every request reads and writes one session value.
    Visits,
    /// Rolling expiry: every request saves the session, one in ten changes
    /// it.
    Rolling,
    /// Two overlapping requests of one session, each changing another key:
    /// how many changes are lost.
    Overlap,
    /// Not through axum: ours encrypted against ours plain, per operation,
    /// one task at a time (`examples/bench/src/encryption.rs`).
    Encryption,
    /// The cached store against the peer, alone and behind a moka cache:
    /// load hits, and the rolling figure (`examples/bench/src/cache.rs`).
    Cache,
}

impl EndToEnd {
    /// Every end-to-end figure, in the order they run.
    pub const ALL: [EndToEnd; 5] = [
        EndToEnd::Visits,
        EndToEnd::Rolling,
        EndToEnd::Overlap,
        EndToEnd::Encryption,
        EndToEnd::Cache,
    ];

    /// The figure's name on the command line.
    pub fn flag(self) -> &'static str {
        match self {
            EndToEnd::Visits => "e2e",
            EndToEnd::Rolling => "rolling",
            EndToEnd::Overlap => "overlap",
            EndToEnd::Encryption => "encryption",
            EndToEnd::Cache => "cache",
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub struct Options {
    /// A short smoke run instead of the full one.
    pub quick: bool,
    /// The backends to run, in order.
    pub backends: Vec<BackendKind>,
    /// The connection pool size of every contender.
    pub pool: usize,
    /// The end-to-end figures to run: every one unless `--only` names
    /// some, none with `--no-e2e`.
    pub e2e: Vec<EndToEnd>,
    /// The operations to time: every one unless `--only` names some, none
    /// when it names end-to-end figures only.
    pub ops: Vec<Op>,
    /// Timed runs per figure; the plan's default when `None`.
    pub repeat: Option<usize>,
    /// The most operations of a timed run; the plan's default when `None`.
    pub max_ops: Option<usize>,
    /// Whether every pooled connection is opened and used before timing.
    pub warm_up: bool,
    /// Where the SVG chart is written.
    pub chart: PathBuf,
    /// `--only dispatch`: time `ours any` against `ours plain` alone, on
    /// [`Options::ops`], and no end-to-end figure.
    pub dispatch: bool,
    /// `--pgbouncer`: ours' `pgbouncer` switch on PostgreSQL; no
    /// encryption figure, whose stores take no pool options.
    pub pgbouncer: bool,
    /// `--no-causal-reads`: ours on MariaDB without `wsrep_sync_wait`.
    pub causal_reads: bool,
    /// `--direct-postgres-url`: where every PostgreSQL contender but ours
    /// (the peer, both floors) and every seeder connect, when not where
    /// ours do.
    pub direct_postgres_url: Option<String>,
}

/// Where the chart goes unless `--chart` says otherwise.
pub const DEFAULT_CHART: &str = "target/bench-chart.svg";

/// The `--only` name of the dispatch comparison, `ours any` against
/// `ours plain`.
pub const DISPATCH: &str = "dispatch";

/// What `--help` prints.
pub const USAGE: &str = "\
Benchmarks the derived session store against tower-sessions-sqlx-store, the
one-statement floor and MemoryStore, and prints markdown tables.

usage: cargo run --release -p example-bench -- [options]

  --quick             a short smoke run (under a minute)
  --backend NAME      sqlite, postgres or mysql; repeat or separate with
                      commas to run several (default: all three)
  --pool N            the connection pool size of every contender (default 16)
  --no-e2e            skip the end-to-end axum figures (e2e, rolling, overlap)
                      and the encryption and cache figures
  --repeat N          timed runs of every figure, interleaved across the
                      contenders; tables show the median and its spread
                      (default 5, or 1 with --quick)
  --max-ops N         the most operations of a timed run (default 200000, or
                      40000 with --quick; runs also stop at their duration)
  --no-warm-up        time from cold pools: skip opening and using every
                      pooled connection before the first timed run
  --chart PATH        where to write the SVG chart of ours/peer
                      (default target/bench-chart.svg)
  --only NAMES        run only these (comma-separated), for profiling one of
                      them: operations (create, save, load-hit, load-miss,
                      delete, delete-expired, list, revoke), end-to-end
                      figures (e2e, rolling, overlap), the cost of
                      encryption at rest (encryption) and the cached store
                      (cache: load hits and rolling expiry against the peer
                      and the peer behind a moka cache); naming operations only
                      keeps every end-to-end figure, naming figures only
                      times no operation; `dispatch` times ours any (the
                      plain struct with backend = any, through AnyStore)
                      against ours plain alone, with no other contender, no
                      end-to-end figure and no chart, on the operations
                      named beside it (every one if none)
  --pgbouncer         ours on PostgreSQL as behind a transaction-mode pooler
                      such as PgBouncer: PoolOptions::with_pgbouncer(true)
                      (other backends run without it); skips the encryption
                      and cache figures. Point SESSION_TEST_POSTGRES_URL at the pooler
                      to go through it
  --no-causal-reads   ours on MariaDB without wsrep_sync_wait = 3:
                      PoolOptions::with_causal_reads(false), to show what
                      Galera's causal reads cost
  --direct-postgres-url URL
                      where every PostgreSQL contender but ours (the peer,
                      both floors) and the seeders connect, if not at
                      SESSION_TEST_POSTGRES_URL: none of them keeps its
                      statements in a transaction of their own, so none
                      runs through PgBouncer in transaction mode (sqlx 0.8
                      names its statements even with no statement cache)
  -h, --help          this text

Servers: SESSION_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test)
and SESSION_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/test). A backend
whose server cannot be reached is skipped with a note.";

impl Options {
    /// Parses the arguments after the program name. `Err` carries the
    /// message to print: the usage, or what was wrong.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            quick: false,
            backends: Vec::new(),
            pool: 16,
            e2e: EndToEnd::ALL.to_vec(),
            ops: Vec::new(),
            repeat: None,
            max_ops: None,
            warm_up: true,
            chart: PathBuf::from(DEFAULT_CHART),
            dispatch: false,
            pgbouncer: false,
            causal_reads: true,
            direct_postgres_url: None,
        };
        let mut no_e2e = false;
        let mut only_figures = Vec::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--no-e2e" => no_e2e = true,
                "--pgbouncer" => options.pgbouncer = true,
                "--no-causal-reads" => options.causal_reads = false,
                "-h" | "--help" => return Err(USAGE.to_owned()),
                "--backend" => {
                    let value = args.next().ok_or("--backend needs a value")?;
                    for name in value.split(',') {
                        let name = name.trim();
                        let Some(kind) = BackendKind::from_name(name) else {
                            return Err(format!("unknown backend {name:?}\n\n{USAGE}"));
                        };
                        if !options.backends.contains(&kind) {
                            options.backends.push(kind);
                        }
                    }
                }
                "--only" => {
                    let value = args.next().ok_or("--only needs a value")?;
                    for name in value.split(',').map(str::trim) {
                        if name == DISPATCH {
                            options.dispatch = true;
                        } else if let Some(op) = Op::ALL.into_iter().find(|op| op.flag() == name) {
                            options.ops.push(op);
                        } else if let Some(figure) = EndToEnd::ALL
                            .into_iter()
                            .find(|figure| figure.flag() == name)
                        {
                            only_figures.push(figure);
                        } else {
                            return Err(format!("unknown operation or figure {name:?}\n\n{USAGE}"));
                        }
                    }
                }
                "--pool" => options.pool = positive(&arg, args.next())?,
                "--repeat" => options.repeat = Some(positive(&arg, args.next())?),
                "--max-ops" => options.max_ops = Some(positive(&arg, args.next())?),
                "--no-warm-up" => options.warm_up = false,
                "--direct-postgres-url" => {
                    let url = args.next().ok_or("--direct-postgres-url needs a URL")?;
                    options.direct_postgres_url = Some(url);
                }
                "--chart" => {
                    options.chart = args.next().ok_or("--chart needs a path")?.into();
                }
                other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
            }
        }
        if options.backends.is_empty() {
            options.backends = BackendKind::ALL.to_vec();
        }
        // Naming operations only keeps every end-to-end figure, as
        // `--only save` did before figures could be named; naming figures
        // only times no operation. `dispatch` times operations only: the
        // end-to-end figures have contenders of their own.
        if options.dispatch {
            if !only_figures.is_empty() {
                return Err(format!(
                    "--only {DISPATCH} times operations, not end-to-end figures\n\n{USAGE}"
                ));
            }
            options.e2e.clear();
        } else if !only_figures.is_empty() {
            if no_e2e {
                return Err(format!(
                    "--no-e2e skips the end-to-end figures --only names\n\n{USAGE}"
                ));
            }
            options.e2e = EndToEnd::ALL
                .into_iter()
                .filter(|figure| only_figures.contains(figure))
                .collect();
        } else if no_e2e {
            options.e2e.clear();
        }
        // The encryption and cache figures' stores are not set up for a
        // pooler, so they would not run as behind one.
        if options.pgbouncer {
            let apart = [EndToEnd::Encryption, EndToEnd::Cache];
            if let Some(figure) = only_figures.iter().find(|figure| apart.contains(figure)) {
                return Err(format!(
                    "--pgbouncer runs no {} figure: its stores are not set up for a pooler\n\n{USAGE}",
                    figure.flag()
                ));
            }
            options.e2e.retain(|figure| !apart.contains(figure));
        }
        if options.ops.is_empty() && only_figures.is_empty() {
            options.ops = Op::ALL.to_vec();
        }
        Ok(options)
    }
}

/// The positive number given to `flag`.
fn positive(flag: &str, value: Option<String>) -> Result<usize, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value
        .parse()
        .ok()
        .filter(|number| *number > 0)
        .ok_or_else(|| format!("{flag} takes a positive number, not {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|arg| (*arg).to_owned()))
    }

    #[test]
    fn defaults_run_everything() {
        let options = parse(&[]).unwrap();
        assert!(!options.quick);
        assert_eq!(options.e2e, EndToEnd::ALL);
        assert_eq!(options.ops, Op::ALL);
        assert_eq!(options.backends, BackendKind::ALL);
        assert_eq!(options.pool, 16);
        assert_eq!((options.repeat, options.max_ops), (None, None));
        assert!(options.warm_up);
        assert_eq!(options.chart, PathBuf::from(DEFAULT_CHART));
        assert!(!options.dispatch);
        assert!(!options.pgbouncer);
    }

    #[test]
    fn the_pgbouncer_switch_keeps_every_figure_but_encryption() {
        let options = parse(&["--pgbouncer", "--backend", "postgres"]).unwrap();
        assert!(options.pgbouncer);
        assert_eq!(options.ops, Op::ALL);
        assert_eq!(
            options.e2e,
            [EndToEnd::Visits, EndToEnd::Rolling, EndToEnd::Overlap]
        );
        let options = parse(&["--only", "save,rolling", "--pgbouncer"]).unwrap();
        assert_eq!(
            (options.ops.as_slice(), options.e2e.as_slice()),
            (&[Op::Save][..], &[EndToEnd::Rolling][..])
        );
        assert!(parse(&["--pgbouncer", "--only", "encryption"]).is_err());
        assert!(parse(&["--pgbouncer", "--only", "cache"]).is_err());
        let direct = "postgres://postgres@127.0.0.1:5432/test";
        let options = parse(&["--pgbouncer", "--direct-postgres-url", direct]).unwrap();
        assert_eq!(options.direct_postgres_url.as_deref(), Some(direct));
        assert!(parse(&["--direct-postgres-url"]).is_err());
    }

    #[test]
    fn repetitions_and_the_chart_path_can_be_set() {
        let options = parse(&["--repeat", "3", "--chart", "examples/bench/chart.svg"]).unwrap();
        assert_eq!(options.repeat, Some(3));
        assert_eq!(options.chart, PathBuf::from("examples/bench/chart.svg"));
    }

    #[test]
    fn run_length_and_warm_up_can_be_set() {
        let options = parse(&["--max-ops", "1600", "--no-warm-up"]).unwrap();
        assert_eq!(options.max_ops, Some(1_600));
        assert!(!options.warm_up);
    }

    #[test]
    fn backends_are_listed_or_repeated() {
        let options = parse(&["--backend", "mysql,sqlite", "--backend", "pg", "--quick"]).unwrap();
        assert_eq!(
            options.backends,
            [
                BackendKind::Mysql,
                BackendKind::Sqlite,
                BackendKind::Postgres
            ]
        );
        assert!(options.quick);
    }

    #[test]
    fn operations_can_be_picked() {
        let options = parse(&["--only", "save,load-hit"]).unwrap();
        assert_eq!(options.ops, [Op::Save, Op::LoadHit]);
        assert_eq!(options.e2e, EndToEnd::ALL);
        let options = parse(&["--only", "save", "--no-e2e"]).unwrap();
        assert_eq!(options.ops, [Op::Save]);
        assert!(options.e2e.is_empty());
    }

    #[test]
    fn end_to_end_figures_can_be_picked() {
        let options = parse(&["--only", "encryption"]).unwrap();
        assert!(options.ops.is_empty());
        assert_eq!(options.e2e, [EndToEnd::Encryption]);
        let options = parse(&["--only", "cache"]).unwrap();
        assert!(options.ops.is_empty());
        assert_eq!(options.e2e, [EndToEnd::Cache]);
        let options = parse(&["--only", "overlap,rolling"]).unwrap();
        assert!(options.ops.is_empty());
        assert_eq!(options.e2e, [EndToEnd::Rolling, EndToEnd::Overlap]);
        let options = parse(&["--only", "rolling", "--only", "delete"]).unwrap();
        assert_eq!(options.ops, [Op::Delete]);
        assert_eq!(options.e2e, [EndToEnd::Rolling]);
        assert!(parse(&["--no-e2e"]).unwrap().e2e.is_empty());
    }

    #[test]
    fn the_dispatch_comparison_can_be_picked() {
        let options = parse(&["--only", "dispatch"]).unwrap();
        assert!(options.dispatch);
        assert_eq!(options.ops, Op::ALL);
        assert!(options.e2e.is_empty());
        let options = parse(&["--only", "dispatch,save", "--only", "load-hit"]).unwrap();
        assert!(options.dispatch);
        assert_eq!(options.ops, [Op::Save, Op::LoadHit]);
        assert!(options.e2e.is_empty());
        assert!(parse(&["--only", "dispatch,rolling"]).is_err());
    }

    #[test]
    fn mistakes_are_reported() {
        assert!(parse(&["--backend", "oracle"]).is_err());
        assert!(parse(&["--pool", "0"]).is_err());
        assert!(parse(&["--pool"]).is_err());
        assert!(parse(&["--repeat", "0"]).is_err());
        assert!(parse(&["--chart"]).is_err());
        assert!(parse(&["--fast"]).is_err());
        assert!(parse(&["--only", "upsert"]).is_err());
        assert!(parse(&["--only", "rolling", "--no-e2e"]).is_err());
    }
}
