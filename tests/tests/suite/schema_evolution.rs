//! A struct changing under a live table: `migrate()` adds what the struct
//! gained, refuses what it cannot change safely and changes nothing then,
//! keeps what the struct lost, and no session written before the change is
//! lost. Stamped out for every backend.

use std::future::Future;

use serde_json::{json, Value};
use session_runtime::{DieselStore, Error, SchemaChange, SessionTable};
use session_tests::{stores, BackendSchema, Kind, TestDatabase};
use tower_sessions::session::Record;
use tower_sessions::SessionStore as _;

use crate::common;
use crate::common::record;

/// One version of the session struct on the table `evolving`, in a module
/// of its own, with the `users` table its foreign keys reference.
macro_rules! version {
    ($backend:ident, $module:ident { $($field:tt)* }) => {
        version!(@define $backend, $module [] { $($field)* });
    };
    // With more container keys, e.g. `[unlogged]`.
    ($backend:ident, $module:ident [$($key:tt)+] { $($field:tt)* }) => {
        version!(@define $backend, $module [, $($key)+] { $($field)* });
    };
    (@define $backend:ident, $module:ident [$($keys:tt)*] { $($field:tt)* }) => {
        pub mod $module {
            diesel::table! {
                users (id) {
                    id -> BigInt,
                    login -> Text,
                }
            }

            #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
            #[session(table = evolving, backend = $backend $($keys)*)]
            pub struct Session {
                $($field)*
            }
        }
    };
}

tests_on_every_backend_and_pgbouncer!(
    a_missing_referenced_table_is_named_and_nothing_is_created,
    every_fresh_table_reads_back_as_declared,
    a_new_optional_field_gets_its_column_and_old_sessions_keep_their_value,
    a_new_foreign_key_field_gets_its_column_index_and_key,
    a_new_indexed_field_gets_its_index,
    a_new_required_field_starts_at_its_default,
    a_removed_field_leaves_its_column_and_values,
    a_changed_type_is_refused_and_the_table_is_untouched,
    a_foreign_key_with_another_rule_is_refused,
    a_required_column_no_field_fills_is_refused,
    a_table_made_by_hand_without_the_fixed_columns_is_refused,
    the_sql_of_a_change_applies_and_reverts_by_hand,
    servers_migrating_an_old_table_at_once_all_succeed,
);

/// The store of struct `S` on the backend of `T`.
type Store<T, S> = DieselStore<S, <T as BackendSchema>::Engine>;

/// One backend's versions of the struct on `evolving` (see
/// [`evolution_versions!`]), and the reads a body makes of their columns.
trait Evolution: BackendSchema {
    /// The first version: `a`.
    type V1: SessionTable<Self::Engine>;
    /// `a` and a new optional `b`.
    type Plain: SessionTable<Self::Engine>;
    /// `a` and a new `user_id`, a foreign key set to NULL with its user.
    type Foreign: SessionTable<Self::Engine>;
    /// `a` and a new `user_id`, a foreign key deleted with its user.
    type Cascading: SessionTable<Self::Engine>;
    /// `a` and a new indexed `device`.
    type Indexed: SessionTable<Self::Engine>;
    /// `a` and a new required `visits`.
    type Required: SessionTable<Self::Engine>;
    /// `a` as a number.
    type Retyped: SessionTable<Self::Engine>;
    /// `Plain`, `Foreign` and `Indexed` at once.
    type Everything: SessionTable<Self::Engine>;
    /// A foreign key to `accounts`, a table the database does not have.
    type Orphaned: SessionTable<Self::Engine>;

    /// The `b` column and the `data` of the first row.
    fn first_b_and_data(
        store: &Store<Self, Self::Plain>,
    ) -> impl Future<Output = (Option<i64>, Value)> + Send;

    /// The `b` column of every row.
    fn every_b(store: &Store<Self, Self::Plain>) -> impl Future<Output = Vec<Option<i64>>> + Send;

    /// The `visits` column of every row.
    fn every_visits(store: &Store<Self, Self::Required>) -> impl Future<Output = Vec<i32>> + Send;
}

