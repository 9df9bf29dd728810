//! The markdown tables.

use std::fmt::Write as _;
use std::time::Duration;

use crate::contender::names;
use crate::e2e::E2eResult;
use crate::figure::Figure;
use crate::measure::Op;
use crate::runner::{BackendReport, Row};

/// Ours/peer below this misses the target.
pub const PEER_TARGET: f64 = 1.0;
/// Ours typed/same-schema floor below this misses the target.
pub const FLOOR_TARGET: f64 = 0.85;
/// Ours/peer of the rolling-expiry figure below this misses the target:
/// nine requests in ten change nothing, so a store that writes only what
/// changed should serve them at twice the peer's rate or better.
pub const ROLLING_PEER_TARGET: f64 = 2.0;

/// A ratio column of the operation table: a contender's median over
/// another's, bold below `target` where there is one.
struct RatioColumn {
    numerator: &'static str,
    denominator: &'static str,
    target: Option<f64>,
    heading: &'static str,
}

/// The ratios the operation tables show, each where the run has both its
/// contenders. The physical floor has no target: it shows what the schema
/// and the driver leave to win, not a bar ours must clear. Nor has
/// any/plain (`--only dispatch`): [`dispatch_table`] says whether it is
/// within the spread of the runs.
const RATIOS: [RatioColumn; 6] = [
    RatioColumn {
        numerator: names::OURS_PLAIN,
        denominator: names::PEER,
        target: Some(PEER_TARGET),
        heading: "plain/peer",
    },
    RatioColumn {
        numerator: names::OURS_TYPED,
        denominator: names::PEER,
        target: Some(PEER_TARGET),
        heading: "typed/peer",
    },
    RatioColumn {
        numerator: names::OURS_TYPED,
        denominator: names::SAME_SCHEMA_FLOOR,
        target: Some(FLOOR_TARGET),
        heading: "typed/same-schema floor",
    },
    RatioColumn {
        numerator: names::OURS_PLAIN,
        denominator: names::PHYSICAL_FLOOR,
        target: None,
        heading: "plain/physical floor",
    },
    RatioColumn {
        numerator: names::OURS_TYPED,
        denominator: names::PHYSICAL_FLOOR,
        target: None,
        heading: "typed/physical floor",
    },
    RatioColumn {
        numerator: names::OURS_ANY,
        denominator: names::OURS_PLAIN,
        target: None,
        heading: "any/plain",
    },
];

/// The operations whose latency under load the tables show.
const LOADED_LATENCY_OPS: [Op; 2] = [Op::LoadHit, Op::Save];

/// Operations per second, to three significant figures at most.
fn rate(per_second: f64) -> String {
    if per_second >= 1_000_000.0 {
        format!("{:.2}M", per_second / 1_000_000.0)
    } else if per_second >= 100.0 {
        let whole = per_second.round() as u64;
        if whole >= 1_000 {
            format!("{},{:03}", whole / 1_000, whole % 1_000)
        } else {
            whole.to_string()
        }
    } else {
        format!("{per_second:.1}")
    }
}

/// A figure's median rate and, when it was repeated, its spread.
pub(crate) fn rate_cell(figure: Option<&Figure>, repeated: bool) -> String {
    match figure {
        Some(figure) if repeated => format!(
            "{} ±{:.0}%",
            rate(figure.ops_per_sec()),
            figure.spread_percent()
        ),
        Some(figure) => rate(figure.ops_per_sec()),
        None => "n/a".to_owned(),
    }
}

/// A latency in the unit that reads best.
fn latency(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 10.0 {
        format!("{micros:.1} µs")
    } else if micros < 1_000.0 {
        format!("{micros:.0} µs")
    } else {
        format!("{:.1} ms", micros / 1_000.0)
    }
}

/// The median and 99th percentile of a figure.
fn p50_p99(figure: Option<&Figure>) -> String {
    figure.map_or("n/a".to_owned(), |figure| {
        format!(
            "{} / {}",
            latency(figure.percentile(0.5)),
            latency(figure.percentile(0.99))
        )
    })
}

