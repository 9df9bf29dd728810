//! Encryption at rest of `data` (`#[session(data = encrypted)]`): a dump
//! of the table holds no session value, a missing or wrong key is a clear
//! error, keys rotate across restarts, a row copied onto another session
//! does not decrypt, a session sealed with a key the store lacks is a
//! configuration error that no policy deletes, and the typed columns stay
//! in clear and queryable.

use serde_json::json;
use session_runtime::{DataKey, EncryptionKeys, Error, SessionDigest, Undecodable};
use session_tests::suite::SealedFields;
use session_tests::{AppStore, BackendSchema, Kind, SealedStore, TestDatabase};
use tower_sessions::session::Id;
use tower_sessions::SessionStore as _;

use crate::common::{record, where_id};
use crate::security::{columns_sql, dump_table, hex, Column, Text};

tests_on_every_backend!(
    a_session_round_trips_and_a_dump_holds_none_of_its_values,
    the_typed_column_stays_in_clear_and_queryable_without_keys,
    a_store_without_keys_fails_clearly_and_deletes_nothing,
    a_key_the_store_lacks_is_a_config_error_naming_the_fingerprint,
    keys_rotate_across_restarts_and_a_read_reseals_at_its_next_save,
    a_row_copied_onto_another_sessions_id_does_not_decrypt,
    start_over_keeps_a_row_sealed_with_a_key_the_store_lacks,
    migrate_makes_a_binary_data_column_and_the_schema_is_current,
    a_table_of_clear_data_is_a_conflict_that_says_why_sql_cannot_convert_it,
);

/// The keys `bytes` name, each key 32 times its byte: the first seals.
fn keys(bytes: &[u8]) -> EncryptionKeys {
    let mut keys = bytes.iter().map(|byte| DataKey::from_bytes([*byte; 32]));
    let current = keys.next().expect("a key");
    keys.fold(EncryptionKeys::new(current), EncryptionKeys::with_old_key)
}

/// The fingerprint of the key of `byte`.
fn fingerprint(byte: u8) -> String {
    DataKey::from_bytes([byte; 32]).fingerprint()
}

/// A literal of the bytes whose hex is `hex`, for a `data` column.
fn bytes_literal(kind: Kind, hex: &str) -> String {
    match kind {
        Kind::Sqlite | Kind::Mysql => format!("X'{hex}'"),
        Kind::Postgres => format!("'\\x{hex}'::bytea"),
    }
}

/// The SQL of the hex of one row's `data`.
fn data_hex_sql(kind: Kind, at: &str) -> String {
    let hex = match kind {
        Kind::Sqlite => "lower(hex(data))",
        Kind::Postgres => "encode(data, 'hex')",
        Kind::Mysql => "LOWER(HEX(data))",
    };
    format!("SELECT {hex} AS text FROM sealed_sessions WHERE {at}")
}

/// A store of `SealedSession` on the test database, with `keys` if any (a
/// restart of the app, when called again), after its migration, which
/// needs no keys.
async fn sealed<T: BackendSchema>(db: &TestDatabase, keys: Option<&[u8]>) -> SealedStore<T> {
    let store = SealedStore::<T>::connect(&db.url).expect("pool");
    store.migrate().await.expect("migrate");
    match keys {
        Some(bytes) => store.with_encryption_keys(self::keys(bytes)),
        None => store,
    }
}

/// The hex of the stored `data` of session `id`.
async fn data_hex(db: &TestDatabase, id: Id) -> String {
    let rows: Vec<Text> = db
        .query(&data_hex_sql(db.kind, &where_id(db.kind, id)))
        .await;
    let [row] = &rows[..] else {
        panic!("one row of {id}: {} rows", rows.len())
    };
    row.text.clone()
}

/// The fingerprint of the key that sealed session `id`: the four bytes
/// after the format byte.
async fn sealed_with(db: &TestDatabase, id: Id) -> String {
    data_hex(db, id).await[2..10].to_owned()
}