/// The versions of one backend, each in a module of its own.
macro_rules! evolution_versions {
    ($backend:ident, $kind:expr, $ignore:tt) => {
        mod $backend {
            use diesel::QueryDsl as _;
            use diesel_async::RunQueryDsl as _;
            use serde_json::Value;

            use super::super::{Evolution, Store};

        version!($backend, v1 {
            pub a: Option<String>,
        });
        version!($backend, plain {
            pub a: Option<String>,
            pub b: Option<i64>,
        });
        version!($backend, foreign {
            pub a: Option<String>,
            #[session(references = users, on_delete = set_null)]
            pub user_id: Option<i64>,
        });
        version!($backend, cascading {
            pub a: Option<String>,
            #[session(references = users)]
            pub user_id: Option<i64>,
        });
        version!($backend, indexed {
            pub a: Option<String>,
            #[session(index)]
            pub device: Option<String>,
        });
        version!($backend, required {
            pub a: Option<String>,
            pub visits: i32,
        });
        version!($backend, retyped {
            pub a: Option<i64>,
        });
        version!($backend, everything {
            pub a: Option<String>,
            pub b: Option<i64>,
            #[session(references = users, on_delete = set_null)]
            pub user_id: Option<i64>,
            #[session(index)]
            pub device: Option<String>,
        });

        /// A struct whose foreign key references a table the database
        /// does not have.
        pub mod orphaned {
            diesel::table! {
                accounts (id) {
                    id -> BigInt,
                }
            }

            #[derive(session_runtime::SessionStore, Debug, Clone, PartialEq)]
            #[session(table = evolving, backend = $backend)]
            pub struct Session {
                #[session(references = accounts)]
                pub account_id: Option<i64>,
            }
        }

            impl Evolution for session_tests::$backend::Schema {
                type V1 = v1::Session;
                type Plain = plain::Session;
                type Foreign = foreign::Session;
                type Cascading = cascading::Session;
                type Indexed = indexed::Session;
                type Required = required::Session;
                type Retyped = retyped::Session;
                type Everything = everything::Session;
                type Orphaned = orphaned::Session;

                async fn first_b_and_data(store: &Store<Self, Self::Plain>) -> (Option<i64>, Value) {
                    use plain::evolving;
                    let mut connection = store.connection().await.unwrap();
                    evolving::table
                        .select((evolving::b, evolving::data))
                        .first(&mut *connection)
                        .await
                        .unwrap()
                }

                async fn every_b(store: &Store<Self, Self::Plain>) -> Vec<Option<i64>> {
                    use plain::evolving;
                    let mut connection = store.connection().await.unwrap();
                    evolving::table.select(evolving::b).load(&mut *connection).await.unwrap()
                }

                async fn every_visits(store: &Store<Self, Self::Required>) -> Vec<i32> {
                    use required::evolving;
                    let mut connection = store.connection().await.unwrap();
                    evolving::table
                        .select(evolving::visits)
                        .load(&mut *connection)
                        .await
                        .unwrap()
                }
            }
        }
    };
}

// The derive's store aliases go unused: the suite names the stores through
// `Evolution`.
#[expect(dead_code)]
mod versions {
    on_every_backend!(evolution_versions);
}

/// A database whose `evolving` table `V1` made, holding one session that
/// carries keys later versions give columns.
async fn old_table<T: Evolution>(db: &TestDatabase) -> (Store<T, T::V1>, Record) {
    let store = Store::<T, T::V1>::connect(&db.url).expect("pool");
    store.migrate().await.expect("v1 creates its table");
    let mut old = record(json!({
        "a": "kept", "b": 7, "user_id": 2, "device": "phone", "visits": 5, "other": true
    }));
    store.create(&mut old).await.expect("create");
    (store, old)
}

fn added_columns(changes: &[SchemaChange]) -> Vec<&'static str> {
    changes
        .iter()
        .filter_map(|change| match change {
            SchemaChange::AddColumn { column } => Some(*column),
            _ => None,
        })
        .collect()
}

async fn a_missing_referenced_table_is_named_and_nothing_is_created<T: Evolution>(
    db: TestDatabase,
) {
    let store = Store::<T, T::Orphaned>::connect(&db.url).expect("pool");
    let checked = store.check_schema().await.unwrap_err();
    let migrated = store.migrate().await.unwrap_err();
    for error in [checked, migrated] {
        let Error::Schema(message) = &error else {
            panic!("{error:?}")
        };
        assert!(
            message.contains("`evolving` has foreign keys to `accounts`, which do not exist"),
            "{message}"
        );
    }
    let unchanged = Store::<T, T::V1>::connect(&db.url)
        .expect("pool")
        .check_schema()
        .await
        .unwrap();
    assert_eq!(
        unchanged.changes(),
        [SchemaChange::CreateTable],
        "migrate() created nothing"
    );
}

async fn every_fresh_table_reads_back_as_declared<T: Evolution>(db: TestDatabase) {
    let (store, typed) = stores::<T>(&db.url).await;
    let diff = store.check_schema().await.unwrap();
    assert!(diff.is_current(), "{diff}");
    let diff = typed.check_schema().await.unwrap();
    assert!(diff.is_current(), "{diff}");
    assert!(typed.migrate().await.unwrap().is_current());
}

async fn a_new_optional_field_gets_its_column_and_old_sessions_keep_their_value<T: Evolution>(
    db: TestDatabase,
) {
    let (_old_store, old) = old_table::<T>(&db).await;
    let url = &db.url;
    let store = Store::<T, T::Plain>::connect(url).expect("pool");

    let pending = store.check_schema().await.unwrap();
    assert_eq!(added_columns(pending.changes()), ["b"]);
    assert!(pending.conflicts().is_empty(), "{pending}");
    assert!(pending.up().contains("ADD COLUMN"), "{}", pending.up());

    let applied = store.migrate().await.expect("migrate adds `b`");
    assert_eq!(added_columns(applied.changes()), ["b"]);
    assert!(store.check_schema().await.unwrap().is_current());
    assert!(
        store.migrate().await.unwrap().is_current(),
        "a second migrate changes nothing"
    );

    // The session saved before `b` had a column reads back whole.
    let loaded = store
        .load(&old.id)
        .await
        .unwrap()
        .expect("the old session loads");
    assert_eq!(loaded.data, old.data);

    // Its next save moves `b` from `data` into the column.
    let mut saved = loaded.clone();
    saved.data.insert("b".into(), json!(8));
    store.save(&saved).await.unwrap();
    let (b, data) = T::first_b_and_data(&store).await;
    assert_eq!(b, Some(8));
    assert_eq!(data.get("b"), None, "{data}");
    assert_eq!(store.load(&old.id).await.unwrap().unwrap().data, saved.data);

    // A new session writes `b` to its column.
    let mut new = record(json!({"a": "new", "b": 9}));
    store.create(&mut new).await.unwrap();
    let stored = T::every_b(&store).await;
    assert_eq!(stored.len(), 2);
    assert!(stored.contains(&Some(9)), "{stored:?}");
}

