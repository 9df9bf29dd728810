//! Production topologies, started on this machine by `.ci/topologies`: a
//! PostgreSQL primary with a synchronous streaming standby that takes over
//! when the primary dies, and a three-node MariaDB Galera cluster whose
//! nodes a store each talks to. Each test starts its topology, runs its
//! cases in sequence and stops it, on failure too.
//!
//! The tests are ignored unless `SESSION_TEST_TOPOLOGIES=1` (or `CI=true`)
//! was set when the suite was built (see `tests/build.rs`). The servers run
//! on fixed ports, so only one topology test runs at a time ([`exclusive`]).
//! Each test writes its counts to stderr, outside the harness's capture.

mod failover;
mod galera;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, MutexGuard};

/// Only one topology runs at a time: they share ports within a kind, and
/// the machine's two cores between kinds.
pub async fn exclusive() -> MutexGuard<'static, ()> {
    static TOPOLOGY: Mutex<()> = Mutex::const_new(());
    TOPOLOGY.lock().await
}

/// Writes a line to the real stderr, which the test harness does not
/// capture, so that the counts show in every run.
pub fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The repository's `.ci/topologies`.
fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci/topologies")
}

/// Runs `.ci/topologies <args>`, killing it after `bound`; its output
/// (progress lines) goes to stderr. Blocks: call it from a blocking
/// thread, or where blocking is fine.
pub fn run_script(args: &[&str], bound: Duration) -> Result<(), String> {
    let what = format!(".ci/topologies {}", args.join(" "));
    // The output goes through a file, not a pipe, so that a server the
    // script leaves running cannot hold it open.
    let log = std::env::temp_dir().join(format!(
        "session-topologies-{}-{:016x}.log",
        std::process::id(),
        rand::random::<u64>()
    ));
    let file = File::create(&log).map_err(|error| format!("{what}: {error}"))?;
    let started = Instant::now();
    let mut child = Command::new("bash")
        .arg(script())
        .args(args)
        .stdin(Stdio::null())
        .stdout(file.try_clone().map_err(|error| error.to_string())?)
        .stderr(file)
        .spawn()
        .map_err(|error| format!("{what}: cannot run it: {error}"))?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() > bound => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("{what}: still running after {bound:?}, killed"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => break Err(format!("{what}: {error}")),
        }
    };
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    for line in output.lines() {
        report(line);
    }
    match status? {
        status if status.success() => Ok(()),
        status => Err(format!("{what} failed ({status}):\n{output}")),
    }
}

/// A running topology, stopped (by `.ci/topologies <kind> stop`) when
/// dropped, so that a failed test stops it too.
pub struct Topology {
    kind: &'static str,
}

impl Topology {
    /// Starts `kind` (`pg-pair` or `galera`) from scratch within `bound`.
    pub fn start(kind: &'static str, bound: Duration) -> Topology {
        let started = Instant::now();
        // Guarded before it starts: a start that fails half way is stopped.
        let topology = Topology { kind };
        if let Err(error) = run_script(&[kind, "start"], bound) {
            panic!("{error}");
        }
        report(&format!(
            "topologies: {kind} started in {:.1}s (as the test saw it)",
            started.elapsed().as_secs_f64()
        ));
        topology
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        if let Err(error) = run_script(&[self.kind, "stop"], Duration::from_secs(60)) {
            report(&format!("topologies: {error}"));
        }
    }
}

/// Failed operations, counted by distinct message.
#[derive(Debug, Default)]
pub struct Failures {
    by_message: BTreeMap<String, usize>,
}

impl Failures {
    pub fn add(&mut self, operation: &str, message: impl std::fmt::Display) {
        *self
            .by_message
            .entry(format!("{operation}: {message}"))
            .or_default() += 1;
    }

    pub fn merge(&mut self, other: Failures) {
        for (message, count) in other.by_message {
            *self.by_message.entry(message).or_default() += count;
        }
    }

    pub fn total(&self) -> usize {
        self.by_message.values().sum()
    }

    /// Each distinct message once, with its count.
    pub fn report(&self, label: &str) {
        for (message, count) in &self.by_message {
            report(&format!("{label}: {count} x {message}"));
        }
    }
}