/// Every column of every row, as text and as hex.
async fn dump_sealed(db: &TestDatabase) -> String {
    let (columns, dump) = dump_table(db, "sealed_sessions").await;
    assert_eq!(
        columns.len(),
        6,
        "id, expiry_date, created_at, authenticated_at, user_id, data"
    );
    dump
}

async fn a_session_round_trips_and_a_dump_holds_none_of_its_values<T: BackendSchema>(
    db: TestDatabase,
) {
    let store = sealed::<T>(&db, Some(&[1])).await;
    let marker = "plaintext-marker-5e1f";
    let mut session = record(json!({
        "user_id": 1,
        "cart": marker,
        "nested": {"note": format!("{marker}-nested")},
    }));
    store.create(&mut session).await.unwrap();
    let loaded = store.load(&session.id).await.unwrap().expect("the session");
    assert_eq!(loaded.data, session.data);

    // A request changes a value of `data`: the save seals all of
    // it again; one that changes only the typed column leaves
    // the sealed bytes as they were.
    let (task_store, id) = (store.clone(), session.id);
    let before = data_hex(&db, id).await;
    let moved = tokio::spawn(async move {
        let mut record = task_store.load(&id).await.unwrap().unwrap();
        record.data.insert("user_id".into(), json!(2));
        task_store.save(&record).await.unwrap();
        record
    })
    .await
    .unwrap();
    assert_eq!(
        data_hex(&db, id).await,
        before,
        "a typed change reseals nothing"
    );
    assert_eq!(store.load(&id).await.unwrap().unwrap().data, moved.data);
    let task_store = store.clone();
    let changed = tokio::spawn(async move {
        let mut record = task_store.load(&id).await.unwrap().unwrap();
        record
            .data
            .insert("cart".into(), json!(format!("{marker}-2")));
        task_store.save(&record).await.unwrap();
        record
    })
    .await
    .unwrap();
    assert_ne!(data_hex(&db, id).await, before);
    assert_eq!(store.load(&id).await.unwrap().unwrap().data, changed.data);

    let dump = dump_sealed(&db).await;
    let digest = SessionDigest::of_id(id.0).to_string();
    assert!(dump.contains(&digest), "the dump misses the row:\n{dump}");
    for value in [marker, "cart", "nested", "note"] {
        assert!(
            !dump.contains(value),
            "`{value}` is stored in clear:\n{dump}"
        );
        assert!(
            !dump.contains(&hex(value.as_bytes())),
            "`{value}` is stored in clear, as bytes"
        );
    }
}

async fn the_typed_column_stays_in_clear_and_queryable_without_keys<T: BackendSchema>(
    db: TestDatabase,
) {
    let store = sealed::<T>(&db, Some(&[1])).await;
    let mut ids = Vec::new();
    for user in [1, 1, 2] {
        let mut session = record(json!({"user_id": user, "secret": "s"}));
        store.create(&mut session).await.unwrap();
        ids.push(session.id);
    }
    // A job without the keys lists, counts and revokes.
    let keyless = sealed::<T>(&db, None).await;
    let listed = keyless.list_by(T::SEALED_USER_ID, &1).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.into_iter().all(|info| {
        let fields: SealedFields = info.fields.into();
        fields.user_id == Some(1)
    }));
    assert_eq!(keyless.count_by(T::SEALED_USER_ID, &2).await.unwrap(), 1);
    assert_eq!(keyless.count().await.unwrap(), 3);
    let keep = SessionDigest::of_id(ids[0].0);
    assert_eq!(
        keyless
            .revoke_by_except(T::SEALED_USER_ID, &1, keep)
            .await
            .unwrap(),
        1
    );
    assert!(store.load(&ids[0]).await.unwrap().is_some());
    assert!(store.load(&ids[1]).await.unwrap().is_none());
}

