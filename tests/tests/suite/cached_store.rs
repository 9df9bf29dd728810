//! `CachedStore`: loads served from memory, writes through to the table,
//! and the bound: two cached stores on one database stand for two app
//! servers, and every way a session ends on one of them, or outside both,
//! stops the other from serving it within `max_staleness`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use session_runtime::{CacheOptions, CachedStore, SessionDigest};
use session_tests::{stores, AppStore, BackendSchema, TestDatabase};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::CachingSessionStore;
use tower_sessions::{MemoryStore, Session, SessionStore as _};

use crate::common::{hours_ago, record};

tests_on_every_backend!(
    a_load_of_a_cached_session_reads_no_row,
    writes_go_through_and_a_delete_evicts,
    interleaved_requests_keep_each_others_changes,
    the_cache_keeps_to_its_capacity,
    every_way_a_session_ends_reaches_the_other_server_within_the_bound,
);

/// The bound of every cached store here: short, so that the suite is.
const BOUND: Duration = Duration::from_millis(200);
/// How long past the bound the other server is watched.
const WATCH: Duration = Duration::from_millis(300);

type Cached<T> = CachedStore<<T as BackendSchema>::App, <T as BackendSchema>::Engine>;

fn options() -> CacheOptions {
    CacheOptions::default().with_max_staleness(BOUND)
}

/// One app server's cached store on the database of `db`, with a pool of
/// its own.
async fn server<T: BackendSchema>(db: &TestDatabase, lifetime: Option<Duration>) -> Cached<T> {
    let store = AppStore::<T>::connect(&db.url)
        .expect("pool")
        .with_max_lifetime(lifetime);
    CachedStore::new(store, options()).expect("in a runtime")
}

/// A session holding `data`, created through `store`.
async fn created(store: &impl tower_sessions::SessionStore, data: Value) -> Record {
    let mut record = record(data);
    store.create(&mut record).await.expect("create");
    record
}

async fn a_load_of_a_cached_session_reads_no_row<T: BackendSchema>(db: TestDatabase) {
    let (plain, _) = stores::<T>(&db.url).await;
    let a = server::<T>(&db, None).await;
    let record = created(&a, json!({"user_id": 1, "theme": "dark"})).await;
    // Created here, so cached here.
    let loaded = a.load(&record.id).await.unwrap().expect("live");
    assert_eq!(loaded.data, record.data);
    assert_eq!((a.stats().hits, a.stats().misses), (1, 0));
    // Another server reads the row once, then serves it from memory.
    let b = server::<T>(&db, None).await;
    for _ in 0..3 {
        let loaded = b.load(&record.id).await.unwrap().expect("live");
        assert_eq!(loaded.data, record.data);
        assert_eq!(
            loaded.expiry_date,
            plain.load(&record.id).await.unwrap().unwrap().expiry_date
        );
    }
    assert_eq!((b.stats().hits, b.stats().misses), (2, 1));
    // A session that is not there is a miss every time.
    assert_eq!(b.load(&Id::default()).await.unwrap(), None);
    assert_eq!(b.stats().misses, 2);
    // A bound of zero caches nothing.
    let uncached = options().with_max_staleness(Duration::ZERO);
    let c = CachedStore::new(AppStore::<T>::connect(&db.url).unwrap(), uncached).unwrap();
    for _ in 0..2 {
        assert_eq!(c.load(&record.id).await.unwrap().unwrap().data, record.data);
    }
    assert_eq!((c.stats().hits, c.stats().misses), (0, 2));
}