/// The ratio of two figures' medians, if both exist.
pub fn ratio_of(numerator: Option<&Figure>, denominator: Option<&Figure>) -> Option<f64> {
    match (numerator, denominator) {
        (Some(numerator), Some(denominator)) if denominator.ops_per_sec() > 0.0 => {
            Some(numerator.ops_per_sec() / denominator.ops_per_sec())
        }
        _ => None,
    }
}

/// A ratio, bold when it misses `target`.
fn ratio(numerator: Option<&Figure>, denominator: Option<&Figure>, target: Option<f64>) -> String {
    match ratio_of(numerator, denominator) {
        Some(value) if target.is_some_and(|target| value < target) => format!("**{value:.2}**"),
        Some(value) => format!("{value:.2}"),
        None => "n/a".to_owned(),
    }
}

impl BackendReport {
    /// The figure of contender `name` on `row`.
    pub fn figure<'a>(&self, row: &'a Row, name: &str) -> Option<&'a Figure> {
        let index = self
            .contenders
            .iter()
            .position(|contender| *contender == name)?;
        row.results.get(index)?.as_ref()
    }
}

/// The operation table and the latency tables of one backend.
pub fn backend_tables(report: &BackendReport, pool: usize, repeat: usize) -> String {
    let mut out = String::new();
    let repeated = repeat > 1;
    let names = &report.contenders;
    let ratios: Vec<&RatioColumn> = RATIOS
        .iter()
        .filter(|column| names.contains(&column.numerator) && names.contains(&column.denominator))
        .collect();
    let _ = writeln!(out, "### {}\n", report.kind);
    let _ = writeln!(
        out,
        "Throughput in operations per second (pool of {pool} connections per contender){}. \
         Ratios are of medians{}.\n",
        if repeated {
            format!(", the median of {repeat} runs ± half their range")
        } else {
            String::new()
        },
        if ratios.iter().any(|column| column.target.is_some()) {
            format!(
                "; below target they are bold (ours/peer < {PEER_TARGET:.2}, \
                 typed/same-schema floor < {FLOOR_TARGET:.2})"
            )
        } else {
            String::new()
        }
    );
    let headings: Vec<&str> = ratios.iter().map(|column| column.heading).collect();
    let _ = writeln!(
        out,
        "| operation | payload | tasks | {} | {} |",
        names.join(" | "),
        headings.join(" | ")
    );
    let _ = writeln!(
        out,
        "|---|---|--:|{}",
        "--:|".repeat(names.len() + ratios.len())
    );
    for row in &report.rows {
        let cells: Vec<String> = row
            .results
            .iter()
            .map(|figure| rate_cell(figure.as_ref(), repeated))
            .collect();
        let ratios: Vec<String> = ratios
            .iter()
            .map(|column| {
                ratio(
                    report.figure(row, column.numerator),
                    report.figure(row, column.denominator),
                    column.target,
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            row.op.label(),
            row.payload,
            row.tasks,
            cells.join(" | "),
            ratios.join(" | ")
        );
    }

    let _ = writeln!(
        out,
        "\nSingle-task latency, p50 / p99 (`delete_expired`: the median and slowest of its runs, \
         each deleting the expired rows).\n"
    );
    latency_table(
        &mut out,
        report,
        |row| row.tasks == 1,
        |row, figure| {
            if row.op == Op::DeleteExpired {
                format!(
                    "{} / {}",
                    latency(figure.percentile(0.5)),
                    latency(figure.slowest())
                )
            } else {
                p50_p99(Some(figure))
            }
        },
    );

    let most_tasks = report.rows.iter().map(|row| row.tasks).max().unwrap_or(0);
    if most_tasks > 1 {
        let _ = writeln!(
            out,
            "\nLatency under load, p50 / p99, at {most_tasks} tasks (every operation of every run).\n"
        );
        latency_table(
            &mut out,
            report,
            |row| row.tasks == most_tasks && LOADED_LATENCY_OPS.contains(&row.op),
            |_, figure| p50_p99(Some(figure)),
        );
    }
    out
}

/// A table of the `rows` kept by `keep`, one cell per contender.
fn latency_table(
    out: &mut String,
    report: &BackendReport,
    keep: impl Fn(&Row) -> bool,
    cell: impl Fn(&Row, &Figure) -> String,
) {
    let names = &report.contenders;
    let _ = writeln!(out, "| operation | payload | {} |", names.join(" | "));
    let _ = writeln!(out, "|---|---|{}", "--:|".repeat(names.len()));
    for row in report.rows.iter().filter(|row| keep(row)) {
        let cells: Vec<String> = row
            .results
            .iter()
            .map(|figure| figure.as_ref().map_or("n/a".to_owned(), |f| cell(row, f)))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            row.op.label(),
            row.payload,
            cells.join(" | ")
        );
    }
}

/// Where the ratio of two repeated figures lies, from the lowest their runs
/// allow (the numerator's slowest run over the denominator's fastest) to
/// the highest; `None` where either ran once.
pub fn ratio_range(numerator: &Figure, denominator: &Figure) -> Option<(f64, f64)> {
    if numerator.repeats() < 2 || denominator.repeats() < 2 {
        return None;
    }
    let ((numerator_min, numerator_max), (denominator_min, denominator_max)) =
        (numerator.range(), denominator.range());
    if denominator_min <= 0.0 {
        return None;
    }
    Some((
        numerator_min / denominator_max,
        numerator_max / denominator_min,
    ))
}

/// Where a ratio of two repeated figures stands against their run-to-run
/// spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spread {
    /// Either figure ran once: there is no spread to compare with.
    OneRun,
    /// The runs of the two figures overlap: the range the runs allow the
    /// ratio holds 1.0.
    Within,
    /// Every run of the numerator is slower than every run of the
    /// denominator.
    Slower,
    /// Every run of the numerator is faster.
    Faster,
}

