//! A thread of its own for each pooled SQLite connection, as sqlx gives
//! its SQLite connections.
//!
//! SQLite calls block, for seconds when a statement waits on the busy
//! timeout, so they must never run on the async worker threads.
//! diesel-async's default hands every statement to tokio's shared blocking
//! pool: a queue every connection contends on, and a thread that rarely is
//! the one that ran the connection's previous statement. Here each
//! connection owns one thread that runs its statements in order, fed by a
//! channel, and ends when the connection is dropped.

use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;

use diesel_async::sync_connection_wrapper::SpawnBlocking;

/// One statement's work, which answers through a channel of its own.
type Task = Box<dyn FnOnce() + Send>;

/// Runs a connection's blocking work on the connection's own thread.
///
/// Every connection of a [`Sqlite`](super::Sqlite) pool uses it; build a
/// connection of your own on it the same way:
///
/// ```
/// use diesel::SqliteConnection;
/// use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
/// use diesel_async::{AsyncConnection, SimpleAsyncConnection};
/// use session_runtime::backend::ConnectionThread;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut connection =
///     SyncConnectionWrapper::<SqliteConnection, ConnectionThread>::establish(":memory:").await?;
/// connection.batch_execute("CREATE TABLE t (x INTEGER)").await?;
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct ConnectionThread {
    tasks: mpsc::Sender<Task>,
}

/// What a statement fails with when the connection's thread is gone: it
/// could not be started, or a panic in SQLite's code ended it.
const STOPPED: &str = "the SQLite connection's thread has stopped";

impl SpawnBlocking for ConnectionThread {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> Pin<Box<dyn Future<Output = Result<R, Box<dyn Error + Send + Sync>>> + Send + 'a>>
    where
        R: Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let sent = self.tasks.send(Box::new(move || {
            // The caller may have stopped waiting (a timeout); the work
            // is done all the same, as a statement the database received.
            let _ = answer.send(task());
        }));
        Box::pin(async move {
            sent.map_err(|_| STOPPED)?;
            answered.await.map_err(|_| STOPPED.into())
        })
    }

    fn get_runtime() -> Self {
        let (tasks, queue) = mpsc::channel::<Task>();
        // If the thread cannot start, `queue` is dropped with the closure,
        // and every statement of this connection fails with `STOPPED`: a
        // backend error, and the connection leaves the pool.
        let _ = std::thread::Builder::new()
            .name("sqlite-connection".to_owned())
            .spawn(move || queue.into_iter().for_each(|task| task()));
        ConnectionThread { tasks }
    }
}

#[cfg(test)]
mod tests {
    use diesel::SqliteConnection;
    use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
    use diesel_async::AsyncConnection;

    use super::ConnectionThread;

    type Connection = SyncConnectionWrapper<SqliteConnection, ConnectionThread>;

    fn thread_of(
        connection: &mut Connection,
    ) -> impl std::future::Future<Output = std::thread::ThreadId> {
        let running = connection.spawn_blocking(|_| Ok(std::thread::current().id()));
        async move { running.await.expect("the connection's thread answers") }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_connection_runs_every_statement_on_one_thread_of_its_own() {
        let mut first = Connection::establish(":memory:").await.unwrap();
        let mut second = Connection::establish(":memory:").await.unwrap();
        let here = std::thread::current().id();
        let first_thread = thread_of(&mut first).await;
        for _ in 0..20 {
            assert_eq!(thread_of(&mut first).await, first_thread);
        }
        let second_thread = thread_of(&mut second).await;
        assert_ne!(first_thread, here, "never on an async worker");
        assert_ne!(first_thread, second_thread);
        let name = first
            .spawn_blocking(|_| Ok(std::thread::current().name().map(str::to_owned)))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("sqlite-connection"));
    }

    #[tokio::test]
    async fn the_thread_ends_with_its_connection() {
        let mut connection = Connection::establish(":memory:").await.unwrap();
        let (alive, ended) = std::sync::mpsc::channel::<()>();
        connection
            .spawn_blocking(move |_| {
                // Dropped when the thread unwinds its stack at the end.
                thread_local!(static GUARD: std::cell::RefCell<Option<std::sync::mpsc::Sender<()>>> =
                    const { std::cell::RefCell::new(None) });
                GUARD.with(|guard| *guard.borrow_mut() = Some(alive));
                Ok(())
            })
            .await
            .unwrap();
        drop(connection);
        let waited = ended.recv_timeout(std::time::Duration::from_secs(5));
        assert_eq!(waited, Err(std::sync::mpsc::RecvTimeoutError::Disconnected));
    }
}
