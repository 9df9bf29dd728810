//! The background cleanup of expired sessions; its behaviour is documented
//! on [`DieselStore::spawn_cleanup`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::backend::Backend;
use crate::session_table::SessionTable;
use crate::store::DieselStore;
use crate::telemetry::TARGET;

/// The settings of the background cleanup, with documented defaults.
///
/// ```
/// use std::time::Duration;
/// use session_runtime::CleanupOptions;
///
/// let options = CleanupOptions::default();
/// assert_eq!(options.interval, Duration::from_secs(60));
/// assert_eq!(options.batch_size, 1000);
/// assert_eq!(options.batch_pause, Duration::from_millis(10));
/// assert_eq!(options.first_retry, Duration::from_secs(1));
/// assert_eq!(options.max_retry, Duration::from_secs(60));
///
/// let hourly = CleanupOptions::default().with_interval(Duration::from_secs(3600));
/// assert_eq!(hourly.interval, Duration::from_secs(3600));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CleanupOptions {
    /// The time from the end of one sweep to the start of the next; a
    /// sweep also runs as soon as the task starts. 60 s by default.
    pub interval: Duration,
    /// The most rows one `DELETE` removes (0 counts as 1). 1000 by
    /// default: on every
    /// backend such a batch takes milliseconds, so the lock it holds is
    /// never what a request waits on for long.
    pub batch_size: u32,
    /// The pause between two batches of one sweep, which lets queued
    /// writers in (SQLite has one writer at a time). 10 ms by default.
    pub batch_pause: Duration,
    /// The wait before retrying after the first failure; it doubles with
    /// every further failure in a row. 1 s by default.
    pub first_retry: Duration,
    /// The longest wait between retries. 60 s by default.
    pub max_retry: Duration,
}

impl CleanupOptions {
    crate::setters::setters! {
        with_interval => interval: Duration,
        with_batch_size => batch_size: u32,
        with_batch_pause => batch_pause: Duration,
        with_first_retry => first_retry: Duration,
        with_max_retry => max_retry: Duration,
    }
}

impl Default for CleanupOptions {
    fn default() -> Self {
        CleanupOptions {
            interval: Duration::from_secs(60),
            batch_size: 1000,
            batch_pause: Duration::from_millis(10),
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(60),
        }
    }
}

/// What a cleanup task has done so far.
///
/// ```
/// use session_runtime::CleanupStats;
///
/// let stats = CleanupStats::default();
/// assert_eq!(stats.deleted, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CleanupStats {
    /// Sweeps that ran to the end, finding no expired row left.
    pub sweeps: u64,
    /// `DELETE` statements that succeeded.
    pub batches: u64,
    /// Expired rows deleted.
    pub deleted: u64,
    /// Batches that failed, each followed by a retry.
    pub failures: u64,
}

#[derive(Debug, Default)]
struct Counters {
    sweeps: AtomicU64,
    batches: AtomicU64,
    deleted: AtomicU64,
    failures: AtomicU64,
}

/// The running cleanup task. Keep it for as long as the cleanup should
/// run: dropping it stops the task, after its current statement.
///
/// See [`DieselStore::spawn_cleanup`] for an example.
#[must_use = "dropping the handle stops the cleanup"]
#[derive(Debug)]
pub struct CleanupHandle {
    token: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl CleanupHandle {
    /// Stops the task and waits for it to end. A statement under way is
    /// finished first, so this takes at most one batch (bounded by the
    /// statement timeout).
    pub async fn stop(mut self) {
        self.token.cancel();
        if let Some(task) = self.task.take() {
            // The task never panics; a join error can only mean the
            // runtime is shutting down, when there is nothing left to stop.
            let _ = task.await;
        }
    }

    /// The token that stops the task when cancelled: hand it to the code
    /// that handles the app's shutdown signal.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// What the task has done so far.
    pub fn stats(&self) -> CleanupStats {
        let counters = &self.counters;
        CleanupStats {
            sweeps: counters.sweeps.load(Ordering::Relaxed),
            batches: counters.batches.load(Ordering::Relaxed),
            deleted: counters.deleted.load(Ordering::Relaxed),
            failures: counters.failures.load(Ordering::Relaxed),
        }
    }

    /// Whether the task has ended: it was stopped or cancelled.
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|task| task.is_finished())
    }
}