async fn a_store_without_keys_fails_clearly_and_deletes_nothing<T: BackendSchema>(
    db: TestDatabase,
) {
    let store = sealed::<T>(&db, Some(&[1])).await;
    let mut session = record(json!({"user_id": 1, "secret": "s"}));
    store.create(&mut session).await.unwrap();

    // Even with `StartOver`, a missing key is no undecodable row.
    let keyless = sealed::<T>(&db, None)
        .await
        .with_undecodable(Undecodable::StartOver);
    let Err(Error::Config(message)) = keyless.load_record(&session.id).await else {
        panic!("a configuration error");
    };
    assert!(message.contains("with_encryption_keys"), "{message}");
    assert!(message.contains("sealed_sessions"), "{message}");
    let error = keyless.load(&session.id).await.unwrap_err().to_string();
    assert!(error.contains("with_encryption_keys"), "{error}");
    let error = keyless.save(&session).await.unwrap_err().to_string();
    assert!(error.contains("with_encryption_keys"), "{error}");
    let mut fresh = record(json!({"user_id": 2}));
    let error = keyless.create(&mut fresh).await.unwrap_err().to_string();
    assert!(error.contains("with_encryption_keys"), "{error}");

    assert_eq!(
        keyless.count().await.unwrap(),
        1,
        "nothing written, nothing deleted"
    );
    assert_eq!(
        store.load(&session.id).await.unwrap().unwrap().data,
        session.data
    );
    keyless.delete(&session.id).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 0);
}

async fn a_key_the_store_lacks_is_a_config_error_naming_the_fingerprint<T: BackendSchema>(
    db: TestDatabase,
) {
    let store = sealed::<T>(&db, Some(&[1])).await;
    let mut session = record(json!({"user_id": 1, "secret": "marker-9c2d"}));
    store.create(&mut session).await.unwrap();
    let wrong = sealed::<T>(&db, Some(&[2, 3])).await;
    let Err(Error::Config(message)) = wrong.load_record(&session.id).await else {
        panic!("a configuration error");
    };
    assert!(message.contains(&fingerprint(1)), "{message}");
    assert!(message.contains("among the store's 2 keys"), "{message}");
    assert!(message.contains(&fingerprint(2)), "{message}");
    assert!(!message.contains("marker"), "{message}");
    // By default the row stays, to be read with the right key.
    assert!(store.load(&session.id).await.unwrap().is_some());
}

async fn keys_rotate_across_restarts_and_a_read_reseals_at_its_next_save<T: BackendSchema>(
    db: TestDatabase,
) {
    // Version 1 of the app seals with key 1.
    let first = sealed::<T>(&db, Some(&[1])).await;
    let mut active = record(json!({"user_id": 1, "cart": "a"}));
    first.create(&mut active).await.unwrap();
    let mut idle = record(json!({"user_id": 2, "cart": "b"}));
    first.create(&mut idle).await.unwrap();
    assert_eq!(sealed_with(&db, active.id).await, fingerprint(1));
    drop(first);

    // Version 2 seals with key 2 and still opens key 1's rows; a
    // request that reads the session and changes nothing saves
    // it sealed with key 2.
    let second = sealed::<T>(&db, Some(&[2, 1])).await;
    let (task_store, id) = (second.clone(), active.id);
    tokio::spawn(async move {
        let record = task_store.load(&id).await.unwrap().unwrap();
        task_store.save(&record).await.unwrap();
    })
    .await
    .unwrap();
    assert_eq!(sealed_with(&db, active.id).await, fingerprint(2));
    assert_eq!(sealed_with(&db, idle.id).await, fingerprint(1));
    // Sealed with the current key, an unchanged save sends nothing.
    let before = data_hex(&db, active.id).await;
    let task_store = second.clone();
    tokio::spawn(async move {
        let record = task_store.load(&id).await.unwrap().unwrap();
        task_store.save(&record).await.unwrap();
    })
    .await
    .unwrap();
    assert_eq!(data_hex(&db, active.id).await, before);
    assert!(second.load(&idle.id).await.unwrap().is_some());
    drop(second);

    // Version 3 drops key 1: the resealed session reads, the
    // idle one no longer does.
    let third = sealed::<T>(&db, Some(&[2])).await;
    let loaded = third.load(&active.id).await.unwrap().unwrap();
    assert_eq!(loaded.data, active.data);
    let Err(Error::Config(message)) = third.load_record(&idle.id).await else {
        panic!("a configuration error: the store lacks the key");
    };
    assert!(message.contains(&fingerprint(1)), "{message}");
}

