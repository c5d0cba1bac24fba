//! Group commit on a dedicated writer thread. The thread owns the only write connection
//! (synchronous `rusqlite`, so a statement is a function call rather than a hand-off to another
//! thread). It takes every write queued at the moment, runs each inside its own SAVEPOINT (a
//! failing write is rolled back alone), commits them in one transaction, and only then answers each
//! caller. Under load one fsync covers many requests; alone, a write commits immediately.

use std::path::Path;
use std::time::Duration;

use fxmsg_store::{Result, StoreError};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

/// Most writes committed by one transaction.
const MAX_BATCH: usize = 256;
/// Queued writes before callers wait for room.
const QUEUE: usize = 4096;

/// One queued write, type-erased so writes of every result type share the queue.
trait Job: Send {
    /// Runs the write; says whether it succeeded.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the transaction's fate is known.
    fn finish(self: Box<Self>, committed: Result<()>);
}

struct Typed<T, F> {
    write: Option<F>,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T> + Send + 'static,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let write = self.write.take().expect("a job runs once");
        let result = write(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<()>) {
        let answer = match (committed, self.result) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::Backend("the write did not run".into())),
        };
        let _ = self.reply.send(answer);
    }
}

/// The handle writes are sent through.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Opens the write connection on `path` (already migrated) and starts the writer thread.
    pub fn start(path: &Path) -> Result<Writer> {
        let conn = Connection::open(path).map_err(error)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(error)?;
        // Savepoint journals stay in memory; checkpoints run on their own thread, never inside a
        // commit batch, so a checkpoint cannot stall the requests waiting on that batch.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -32768;",
        )
        .map_err(error)?;
        conn.set_prepared_statement_cache_capacity(64);
        let checkpointer = Checkpointer::start(path)?;
        let (jobs, queue) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("fxmsg-writer".into())
            .spawn(move || run(conn, queue, checkpointer))
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Writer { jobs })
    }

    /// Queues `write` and returns its result after the transaction holding it has committed.
    pub async fn write<T, F>(&self, write: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Typed {
            write: Some(write),
            result: None,
            reply,
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::Backend("the writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the writer stopped before answering".into()))?
    }
}

fn run(conn: Connection, mut queue: mpsc::Receiver<Box<dyn Job>>, checkpointer: Checkpointer) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let committed = commit_batch(&conn, &mut batch);
        for job in batch.drain(..) {
            job.finish(committed.clone());
        }
        checkpointer.nudge();
    }
}

/// Least time between two checkpoints.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// A thread with its own connection that copies the WAL back into the database after writes, at
/// most every [`CHECKPOINT_EVERY`]. Passive checkpoints never block the writer or readers.
struct Checkpointer {
    wake: std::sync::mpsc::SyncSender<()>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer> {
        let conn = Connection::open(path).map_err(error)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(error)?;
        let (wake, nudges) = std::sync::mpsc::sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("fxmsg-checkpoint".into())
            .spawn(move || {
                while nudges.recv().is_ok() {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "checkpoint failed");
                    }
                    std::thread::sleep(CHECKPOINT_EVERY);
                }
            })
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Checkpointer { wake })
    }

    /// Asks for a checkpoint; a request already pending covers this one.
    fn nudge(&self) {
        let _ = self.wake.try_send(());
    }
}

fn commit_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(error)?;
    let exec = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map_err(error)
    };
    let outcome = (|| {
        for job in batch.iter_mut() {
            exec("SAVEPOINT job")?;
            if !job.run(conn) {
                exec("ROLLBACK TO job")?;
            }
            exec("RELEASE job")?;
        }
        exec("COMMIT").map(drop)
    })();
    if outcome.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    outcome
}

/// Maps a driver error: unique violations are conflicts, foreign-key violations a missing parent.
pub fn error(e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi;
    match &e {
        rusqlite::Error::SqliteFailure(f, message) => {
            let what = message.clone().unwrap_or_else(|| e.to_string());
            match f.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    StoreError::Conflict(what)
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => StoreError::NotFound(what),
                _ => StoreError::Backend(what),
            }
        }
        _ => StoreError::Backend(e.to_string()),
    }
}
