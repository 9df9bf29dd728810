//! Every store operation sends exactly one SQL statement, counted through
//! Diesel's instrumentation on every backend; and the hot paths reuse
//! their prepared statements.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use std::collections::HashMap;
use std::future::Future;

use deadpool::managed::Manager;
use diesel::connection::InstrumentationEvent;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::AsyncConnection;
use serde_json::{json, Value};
use session_runtime::backend::Backend;
use session_runtime::{PoolOptions, SessionDigest};
use session_tests::{AppStore, BackendSchema, Kind, TestDatabase};
use time::{Duration, OffsetDateTime};
use tower_sessions::session::{Id, Record};
use tower_sessions::{ExpiredDeletion as _, SessionStore as _};

/// Counts the statements a connection starts, and the statements it puts
/// in its prepared-statement cache.
#[derive(Clone, Default)]
struct Counter {
    started: Arc<AtomicUsize>,
    cached: Arc<AtomicUsize>,
    /// The SQL of every statement started, in order.
    sql: Arc<Mutex<Vec<String>>>,
}

impl Counter {
    /// An instrumentation that counts into this counter.
    fn instrumentation(&self) -> impl FnMut(InstrumentationEvent<'_>) + Send + 'static {
        let started = Arc::clone(&self.started);
        let cached = Arc::clone(&self.cached);
        let sql = Arc::clone(&self.sql);
        move |event: InstrumentationEvent<'_>| match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                started.fetch_add(1, Ordering::SeqCst);
                sql.lock().unwrap().push(query.to_string());
            }
            InstrumentationEvent::CacheQuery { .. } => {
                cached.fetch_add(1, Ordering::SeqCst);
            }
            _ => {}
        }
    }

    fn get(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    fn cached(&self) -> usize {
        self.cached.load(Ordering::SeqCst)
    }

    /// The SQL of the statements started since the `since`-th.
    fn sql_since(&self, since: usize) -> Vec<String> {
        self.sql.lock().unwrap()[since..].to_vec()
    }
}

/// Asserts that `$operation`'s statement enters the connection's
/// statement cache the first time it runs and is reused the second time:
/// a statement the cache refuses is prepared again on every call, one more
/// round trip to a server.
macro_rules! prepared_once {
    ($counter:expr, $name:literal, $operation:expr) => {{
        for (run, expected) in [("first", 1), ("second", 0)] {
            let before = $counter.cached();
            $operation;
            let cached = $counter.cached() - before;
            assert_eq!(
                cached, expected,
                "the {run} `{}` cached {cached} statements, not {expected}",
                $name
            );
        }
        println!("{}: prepared once", $name);
    }};
}

/// Asserts that `$operation` sends exactly one statement.
macro_rules! one_statement {
    ($counter:expr, $name:literal, $operation:expr) => {{
        let before = $counter.get();
        let result = $operation;
        let sent = $counter.get() - before;
        assert_eq!(sent, 1, "`{}` sent {sent} statements, not one", $name);
        println!("{}: {} statement", $name, sent);
        result
    }};
}

tests_on_every_backend!(
    hot_paths_are_prepared_once,
    // Requests run in spawned tasks, as hyper runs them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_request_writes_only_what_it_changed,
    custom_pool,
    runtime_pool,
);

/// A backend whose store runs on deadpool's pool of its diesel-async
/// connections: the suite builds that pool itself, with a counting setup,
/// and reaches the connection inside the runtime's.
trait PooledBackend: BackendSchema {
    /// The store on a one-connection pool whose setup installs the
    /// instrumentation of `counter`, after the connection's own settings.
    fn counting_store(url: &str, counter: &Counter) -> AppStore<Self>;

    /// Puts `counter` on the connection of the store's one-connection pool.
    fn count_on(store: &AppStore<Self>, counter: &Counter) -> impl Future<Output = ()> + Send;
}

impl<T, C> PooledBackend for T
where
    T: BackendSchema<Engine: Backend<Connection = C, Pool = Pool<C>>>,
    C: AsyncConnection + 'static,
    AsyncDieselConnectionManager<C>: Manager,
{
    fn counting_store(url: &str, counter: &Counter) -> AppStore<Self> {
        AppStore::<T>::new(counting_pool(url, counter, setup(T::KIND)))
    }

    async fn count_on(store: &AppStore<Self>, counter: &Counter) {
        let mut connection = store.connection().await.expect("a connection");
        (*connection).set_instrumentation(counter.instrumentation());
    }
}

/// What a connection of `kind` runs before it is handed out: the same
/// settings the runtime's own pool applies.
fn setup(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqlite => "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
        Kind::Postgres | Kind::Mysql => "",
    }
}

fn record(user_id: i64, expires_in: Duration) -> Record {
    let data: HashMap<String, Value> = [
        ("user_id".to_owned(), json!(user_id)),
        ("optional".to_owned(), json!("test-agent")),
        ("theme".to_owned(), json!("dark")),
    ]
    .into_iter()
    .collect();
    Record {
        id: Id::default(),
        data,
        expiry_date: OffsetDateTime::now_utc() + expires_in,
    }
}