async fn a_new_foreign_key_field_gets_its_column_index_and_key<T: Evolution>(db: TestDatabase) {
    let (_old_store, old) = old_table::<T>(&db).await;
    let store = Store::<T, T::Foreign>::connect(&db.url).expect("pool");
    let applied = store.migrate().await.expect("migrate adds `user_id`");
    assert_eq!(added_columns(applied.changes()), ["user_id"]);
    assert!(
        applied
            .changes()
            .contains(&SchemaChange::CreateIndex { column: "user_id" }),
        "{applied:?}"
    );
    assert!(store.check_schema().await.unwrap().is_current());

    // The old session's user id moves into the column at its next save ...
    let loaded = store.load(&old.id).await.unwrap().unwrap();
    assert_eq!(loaded.data.get("user_id"), Some(&json!(2)));
    store.save(&loaded).await.unwrap();
    // ... where the foreign key sees it: deleting the user logs it out.
    db.execute("DELETE FROM users WHERE id = 2").await;
    let after = store.load(&old.id).await.unwrap().unwrap();
    assert_eq!(after.data.get("user_id"), None);
    assert_eq!(after.data.get("a"), Some(&json!("kept")));

    let mut orphan = record(json!({"user_id": 999}));
    let error = store.create(&mut orphan).await.unwrap_err();
    assert!(
        error.to_string().to_lowercase().contains("foreign key"),
        "{error}"
    );
}

async fn a_new_indexed_field_gets_its_index<T: Evolution>(db: TestDatabase) {
    let (_old_store, old) = old_table::<T>(&db).await;
    let store = Store::<T, T::Indexed>::connect(&db.url).expect("pool");
    let applied = store.migrate().await.unwrap();
    assert_eq!(
        applied.changes(),
        [
            SchemaChange::AddColumn { column: "device" },
            SchemaChange::CreateIndex { column: "device" },
        ]
    );
    assert!(store.check_schema().await.unwrap().is_current());
    let loaded = store.load(&old.id).await.unwrap().unwrap();
    assert_eq!(loaded.data.get("device"), Some(&json!("phone")));
}

async fn a_new_required_field_starts_at_its_default<T: Evolution>(db: TestDatabase) {
    let (_old_store, old) = old_table::<T>(&db).await;
    let store = Store::<T, T::Required>::connect(&db.url).expect("pool");
    store
        .migrate()
        .await
        .expect("a required field with a default is added");
    assert!(store.check_schema().await.unwrap().is_current());
    // The old session keeps the value it had under the key ...
    let loaded = store.load(&old.id).await.unwrap().unwrap();
    assert_eq!(loaded.data.get("visits"), Some(&json!(5)));
    // ... and a row without one reads the default.
    let mut fresh = record(json!({"a": "x"}));
    store.create(&mut fresh).await.unwrap();
    let visits = T::every_visits(&store).await;
    assert!(visits.contains(&0), "{visits:?}");
}

async fn a_removed_field_leaves_its_column_and_values<T: Evolution>(db: TestDatabase) {
    let (_old_store, old) = old_table::<T>(&db).await;
    let newer = Store::<T, T::Plain>::connect(&db.url).expect("pool");
    newer.migrate().await.unwrap();
    let mut with_b = record(json!({"a": "x", "b": 41}));
    newer.create(&mut with_b).await.unwrap();

    // Back to a struct without `b`.
    let store = Store::<T, T::V1>::connect(&db.url).expect("pool");
    let diff = store
        .migrate()
        .await
        .expect("a removed field is no conflict");
    assert!(diff.changes().is_empty(), "{diff:?}");
    assert_eq!(diff.kept_columns(), ["b"]);
    let kept: Vec<i64> = T::every_b(&newer).await.into_iter().flatten().collect();
    assert_eq!(kept, [41]);
    // The older struct still writes and reads its sessions.
    let mut fresh = record(json!({"a": "y"}));
    store.create(&mut fresh).await.unwrap();
    assert_eq!(
        store.load(&fresh.id).await.unwrap().unwrap().data,
        fresh.data
    );
    assert!(store.load(&old.id).await.unwrap().is_some());
}

async fn a_changed_type_is_refused_and_the_table_is_untouched<T: Evolution>(db: TestDatabase) {
    let (old_store, old) = old_table::<T>(&db).await;
    let store = Store::<T, T::Retyped>::connect(&db.url).expect("pool");
    let error = store.migrate().await.unwrap_err();
    let Error::Schema(message) = &error else {
        panic!("{error:?}")
    };
    eprintln!("MSG {message}");
    assert!(message.contains("`evolving`"), "{message}");
    assert!(message.contains("column `a`"), "{message}");
    assert!(message.contains("found"), "{message}");
    assert!(
        message.contains("BIGINT"),
        "names the expected type: {message}"
    );
    let fix = match T::KIND {
        Kind::Sqlite => "DROP COLUMN",
        Kind::Postgres => "ALTER COLUMN",
        Kind::Mysql => "MODIFY COLUMN",
    };
    assert!(message.contains(fix), "{message}");

    let diff = store.check_schema().await.unwrap();
    assert_eq!(diff.conflicts().len(), 1, "{diff}");
    assert_eq!(diff.conflicts()[0].column, "a");
    assert!(old_store.check_schema().await.unwrap().is_current());
    assert_eq!(
        old_store.load(&old.id).await.unwrap().unwrap().data,
        old.data
    );
}

