//! What every contender does: the store operations, and filling its table
//! outside the timed region.

use std::sync::Arc;

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::payload::Payload;
use crate::BenchResult;

/// The column headings of the contenders, in table order. The report
/// finds its ratios' columns by these names.
pub mod names {
    /// tower-sessions' `MemoryStore`: no database at all.
    pub const CEILING: &str = "ceiling";
    /// tower-sessions-sqlx-store.
    pub const PEER: &str = "peer";
    /// The derived store of a struct without fields: the peer's features,
    /// so the store's own cost against the peer's.
    pub const OURS_PLAIN: &str = "ours plain";
    /// The derived store of a struct with two typed columns, one a foreign
    /// key: what typed columns cost on top of `ours plain`.
    pub const OURS_TYPED: &str = "ours typed";
    /// The struct of `ours plain` derived with `backend = any`, driven
    /// through `AnyStore`: what the dispatch on the backend costs. Only
    /// `--only dispatch` runs it, against `ours plain` alone.
    pub const OURS_ANY: &str = "ours any";
    /// The statement `ours typed` sends, by hand through the same
    /// diesel-async driver on the same table.
    pub const SAME_SCHEMA_FLOOR: &str = "same-schema floor";
    /// One prepared statement per operation on a table of `id`, `data` and
    /// `expiry_date` with its primary key only, through sqlx.
    pub const PHYSICAL_FLOOR: &str = "physical floor";
}

/// A session the benchmark puts in a contender's table before timing an
/// operation on it.
#[derive(Debug, Clone, Copy)]
pub struct SeedRow {
    /// The tower-sessions id (the cookie value).
    pub id: i128,
    /// The `user_id` the row belongs to.
    pub user_id: i64,
    /// Whether the row has expired already.
    pub expired: bool,
}

impl SeedRow {
    /// When the row expires. Expired rows expired a day ago, so that no
    /// time zone confusion in a store's comparison can make them live.
    pub fn expiry(&self) -> OffsetDateTime {
        if self.expired {
            OffsetDateTime::now_utc() - Duration::days(1)
        } else {
            OffsetDateTime::now_utc() + Duration::hours(1)
        }
    }
}

/// A task's own copy of the session it writes, in the form each contender
/// takes, built before the clock starts so that no contender pays for
/// cloning the map.
#[derive(Debug)]
pub struct Slot {
    /// For ours and the ceiling (tower-sessions 0.15).
    pub record: tower_sessions::session::Record,
    /// For the peer (tower-sessions 0.14).
    pub record_014: tower_sessions_core_014::session::Record,
    /// The same map split into columns, for the floor.
    pub payload: Arc<Payload>,
}

impl Slot {
    /// A slot holding `payload`, expiring in an hour.
    pub fn new(payload: &Arc<Payload>) -> Slot {
        let expiry_date = OffsetDateTime::now_utc() + Duration::hours(1);
        Slot {
            record: tower_sessions::session::Record {
                id: tower_sessions::session::Id(0),
                data: payload.map.clone(),
                expiry_date,
            },
            record_014: tower_sessions_core_014::session::Record {
                id: tower_sessions_core_014::session::Id(0),
                data: payload.map.clone(),
                expiry_date,
            },
            payload: Arc::clone(payload),
        }
    }
}

/// Fills a table with rows as the contender itself would have written
/// them, in bulk.
#[async_trait]
pub trait Seeder: Send + Sync {
    /// Inserts `rows`, each holding `payload`.
    async fn seed(&self, rows: &[SeedRow], payload: &Payload) -> BenchResult<()>;

    /// Deletes every row of the table.
    async fn clear(&self) -> BenchResult<()>;
}

/// A store under test.
#[async_trait]
pub trait Contender: Send + Sync + 'static {
    /// Its column heading.
    fn name(&self) -> &'static str;

    /// Forgets every session it holds, untimed. The runner calls it after
    /// each `create` run: a faster creator would otherwise carry more rows
    /// into the later runs, and `delete_expired`, which scans the table,
    /// would time a bigger table for it than for the peer.
    async fn reset(&self) -> BenchResult<()>;

    /// Inserts `rows` in bulk, untimed.
    async fn seed(&self, rows: &[SeedRow], payload: &Payload) -> BenchResult<()>;

    /// Creates the session of `slot` under the id `id`.
    async fn create(&self, slot: &mut Slot, id: i128) -> BenchResult<()>;

    /// Saves the session of `slot` over the existing session `id`.
    async fn save(&self, slot: &mut Slot, id: i128) -> BenchResult<()>;

    /// Loads session `id`; the number of keys of its map, if it is live.
    async fn load(&self, id: i128) -> BenchResult<Option<usize>>;

    /// Deletes session `id`.
    async fn delete(&self, id: i128) -> BenchResult<()>;

    /// Whether [`Contender::delete_expired`] is supported.
    fn has_delete_expired(&self) -> bool {
        true
    }

    /// Deletes every expired session.
    async fn delete_expired(&self) -> BenchResult<()>;

    /// Whether the per-user list and revoke are supported.
    fn has_user_queries(&self) -> bool {
        false
    }

    /// Lists the live sessions of `user`; how many there are.
    async fn list(&self, user: i64) -> BenchResult<usize> {
        let _ = user;
        Err(format!("{} has no per-user list", self.name()).into())
    }

    /// Deletes every session of `user`; how many there were.
    async fn revoke(&self, user: i64) -> BenchResult<usize> {
        let _ = user;
        Err(format!("{} has no per-user revoke", self.name()).into())
    }
}