impl Spread {
    /// Where a ratio whose runs allow `range` stands.
    fn of(range: Option<(f64, f64)>) -> Spread {
        match range {
            None => Spread::OneRun,
            Some((low, high)) if low <= 1.0 && 1.0 <= high => Spread::Within,
            Some((_, high)) if high < 1.0 => Spread::Slower,
            Some(_) => Spread::Faster,
        }
    }
}

/// A cell of the dispatch table: `any` over `plain`, the range their runs
/// allow, and whether it is beyond the spread, bold where `any` is slower.
fn dispatch_cell(any: &Figure, plain: &Figure) -> String {
    let Some(value) = ratio_of(Some(any), Some(plain)) else {
        return "n/a".to_owned();
    };
    let range = ratio_range(any, plain);
    let span = |(low, high): (f64, f64)| format!("{value:.2} ({low:.2}–{high:.2})");
    match (Spread::of(range), range) {
        (Spread::Within, Some(range)) => span(range),
        (Spread::Slower, Some(range)) => format!("**{}, slower**", span(range)),
        (Spread::Faster, Some(range)) => format!("{}, faster", span(range)),
        _ => format!("{value:.2}"),
    }
}

/// The share of lines whose runs do not overlap by chance alone, when two
/// contenders of the same speed each run `repeat` times and every order of
/// the runs is as likely: of the (2n choose n) ways to split the 2n runs
/// between them, the two that put one contender's runs all below the
/// other's.
pub fn chance_outside_spread(repeat: usize) -> f64 {
    let n = repeat as f64;
    // (2n choose n) = the product over k = 1..=n of (n + k) / k.
    let splits: f64 = (1..=repeat).map(|k| (n + k as f64) / k as f64).product();
    2.0 / splits
}