async fn a_foreign_key_with_another_rule_is_refused<T: Evolution>(db: TestDatabase) {
    let (_old_store, old) = old_table::<T>(&db).await;
    let set_null = Store::<T, T::Foreign>::connect(&db.url).unwrap();
    set_null.migrate().await.unwrap();
    let store = Store::<T, T::Cascading>::connect(&db.url).unwrap();
    let error = store.migrate().await.unwrap_err();
    let Error::Schema(message) = &error else {
        panic!("{error:?}")
    };
    assert!(message.contains("column `user_id`"), "{message}");
    assert!(
        message.contains("ON DELETE SET NULL, expected"),
        "{message}"
    );
    assert!(message.contains("ON DELETE CASCADE"), "{message}");
    if T::KIND != Kind::Sqlite {
        assert!(message.contains("DROP"), "{message}");
    }
    assert!(set_null.check_schema().await.unwrap().is_current());
    assert!(set_null.load(&old.id).await.unwrap().is_some());
}

async fn a_required_column_no_field_fills_is_refused<T: Evolution>(db: TestDatabase) {
    Store::<T, T::Required>::connect(&db.url)
        .unwrap()
        .migrate()
        .await
        .unwrap();
    let store = Store::<T, T::V1>::connect(&db.url).unwrap();
    let error = store.migrate().await.unwrap_err();
    let Error::Schema(message) = &error else {
        panic!("{error:?}")
    };
    eprintln!("MSG {message}");
    assert!(message.contains("column `visits`"), "{message}");
    assert!(message.contains("every insert would fail"), "{message}");
    assert!(message.contains("DROP COLUMN"), "{message}");
}

async fn a_table_made_by_hand_without_the_fixed_columns_is_refused<T: Evolution>(db: TestDatabase) {
    db.execute("CREATE TABLE evolving (id BIGINT PRIMARY KEY, note TEXT)")
        .await;
    let store = Store::<T, T::V1>::connect(&db.url).unwrap();
    let error = store.migrate().await.unwrap_err();
    let Error::Schema(message) = &error else {
        panic!("{error:?}")
    };
    eprintln!("MSG {message}");
    assert!(
        message.contains("column `expiry_date`: found no such column"),
        "{message}"
    );
    assert!(message.contains("column `id`"), "{message}");
}

async fn the_sql_of_a_change_applies_and_reverts_by_hand<T: Evolution>(db: TestDatabase) {
    let (old_store, _old) = old_table::<T>(&db).await;
    let store = Store::<T, T::Indexed>::connect(&db.url).unwrap();
    let diff = store.check_schema().await.unwrap();
    for statement in diff.up_statements() {
        db.execute(statement).await;
    }
    assert!(store.check_schema().await.unwrap().is_current());
    for statement in diff.down().split(";\n").filter(|s| !s.trim().is_empty()) {
        db.execute(statement).await;
    }
    assert_eq!(
        store.check_schema().await.unwrap().changes(),
        diff.changes()
    );
    assert!(old_store.check_schema().await.unwrap().is_current());
}

async fn servers_migrating_an_old_table_at_once_all_succeed<T: Evolution>(db: TestDatabase) {
    let mut given = Some(db);
    for _round in 0..3 {
        // Each round on a database of its own.
        let db = match given.take() {
            Some(db) => db,
            None => TestDatabase::new(T::KIND).await.expect("the backend runs"),
        };
        let (_old_store, old) = old_table::<T>(&db).await;
        let migrations: Vec<_> = (0..6)
            .map(|_| {
                let url = db.url.clone();
                tokio::spawn(async move {
                    let store = Store::<T, T::Everything>::connect(&url).expect("pool");
                    store.migrate().await
                })
            })
            .collect();
        for migration in migrations {
            migration
                .await
                .unwrap()
                .expect("every concurrent migrate succeeds");
        }
        let store = Store::<T, T::Everything>::connect(&db.url).unwrap();
        assert!(store.check_schema().await.unwrap().is_current());
        let loaded = store.load(&old.id).await.unwrap().unwrap();
        assert_eq!(loaded.data, old.data);
    }
}