/// A one-connection pool whose setup installs the counting
/// instrumentation, after the connection's own settings.
fn counting_pool<C>(url: &str, counter: &Counter, setup: &'static str) -> Pool<C>
where
    C: AsyncConnection + 'static,
    AsyncDieselConnectionManager<C>: Manager,
{
    let counter = counter.clone();
    let mut config = ManagerConfig::default();
    // As the runtime's pool: no ping statement on checkout.
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let counter = counter.clone();
        Box::pin(async move {
            let url = url.strip_prefix("sqlite://").unwrap_or(url);
            let mut connection = C::establish(url).await?;
            if !setup.is_empty() {
                connection
                    .batch_execute(setup)
                    .await
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            }
            connection.set_instrumentation(counter.instrumentation());
            Ok(connection)
        })
    });
    let manager = AsyncDieselConnectionManager::<C>::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(1)
        .build()
        .expect("build the pool")
}

/// Runs every operation, asserting one statement each.
async fn every_operation_is_one_statement<T: BackendSchema>(store: AppStore<T>, counter: &Counter) {
    // Warm-up: the connection is open and set up before counting.
    store.count().await.expect("warm up");

    let mut first = record(1, Duration::hours(1));
    one_statement!(
        counter,
        "create",
        store.create(&mut first).await.expect("create")
    );
    let mut second = record(1, Duration::hours(2));
    store.create(&mut second).await.expect("create");
    let mut expired = record(2, -Duration::hours(1));
    store.create(&mut expired).await.expect("create");

    first.data.insert("theme".to_owned(), json!("light"));
    one_statement!(counter, "save", store.save(&first).await.expect("save"));
    let loaded = one_statement!(
        counter,
        "load (hit)",
        store.load(&first.id).await.expect("load")
    );
    assert_eq!(loaded.map(|record| record.data), Some(first.data.clone()));
    let missing = one_statement!(
        counter,
        "load (miss)",
        store.load(&Id::default()).await.expect("load")
    );
    assert!(missing.is_none());

    let listed = one_statement!(
        counter,
        "list_by",
        store.list_by(T::APP_USER_ID, &1).await.expect("list_by")
    );
    assert_eq!(listed.len(), 2);
    let counted = one_statement!(
        counter,
        "count_by",
        store.count_by(T::APP_USER_ID, &1).await.expect("count_by")
    );
    assert_eq!(counted, 2);
    let keep = SessionDigest::of_id(first.id.0);
    let revoked = one_statement!(
        counter,
        "revoke_by_except",
        store
            .revoke_by_except(T::APP_USER_ID, &1, keep)
            .await
            .expect("revoke_by_except")
    );
    assert_eq!(revoked, 1);
    let revoked = one_statement!(
        counter,
        "revoke_one_by",
        store
            .revoke_one_by(T::APP_USER_ID, &2, keep)
            .await
            .expect("revoke_one_by")
    );
    assert!(!revoked, "user 2 cannot revoke user 1's session");
    let revoked = one_statement!(
        counter,
        "revoke_by",
        store
            .revoke_by(T::APP_USER_ID, &1)
            .await
            .expect("revoke_by")
    );
    assert_eq!(revoked, 1);

    let mut third = record(1, Duration::hours(1));
    store.create(&mut third).await.expect("create");
    one_statement!(
        counter,
        "delete",
        store.delete(&third.id).await.expect("delete")
    );
    one_statement!(
        counter,
        "delete_expired",
        store.delete_expired().await.expect("delete_expired")
    );
    let live = one_statement!(counter, "count", store.count().await.expect("count"));
    assert_eq!(live, 0, "the expired session was deleted");
    one_statement!(counter, "clear", store.clear().await.expect("clear"));
}

/// The hot paths reuse their prepared statements: Diesel keeps
/// no `UPDATE` in its cache unless the store builds it as one.
async fn hot_paths_are_prepared_once<T: PooledBackend>(db: TestDatabase) {
    let counter = Counter::default();
    let store = T::counting_store(&db.url, &counter);
    store.migrate().await.expect("migrate");
    store.count().await.expect("warm up");
    let mut records = [record(1, Duration::hours(1)), record(1, Duration::hours(1))];
    let mut created = records.iter_mut();
    prepared_once!(counter, "create", {
        let record = created.next().expect("two records");
        store.create(record).await.expect("create")
    });
    prepared_once!(counter, "save", {
        store.save(&records[0]).await.expect("save")
    });
    prepared_once!(counter, "load", {
        store.load(&records[0].id).await.expect("load")
    });
    let mut deleted = records.iter();
    prepared_once!(counter, "delete", {
        let record = deleted.next().expect("two records");
        store.delete(&record.id).await.expect("delete")
    });
}

