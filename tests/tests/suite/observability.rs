//! The `tracing` events of store operations: one per statement, with the
//! table, the time and the rows; failures at WARN or ERROR; slow statements
//! flagged; and never a session id, a cookie or a session value in them.

use crate::common::record;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::json;
use session_runtime::SessionDigest;
use session_tests::TestDatabase;
use session_tests::{stores, BackendSchema};
use std::time::Duration;
use tower_sessions::session_store::{ExpiredDeletion as _, SessionStore as _};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id as SpanId, Record as SpanRecord};
use tracing::{Event, Level, Metadata, Subscriber};

/// One event as the subscriber saw it.
#[derive(Debug, Clone)]
pub struct Captured {
    pub level: Level,
    pub target: String,
    pub fields: BTreeMap<String, String>,
}

impl Captured {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// Every field, the message included, as one text to search.
    pub fn text(&self) -> String {
        format!("{} {:?}", self.target, self.fields)
    }
}

/// A subscriber that keeps every event of every target and level: the
/// ones since the last `take`, and all of them.
#[derive(Clone, Default)]
pub struct Capture {
    recent: Arc<Mutex<Vec<Captured>>>,
    all: Arc<Mutex<Vec<Captured>>>,
}

impl Capture {
    pub fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.recent.lock().unwrap())
    }

    pub fn all(&self) -> Vec<Captured> {
        self.all.lock().unwrap().clone()
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &Attributes<'_>) -> SpanId {
        SpanId::from_u64(1)
    }

    fn record(&self, _: &SpanId, _: &SpanRecord<'_>) {}

    fn record_follows_from(&self, _: &SpanId, _: &SpanId) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let captured = Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            fields,
        };
        self.all.lock().unwrap().push(captured.clone());
        self.recent.lock().unwrap().push(captured);
    }

    fn enter(&self, _: &SpanId) {}

    fn exit(&self, _: &SpanId) {}
}

tests_on_every_backend!(every_operation_logs_one_event_and_no_secret,);

fn of_store(events: &[Captured]) -> Vec<&Captured> {
    events
        .iter()
        .filter(|event| event.target == "session_runtime")
        .collect()
}

/// The one store event of `statement`.
fn only<'a>(events: &'a [Captured], statement: &str) -> &'a Captured {
    let matching: Vec<_> = of_store(events)
        .into_iter()
        .filter(|event| event.field("statement") == Some(statement))
        .collect();
    assert_eq!(matching.len(), 1, "one {statement} event in {events:#?}");
    matching[0]
}

fn assert_timed(event: &Captured, level: Level, rows: Option<&str>) {
    assert_eq!(event.level, level, "{event:?}");
    assert_eq!(event.field("table"), Some("http_sessions"), "{event:?}");
    let elapsed: u64 = event
        .field("elapsed_us")
        .and_then(|us| us.parse().ok())
        .unwrap_or_else(|| panic!("elapsed_us in {event:?}"));
    assert!(elapsed < 30_000_000, "{event:?}");
    assert_eq!(event.field("rows"), rows, "{event:?}");
}

async fn every_operation_logs_one_event_and_no_secret<T: BackendSchema>(db: TestDatabase) {
    let (store, _) = stores::<T>(&db.url).await;
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    let secret = format!("secret-{:032x}", rand::random::<u128>());
    let optional = format!("optional-{:032x}", rand::random::<u128>());
    let mut session = record(json!({"secret": secret, "optional": optional, "user_id": 1}));
    store.create(&mut session).await.unwrap();
    let digest = SessionDigest::of_id(session.id.0).to_string();
    let events = capture.take();
    let create = only(&events, "INSERT");
    assert_timed(create, Level::DEBUG, Some("1"));
    assert_eq!(create.field("session"), Some(&digest[..8]));
    assert_eq!(create.field("attempts"), Some("1"));

    assert!(store.load(&session.id).await.unwrap().is_some());
    let events = capture.take();
    let load = only(&events, "SELECT");
    assert_timed(load, Level::DEBUG, Some("1"));
    assert_eq!(load.field("session"), Some(&digest[..8]));

    session
        .data
        .insert("visits".into(), json!(format!("{secret}-again")));
    store.save(&session).await.unwrap();
    let events = capture.take();
    assert_timed(only(&events, "UPDATE"), Level::DEBUG, Some("1"));

    store.delete_expired().await.unwrap();
    let events = capture.take();
    let expired = only(&events, "DELETE");
    assert_timed(expired, Level::DEBUG, Some("0"));
    assert_eq!(expired.field("session"), None);

    assert_eq!(store.count().await.unwrap(), 1);
    let events = capture.take();
    assert_timed(only(&events, "SELECT COUNT(*)"), Level::DEBUG, None);

    // A value that does not fit its column: refused before any
    // statement, and the value stays out of the log.
    let mut bad = session.clone();
    let bad_value = format!("not-a-number-{:032x}", rand::random::<u128>());
    bad.data.insert("user_id".into(), json!(bad_value));
    assert!(store.save(&bad).await.is_err());
    let events = capture.take();
    let refused = of_store(&events);
    assert_eq!(refused.len(), 1, "{events:#?}");
    assert_eq!(refused[0].level, Level::WARN);
    assert_eq!(refused[0].field("kind"), Some("encode"));
    assert_eq!(refused[0].field("statement"), Some("UPDATE"));

    // The app's data, not the database, failed: a foreign key
    // to a user that does not exist is a warning of its own kind,
    // with the database's words and nothing of the session.
    let mut orphan = record(json!({"user_id": 999, "secret": secret}));
    assert!(store.create(&mut orphan).await.is_err());
    let events = capture.take();
    let failed = only(&events, "INSERT");
    assert_eq!(failed.level, Level::WARN, "{failed:?}");
    assert_eq!(failed.field("kind"), Some("foreign_key"));
    assert!(
        failed
            .field("error")
            .is_some_and(|error| error.starts_with("INSERT on `http_sessions` failed: ")),
        "{failed:?}"
    );

    // Every statement is slow against a zero threshold.
    let hasty = store.clone().with_slow_statement_threshold(Duration::ZERO);
    assert!(hasty.load(&session.id).await.unwrap().is_some());
    let events = capture.take();
    let slow = only(&events, "SELECT");
    assert_timed(slow, Level::WARN, Some("1"));
    assert_eq!(slow.field("threshold_ms"), Some("0"));
    assert_eq!(slow.field("message"), Some("slow session statement"));

    store.delete(&session.id).await.unwrap();
    let events = capture.take();
    assert_timed(only(&events, "DELETE"), Level::DEBUG, Some("1"));

    // Run everything again and search every event of every
    // crate for the secrets.
    let mut again = record(json!({"secret": secret, "optional": optional}));
    store.create(&mut again).await.unwrap();
    store.load(&again.id).await.unwrap();
    store.save(&again).await.unwrap();
    store.delete(&again.id).await.unwrap();
    let all = capture.all();
    let full_digest = SessionDigest::of_id(again.id.0).to_string();
    let secrets = [
        session.id.to_string(),
        session.id.0.to_string(),
        again.id.to_string(),
        again.id.0.to_string(),
        digest.clone(),
        full_digest,
        secret.clone(),
        optional.clone(),
        bad_value.clone(),
    ];
    assert!(of_store(&all).len() >= 5);
    for event in &all {
        let text = event.text();
        for value in &secrets {
            assert!(!text.contains(value.as_str()), "{value} in {event:?}");
        }
    }
}
