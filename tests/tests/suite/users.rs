//! Users and their sessions: typed access from a request's session, links
//! from app tables to sessions, and a cache in front of the store.

use std::future::Future;
use std::sync::Arc;

use serde_json::json;
use session_runtime::{Error, SessionDigest, TypedSessionExt as _};
use session_tests::suite::{AppFields, TypedFields};
use session_tests::{stores, AppStore, BackendSchema, TestDatabase};
use tower_sessions::session_store::CachingSessionStore;
use tower_sessions::{MemoryStore, Session, SessionStore as _};

tests_on_every_backend!(
    reads_and_writes_the_struct_through_a_session,
    a_wrongly_shaped_value_is_a_decode_error,
    writing_a_nested_field_keeps_its_siblings,
    an_app_table_links_to_a_session_and_loses_the_link_when_it_ends,
    works_behind_a_caching_store,
);

/// The app's table `devices` (see `define_schema!`), whose rows link to a
/// session, read and written with diesel on one backend.
trait Devices: BackendSchema {
    /// Stores device 1, `name`, linked to the session of `digest`.
    fn link_device(
        store: &AppStore<Self>,
        name: &str,
        digest: SessionDigest,
    ) -> impl Future<Output = ()> + Send;

    /// Every linked device's name and its session's user, joined in SQL.
    fn devices_and_their_users(
        store: &AppStore<Self>,
    ) -> impl Future<Output = Vec<(String, Option<i64>)>> + Send;

    /// The session link of the first device.
    fn first_device_link(store: &AppStore<Self>) -> impl Future<Output = Option<Vec<u8>>> + Send;
}

/// [`Devices`] on the backend's `devices` and `http_sessions` tables.
macro_rules! devices {
    ($backend:ident, $kind:expr, $ignore:tt) => {
        impl Devices for session_tests::$backend::Schema {
            async fn link_device(store: &AppStore<Self>, name: &str, digest: SessionDigest) {
                use diesel::ExpressionMethods as _;
                use diesel_async::RunQueryDsl as _;
                use session_tests::$backend::devices;
                let mut connection = store.connection().await.unwrap();
                diesel::insert_into(devices::table)
                    .values((
                        devices::id.eq(1_i64),
                        devices::name.eq(name),
                        devices::session_id.eq(&digest.as_bytes()[..]),
                    ))
                    .execute(&mut *connection)
                    .await
                    .unwrap();
            }

            async fn devices_and_their_users(store: &AppStore<Self>) -> Vec<(String, Option<i64>)> {
                use diesel::QueryDsl as _;
                use diesel_async::RunQueryDsl as _;
                use session_tests::$backend::{devices, http_sessions};
                let mut connection = store.connection().await.unwrap();
                devices::table
                    .inner_join(http_sessions::table)
                    .select((devices::name, http_sessions::user_id))
                    .load(&mut *connection)
                    .await
                    .unwrap()
            }

            async fn first_device_link(store: &AppStore<Self>) -> Option<Vec<u8>> {
                use diesel::QueryDsl as _;
                use diesel_async::RunQueryDsl as _;
                use session_tests::$backend::devices;
                let mut connection = store.connection().await.unwrap();
                devices::table
                    .select(devices::session_id)
                    .first(&mut *connection)
                    .await
                    .unwrap()
            }
        }
    };
}

on_every_backend!(devices);

/// `change` to a struct's typed fields as a change to the struct, for
/// `update_typed`.
fn on_fields<S, F>(change: impl FnOnce(&mut F) + Send) -> impl FnOnce(&mut S) + Send
where
    S: Clone + Into<F> + From<F>,
{
    move |session| {
        let mut fields = session.clone().into();
        change(&mut fields);
        *session = fields.into();
    }
}

