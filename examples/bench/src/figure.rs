//! A figure: one measurement repeated, read as the median of its runs with
//! their spread.
//!
//! On a shared two-core machine one run can land on a busy moment; the
//! median of several does not move with it, and the spread shows how far
//! the runs disagreed. Ratios are taken between medians.

use std::time::Duration;

use crate::measure::Measurement;
use crate::percentile::LatencyHistogram;

/// The repetitions of one contender's run of one table line.
#[derive(Debug, Clone)]
pub struct Figure {
    runs: Vec<Measurement>,
    /// Every repetition's operations together.
    latencies: LatencyHistogram,
}

impl Figure {
    /// The figure of `runs`; `None` when there are none.
    pub fn new(runs: Vec<Measurement>) -> Option<Figure> {
        if runs.is_empty() {
            return None;
        }
        let mut latencies = LatencyHistogram::default();
        for run in &runs {
            latencies.merge(&run.latencies);
        }
        Some(Figure { runs, latencies })
    }

    /// The median run's operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        median(self.rates())
    }

    /// How far the runs spread around the median: half their range, as a
    /// percentage of the median.
    pub fn spread_percent(&self) -> f64 {
        let rates = self.rates();
        let (min, max) = rates
            .iter()
            .fold((f64::INFINITY, 0.0_f64), |(min, max), rate| {
                (min.min(*rate), max.max(*rate))
            });
        let median = median(rates);
        if median > 0.0 {
            (max - min) / 2.0 / median * 100.0
        } else {
            0.0
        }
    }

    /// The latency within which `fraction` of the operations of every run
    /// completed.
    pub fn percentile(&self, fraction: f64) -> Duration {
        self.latencies.percentile(fraction)
    }

    /// The slowest operation of every run.
    pub fn slowest(&self) -> Duration {
        self.latencies.max()
    }

    /// The operations of the median run.
    pub fn ops(&self) -> usize {
        let rate = self.ops_per_sec();
        self.runs
            .iter()
            .find(|run| run.ops_per_sec() == rate)
            .map_or(0, |run| run.ops)
    }

    fn rates(&self) -> Vec<f64> {
        self.runs.iter().map(Measurement::ops_per_sec).collect()
    }
}

/// The middle value; with an even count, the lower of the two middle ones,
/// so that the median is always a rate some run reached.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values
        .get(values.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ops: usize) -> Measurement {
        Measurement {
            ops,
            elapsed: Duration::from_secs(1),
            latencies: LatencyHistogram::default(),
        }
    }

    #[test]
    fn the_median_ignores_an_outlier() {
        let figure = Figure::new(vec![run(100), run(10), run(104), run(98), run(102)]);
        let figure = figure.expect("five runs");
        assert_eq!(figure.ops_per_sec(), 100.0);
        assert_eq!(figure.ops(), 100);
        // (104 - 10) / 2 / 100
        assert!((figure.spread_percent() - 47.0).abs() < 1e-9);
    }

    #[test]
    fn one_run_has_no_spread() {
        let figure = Figure::new(vec![run(50)]).expect("one run");
        assert_eq!(figure.ops_per_sec(), 50.0);
        assert_eq!(figure.spread_percent(), 0.0);
        assert!(Figure::new(Vec::new()).is_none());
    }
}
