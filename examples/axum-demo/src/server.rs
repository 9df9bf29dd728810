//! Startup: connect to the database the configuration names, prepare its
//! tables, and serve until shut down.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use session_runtime::CleanupOptions;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::database::Database;
use crate::routes::router;

/// How often expired sessions are deleted. `load` never returns an expired
/// row anyway; this only keeps the table from growing.
pub const DELETION_PERIOD: Duration = Duration::from_secs(60);

/// Why the server could not start or stopped.
#[derive(Debug)]
pub enum Error {
    /// The database URL names no backend, or the database refused a
    /// connection or the tables.
    Database(session_runtime::Error),
    /// The listening socket failed.
    Io(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Database(error) => write!(f, "database: {error}"),
            Error::Io(error) => write!(f, "server: {error}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Database(error) => Some(error),
            Error::Io(error) => Some(error),
        }
    }
}

impl From<session_runtime::Error> for Error {
    fn from(error: session_runtime::Error) -> Self {
        Error::Database(error)
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Error::Io(error)
    }
}

/// Connects to `config.database_url`, binds `config.listen` and serves
/// until Ctrl-C.
pub async fn run(config: Config) -> Result<(), Error> {
    // Before binding, so that a URL naming no backend is reported first.
    let database = Database::connect(&config.database_url)?;
    let listener = TcpListener::bind(config.listen).await?;
    let shutdown = async {
        // Without a signal handler there is nothing to wait for but the
        // process being killed, which ends it anyway.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    serve(listener, database, shutdown).await
}

/// Prepares the database and serves on `listener` until `shutdown`
/// completes. Tests pass a listener bound to port 0.
pub async fn serve(
    listener: TcpListener,
    database: Database,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    database.prepare().await?;
    // Expired sessions go in bounded batches; a failure is logged (through
    // `tracing`) and retried with backoff.
    let cleanup = database
        .sessions()
        .spawn_cleanup(CleanupOptions::default().with_interval(DELETION_PERIOD));
    eprintln!(
        "serving on http://{} with sessions on {}",
        listener.local_addr()?,
        database.backend_name()
    );
    let served = axum::serve(listener, router(database))
        .with_graceful_shutdown(shutdown)
        .await;
    cleanup.stop().await;
    Ok(served?)
}