/// The one text `value` a catalog query returns.
#[derive(diesel::QueryableByName)]
struct CatalogText {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

async fn catalog_text<C>(connection: &mut C, sql: &str) -> String
where
    C: diesel_async::AsyncConnection,
    for<'query> diesel::query_builder::SqlQuery:
        diesel_async::methods::LoadQuery<'query, C, CatalogText>,
{
    let row: CatalogText =
        diesel_async::RunQueryDsl::get_result(diesel::sql_query(sql), connection)
            .await
            .expect("the catalog answers");
    row.value
}

/// Creates, saves and loads back a session of user 2 through `store`, and
/// sees a session of user 99, who does not exist, refused by the foreign
/// key.
async fn round_trips_and_enforces_the_foreign_key(store: &impl tower_sessions::SessionStore) {
    use serde_json::json;

    let mut session = common::record(json!({
        "user_id": 2,
        "cart": [1, 2.5, 3.5e17, -0.0],
        "nested": { "b": null, "a": "é\"\\" },
    }));
    store.create(&mut session).await.expect("create");
    let loaded = store.load(&session.id).await.unwrap().expect("stored");
    assert_eq!(loaded.data, session.data);
    session.data.insert("theme".to_owned(), json!("dark"));
    store.save(&session).await.expect("save");
    let loaded = store.load(&session.id).await.unwrap().expect("stored");
    assert_eq!(loaded.data, session.data);

    let mut stranger = common::record(json!({ "user_id": 99 }));
    let refused = store.create(&mut stranger).await;
    assert!(refused.is_err(), "user 99 does not exist: {refused:?}");
}

/// `#[session(unlogged)]`, a PostgreSQL table option: `migrate()` creates
/// the table unlogged, and follows the struct when the option comes or goes.
mod unlogged {
    use serde_json::json;
    use session_runtime::SchemaChange;
    use session_tests::{Kind, TestDatabase};
    use tower_sessions::SessionStore as _;

    use crate::common::record;

    version!(postgres, logged {
        #[session(references = users)]
        pub user_id: Option<i64>,
    });

    version!(postgres, unlogged_struct [unlogged] {
        #[session(references = users)]
        pub user_id: Option<i64>,
    });

    /// `p` for a logged table, `u` for an unlogged one.
    async fn persistence(store: &unlogged_struct::SessionStore) -> String {
        let mut connection = store.connection().await.expect("a connection");
        crate::schema_evolution::catalog_text(
            &mut *connection,
            "SELECT relpersistence::text AS value FROM pg_class \
             WHERE oid = 'evolving'::regclass",
        )
        .await
    }

    #[test]
    fn the_migration_creates_an_unlogged_table() {
        let up = unlogged_struct::SessionStore::migration().up();
        assert!(
            up.starts_with("CREATE UNLOGGED TABLE IF NOT EXISTS \"evolving\""),
            "{up}"
        );
        let up = logged::SessionStore::migration().up();
        assert!(
            up.starts_with("CREATE TABLE IF NOT EXISTS \"evolving\""),
            "{up}"
        );
    }

    #[tokio::test]
    #[cfg_attr(
        not(session_test_postgres),
        ignore = "set SESSION_TEST_POSTGRES_URL to run against PostgreSQL"
    )]
    async fn an_unlogged_table_stores_sessions_and_enforces_its_foreign_key() {
        let Some(db) = TestDatabase::new(Kind::Postgres).await else {
            return;
        };
        let store = unlogged_struct::SessionStore::connect(&db.url).expect("pool");
        store.migrate().await.expect("migrate");
        assert_eq!(persistence(&store).await, "u");
        assert!(store.check_schema().await.unwrap().is_current());
        crate::schema_evolution::round_trips_and_enforces_the_foreign_key(&store).await;
    }

    #[tokio::test]
    #[cfg_attr(
        not(session_test_postgres),
        ignore = "set SESSION_TEST_POSTGRES_URL to run against PostgreSQL"
    )]
    async fn adding_and_removing_unlogged_follows_the_struct_and_keeps_every_session() {
        let Some(db) = TestDatabase::new(Kind::Postgres).await else {
            return;
        };
        let logged_store = logged::SessionStore::connect(&db.url).expect("pool");
        logged_store.migrate().await.expect("the logged table");
        let mut old = record(json!({ "user_id": 1, "theme": "dark" }));
        logged_store.create(&mut old).await.expect("create");

        let store = unlogged_struct::SessionStore::connect(&db.url).expect("pool");
        let drift = store.check_schema().await.unwrap();
        assert_eq!(
            drift.changes(),
            [SchemaChange::SetUnlogged { unlogged: true }]
        );
        assert_eq!(drift.up(), "ALTER TABLE \"evolving\" SET UNLOGGED;\n");
        assert_eq!(drift.down(), "ALTER TABLE \"evolving\" SET LOGGED;\n");
        assert_eq!(
            persistence(&store).await,
            "p",
            "check_schema changes nothing"
        );

        store.migrate().await.expect("set unlogged");
        assert_eq!(persistence(&store).await, "u");
        assert!(store.check_schema().await.unwrap().is_current());
        let loaded = store.load(&old.id).await.unwrap().expect("kept");
        assert_eq!(loaded.data, old.data);

        let diff = logged_store.migrate().await.expect("set logged again");
        assert_eq!(
            diff.changes(),
            [SchemaChange::SetUnlogged { unlogged: false }]
        );
        assert_eq!(persistence(&store).await, "p");
        let loaded = logged_store.load(&old.id).await.unwrap().expect("kept");
        assert_eq!(loaded.data, old.data);
    }
}

/// `#[session(compression = ...)]`: PostgreSQL compresses large `data`
/// values with lz4 by default, or with pglz; `migrate()` brings a table
/// made with another method (or none, by an earlier version) to the
/// struct's, and every stored session still loads.
mod compression {
    use diesel_async::SimpleAsyncConnection as _;
    use serde_json::{json, Value};
    use session_runtime::SchemaChange;
    use session_tests::{Kind, TestDatabase};
    use tower_sessions::session::Record;
    use tower_sessions::SessionStore as _;

    use crate::common::record;

    version!(postgres, lz4 {
        #[session(references = users)]
        pub user_id: Option<i64>,
    });