async fn writes_go_through_and_a_delete_evicts<T: BackendSchema>(db: TestDatabase) {
    let (plain, _) = stores::<T>(&db.url).await;
    let a = server::<T>(&db, None).await;
    let mut record = created(&a, json!({"user_id": 1, "theme": "dark"})).await;
    assert!(
        plain.load(&record.id).await.unwrap().is_some(),
        "written through"
    );
    let mut loaded = a.load(&record.id).await.unwrap().unwrap();
    loaded.data.insert("theme".into(), json!("light"));
    a.save(&loaded).await.unwrap();
    let in_table = plain.load(&record.id).await.unwrap().unwrap();
    assert_eq!(in_table.data.get("theme"), Some(&json!("light")));
    let after = a.load(&record.id).await.unwrap().unwrap();
    assert_eq!(after.data, in_table.data);
    // A save of what the entry holds keeps it.
    let hits = a.stats().hits;
    a.save(&after).await.unwrap();
    a.load(&record.id).await.unwrap().unwrap();
    assert_eq!(a.stats().hits, hits + 1);
    a.delete(&record.id).await.unwrap();
    assert_eq!(a.load(&record.id).await.unwrap(), None);
    assert_eq!(plain.load(&record.id).await.unwrap(), None);
    // A record the app built itself is written whole.
    record.data = crate::common::map(json!({"user_id": 2}));
    a.create(&mut record).await.unwrap();
    record.data.insert("note".into(), json!("whole"));
    a.save(&record).await.unwrap();
    let loaded = a.load(&record.id).await.unwrap().unwrap();
    assert_eq!(loaded.data, record.data);
}

/// Two requests of one session, both loaded from the cache before either
/// saves, each changing another key: both changes are kept, as they are
/// without the cache. Behind tower-sessions' `CachingSessionStore`, both
/// requests get clones of one map, and the later save writes back the key
/// the earlier one changed: at most one change is kept there.
async fn interleaved_requests_keep_each_others_changes<T: BackendSchema>(db: TestDatabase) {
    let (plain, _) = stores::<T>(&db.url).await;
    let cached = server::<T>(&db, None).await;
    let caching = CachingSessionStore::new(MemoryStore::default(), plain.clone());
    let ours = interleaved_changes_kept(&cached).await;
    assert_eq!(
        cached.stats().hits,
        2,
        "both requests were served from the cache"
    );
    let theirs = interleaved_changes_kept(&caching).await;
    assert_eq!(ours, 2, "the cached store lost a change");
    assert!(ours >= theirs, "{ours} < {theirs}");
}

/// How many of two interleaved requests' changes `store` keeps, as read
/// back through it.
async fn interleaved_changes_kept(store: &impl tower_sessions::SessionStore) -> usize {
    let record = created(store, json!({"user_id": 1, "theme": "dark", "cart": []})).await;
    let mut first = store.load(&record.id).await.unwrap().unwrap();
    let mut second = store.load(&record.id).await.unwrap().unwrap();
    first.data.insert("theme".into(), json!("light"));
    second.data.insert("cart".into(), json!([7]));
    store.save(&first).await.unwrap();
    store.save(&second).await.unwrap();
    let loaded = store.load(&record.id).await.unwrap().expect("live").data;
    usize::from(loaded.get("theme") == Some(&json!("light")))
        + usize::from(loaded.get("cart") == Some(&json!([7])))
}

async fn the_cache_keeps_to_its_capacity<T: BackendSchema>(db: TestDatabase) {
    let (plain, _) = stores::<T>(&db.url).await;
    let capacity = 16 << 10;
    let cached = CachedStore::new(plain, options().with_max_capacity(capacity)).unwrap();
    for round in 0..100 {
        created(
            &cached,
            json!({"user_id": 1, "note": format!("{round:0>200}")}),
        )
        .await;
    }
    cached.revalidate().await.unwrap();
    let stats = cached.stats();
    assert!(stats.bytes <= capacity, "{stats:?}");
    assert!(stats.entries > 0 && stats.entries < 100, "{stats:?}");
}