async fn reads_and_writes_the_struct_through_a_session<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let store = Arc::new(store);
    let session = Session::new(None, store.clone(), None);
    session.insert("cart", ["book"]).await.unwrap();
    let written = AppFields {
        user_id: Some(1),
        optional: Some("laptop".into()),
    };
    session
        .set_typed(T::App::from(written.clone()))
        .await
        .unwrap();
    let read: AppFields = session.typed::<T::App>().await.unwrap().into();
    assert_eq!(read, written);
    session.save().await.unwrap();

    let reloaded = Session::new(session.id(), store.clone(), None);
    let read: AppFields = reloaded.typed::<T::App>().await.unwrap().into();
    assert_eq!(read, written);
    let updated: AppFields = reloaded
        .update_typed::<T::App, _>(on_fields(|app: &mut AppFields| app.optional = None))
        .await
        .unwrap()
        .into();
    assert_eq!(
        updated,
        AppFields {
            user_id: Some(1),
            optional: None
        }
    );
    assert_eq!(
        reloaded.get_value("optional").await.unwrap(),
        None,
        "a None field removes its key"
    );
    assert_eq!(
        reloaded.get::<Vec<String>>("cart").await.unwrap(),
        Some(vec!["book".to_owned()])
    );
}

async fn a_wrongly_shaped_value_is_a_decode_error<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let session = Session::new(None, Arc::new(store), None);
    session.insert("user_id", "not a number").await.unwrap();
    let error = session.typed::<T::App>().await.unwrap_err();
    assert!(
        matches!(&error, Error::Decode(message) if message.contains("user_id")),
        "{error:?}"
    );
}

async fn writing_a_nested_field_keeps_its_siblings<T: BackendSchema>(db: TestDatabase) {
    let (_, typed) = stores::<T>(&db.url).await;
    let session = Session::new(None, Arc::new(typed), None);
    session
        .insert("axum-login.data", json!({"user_id": 1, "auth_hash": [9]}))
        .await
        .unwrap();
    session
        .update_typed::<T::Typed, _>(on_fields(|typed: &mut TypedFields| typed.user_id = Some(2)))
        .await
        .unwrap();
    assert_eq!(
        session.get_value("axum-login.data").await.unwrap(),
        Some(json!({"user_id": 2, "auth_hash": [9]}))
    );
}

async fn an_app_table_links_to_a_session_and_loses_the_link_when_it_ends<T: Devices>(
    db: TestDatabase,
) {
    let (store, _) = stores::<T>(&db.url).await;
    db.create_devices().await;
    let store = Arc::new(store);
    let session = Session::new(None, store.clone(), None);
    session.insert("user_id", 2_i64).await.unwrap();
    session.save().await.unwrap();
    let digest = SessionDigest::from(session.id().unwrap());

    T::link_device(&store, "laptop", digest).await;
    assert_eq!(
        T::devices_and_their_users(&store).await,
        [("laptop".to_owned(), Some(2))]
    );

    // cycle_id deletes the old row: ON DELETE SET NULL clears the link.
    session.cycle_id().await.unwrap();
    session.save().await.unwrap();
    assert_eq!(T::first_device_link(&store).await, None);
}

async fn works_behind_a_caching_store<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let cached = Arc::new(CachingSessionStore::new(
        MemoryStore::default(),
        store.clone(),
    ));
    let session = Session::new(None, cached.clone(), None);
    session.insert("user_id", 3_i64).await.unwrap();
    session.save().await.unwrap();
    let id = session.id().unwrap();
    assert!(
        store.load(&id).await.unwrap().is_some(),
        "written through to the database"
    );
    assert_eq!(store.count_by(T::APP_USER_ID, &3).await.unwrap(), 1);

    // A per-user revoke deletes the rows, but the cache of this server
    // keeps its copy until the session is deleted through it or expires:
    // the documented limit of revoking behind a cache.
    assert_eq!(store.revoke_by(T::APP_USER_ID, &3).await.unwrap(), 1);
    assert!(cached.load(&id).await.unwrap().is_some());
    let other_server = CachingSessionStore::new(MemoryStore::default(), store.clone());
    assert_eq!(other_server.load(&id).await.unwrap(), None);
    cached.delete(&id).await.unwrap();
    assert_eq!(cached.load(&id).await.unwrap(), None);
}