    version!(postgres, pglz [compression = pglz] {
        #[session(references = users)]
        pub user_id: Option<i64>,
    });

    /// The `data` column's method as `COMPRESSION` names it.
    async fn column_method(store: &lz4::SessionStore) -> String {
        let mut connection = store.connection().await.expect("a connection");
        crate::schema_evolution::catalog_text(
            &mut *connection,
            "SELECT CASE attcompression WHEN 'l' THEN 'lz4' WHEN 'p' THEN 'pglz' \
             ELSE 'default' END AS value \
             FROM pg_attribute WHERE attrelid = 'evolving'::regclass AND attname = 'data'",
        )
        .await
    }

    /// The method the one stored session's `data` value is compressed with.
    async fn stored_method(store: &lz4::SessionStore) -> String {
        let mut connection = store.connection().await.expect("a connection");
        crate::schema_evolution::catalog_text(
            &mut *connection,
            "SELECT coalesce(pg_column_compression(data), 'none') AS value FROM evolving",
        )
        .await
    }

    /// A session large enough for PostgreSQL to compress.
    fn large_session() -> Record {
        let items: Vec<Value> = (0..2_000)
            .map(|n| json!({ "sku": format!("SKU-{n:06}"), "qty": n % 3 }))
            .collect();
        record(json!({ "user_id": 1, "recently_viewed": items }))
    }

    #[test]
    fn the_migration_declares_lz4_by_default_and_pglz_when_chosen() {
        let up = lz4::SessionStore::migration().up();
        assert!(
            up.contains("\"data\" JSONB COMPRESSION lz4 NOT NULL"),
            "{up}"
        );
        let up = pglz::SessionStore::migration().up();
        assert!(
            up.contains("\"data\" JSONB COMPRESSION pglz NOT NULL"),
            "{up}"
        );
    }

    #[tokio::test]
    #[cfg_attr(
        not(session_test_postgres),
        ignore = "set SESSION_TEST_POSTGRES_URL to run against PostgreSQL"
    )]
    async fn a_table_of_an_earlier_version_gets_lz4_and_keeps_every_session() {
        let Some(db) = TestDatabase::new(Kind::Postgres).await else {
            return;
        };
        let store = lz4::SessionStore::connect(&db.url).expect("pool");
        // The DDL of versions before `compression`: no method, so the
        // server's `default_toast_compression` (pglz unless changed).
        let earlier = lz4::SessionStore::migration()
            .up()
            .replace(" COMPRESSION lz4", "");
        let mut connection = store.connection().await.expect("a connection");
        connection
            .batch_execute(&earlier)
            .await
            .expect("the earlier table");
        drop(connection);
        let mut old = large_session();
        store.create(&mut old).await.expect("create");
        assert_eq!(stored_method(&store).await, "pglz");

        let drift = store.check_schema().await.unwrap();
        assert_eq!(
            drift.changes(),
            [SchemaChange::SetDataCompression { method: "lz4" }]
        );
        assert_eq!(
            drift.up(),
            "ALTER TABLE \"evolving\" ALTER COLUMN \"data\" SET COMPRESSION lz4;\n"
        );
        assert_eq!(
            drift.down(),
            "ALTER TABLE \"evolving\" ALTER COLUMN \"data\" SET COMPRESSION default;\n"
        );
        assert_eq!(
            column_method(&store).await,
            "default",
            "check_schema changes nothing"
        );

        store.migrate().await.expect("set lz4");
        assert_eq!(column_method(&store).await, "lz4");
        assert!(store.check_schema().await.unwrap().is_current());
        let loaded = store.load(&old.id).await.unwrap().expect("kept");
        assert_eq!(loaded.data, old.data);
        assert_eq!(
            stored_method(&store).await,
            "pglz",
            "stored values keep theirs"
        );

        store.save(&old).await.expect("save");
        assert_eq!(
            stored_method(&store).await,
            "lz4",
            "a save rewrites the value"
        );
        let loaded = store.load(&old.id).await.unwrap().expect("kept");
        assert_eq!(loaded.data, old.data);
    }

    #[tokio::test]
    #[cfg_attr(
        not(session_test_postgres),
        ignore = "set SESSION_TEST_POSTGRES_URL to run against PostgreSQL"
    )]
    async fn choosing_pglz_follows_the_struct_and_keeps_every_session() {
        let Some(db) = TestDatabase::new(Kind::Postgres).await else {
            return;
        };
        let store = lz4::SessionStore::connect(&db.url).expect("pool");
        store.migrate().await.expect("the lz4 table");
        assert_eq!(column_method(&store).await, "lz4");
        let mut old = large_session();
        store.create(&mut old).await.expect("create");
        assert_eq!(stored_method(&store).await, "lz4");

        let pglz_store = pglz::SessionStore::connect(&db.url).expect("pool");
        let diff = pglz_store.migrate().await.expect("set pglz");
        assert_eq!(
            diff.changes(),
            [SchemaChange::SetDataCompression { method: "pglz" }]
        );
        assert_eq!(column_method(&store).await, "pglz");
        assert!(pglz_store.check_schema().await.unwrap().is_current());
        pglz_store.save(&old).await.expect("save");
        assert_eq!(stored_method(&store).await, "pglz");
        let loaded = pglz_store.load(&old.id).await.unwrap().expect("kept");
        assert_eq!(loaded.data, old.data);
        crate::schema_evolution::round_trips_and_enforces_the_foreign_key(&pglz_store).await;
    }
}