/// How server `b` served session `id` after a change that was done at
/// `done`: the loads that started more than [`BOUND`] after it and still
/// got what `stale` says the change ended, and whether the last load got
/// something else.
async fn watch<T: BackendSchema>(
    b: &Cached<T>,
    id: Id,
    done: Instant,
    stale: impl Fn(&Option<Record>) -> bool,
) -> (usize, bool) {
    let mut served_after_bound = 0;
    loop {
        let started = Instant::now();
        let loaded = b.load(&id).await.expect("load");
        let is_stale = stale(&loaded);
        if is_stale && started > done + BOUND {
            served_after_bound += 1;
        }
        if started > done + BOUND + WATCH {
            return (served_after_bound, !is_stale);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The two-server test: sessions loaded through both servers, then ended
/// through server A (or by hand in the table) in each way there is, while
/// server B keeps serving requests. B must stop serving each within the
/// bound: the count of its loads that served one after it is 0.
async fn every_way_a_session_ends_reaches_the_other_server_within_the_bound<T: BackendSchema>(
    db: TestDatabase,
) {
    stores::<T>(&db.url).await;
    let lifetime = Some(Duration::from_secs(12 * 3600));
    let (a, b) = (
        server::<T>(&db, lifetime).await,
        server::<T>(&db, lifetime).await,
    );
    let user = T::APP_USER_ID;
    let ended = |loaded: &Option<Record>| loaded.is_some();
    let mut report = Vec::new();
    for way in [
        "delete",
        "revoke_by",
        "revoke_by_except",
        "revoke_one_by",
        "cycle_id",
        "user deleted (FK cascade)",
        "absolute timeout",
        "saved on A",
    ] {
        let user_id = match way {
            "revoke_by_except" | "revoke_one_by" => 2,
            "user deleted (FK cascade)" => 3,
            _ => 1,
        };
        let session = created(&a, json!({"user_id": user_id, "theme": "old"})).await;
        let kept = created(&a, json!({"user_id": user_id})).await;
        for server in [&a, &b, &b] {
            assert!(server.load(&session.id).await.unwrap().is_some(), "{way}");
        }
        let hits = b.stats().hits;
        assert!(b.load(&session.id).await.unwrap().is_some());
        assert_eq!(
            b.stats().hits,
            hits + 1,
            "{way}: B serves it from its cache"
        );
        let digest = SessionDigest::of_id(session.id.0);
        match way {
            "delete" => a.delete(&session.id).await.unwrap(),
            "revoke_by" => assert!(a.revoke_by(user, &1).await.unwrap() >= 2),
            "revoke_by_except" => {
                let keep = SessionDigest::of_id(kept.id.0);
                assert_eq!(a.revoke_by_except(user, &2, keep).await.unwrap(), 1);
            }
            "revoke_one_by" => assert!(a.revoke_one_by(user, &2, digest).await.unwrap()),
            "cycle_id" => {
                let request = Session::new(Some(session.id), Arc::new(a.clone()), None);
                assert_eq!(
                    request.get::<String>("theme").await.unwrap().as_deref(),
                    Some("old")
                );
                request.cycle_id().await.unwrap();
                request.save().await.unwrap();
                assert_ne!(request.id(), Some(session.id));
            }
            "user deleted (FK cascade)" => db.execute("DELETE FROM users WHERE id = 3").await,
            "absolute timeout" => hours_ago(&db, session.id, "created_at", 13).await,
            "saved on A" => {
                let mut loaded = a.load(&session.id).await.unwrap().unwrap();
                loaded.data.insert("theme".into(), json!("new"));
                loaded.expiry_date += time::Duration::seconds(1);
                a.save(&loaded).await.unwrap();
            }
            _ => unreachable!(),
        }
        let done = Instant::now();
        let (served, stopped) = if way == "saved on A" {
            let old = |loaded: &Option<Record>| {
                loaded.as_ref().and_then(|record| record.data.get("theme")) == Some(&json!("old"))
            };
            watch::<T>(&b, session.id, done, old).await
        } else {
            watch::<T>(&b, session.id, done, ended).await
        };
        // Server A stopped serving it too.
        let on_a = a.load(&session.id).await.unwrap();
        match way {
            "saved on A" => assert_eq!(on_a.unwrap().data.get("theme"), Some(&json!("new"))),
            _ => assert_eq!(on_a, None, "{way}: A still serves it"),
        }
        report.push(format!("{way}: served after the bound {served}"));
        assert!(stopped, "{way}: B still serves it");
        if way == "revoke_by_except" {
            assert!(
                b.load(&kept.id).await.unwrap().is_some(),
                "the kept session stays"
            );
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        report.iter().all(|line| line.ends_with(" 0")),
        "{report:#?}"
    );
}

/// The database going away while a server serves from its cache: no load
/// serves a session from memory past the bound, and the revalidation task
/// keeps going and serves from the cache again once the database is back.
mod outage {
    use session_runtime::PoolOptions;

    use super::*;
    use crate::common::{Mode, Proxy};

    tests_on_servers!(
        a_database_that_goes_away_is_never_hidden_past_the_bound,
        the_revalidation_task_ends_with_the_last_clone,
    );

    /// The task holds a clone of the store's pool: once the last clone of
    /// the cached store is dropped and the task ends, the pool goes, and
    /// with it every connection.
    async fn the_revalidation_task_ends_with_the_last_clone<T: BackendSchema>(db: TestDatabase) {
        stores::<T>(&db.url).await;
        let (template, upstream) = Proxy::route(&db.url).await;
        let proxy = Proxy::start(upstream).await;
        let store = AppStore::<T>::connect(&proxy.url(&template)).unwrap();
        let cached = CachedStore::new(store, options()).unwrap();
        let session = created(&cached, json!({"user_id": 1})).await;
        let clone = cached.clone();
        drop(cached);
        assert!(clone.load(&session.id).await.unwrap().is_some());
        tokio::time::sleep(BOUND).await;
        assert!(clone.stats().rounds > 0, "{:?}", clone.stats());
        assert!(proxy.open_connections() > 0);
        drop(clone);
        let dropped = Instant::now();
        while proxy.open_connections() > 0 {
            assert!(
                dropped.elapsed() < Duration::from_secs(5),
                "the task still holds the pool"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn a_database_that_goes_away_is_never_hidden_past_the_bound<T: BackendSchema>(
        db: TestDatabase,
    ) {
        stores::<T>(&db.url).await;
        let (template, upstream) = Proxy::route(&db.url).await;
        let proxy = Proxy::start(upstream).await;
        let pool = PoolOptions::default()
            .with_max_size(4)
            .with_retry_budget(Duration::from_millis(300))
            .with_statement_timeout(Duration::from_millis(300));
        let store = AppStore::<T>::connect_with(&proxy.url(&template), &pool).unwrap();
        let b = CachedStore::new(store, options()).unwrap();
        let session = created(&b, json!({"user_id": 1})).await;
        assert!(b.load(&session.id).await.unwrap().is_some());

        proxy.set(Mode::Refuse).await;
        let gone = Instant::now();
        let mut served_after_bound = 0;
        while gone.elapsed() < BOUND + WATCH {
            let started = Instant::now();
            let loaded = b.load(&session.id).await;
            if loaded.is_ok() && started > gone + BOUND {
                served_after_bound += 1;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            served_after_bound, 0,
            "served from memory with the database away"
        );
        assert!(b.stats().failures > 0, "{:?}", b.stats());

        proxy.set(Mode::Up).await;
        let back = Instant::now();
        while b.load(&session.id).await.is_err() {
            assert!(
                back.elapsed() < Duration::from_secs(10),
                "the store never recovered"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let rounds = b.stats().rounds;
        tokio::time::sleep(BOUND * 2).await;
        assert!(
            b.stats().rounds > rounds,
            "the task stopped: {:?}",
            b.stats()
        );
        let hits = b.stats().hits;
        assert!(b.load(&session.id).await.unwrap().is_some());
        assert_eq!(b.stats().hits, hits + 1, "served from the cache again");
    }
}