impl Drop for CleanupHandle {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

impl<S: SessionTable<B>, B: Backend> DieselStore<S, B> {
    /// Starts the background cleanup of expired sessions on the current
    /// tokio runtime.
    ///
    /// Every [`interval`](CleanupOptions::interval), the task deletes the
    /// expired rows in batches of at most
    /// [`batch_size`](CleanupOptions::batch_size), one short statement
    /// each, so that a backlog of a million expired rows never holds one
    /// long write lock and requests keep getting in between batches.
    ///
    /// It keeps going: a failed batch (the database is down, the pool is
    /// exhausted) is logged at `ERROR` and retried after a backoff that
    /// doubles from [`first_retry`](CleanupOptions::first_retry) up to
    /// [`max_retry`](CleanupOptions::max_retry), and the task goes back to
    /// its interval once a sweep succeeds. It stops between two statements,
    /// never inside one, when [`CleanupHandle::stop`] is called, when its
    /// cancellation token is cancelled, or when the handle is dropped.
    /// tower-sessions' `continuously_delete_expired`, by contrast, ends at
    /// its first error and deletes a backlog in one statement.
    ///
    /// ```
    /// use session_runtime::SessionStore;
    /// use session_runtime::CleanupOptions;
    ///
    /// #[derive(SessionStore, Debug)]
    /// #[session(table = http_sessions, backend = sqlite)]
    /// pub struct AppSession {}
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let dir = std::env::temp_dir().join(format!("doc-cleanup-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # let path = dir.join("sessions.db");
    /// let store = AppSessionStore::connect(path.to_str().unwrap())?;
    /// store.migrate().await?;
    /// let cleanup = store.spawn_cleanup(CleanupOptions::default());
    /// // ... serve, until the shutdown signal ...
    /// cleanup.stop().await;
    /// # Ok::<_, session_runtime::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn spawn_cleanup(&self, options: CleanupOptions) -> CleanupHandle {
        let token = CancellationToken::new();
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(run(self.clone(), options, token.clone(), counters.clone()));
        CleanupHandle {
            token,
            task: Some(task),
            counters,
        }
    }
}

/// The task: sweeps, then waits for the interval or, after a failure, the
/// backoff, until cancelled.
async fn run<S: SessionTable<B>, B: Backend>(
    store: DieselStore<S, B>,
    options: CleanupOptions,
    token: CancellationToken,
    counters: Arc<Counters>,
) {
    let batch_size = options.batch_size.max(1);
    let mut backoff = options.first_retry;
    loop {
        let wait = match sweep(&store, batch_size, &options, &token, &counters).await {
            Ok(()) => {
                backoff = options.first_retry;
                options.interval
            }
            Err(error) => {
                counters.failures.fetch_add(1, Ordering::Relaxed);
                let wait = backoff;
                backoff = backoff.saturating_mul(2).min(options.max_retry);
                tracing::error!(
                    target: TARGET,
                    table = S::TABLE.name,
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    error = %error,
                    "expired-session cleanup failed; retrying"
                );
                wait
            }
        };
        tokio::select! {
            biased;
            () = token.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Deletes expired rows batch by batch until a batch comes back short.
/// Returns early, with `Ok`, once cancelled.
async fn sweep<S: SessionTable<B>, B: Backend>(
    store: &DieselStore<S, B>,
    batch_size: u32,
    options: &CleanupOptions,
    token: &CancellationToken,
    counters: &Counters,
) -> Result<(), crate::Error> {
    loop {
        if token.is_cancelled() {
            return Ok(());
        }
        // Never dropped half-way: a statement cut off inside the driver
        // would leave its pooled connection in an unknown state.
        let deleted = store.delete_expired_batch(batch_size).await?;
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters.deleted.fetch_add(
            u64::try_from(deleted).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if deleted < usize::try_from(batch_size).unwrap_or(usize::MAX) {
            counters.sweeps.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        tokio::select! {
            biased;
            () = token.cancelled() => return Ok(()),
            () = tokio::time::sleep(options.batch_pause) => {}
        }
    }
}