/// `#[session(data = ...)]`: a `data` column type other than the
/// backend's default. `migrate()` creates it, the store round-trips
/// sessions through it, and a table of the default type is refused with
/// the statement that converts it.
mod data_type {
    use serde_json::json;
    use session_runtime::backend::Backend;
    use session_runtime::{DieselStore, Error, SessionTable};
    use tower_sessions::SessionStore as _;

    use crate::common::record;

    /// One backend's chosen `data` type against its default: the two
    /// structs, what the DDL and the catalog say of each, and the fix.
    pub trait DataTypeCase {
        type Engine: Backend;
        /// The struct with `#[session(data = ...)]`.
        type Chosen: SessionTable<Self::Engine>;
        /// The same struct with the backend's default `data` type.
        type Default: SessionTable<Self::Engine>;
        /// The chosen type as the DDL spells it.
        const CHOSEN_SQL: &'static str;
        const CHOSEN_DDL: &'static str;
        const CHOSEN_LIVE: &'static str;
        const DEFAULT_DDL: &'static str;
        const DEFAULT_LIVE: &'static str;
        /// The statement that converts a default table.
        const FIX: &'static str;

        /// The live type of the `data` column, as the catalog names it.
        fn data_type(
            connection: &mut <Self::Engine as Backend>::Connection,
        ) -> impl std::future::Future<Output = String> + Send;
    }

    async fn data_type_of<C: DataTypeCase, S: SessionTable<C::Engine>>(
        store: &DieselStore<S, C::Engine>,
    ) -> String {
        let mut connection = store.connection().await.expect("a connection");
        C::data_type(&mut connection).await
    }

    pub fn the_migration_declares_the_chosen_type<C: DataTypeCase>() {
        let up = DieselStore::<C::Chosen, C::Engine>::migration().up();
        assert!(up.contains(C::CHOSEN_DDL), "{up}");
        let up = DieselStore::<C::Default, C::Engine>::migration().up();
        assert!(up.contains(C::DEFAULT_DDL), "{up}");
    }

    pub async fn the_table_round_trips_sessions_and_enforces_its_foreign_key<C: DataTypeCase>(
        url: &str,
    ) {
        let store = DieselStore::<C::Chosen, C::Engine>::connect(url).expect("pool");
        store.migrate().await.expect("migrate");
        assert_eq!(data_type_of::<C, _>(&store).await, C::CHOSEN_LIVE);
        assert!(store.check_schema().await.unwrap().is_current());
        crate::schema_evolution::round_trips_and_enforces_the_foreign_key(&store).await;
    }

    pub async fn a_default_table_is_refused_with_the_fix_and_serves_again_once_converted<
        C: DataTypeCase,
    >(
        url: &str,
    ) {
        let default_store = DieselStore::<C::Default, C::Engine>::connect(url).expect("pool");
        default_store.migrate().await.expect("the default table");
        let mut old = record(json!({ "user_id": 1, "theme": "dark" }));
        default_store.create(&mut old).await.expect("create");

        let store = DieselStore::<C::Chosen, C::Engine>::connect(url).expect("pool");
        let error = store.migrate().await.unwrap_err();
        let Error::Schema(message) = &error else {
            panic!("{error:?}")
        };
        assert!(message.contains("column `data`"), "{message}");
        assert!(
            message.contains(&format!("{} NOT NULL", C::CHOSEN_SQL)),
            "{message}"
        );
        assert!(message.contains(C::FIX), "{message}");
        assert_eq!(
            data_type_of::<C, _>(&store).await,
            C::DEFAULT_LIVE,
            "migrate changed nothing"
        );

        let mut connection = store.connection().await.expect("a connection");
        diesel_async::SimpleAsyncConnection::batch_execute(&mut *connection, C::FIX)
            .await
            .expect("the fix runs");
        drop(connection);
        // PostgreSQL's `ALTER COLUMN ... TYPE` forgets the column's
        // compression method, which `migrate()` sets again.
        store.migrate().await.expect("migrate after the fix");
        assert!(store.check_schema().await.unwrap().is_current());
        let loaded = store.load(&old.id).await.unwrap().expect("kept");
        assert_eq!(loaded.data, old.data);
    }
}