/// Reads the session; changes `optional` or `cart` when asked.
async fn handle(
    axum::extract::Path(action): axum::extract::Path<String>,
    session: tower_sessions::Session,
) -> axum::http::StatusCode {
    let read = session.get_value("optional").await.is_ok();
    let written = match action.as_str() {
        "read" => true,
        "cart" => session.insert("cart", ["book"]).await.is_ok(),
        "theme" => session.insert("optional", "light").await.is_ok(),
        _ => false,
    };
    if read && written {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::INTERNAL_SERVER_ERROR
    }
}

/// The statements one request sends through `store`, in a task
/// of its own as hyper runs a request.
async fn request<T: BackendSchema>(
    store: &AppStore<T>,
    counter: &Counter,
    id: Id,
    action: &str,
) -> Vec<String> {
    use tower::ServiceExt as _;
    let app = axum::Router::new()
        .route("/{action}", axum::routing::get(handle))
        .layer(
            tower_sessions::SessionManagerLayer::new(store.clone())
                .with_secure(false)
                .with_expiry(tower_sessions::Expiry::OnInactivity(Duration::hours(1)))
                .with_always_save(true),
        );
    let request = axum::http::Request::get(format!("/{action}"))
        .header(axum::http::header::COOKIE, format!("id={id}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let before = counter.get();
    let status = tokio::spawn(app.oneshot(request))
        .await
        .unwrap()
        .unwrap()
        .status();
    assert_eq!(status, axum::http::StatusCode::OK, "{action}");
    counter.sql_since(before)
}

/// Rolling expiry with `always_save`: a request that only reads
/// sends its `SELECT` alone until the expiry has moved by the
/// threshold, then an expiry-only `UPDATE`; a request that
/// changes a key or a typed column writes only that.
async fn a_request_writes_only_what_it_changed<T: PooledBackend>(db: TestDatabase) {
    let counter = Counter::default();
    let store = T::counting_store(&db.url, &counter);
    store.migrate().await.expect("migrate");
    let mut stored = record(1, Duration::hours(1));
    store.create(&mut stored).await.expect("create");
    let id = stored.id;

    let read = request::<T>(&store, &counter, id, "read").await;
    assert_eq!(read.len(), 1, "a read-only request sent {read:#?}");
    assert!(read[0].starts_with("SELECT"), "{read:#?}");

    let always = store
        .clone()
        .with_touch_after(session_runtime::TouchAfter::Always);
    let touched = request::<T>(&always, &counter, id, "read").await;
    assert_eq!(
        touched.len(),
        2,
        "a request past the threshold sent {touched:#?}"
    );
    let touch = touched[1].to_lowercase();
    assert!(touch.starts_with("update"), "{touch}");
    assert!(
        touch.contains("greatest(") || touch.contains("max("),
        "{touch}"
    );
    for column in ["data", "optional", "user_id"] {
        assert!(!touch.contains(column), "the touch wrote {column}: {touch}");
    }

    // Ten minutes of lag are past the default threshold of an
    // hour's session (36 seconds).
    let mut lagging = stored.clone();
    lagging.expiry_date = OffsetDateTime::now_utc() + Duration::minutes(50);
    store.save(&lagging).await.expect("save");
    let touched = request::<T>(&store, &counter, id, "read").await;
    assert_eq!(
        touched.len(),
        2,
        "a lagging expiry was not touched: {touched:#?}"
    );

    let cart = request::<T>(&store, &counter, id, "cart").await;
    assert_eq!(cart.len(), 2, "a request that set a key sent {cart:#?}");
    let update = cart[1].to_lowercase();
    assert!(update.contains("data"), "{update}");
    assert!(
        !update.contains("optional") && !update.contains("user_id"),
        "{update}"
    );

    let theme = request::<T>(&store, &counter, id, "theme").await;
    assert_eq!(
        theme.len(),
        2,
        "a request that set a column sent {theme:#?}"
    );
    let update = theme[1].to_lowercase();
    assert!(update.contains("optional"), "{update}");
    assert!(
        !update.contains("`data`") && !update.contains("\"data\"") && !update.contains("user_id"),
        "{update}"
    );

    let saved = store.load(&id).await.expect("load").expect("live");
    assert_eq!(saved.data["cart"], json!(["book"]));
    assert_eq!(saved.data["optional"], json!("light"));
    assert_eq!(saved.data["theme"], json!("dark"));
}

/// The store on a pool built with the counting setup.
async fn custom_pool<T: PooledBackend>(db: TestDatabase) {
    let counter = Counter::default();
    let store = T::counting_store(&db.url, &counter);
    store.migrate().await.expect("migrate");
    every_operation_is_one_statement::<T>(store, &counter).await;
}

/// The store on the runtime's own pool, with the counter put on
/// its one connection: proves that the runtime's checkout adds
/// no statement either.
async fn runtime_pool<T: PooledBackend>(db: TestDatabase) {
    let mut options = PoolOptions::default();
    options.max_size = 1;
    let store = AppStore::<T>::connect_with(&db.url, &options).expect("pool");
    store.migrate().await.expect("migrate");
    let counter = Counter::default();
    T::count_on(&store, &counter).await;
    every_operation_is_one_statement::<T>(store, &counter).await;
}