async fn a_row_copied_onto_another_sessions_id_does_not_decrypt<T: BackendSchema>(
    db: TestDatabase,
) {
    let store = sealed::<T>(&db, Some(&[1])).await;
    let mut victim = record(json!({"user_id": 1, "role": "user"}));
    store.create(&mut victim).await.unwrap();
    let mut admin = record(json!({"user_id": 2, "role": "admin"}));
    store.create(&mut admin).await.unwrap();
    let admin_data = data_hex(&db, admin.id).await;
    db.execute(&format!(
        "UPDATE sealed_sessions SET data = {} WHERE {}",
        bytes_literal(db.kind, &admin_data),
        where_id(db.kind, victim.id)
    ))
    .await;
    let Err(Error::Decode(message)) = store.load_record(&victim.id).await else {
        panic!("a decode error");
    };
    assert!(message.contains("does not authenticate"), "{message}");
    assert!(message.contains("copied from another session"), "{message}");
    assert_eq!(
        store.load(&admin.id).await.unwrap().unwrap().data,
        admin.data
    );
}

/// One server deployed without a rotation step must not log every user
/// out: its loads fail, and the rows stay for the servers with the key.
async fn start_over_keeps_a_row_sealed_with_a_key_the_store_lacks<T: BackendSchema>(
    db: TestDatabase,
) {
    let old = sealed::<T>(&db, Some(&[1])).await;
    let mut session = record(json!({"user_id": 1, "cart": "a"}));
    old.create(&mut session).await.unwrap();
    let store = sealed::<T>(&db, Some(&[2]))
        .await
        .with_undecodable(Undecodable::StartOver);
    let error = store.load(&session.id).await.unwrap_err();
    assert!(
        matches!(&error, tower_sessions::session_store::Error::Backend(message) if message.contains(&fingerprint(1))),
        "{error:?}"
    );
    assert_eq!(store.count().await.unwrap(), 1, "the row stays");
    assert_eq!(
        old.load(&session.id).await.unwrap().unwrap().data,
        session.data
    );
    let mut fresh = record(json!({"user_id": 1}));
    store.create(&mut fresh).await.unwrap();
    assert_eq!(
        store.load(&fresh.id).await.unwrap().unwrap().data,
        fresh.data
    );
}

async fn migrate_makes_a_binary_data_column_and_the_schema_is_current<T: BackendSchema>(
    db: TestDatabase,
) {
    let store = sealed::<T>(&db, None).await;
    assert!(store.check_schema().await.unwrap().is_current());
    assert!(
        store.migrate().await.unwrap().is_current(),
        "migrate is idempotent"
    );
    let columns: Vec<Column> = db.query(&columns_sql(db.kind, "sealed_sessions")).await;
    let data = columns
        .iter()
        .find(|column| column.text == "data")
        .expect("data");
    assert_eq!(data.is_binary, 1, "`data` is the backend's binary string");
    let expected = match db.kind {
        Kind::Sqlite => "\"data\" BLOB NOT NULL",
        Kind::Postgres => "\"data\" BYTEA NOT NULL",
        Kind::Mysql => "`data` LONGBLOB NOT NULL",
    };
    assert!(SealedStore::<T>::migration().up().contains(expected));
}

async fn a_table_of_clear_data_is_a_conflict_that_says_why_sql_cannot_convert_it<
    T: BackendSchema,
>(
    db: TestDatabase,
) {
    // The table an earlier, unencrypted version of the struct made.
    let up = AppStore::<T>::migration()
        .up()
        .replace("http_sessions", "sealed_sessions");
    db.execute(&up).await;
    let store = SealedStore::<T>::connect(&db.url).expect("pool");
    let Err(Error::Schema(report)) = store.migrate().await else {
        panic!("a schema conflict");
    };
    assert!(
        report.contains("the keys are not in the database"),
        "{report}"
    );
}