/// One backend's [`data_type::DataTypeCase`]: its two structs and its
/// catalog read, and a test per plain function above.
macro_rules! data_type_suite {
    ($backend:ident, $kind:expr, [$($ignore:meta)?], $module:ident, [$($key:tt)+] {
        chosen: ($chosen_sql:literal, $chosen_ddl:literal, $chosen_live:literal),
        default: ($default_ddl:literal, $default_live:literal),
        data_type: $data_type:literal,
        fix: $fix:literal,
    }) => {
        mod $module {
            use session_tests::TestDatabase;

            use crate::schema_evolution::data_type::{self, DataTypeCase};

            // The derive's store aliases go unused: the bodies name the
            // stores through `DataTypeCase`.
            #[expect(dead_code)]
            mod versions {
                version!($backend, default_type {
                    #[session(references = users)]
                    pub user_id: Option<i64>,
                });

                version!($backend, chosen_type [$($key)+] {
                    #[session(references = users)]
                    pub user_id: Option<i64>,
                });
            }
            use versions::{chosen_type, default_type};

            struct Case;

            impl DataTypeCase for Case {
                type Engine = session_tests::$backend::Engine;
                type Chosen = chosen_type::Session;
                type Default = default_type::Session;
                const CHOSEN_SQL: &'static str = $chosen_sql;
                const CHOSEN_DDL: &'static str = $chosen_ddl;
                const CHOSEN_LIVE: &'static str = $chosen_live;
                const DEFAULT_DDL: &'static str = $default_ddl;
                const DEFAULT_LIVE: &'static str = $default_live;
                const FIX: &'static str = $fix;

                async fn data_type(
                    connection: &mut <Self::Engine as session_runtime::backend::Backend>::Connection,
                ) -> String {
                    crate::schema_evolution::catalog_text(connection, $data_type).await
                }
            }

            #[test]
            $(#[$ignore])?
            fn the_migration_declares_the_chosen_type() {
                data_type::the_migration_declares_the_chosen_type::<Case>();
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn the_table_round_trips_sessions_and_enforces_its_foreign_key() {
                let Some(db) = TestDatabase::new($kind).await else { return };
                data_type::the_table_round_trips_sessions_and_enforces_its_foreign_key::<Case>(&db.url)
                    .await;
            }

            #[tokio::test]
            $(#[$ignore])?
            async fn a_default_table_is_refused_with_the_fix_and_serves_again_once_converted() {
                let Some(db) = TestDatabase::new($kind).await else { return };
                data_type::a_default_table_is_refused_with_the_fix_and_serves_again_once_converted::<
                    Case,
                >(&db.url)
                .await;
            }
        }
    };
}

on_postgres!(data_type_suite, json_data, [data = json] {
    chosen: ("JSON", "\"data\" JSON COMPRESSION lz4 NOT NULL", "json"),
    default: ("\"data\" JSONB COMPRESSION lz4 NOT NULL", "jsonb"),
    data_type: "SELECT data_type::text AS value FROM information_schema.columns \
                WHERE table_schema = current_schema() AND table_name = 'evolving' \
                AND column_name = 'data'",
    fix: "ALTER TABLE \"evolving\" ALTER COLUMN \"data\" TYPE JSON",
});

on_mysql!(data_type_suite, blob_data, [data = blob] {
    chosen: ("LONGBLOB", "`data` LONGBLOB NOT NULL", "longblob"),
    // MariaDB's `JSON` is a `LONGTEXT` with a check.
    default: ("`data` JSON NOT NULL", "longtext"),
    data_type: "SELECT DATA_TYPE AS value FROM information_schema.COLUMNS \
                WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'evolving' \
                AND COLUMN_NAME = 'data'",
    fix: "ALTER TABLE `evolving` MODIFY COLUMN `data` LONGBLOB NOT NULL",
});

/// SQLite tables made by earlier builds: `WITHOUT ROWID`, with an index on
/// `expiry_date`. New tables have neither; old ones stay as they are and
/// keep working.
mod earlier_sqlite_layout {
    use serde_json::json;
    use session_tests::{Kind, TestDatabase};
    use tower_sessions::SessionStore as _;

    use crate::common::record;

    version!(sqlite, v1 {
        pub a: Option<String>,
    });

    #[tokio::test]
    async fn a_without_rowid_table_with_an_expiry_index_is_current_and_serves_sessions() {
        let Some(db) = TestDatabase::new(Kind::Sqlite).await else {
            return;
        };
        db.execute(
            "CREATE TABLE \"evolving\" (\"id\" BLOB NOT NULL PRIMARY KEY, \"data\" TEXT NOT NULL, \
             \"expiry_date\" BIGINT NOT NULL, \"a\" TEXT NULL) WITHOUT ROWID; \
             CREATE INDEX \"evolving_expiry_date_idx\" ON \"evolving\" (\"expiry_date\")",
        )
        .await;
        db.execute("INSERT INTO \"evolving\" VALUES (x'00', '{}', 4102444800000000, 'old')")
            .await;
        let store = v1::SessionStore::connect(&db.url).expect("pool");
        let diff = store.migrate().await.expect("migrate");
        // Only the store's own timestamps are new; the old row gets the
        // time of the migration as its creation time.
        assert_eq!(
            diff.changes(),
            [
                session_runtime::SchemaChange::AddColumn {
                    column: "created_at"
                },
                session_runtime::SchemaChange::AddColumn {
                    column: "authenticated_at"
                }
            ],
            "{diff}"
        );
        assert!(store.check_schema().await.unwrap().is_current());
        // Fails with an integer overflow unless the old row got a creation
        // time.
        db.execute(
            "SELECT CASE WHEN created_at > 1700000000000000 THEN 1 ELSE abs(-9223372036854775808) END \
             FROM \"evolving\" WHERE id = x'00'",
        )
        .await;

        let mut session = record(json!({ "a": "kept", "cart": [1] }));
        store.create(&mut session).await.expect("create");
        let loaded = store.load(&session.id).await.unwrap().expect("stored");
        assert_eq!(loaded.data, session.data);
        store.delete(&session.id).await.expect("delete");
        assert!(store.load(&session.id).await.unwrap().is_none());
    }

    #[test]
    fn a_new_table_is_a_rowid_table_without_an_expiry_index() {
        let up = v1::SessionStore::migration().up();
        assert!(!up.contains("WITHOUT ROWID"), "{up}");
        assert!(!up.contains("expiry_date_idx"), "{up}");
    }
}
