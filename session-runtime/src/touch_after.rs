//! When a save that changes no value writes the session's new expiry.

use std::time::Duration;

/// How far a session's stored expiry may lag behind the expiry a request
/// gives it before a save that changes no value writes it.
///
/// With `Expiry::OnInactivity` every request moves the expiry forward, and
/// with `with_always_save(true)` every request saves. When a save's values
/// are those its request loaded, the store writes nothing until the expiry
/// has moved by the threshold, and then writes the expiry alone, never
/// earlier than the stored one. The session then ends at most the
/// threshold before the exact expiry.
///
/// The default, [`TouchAfter::default`], is a hundredth of the session's
/// lifetime and at least five seconds: 36 seconds for a one-hour
/// inactivity timeout, 3 h 22 min for two weeks.
///
/// ```
/// use std::time::Duration;
/// use session_runtime::{SessionStore, TouchAfter};
///
/// #[derive(SessionStore, Debug)]
/// #[session(table = http_sessions, backend = sqlite)]
/// pub struct AppSession {}
///
/// // Every save writes the exact expiry.
/// let store = AppSessionStore::connect("sessions.db")?.with_touch_after(TouchAfter::Always);
/// // The expiry may lag by up to a minute.
/// let store = store.with_touch_after(TouchAfter::Moved(Duration::from_secs(60)));
/// # Ok::<_, session_runtime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TouchAfter {
    /// Every save writes the expiry it gives: exact expiry, and an
    /// expiry-only `UPDATE` on every request that changes nothing.
    Always,
    /// Once the expiry has moved by this much.
    Moved(Duration),
    /// Once the expiry has moved by the session's remaining lifetime
    /// divided by `divisor`, and by at least `at_least`.
    ShareOfLifetime {
        /// The lifetime is divided by this; 0 counts as 1.
        divisor: u32,
        /// The threshold is never shorter than this.
        at_least: Duration,
    },
}

impl Default for TouchAfter {
    /// A hundredth of the session's lifetime, and at least five seconds.
    fn default() -> Self {
        TouchAfter::ShareOfLifetime {
            divisor: 100,
            at_least: Duration::from_secs(5),
        }
    }
}

impl TouchAfter {
    /// The threshold for a session that lives `lifetime` from now.
    pub(crate) fn threshold(self, lifetime: time::Duration) -> time::Duration {
        let share = |divisor: u32| lifetime / f64::from(divisor.max(1));
        match self {
            TouchAfter::Always => time::Duration::ZERO,
            TouchAfter::Moved(threshold) => saturating(threshold),
            TouchAfter::ShareOfLifetime { divisor, at_least } => {
                share(divisor).max(saturating(at_least))
            }
        }
    }
}

fn saturating(duration: Duration) -> time::Duration {
    time::Duration::try_from(duration).unwrap_or(time::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_a_hundredth_and_at_least_five_seconds() {
        let threshold = TouchAfter::default().threshold(time::Duration::hours(1));
        assert_eq!(threshold, time::Duration::seconds(36));
        let short = TouchAfter::default().threshold(time::Duration::seconds(60));
        assert_eq!(short, time::Duration::seconds(5));
        assert_eq!(
            TouchAfter::Always.threshold(time::Duration::hours(1)),
            time::Duration::ZERO
        );
    }
}
