//! What a suite's test body needs to run on any backend: the backend's
//! session structs and stores behind one trait, [`BackendSchema`], and
//! [`run`], which gives a body its fresh database.
//!
//! A body is a plain `async fn name<T: BackendSchema>(db: TestDatabase)`;
//! the suite's stamping macro makes one `#[tokio::test]` per backend that
//! calls it through [`run`].

use std::future::Future;

use serde_json::Value;
use session_runtime::backend::Backend;
use session_runtime::{DieselStore, EncryptedTable, IndexedColumn, LookupColumn, SessionTable};
use time::OffsetDateTime;
use tower_sessions::session::Id;

use crate::{Kind, Target, TestDatabase};

/// The store of `AppSession` on the backend of `T`.
pub type AppStore<T> = DieselStore<<T as BackendSchema>::App, <T as BackendSchema>::Engine>;
/// The store of `TypedSession` on the backend of `T`.
pub type TypedStore<T> = DieselStore<<T as BackendSchema>::Typed, <T as BackendSchema>::Engine>;
/// The store of `SealedSession` on the backend of `T`.
pub type SealedStore<T> = DieselStore<<T as BackendSchema>::Sealed, <T as BackendSchema>::Engine>;

/// The typed columns of an `AppSession`, whichever its backend.
#[derive(Debug, Clone, PartialEq)]
pub struct AppFields {
    pub user_id: Option<i64>,
    pub optional: Option<String>,
}

/// The typed columns of a `TypedSession`, whichever its backend.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedFields {
    pub user_id: Option<i64>,
    pub visits: i32,
    pub small: Option<i16>,
    pub ratio: Option<f64>,
    pub weight: Option<f32>,
    pub flag: Option<bool>,
    pub blob: Option<Vec<u8>>,
    pub seen_at: Option<OffsetDateTime>,
    pub prefs: Option<Value>,
    pub agent: Option<String>,
}

/// The typed columns of a `SealedSession`, whichever its backend.
#[derive(Debug, Clone, PartialEq)]
pub struct SealedFields {
    pub user_id: Option<i64>,
}

/// A row of `http_sessions` read with diesel's own types for its columns.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRow {
    /// The stored id: the digest of the session id.
    pub id: Vec<u8>,
    pub fields: AppFields,
    pub data: Value,
}

/// One backend's session structs (see `define_schema!`), the indexed
/// columns the suites query, and the few reads a body makes with the
/// backend's own diesel types.
pub trait BackendSchema: Send + Sync + 'static {
    /// The backend, for [`TestDatabase::new`].
    const KIND: Kind;
    /// The runtime's type of the backend.
    type Engine: Backend;
    /// `AppSession`: the design's example.
    type App: SessionTable<Self::Engine>
        + Into<AppFields>
        + From<AppFields>
        + Clone
        + std::fmt::Debug
        + Send
        + Sync;
    /// `TypedSession`: every supported field type and a nested key.
    type Typed: SessionTable<Self::Engine>
        + Into<TypedFields>
        + From<TypedFields>
        + Clone
        + std::fmt::Debug
        + Send
        + Sync;
    /// `SealedSession`: `data` encrypted at rest.
    type Sealed: SessionTable<Self::Engine>
        + EncryptedTable
        + Into<SealedFields>
        + Clone
        + Send
        + Sync;
    /// `http_sessions.user_id`.
    type AppUserId: IndexedColumn<Self::App, Self::Engine> + LookupValue<i64>;
    /// `typed_sessions.user_id`.
    type TypedUserId: IndexedColumn<Self::Typed, Self::Engine> + LookupValue<i64>;
    /// `typed_sessions.user_agent`.
    type TypedAgent: IndexedColumn<Self::Typed, Self::Engine> + LookupValue<String>;
    /// `sealed_sessions.user_id`.
    type SealedUserId: IndexedColumn<Self::Sealed, Self::Engine> + LookupValue<i64>;

    const APP_USER_ID: Self::AppUserId;
    const TYPED_USER_ID: Self::TypedUserId;
    const TYPED_AGENT: Self::TypedAgent;
    const SEALED_USER_ID: Self::SealedUserId;

    /// Every row of `http_sessions`, expired ones too.
    fn app_rows(store: &AppStore<Self>) -> impl Future<Output = i64> + Send;

    /// The first row of `http_sessions`.
    fn first_app_row(store: &AppStore<Self>) -> impl Future<Output = AppRow> + Send;

    /// The typed columns and `data` of the first row of `typed_sessions`.
    fn first_typed_row(
        store: &TypedStore<Self>,
    ) -> impl Future<Output = (TypedFields, Value)> + Send;

    /// The stored expiry of session `id` in `http_sessions`, in
    /// microseconds since the epoch.
    fn app_expiry(store: &AppStore<Self>, id: Id) -> impl Future<Output = Option<i128>> + Send;
}

/// An indexed column whose lookup value is `V`: lets a generic body pass
/// `&1` or `&"curl/8".to_owned()` to the per-user queries.
pub trait LookupValue<V>: LookupColumn<Value = V> {}

impl<C: LookupColumn<Value = V>, V> LookupValue<V> for C {}

/// Runs `body` on a fresh database of `target` (a [`Kind`], or
/// [`Target::PgBouncer`]), or returns at once when its suite is skipped
/// (see [`Kind::server_url`]).
pub async fn run<F, Fut>(target: impl Into<Target>, body: F)
where
    F: FnOnce(TestDatabase) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Some(db) = TestDatabase::at(target.into()).await {
        body(db).await;
    }
}

/// Both the `AppSession` and the `TypedSession` store on the database at
/// `url`, migrated.
pub async fn stores<T: BackendSchema>(url: &str) -> (AppStore<T>, TypedStore<T>) {
    let store = AppStore::<T>::connect(url).expect("pool");
    store.migrate().await.expect("migrate");
    let typed = TypedStore::<T>::connect(url).expect("pool");
    typed.migrate().await.expect("migrate");
    (store, typed)
}
