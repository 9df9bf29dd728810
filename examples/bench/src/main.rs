//! `cargo run --release -p example-bench [-- --quick] [-- --backend NAME]`:
//! prints the benchmark's tables. See the crate docs of `example_bench`.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use example_bench::cli::{EndToEnd, Options};
use example_bench::encryption::{self, CostPlan};
use example_bench::payload::Payload;
use example_bench::runner::{self, Plan};
use example_bench::{cache, chart, peer, report};

#[tokio::main]
async fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            println!("{message}");
            // `--help` asked for the usage; anything else was a mistake.
            return if message == example_bench::cli::USAGE {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let plan = if options.quick {
        Plan::quick(options.pool)
    } else {
        Plan::full(options.pool)
    };
    // A figure the options leave out runs 0 requests or rounds.
    let runs = |figure: EndToEnd, count: usize| {
        if options.e2e.contains(&figure) {
            count
        } else {
            0
        }
    };
    let plan = Plan {
        repeat: options.repeat.unwrap_or(plan.repeat),
        max_ops: options.max_ops.unwrap_or(plan.max_ops),
        warm_up: options.warm_up,
        e2e_requests: runs(EndToEnd::Visits, plan.e2e_requests),
        rolling_requests: runs(EndToEnd::Rolling, plan.rolling_requests),
        overlap_rounds: runs(EndToEnd::Overlap, plan.overlap_rounds),
        ops: options.ops.clone(),
        dispatch: options.dispatch,
        pgbouncer: options.pgbouncer,
        causal_reads: options.causal_reads,
        direct_postgres_url: options.direct_postgres_url.clone(),
        ..plan
    };
    if cfg!(debug_assertions) {
        println!("> note: a debug build; run with --release for figures worth reading\n");
    }
    let (small, large) = (Payload::small(), Payload::large());
    let contenders = if options.dispatch {
        "Contenders (`--only dispatch`): **ours plain** = the derived store of a struct without \
         fields, a `DieselStore` of one backend; **ours any** = the same struct derived with \
         `backend = any`, an `AnyStore` that matches on its backend once per operation."
    } else {
        "Contenders: **ceiling** = tower-sessions `MemoryStore`; **peer** = tower-sessions-sqlx-store 0.15 \
         (its own `migrate()`, no ping before checkout); **ours plain** = the derived store of a struct \
         without fields (the peer's features); **ours typed** = the derived store, 2 typed columns \
         (`user_id` FK to `bench_users`, `user_agent`); **same-schema floor** = ours typed's one statement \
         by hand through the same diesel-async driver and pool; **physical floor** = one prepared \
         statement per operation through sqlx on `id`, `data`, `expiry_date` and a primary key only."
    };
    let pgbouncer = if options.pgbouncer {
        "With `--pgbouncer`: on PostgreSQL, ours with `PoolOptions::with_pgbouncer(true)` \
         (each operation in a transaction of its own, no statement cache); \
         the other contenders at `--direct-postgres-url` if given.\n"
    } else {
        ""
    };
    let causal_reads = if options.causal_reads {
        ""
    } else {
        "With `--no-causal-reads`: on MariaDB, ours with `PoolOptions::with_causal_reads(false)` \
         (no `wsrep_sync_wait`).\n"
    };
    println!(
        "## Session store benchmark{}\n\n{contenders}\n{pgbouncer}{causal_reads}\
         Payloads: small = {} B of JSON, large = {} B ({} B in the peer's MessagePack). \
         Timed runs last up to {} ms, {} per figure, interleaved across the contenders; \
         `delete_expired` deletes {} expired rows among {} live ones. {} cores.\n",
        if options.quick { " (--quick)" } else { "" },
        small.json_bytes,
        large.json_bytes,
        peer::encoded_size(&large),
        plan.duration.as_millis(),
        plan.repeat,
        plan.expired_rows,
        plan.background_rows,
        std::thread::available_parallelism().map_or(0, |cores| cores.get()),
    );
    let started = Instant::now();
    let mut reports = Vec::new();
    let mut failed = false;
    // `--only encryption` needs none of the main tables' set-up.
    let main_figures = !plan.ops.is_empty()
        || plan.e2e_requests > 0
        || plan.rolling_requests > 0
        || plan.overlap_rounds > 0;
    for kind in options.backends.iter().filter(|_| main_figures) {
        let begun = Instant::now();
        match runner::run_backend(*kind, &plan).await {
            Ok(Some(backend)) => {
                if !backend.rows.is_empty() {
                    println!(
                        "{}",
                        report::backend_tables(&backend, plan.pool, plan.repeat)
                    );
                }
                println!("({kind}: {:.0} s)\n", begun.elapsed().as_secs_f64());
                reports.push(backend);
            }
            Ok(None) => {}
            Err(error) => {
                failed = true;
                println!("> error: {kind} failed: {error}\n");
            }
        }
        // Tables appear as each backend finishes, even through a pipe.
        let _ = std::io::stdout().flush();
    }
    if reports.iter().any(|report| !report.e2e.is_empty()) {
        println!(
            "{}",
            report::e2e_table(&reports, plan.e2e_clients, plan.repeat)
        );
    }
    if reports.iter().any(|report| !report.rolling.is_empty()) {
        println!(
            "{}",
            report::rolling_table(&reports, plan.e2e_clients, plan.repeat)
        );
    }
    if reports.iter().any(|report| !report.overlap.is_empty()) {
        println!("{}", report::overlap_table(&reports));
    }
    if options.e2e.contains(&EndToEnd::Encryption) {
        let cost_plan = if options.quick {
            CostPlan::quick()
        } else {
            CostPlan::full(plan.repeat)
        };
        let mut rows = Vec::new();
        for kind in &options.backends {
            match encryption::measure(*kind, &cost_plan).await {
                Ok(measured) => rows.extend(measured.into_iter().flatten()),
                Err(error) => {
                    failed = true;
                    println!("> error: {kind} failed in the encryption figure: {error}\n");
                }
            }
        }
        if !rows.is_empty() {
            println!("{}", encryption::table(&rows, &cost_plan));
        }
    }
    if options.e2e.contains(&EndToEnd::Cache) {
        let cache_plan = Plan {
            rolling_requests: if options.quick {
                Plan::quick(options.pool).rolling_requests
            } else {
                Plan::full(options.pool).rolling_requests
            },
            ..plan.clone()
        };
        let mut rows = Vec::new();
        for kind in &options.backends {
            match cache::measure(*kind, &cache_plan).await {
                Ok(measured) => rows.extend(measured.into_iter().flatten()),
                Err(error) => {
                    failed = true;
                    println!("> error: {kind} failed in the cache figure: {error}\n");
                }
            }
        }
        if !rows.is_empty() {
            println!("{}", cache::table(&rows, &cache_plan));
        }
    }
    if options.dispatch {
        println!("{}", report::dispatch_table(&reports, plan.repeat));
    }
    // The chart is of ours/peer over the operations: there is none to draw
    // without them, nor without the peer (`--only dispatch`).
    if !options.dispatch && reports.iter().any(|report| !report.rows.is_empty()) {
        match chart::write(&reports, &options.chart) {
            Ok(()) => println!("(chart: {})", options.chart.display()),
            Err(error) => {
                failed = true;
                println!("> error: the chart {}: {error}", options.chart.display());
            }
        }
    }
    println!("(total: {:.0} s)", started.elapsed().as_secs_f64());
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
