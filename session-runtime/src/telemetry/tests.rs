//! The events' table in the module docs matches what the store emits, and
//! no event names a credential.

use std::path::Path;

/// The message of every `tracing` event in the crate's source: the
/// last string literal of each `tracing::<level>!(...)` call.
fn event_messages(dir: &Path, messages: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("the source folder") {
        let path = entry.expect("a source entry").path();
        if path.is_dir() {
            event_messages(&path, messages);
            continue;
        }
        if path.extension().is_none_or(|extension| extension != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("a source file");
        for level in ["trace", "debug", "info", "warn", "error"] {
            let call = format!("tracing::{level}!(");
            for (start, _) in source.match_indices(&call) {
                let arguments = &source[start + call.len()..];
                let end = arguments
                    .find("\n        );")
                    .or_else(|| arguments.find(");"));
                let arguments = &arguments[..end.expect("a closed call")];
                let message = arguments
                    .rsplit_once('"')
                    .and_then(|(before, _)| before.rsplit_once('"'))
                    .map(|(_, message)| message.to_owned())
                    .expect("a message literal");
                messages.push(message);
            }
        }
    }
}

#[test]
fn the_opened_event_names_host_and_database_never_credentials() {
    for (url, host, database) in [
        (
            "postgres://app:s3cret@db.internal:5432/sessions?sslmode=require",
            "db.internal:5432",
            "sessions",
        ),
        ("mysql://root@127.0.0.1:3306/test", "127.0.0.1:3306", "test"),
        (
            "host=db.internal dbname=sessions user=app password=s3cret",
            "db.internal",
            "sessions",
        ),
        ("sqlite://sessions.db", "", "sessions.db"),
        ("/var/lib/app/sessions.db", "", "/var/lib/app/sessions.db"),
    ] {
        assert_eq!(super::server_of(url), (host, database), "{url}");
    }
}

#[test]
fn the_table_lists_every_event_the_store_emits() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut messages = Vec::new();
    event_messages(&src, &mut messages);
    assert!(messages.len() >= 8, "too few events found: {messages:?}");
    let table = std::fs::read_to_string(src.join("telemetry.rs")).expect("this file");
    for message in messages {
        assert!(
            table.contains(&format!("| `{message}` |")),
            "the event `{message}` is missing from the table in telemetry.rs"
        );
    }
}