/// The dispatch table of `--only dispatch` over every backend that ran:
/// ours any over ours plain on every line, whether the difference is
/// within the spread of their runs, and per backend how many lines are and
/// the geometric mean of the ratios, which averages much of the noise of
/// single lines away. Empty where no backend ran ours any.
pub fn dispatch_table(reports: &[BackendReport], repeat: usize) -> String {
    let mut out = String::new();
    let lines: Vec<(&BackendReport, &Row, &Figure, &Figure)> = reports
        .iter()
        .flat_map(|report| {
            report.rows.iter().filter_map(move |row| {
                let plain = report.figure(row, names::OURS_PLAIN)?;
                let any = report.figure(row, names::OURS_ANY)?;
                Some((report, row, plain, any))
            })
        })
        .collect();
    if lines.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "### Dispatch: ours any / ours plain\n\n\
         `ours any` is the struct without fields derived with `backend = any`, driven through \
         `AnyStore`, which matches on its backend once per operation; `ours plain` is the \
         single-backend `DieselStore` of the same struct without fields, with the same table \
         (on MySQL both keep `data` as `JSON`: `backend = any` takes no `data = blob`). \
         Each cell is ours any's operations per second over ours plain's, the ratio of the \
         medians of {repeat} runs (the backends' tables above give the rates and their \
         spread), then in brackets the range the runs allow it, from any's slowest run over \
         plain's fastest to any's fastest over plain's slowest. Where that range holds 1.00 \
         the two contenders' runs overlap and the difference is within the run-to-run spread; \
         where not, the cell says slower (bold) or faster.\n"
    );
    let backends: Vec<&BackendReport> = reports
        .iter()
        .filter(|report| lines.iter().any(|(of, ..)| std::ptr::eq(*of, *report)))
        .collect();
    let kinds: Vec<String> = backends
        .iter()
        .map(|report| report.kind.to_string())
        .collect();
    let _ = writeln!(
        out,
        "| operation | payload | tasks | {} |",
        kinds.join(" | ")
    );
    let _ = writeln!(out, "|---|---|--:|{}", "--:|".repeat(backends.len()));
    // Every line of any backend, in table order, once.
    let mut keys: Vec<(Op, &str, usize)> = Vec::new();
    for (_, row, ..) in &lines {
        let key = (row.op, row.payload, row.tasks);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    for (op, payload, tasks) in keys {
        let cells: Vec<String> = backends
            .iter()
            .map(|report| {
                lines
                    .iter()
                    .find(|(of, row, ..)| {
                        std::ptr::eq(*of, *report)
                            && (row.op, row.payload, row.tasks) == (op, payload, tasks)
                    })
                    .map_or("n/a".to_owned(), |(_, _, plain, any)| {
                        dispatch_cell(any, plain)
                    })
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {payload} | {tasks} | {} |",
            op.label(),
            cells.join(" | ")
        );
    }
    let _ = writeln!(
        out,
        "\nPer backend: how many lines are within the spread, slower or faster beyond it, \
         and the geometric mean of any/plain over every line with the lowest and highest \
         line.{}\n",
        if repeat > 1 {
            format!(
                " With {repeat} runs each, the runs of two contenders of the same speed fail to \
                 overlap on {:.1} % of lines by chance alone, as often slower as faster.",
                chance_outside_spread(repeat) * 100.0
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "| backend | lines | within the spread | slower beyond it | faster beyond it \
         | geometric mean of any/plain | lowest | highest |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|");
    for report in reports {
        let ratios: Vec<(f64, Spread)> = lines
            .iter()
            .filter(|(of, ..)| std::ptr::eq(*of, report))
            .filter_map(|(_, _, plain, any)| {
                Some((
                    ratio_of(Some(any), Some(plain))?,
                    Spread::of(ratio_range(any, plain)),
                ))
            })
            .collect();
        if ratios.is_empty() {
            continue;
        }
        let count = |spread: Spread| {
            if ratios.iter().any(|(_, of)| *of == Spread::OneRun) {
                "n/a".to_owned()
            } else {
                ratios
                    .iter()
                    .filter(|(_, of)| *of == spread)
                    .count()
                    .to_string()
            }
        };
        let mean =
            (ratios.iter().map(|(value, _)| value.ln()).sum::<f64>() / ratios.len() as f64).exp();
        let (lowest, highest) = ratios
            .iter()
            .fold((f64::INFINITY, 0.0_f64), |(low, high), (value, _)| {
                (low.min(*value), high.max(*value))
            });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {mean:.3} | {lowest:.2} | {highest:.2} |",
            report.kind,
            ratios.len(),
            count(Spread::Within),
            count(Spread::Slower),
            count(Spread::Faster),
        );
    }
    out
}

/// The end-to-end table over every backend that ran.
pub fn e2e_table(reports: &[BackendReport], clients: usize, repeat: usize) -> String {
    let heading = format!(
        "### End to end: axum handler reading and writing one session value\n\n\
         Requests per second through `SessionManagerLayer`, {clients} concurrent clients, \
         each with its own session, driven in-process with `tower::ServiceExt::oneshot`. \
         Each request loads and saves the session. The median of {repeat} run(s); latencies \
         over all of them.\n"
    );
    requests_table(reports, |report| &report.e2e, &heading, PEER_TARGET, repeat)
}

/// The rolling-expiry table over every backend that ran.
pub fn rolling_table(reports: &[BackendReport], clients: usize, repeat: usize) -> String {
    let heading = format!(
        "### End to end: rolling expiry, 9 reads in 10\n\n\
         Requests per second through `SessionManagerLayer` with \
         `Expiry::OnInactivity(1 hour)` and `with_always_save(true)`, {clients} concurrent \
         clients, each with its own session, driven in-process with \
         `tower::ServiceExt::oneshot`. Each client's first request and every tenth after it \
         changes the session value; the other nine in ten only read it, and the middleware \
         saves the session after every request to move its expiry on. The median of \
         {repeat} run(s); latencies over all of them. Ratios below \
         {ROLLING_PEER_TARGET:.2} are bold.\n"
    );
    requests_table(
        reports,
        |report| &report.rolling,
        &heading,
        ROLLING_PEER_TARGET,
        repeat,
    )
}

/// A table of an end-to-end figure, `figure` of each backend, under
/// `heading`; ours/peer below `target` is bold.
fn requests_table(
    reports: &[BackendReport],
    figure: impl Fn(&BackendReport) -> &[E2eResult],
    heading: &str,
    target: f64,
    repeat: usize,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{heading}");
    let _ = writeln!(
        out,
        "| backend | requests | ceiling | peer | ours plain | ours typed | plain/peer | typed/peer \
         | typed p50 / p99 | plain p50 / p99 | peer p50 / p99 |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for report in reports.iter().filter(|report| !figure(report).is_empty()) {
        let find = |name: &str| {
            figure(report)
                .iter()
                .find(|result| result.contender == name)
                .map(|result| &result.figure)
        };
        let (ceiling, peer) = (find(names::CEILING), find(names::PEER));
        let (plain, typed) = (find(names::OURS_PLAIN), find(names::OURS_TYPED));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            report.kind,
            typed.map_or(0, Figure::ops),
            rate_cell(ceiling, repeat > 1),
            rate_cell(peer, repeat > 1),
            rate_cell(plain, repeat > 1),
            rate_cell(typed, repeat > 1),
            ratio(plain, peer, Some(target)),
            ratio(typed, peer, Some(target)),
            p50_p99(typed),
            p50_p99(plain),
            p50_p99(peer),
        );
    }
    out
}

/// The lost-changes table over every backend that ran.
pub fn overlap_table(reports: &[BackendReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Lost changes: two overlapping requests of one session\n\n\
         Each round creates a session with one request, then sends two requests of it at \
         once through `SessionManagerLayer`: A sets one key, B sets `cart`. Both handlers \
         read the session, then wait for each other before changing it, so both have loaded \
         it before either saves. A third request reads both keys; the round counts as lost \
         if either is not the value its request set. Ours typed's A sets `user_agent`, a \
         typed column; the others' A sets `theme` in `data`.\n"
    );
    let _ = writeln!(out, "| backend | contender | A sets | lost |");
    let _ = writeln!(out, "|---|---|---|--:|");
    for report in reports {
        for count in &report.overlap {
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} of {} |",
                report.kind, count.contender, count.first_key, count.lost, count.rounds
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Measurement;

    #[test]
    fn rates_read_well() {
        assert_eq!(rate(12.345), "12.3");
        assert_eq!(rate(512.4), "512");
        assert_eq!(rate(12_345.6), "12,346");
        assert_eq!(rate(2_500_000.0), "2.50M");
    }

    #[test]
    fn ratios_below_target_are_bold() {
        let figure = |ops| {
            Figure::new(vec![Measurement {
                ops,
                elapsed: Duration::from_secs(1),
                latencies: Default::default(),
            }])
        };
        let (eighty, ninety, hundred) = (figure(80), figure(90), figure(100));
        assert_eq!(
            ratio(eighty.as_ref(), hundred.as_ref(), Some(0.85)),
            "**0.80**"
        );
        assert_eq!(ratio(ninety.as_ref(), hundred.as_ref(), Some(0.85)), "0.90");
        assert_eq!(ratio(eighty.as_ref(), hundred.as_ref(), None), "0.80");
        assert_eq!(ratio(None, hundred.as_ref(), Some(0.85)), "n/a");
    }

    #[test]
    fn a_ratio_is_within_the_spread_where_the_runs_overlap() {
        let figure = |rates: &[usize]| {
            Figure::new(
                rates
                    .iter()
                    .map(|ops| Measurement {
                        ops: *ops,
                        elapsed: Duration::from_secs(1),
                        latencies: Default::default(),
                    })
                    .collect(),
            )
            .expect("runs")
        };
        let plain = figure(&[90, 100, 110]);
        let overlapping = figure(&[100, 105, 120]);
        let slower = figure(&[60, 70, 80]);
        let faster = figure(&[120, 150, 200]);
        let range = ratio_range(&overlapping, &plain).unwrap();
        assert!((range.0 - 100.0 / 110.0).abs() < 1e-9);
        assert!((range.1 - 120.0 / 90.0).abs() < 1e-9);
        assert_eq!(Spread::of(Some(range)), Spread::Within);
        assert_eq!(Spread::of(ratio_range(&slower, &plain)), Spread::Slower);
        assert_eq!(Spread::of(ratio_range(&faster, &plain)), Spread::Faster);
        assert_eq!(
            Spread::of(ratio_range(&figure(&[100]), &plain)),
            Spread::OneRun
        );
        assert_eq!(
            dispatch_cell(&slower, &plain),
            "**0.70 (0.55–0.89), slower**"
        );
        assert_eq!(dispatch_cell(&overlapping, &plain), "1.05 (0.91–1.33)");
        assert_eq!(dispatch_cell(&faster, &plain), "1.50 (1.09–2.22), faster");
        assert_eq!(dispatch_cell(&figure(&[100]), &plain), "1.00");
    }

    #[test]
    fn runs_fail_to_overlap_by_chance() {
        // 2 of the (6 choose 3) = 20 splits of six runs.
        assert!((chance_outside_spread(3) - 0.1).abs() < 1e-12);
        // 2 of 252.
        assert!((chance_outside_spread(5) - 2.0 / 252.0).abs() < 1e-12);
        assert!((chance_outside_spread(1) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn repeated_figures_show_their_spread() {
        let runs = [90, 100, 110].map(|ops| Measurement {
            ops,
            elapsed: Duration::from_secs(1),
            latencies: Default::default(),
        });
        let figure = Figure::new(runs.to_vec());
        assert_eq!(rate_cell(figure.as_ref(), true), "100 ±10%");
        assert_eq!(rate_cell(figure.as_ref(), false), "100");
    }
}
