//! Latency percentiles from a histogram.
//!
//! A timed run of the ceiling completes up to 200 000 operations, and every
//! figure is repeated: keeping each latency would cost hundreds of
//! megabytes. A histogram whose buckets grow by 1 % keeps about 2 000
//! counters, reads any percentile to within 1 %, and merges exactly: the
//! histograms of a run's tasks, and of a figure's repetitions, add up.

use std::time::Duration;

/// Each bucket's upper bound is this factor above the one before.
const GROWTH: f64 = 1.01;
/// The upper bound of the first bucket, in nanoseconds; nothing measured
/// here is faster.
const FIRST_BOUND_NANOS: f64 = 100.0;
/// Enough buckets to reach past two minutes (100 ns × 1.01^2100 ≈ 120 s);
/// slower operations count in the last.
const BUCKETS: usize = 2_100;

/// How many operations took how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    total: u64,
    /// The slowest operation exactly, so that the top percentile is no
    /// bucket's bound but a real latency.
    max: Duration,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max: Duration::ZERO,
        }
    }
}

impl LatencyHistogram {
    /// Counts one operation that took `latency`.
    pub fn record(&mut self, latency: Duration) {
        self.counts[bucket(latency)] += 1;
        self.total += 1;
        self.max = self.max.max(latency);
    }

    /// Adds the operations of `other`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (count, more) in self.counts.iter_mut().zip(&other.counts) {
            *count += more;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// The operations counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The slowest operation.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The latency within which `fraction` (0 to 1) of the operations
    /// completed, 1 % high at most; zero when nothing was counted.
    pub fn percentile(&self, fraction: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        // The rank of the operation sought, counting from 1.
        let rank = ((fraction.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return upper_bound(index).min(self.max);
            }
        }
        self.max
    }
}

/// The bucket a latency counts in: the first whose upper bound is not below
/// it.
fn bucket(latency: Duration) -> usize {
    let nanos = latency.as_nanos() as f64;
    if nanos <= FIRST_BOUND_NANOS {
        return 0;
    }
    let index = ((nanos / FIRST_BOUND_NANOS).ln() / GROWTH.ln()).ceil() as usize;
    index.min(BUCKETS - 1)
}

fn upper_bound(bucket: usize) -> Duration {
    let exponent = i32::try_from(bucket).unwrap_or(i32::MAX);
    Duration::from_nanos((FIRST_BOUND_NANOS * GROWTH.powi(exponent)).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(count: u64) -> Duration {
        Duration::from_micros(count)
    }

    #[test]
    fn percentiles_are_read_within_one_percent() {
        let mut histogram = LatencyHistogram::default();
        for latency in 1..=1_000 {
            histogram.record(micros(latency));
        }
        for (fraction, exact) in [(0.5, 500.0), (0.99, 990.0), (0.01, 10.0)] {
            let read = histogram.percentile(fraction).as_secs_f64() * 1e6;
            assert!(
                read >= exact && read <= exact * 1.01 + 0.001,
                "p{fraction}: {read} µs, not {exact} µs"
            );
        }
        assert_eq!(histogram.percentile(1.0), micros(1_000));
        assert_eq!(histogram.max(), micros(1_000));
    }

    #[test]
    fn merging_adds_the_counts() {
        let (mut fast, mut slow) = (LatencyHistogram::default(), LatencyHistogram::default());
        fast.record(micros(10));
        slow.record(micros(1_000));
        slow.record(micros(1_000));
        fast.merge(&slow);
        assert_eq!(fast.count(), 3);
        assert!(fast.percentile(0.5) >= micros(1_000));
        assert!(fast.percentile(0.2) <= micros(11));
    }

    #[test]
    fn an_empty_histogram_reads_zero() {
        assert_eq!(LatencyHistogram::default().percentile(0.5), Duration::ZERO);
    }
}
