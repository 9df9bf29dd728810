//! The markdown tables.

use std::fmt::Write as _;
use std::time::Duration;

use crate::measure::{Measurement, Op};
use crate::runner::BackendReport;

/// Ours/peer below this misses the target.
pub const PEER_TARGET: f64 = 1.0;
/// Ours/floor below this misses the target.
pub const FLOOR_TARGET: f64 = 0.85;

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

/// A ratio of two throughputs, bold when it misses `target`.
fn ratio(ours: Option<&Measurement>, other: Option<&Measurement>, target: f64) -> String {
    match (ours, other) {
        (Some(ours), Some(other)) if other.ops_per_sec() > 0.0 => {
            let value = ours.ops_per_sec() / other.ops_per_sec();
            if value < target {
                format!("**{value:.2}**")
            } else {
                format!("{value:.2}")
            }
        }
        _ => "n/a".to_owned(),
    }
}

fn column(report: &BackendReport, name: &str) -> Option<usize> {
    report
        .contenders
        .iter()
        .position(|contender| *contender == name)
}

/// The operation table and the latency table of one backend.
pub fn backend_tables(report: &BackendReport, pool: usize) -> String {
    let mut out = String::new();
    let peer = column(report, "peer");
    let ours = column(report, "ours");
    let floor = column(report, "floor");
    let _ = writeln!(out, "### {}\n", report.kind);
    let _ = writeln!(
        out,
        "Throughput in operations per second (pool of {pool} connections per contender). \
         Ratios below target are bold (ours/peer < {PEER_TARGET:.2}, ours/floor < {FLOOR_TARGET:.2}).\n"
    );
    let names: Vec<&str> = report.contenders.to_vec();
    let _ = writeln!(
        out,
        "| operation | payload | tasks | {} | ours/peer | ours/floor |",
        names.join(" | ")
    );
    let _ = writeln!(out, "|---|---|--:|{}--:|--:|", "--:|".repeat(names.len()));
    for row in &report.rows {
        let cells: Vec<String> = row
            .results
            .iter()
            .map(|result| {
                result
                    .as_ref()
                    .map_or("n/a".to_owned(), |m| rate(m.ops_per_sec()))
            })
            .collect();
        let get = |index: Option<usize>| index.and_then(|index| row.results[index].as_ref());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            row.op.label(),
            row.payload,
            row.tasks,
            cells.join(" | "),
            ratio(get(ours), get(peer), PEER_TARGET),
            ratio(get(ours), get(floor), FLOOR_TARGET),
        );
    }
    let _ = writeln!(
        out,
        "\nSingle-task latency, median / p99 (`delete_expired`: the median and slowest of its runs, \
         each deleting the expired rows).\n"
    );
    let _ = writeln!(out, "| operation | payload | {} |", names.join(" | "));
    let _ = writeln!(out, "|---|---|{}", "--:|".repeat(names.len()));
    for row in report.rows.iter().filter(|row| row.tasks == 1) {
        let cells: Vec<String> = row
            .results
            .iter()
            .map(|result| match result {
                Some(m) if row.op == Op::DeleteExpired => format!(
                    "{} / {}",
                    latency(m.elapsed),
                    latency(m.latencies.last().copied().unwrap_or_default())
                ),
                Some(m) => format!(
                    "{} / {}",
                    latency(m.percentile(0.5)),
                    latency(m.percentile(0.99))
                ),
                None => "n/a".to_owned(),
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            row.op.label(),
            row.payload,
            cells.join(" | ")
        );
    }
    out
}

/// The end-to-end table over every backend that ran.
pub fn e2e_table(reports: &[BackendReport], clients: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### End to end: axum handler reading and writing one session value\n\n\
         Requests per second through `SessionManagerLayer`, {clients} concurrent clients, \
         each with its own session, driven in-process with `tower::ServiceExt::oneshot`. \
         Each request loads and saves the session.\n"
    );
    let _ = writeln!(
        out,
        "| backend | requests | ceiling | peer | ours | ours/peer | ours p50 / p99 | peer p50 / p99 |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|");
    for report in reports.iter().filter(|report| !report.e2e.is_empty()) {
        let find = |name: &str| {
            report
                .e2e
                .iter()
                .find(|result| result.contender == name)
                .map(|result| &result.measurement)
        };
        let (ceiling, peer, ours) = (find("ceiling"), find("peer"), find("ours"));
        let rate_of =
            |m: Option<&Measurement>| m.map_or("n/a".to_owned(), |m| rate(m.ops_per_sec()));
        let latencies = |m: Option<&Measurement>| {
            m.map_or("n/a".to_owned(), |m| {
                format!(
                    "{} / {}",
                    latency(m.percentile(0.5)),
                    latency(m.percentile(0.99))
                )
            })
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            report.kind,
            ours.map_or(0, |m| m.ops),
            rate_of(ceiling),
            rate_of(peer),
            rate_of(ours),
            ratio(ours, peer, PEER_TARGET),
            latencies(ours),
            latencies(peer),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_well() {
        assert_eq!(rate(12.345), "12.3");
        assert_eq!(rate(512.4), "512");
        assert_eq!(rate(12_345.6), "12,346");
        assert_eq!(rate(2_500_000.0), "2.50M");
    }

    #[test]
    fn ratios_below_target_are_bold() {
        let measured = |ops| Measurement {
            ops,
            elapsed: Duration::from_secs(1),
            latencies: Vec::new(),
        };
        assert_eq!(
            ratio(Some(&measured(80)), Some(&measured(100)), 0.85),
            "**0.80**"
        );
        assert_eq!(
            ratio(Some(&measured(90)), Some(&measured(100)), 0.85),
            "0.90"
        );
        assert_eq!(ratio(None, Some(&measured(100)), 0.85), "n/a");
    }
}
