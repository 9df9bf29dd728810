//! The background revalidation of a cached store: every half of
//! `max_staleness`, one statement per batch of cached ids asks the table
//! which are still live and with which expiry, and evicts the rest.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use moka::ops::compute::Op;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::backend::Backend;
use crate::digest::SessionDigest;
use crate::error::Error;
use crate::session_table::SessionTable;
use crate::store::statement::run_statement;
use crate::store::DieselStore;
use crate::telemetry::revalidation_failed;

use super::entry::CachedSession;
use super::{Counters, Shared};

/// The shortest wait between two rounds, whatever `max_staleness` says.
const MIN_PERIOD: Duration = Duration::from_millis(10);

/// The task: a round every half of `max_staleness`, until the last clone
/// of the store is dropped or `stop` is cancelled. A failed round is
/// logged and the next one runs on time: entries it did not confirm stop
/// being served once `max_staleness` has passed, so a database that does
/// not answer is a miss, never a stale hit.
pub(super) async fn run<S: SessionTable<B>, B: Backend>(
    store: DieselStore<S, B>,
    shared: Weak<Shared>,
    max_staleness: Duration,
    stop: CancellationToken,
) {
    let period = (max_staleness / 2).max(MIN_PERIOD);
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        // The error is logged where it happened, with its batch.
        let _ = round(&store, &shared).await;
    }
}

/// One round now, with the batch size the store was built with.
pub(super) async fn round<S: SessionTable<B>, B: Backend>(
    store: &DieselStore<S, B>,
    shared: &Shared,
) -> Result<u64, Error> {
    revalidate(store, shared, shared.revalidation_batch.max(1)).await
}

/// Checks every entry the cache holds against the table, `batch` ids per
/// statement, and evicts those gone, ended or changed. Returns how many it
/// evicted; after a failed batch it goes on with the next and returns the
/// last error.
async fn revalidate<S: SessionTable<B>, B: Backend>(
    store: &DieselStore<S, B>,
    shared: &Shared,
    batch: usize,
) -> Result<u64, Error> {
    // Evictions by size and age are applied first, so that the round
    // asks only about what the cache still holds.
    shared.cache.run_pending_tasks().await;
    let held: Vec<(SessionDigest, Arc<CachedSession>)> = shared
        .cache
        .iter()
        .map(|(digest, session)| (*digest, session))
        .collect();
    let mut evicted = 0;
    let mut failed = None;
    for chunk in held.chunks(batch) {
        let started = shared.clock.now();
        match live_expiries(store, chunk).await {
            Ok(live) => {
                for (digest, session) in chunk {
                    match live.get(digest) {
                        Some(expiry) if session.has_expiry(*expiry) => session.confirm(started),
                        _ => evicted += u64::from(evict(shared, digest, session).await),
                    }
                }
            }
            Err(error) => {
                Counters::add(&shared.counters.failures, 1);
                revalidation_failed::<S, B>(chunk.len(), &error);
                failed = Some(error);
            }
        }
    }
    Counters::add(&shared.counters.evicted, evicted);
    match failed {
        Some(error) => Err(error),
        None => {
            Counters::add(&shared.counters.rounds, 1);
            Ok(evicted)
        }
    }
}

/// The stored expiry of each session of `chunk` the table holds live.
async fn live_expiries<S: SessionTable<B>, B: Backend>(
    store: &DieselStore<S, B>,
    chunk: &[(SessionDigest, Arc<CachedSession>)],
) -> Result<HashMap<SessionDigest, OffsetDateTime>, Error> {
    let ids: Vec<[u8; 32]> = chunk.iter().map(|(digest, _)| *digest.as_bytes()).collect();
    let now = store.live_at();
    let rows = run_statement!(store, "SELECT", |connection| {
        S::live_expiries(connection, &ids, &now)
    })?;
    rows.into_iter()
        .map(|(id, expiry)| {
            let digest = SessionDigest::from_slice(&id).ok_or_else(|| {
                Error::Decode(format!(
                    "a stored id of `{}` is not 32 bytes",
                    S::TABLE.name
                ))
            })?;
            Ok((digest, B::expiry_from_column(expiry)?))
        })
        .collect()
}

/// Removes `session` from the cache, unless a newer entry of its session
/// took its place meanwhile. Says whether it removed it.
async fn evict(shared: &Shared, digest: &SessionDigest, session: &Arc<CachedSession>) -> bool {
    let outcome = shared
        .cache
        .entry(*digest)
        .and_compute_with(|current| {
            let same = current.is_some_and(|current| Arc::ptr_eq(current.value(), session));
            std::future::ready(if same { Op::Remove } else { Op::Nop })
        })
        .await;
    matches!(outcome, moka::ops::compute::CompResult::Removed(_))
}
