//! Timing: one operation, a number of concurrent tasks, a bounded count
//! and duration.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::contender::{Contender, Slot};
use crate::payload::Payload;
use crate::percentile::LatencyHistogram;
use crate::BenchResult;

/// An operation the benchmark times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `create` of a new session.
    Create,
    /// `save` of an existing session.
    Save,
    /// `load` of a live session.
    LoadHit,
    /// `load` of an id that has no session.
    LoadMiss,
    /// `delete` of a session.
    Delete,
    /// `delete_expired` with 10 000 expired rows in the table.
    DeleteExpired,
    /// The live sessions of one user.
    List,
    /// Deleting every session of one user.
    Revoke,
}

impl Op {
    /// Every operation, in the order of the tables.
    pub const ALL: [Op; 8] = [
        Op::Create,
        Op::Save,
        Op::LoadHit,
        Op::LoadMiss,
        Op::Delete,
        Op::DeleteExpired,
        Op::List,
        Op::Revoke,
    ];

    /// The operation's name in the tables.
    pub fn label(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Save => "save",
            Op::LoadHit => "load hit",
            Op::LoadMiss => "load miss",
            Op::Delete => "delete",
            Op::DeleteExpired => "delete_expired",
            Op::List => "list by user",
            Op::Revoke => "revoke by user",
        }
    }

    /// The operation's name on the command line.
    pub fn flag(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Save => "save",
            Op::LoadHit => "load-hit",
            Op::LoadMiss => "load-miss",
            Op::Delete => "delete",
            Op::DeleteExpired => "delete-expired",
            Op::List => "list",
            Op::Revoke => "revoke",
        }
    }

    /// Whether the payload size changes the work: these run with both
    /// payloads, the rest with the small one only.
    pub fn depends_on_payload(self) -> bool {
        matches!(self, Op::Create | Op::Save | Op::LoadHit | Op::Delete)
    }

    /// Whether each timed call uses up a seeded row or user.
    pub fn consumes_seed(self) -> bool {
        matches!(self, Op::Delete | Op::Revoke)
    }
}

/// What one timed run reads: the payload and the ids or users it works on.
pub struct Inputs {
    /// The session map written.
    pub payload: Arc<Payload>,
    /// The sessions the run works on, by index.
    pub ids: Vec<i128>,
    /// The users the run works on, by index.
    pub users: Vec<i64>,
}

/// The result of one timed run.
#[derive(Debug, Clone, Default)]
pub struct Measurement {
    /// Operations completed.
    pub ops: usize,
    /// From the start to the end of the last task.
    pub elapsed: Duration,
    /// How long each operation took.
    pub latencies: LatencyHistogram,
}

impl Measurement {
    /// Operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.ops as f64 / seconds
        } else {
            0.0
        }
    }

    /// Joins timing tasks started at `start`: every task's latencies, and
    /// the time from `start` until the last task finished.
    pub async fn from_tasks(start: Instant, handles: Vec<TaskTimings>) -> BenchResult<Measurement> {
        let mut measurement = Measurement::default();
        let mut end = start;
        for handle in handles {
            let (latencies, finished) = handle.await??;
            measurement.latencies.merge(&latencies);
            end = end.max(finished);
        }
        measurement.ops = usize::try_from(measurement.latencies.count()).unwrap_or(usize::MAX);
        measurement.elapsed = end - start;
        Ok(measurement)
    }
}

/// What a timing task returns: its latencies and when it finished. Each
/// task records into a histogram of its own, so that timing takes no lock.
pub type TaskTimings = tokio::task::JoinHandle<BenchResult<(LatencyHistogram, Instant)>>;

/// Runs `op` on `contender` from `tasks` concurrent tasks until `max_ops`
/// operations are done or `duration` has passed.
pub async fn run(
    contender: Arc<dyn Contender>,
    op: Op,
    tasks: usize,
    inputs: Arc<Inputs>,
    max_ops: usize,
    duration: Duration,
) -> BenchResult<Measurement> {
    // Built before the clock starts: no contender pays for cloning the map.
    let slots: Vec<Slot> = (0..tasks).map(|_| Slot::new(&inputs.payload)).collect();
    let counter = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let handles: Vec<_> = slots
        .into_iter()
        .map(|mut slot| {
            let contender = Arc::clone(&contender);
            let inputs = Arc::clone(&inputs);
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut latencies = LatencyHistogram::default();
                loop {
                    let index = counter.fetch_add(1, Ordering::Relaxed);
                    if index >= max_ops || Instant::now() >= deadline {
                        break;
                    }
                    let began = Instant::now();
                    one(&*contender, op, &mut slot, &inputs, index).await?;
                    latencies.record(began.elapsed());
                }
                Ok::<_, crate::BoxError>((latencies, Instant::now()))
            })
        })
        .collect();
    Measurement::from_tasks(start, handles).await
}

/// One operation, with a check that it did what it should: a benchmark of
/// a store that silently misses is worthless.
async fn one(
    contender: &dyn Contender,
    op: Op,
    slot: &mut Slot,
    inputs: &Inputs,
    index: usize,
) -> BenchResult<()> {
    // Cycles through the inputs; an operation without the inputs it needs
    // is a bug of the plan, reported rather than a division by zero.
    fn nth<T: Copy>(items: &[T], index: usize, what: &str) -> BenchResult<T> {
        match items.len() {
            0 => Err(format!("no {what} to work on").into()),
            len => Ok(items[index % len]),
        }
    }
    let nth_id = || nth(&inputs.ids, index, "sessions");
    let nth_user = || nth(&inputs.users, index, "users");
    match op {
        Op::Create => contender.create(slot, rand::random()).await,
        Op::Save => {
            // A save follows a change: the expiry moves on, as with
            // `Expiry::OnInactivity`, so that no database can skip the
            // write as a no-op.
            let expiry = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
            slot.record.expiry_date = expiry;
            slot.record_014.expiry_date = expiry;
            contender.save(slot, nth_id()?).await
        }
        Op::LoadHit => match contender.load(nth_id()?).await? {
            Some(_) => Ok(()),
            None => Err(format!("{}: a live session did not load", contender.name()).into()),
        },
        Op::LoadMiss => match contender.load(rand::random()).await? {
            None => Ok(()),
            Some(_) => Err(format!("{}: an unknown id loaded", contender.name()).into()),
        },
        Op::Delete => contender.delete(nth_id()?).await,
        Op::DeleteExpired => contender.delete_expired().await,
        Op::List => match contender.list(nth_user()?).await? {
            0 => Err(format!("{}: a user's sessions did not list", contender.name()).into()),
            _ => Ok(()),
        },
        Op::Revoke => match contender.revoke(nth_user()?).await? {
            0 => Err(format!("{}: a user's sessions were not revoked", contender.name()).into()),
            _ => Ok(()),
        },
    }
}
