//! Waiting between attempts at something that failed for a reason that
//! passes by itself: a database failing over to its standby, a cluster's
//! certification conflict, a pool whose server restarts.

use std::time::{Duration, Instant};

/// Exponential waits with jitter, none of them past a deadline.
///
/// The jitter (each wait is 50 to 100 % of its step) keeps the requests
/// that failed together from all coming back at the same instant.
#[derive(Debug)]
pub(crate) struct Backoff {
    deadline: Instant,
    step: Duration,
    max: Duration,
}

impl Backoff {
    /// Waits from `first`, doubling up to `max`, until `deadline`.
    pub(crate) fn until(deadline: Instant, first: Duration, max: Duration) -> Self {
        Backoff {
            deadline,
            step: first,
            max,
        }
    }

    /// Whether the deadline has passed.
    pub(crate) fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Waits the next step; `false`, at once, when the deadline has passed.
    pub(crate) async fn wait(&mut self) -> bool {
        let now = Instant::now();
        if now >= self.deadline {
            return false;
        }
        let step = self.step;
        self.step = (self.step * 2).min(self.max);
        let jittered = step.mul_f64(rand::random_range(0.5..=1.0));
        tokio::time::sleep(jittered.min(self.deadline - now)).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn it_waits_until_the_deadline_and_no_longer() {
        let started = Instant::now();
        let mut backoff = Backoff::until(
            started + Duration::from_millis(60),
            Duration::from_millis(5),
            Duration::from_millis(20),
        );
        let mut waits = 0;
        while backoff.wait().await {
            waits += 1;
        }
        let elapsed = started.elapsed();
        assert!(waits >= 3, "{waits} waits");
        assert!(elapsed >= Duration::from_millis(60), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(200), "{elapsed:?}");
        assert!(backoff.expired());
    }
}
