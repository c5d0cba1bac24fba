//! Group commit: one task owns the only write connection. It takes every write queued at the
//! moment, runs each inside its own SAVEPOINT (a failing write is rolled back alone), commits them
//! in one transaction, and only then answers each caller. Under load one fsync covers many
//! requests; alone, a write commits immediately.

use futures_util::future::BoxFuture;
use fxmsg_store::{Result, StoreError};
use sqlx::SqliteConnection;
use tokio::sync::{mpsc, oneshot};

use crate::backend;

/// Most writes committed by one transaction.
const MAX_BATCH: usize = 256;
/// Queued writes before callers wait for room.
const QUEUE: usize = 4096;

/// One queued write, type-erased so writes of every result type share the queue.
trait Job: Send {
    /// Runs the write on the connection; says whether it succeeded.
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool>;
    /// Answers the caller once the transaction's fate is known.
    fn finish(self: Box<Self>, committed: Result<(), StoreError>);
}

struct Typed<T, F> {
    write: Option<F>,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
{
    fn run<'c>(&'c mut self, conn: &'c mut SqliteConnection) -> BoxFuture<'c, bool> {
        let write = self.write.take().expect("a job runs once");
        Box::pin(async move {
            let result = write(conn).await;
            let ok = result.is_ok();
            self.result = Some(result);
            ok
        })
    }

    fn finish(self: Box<Self>, committed: Result<(), StoreError>) {
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
    /// Starts the writer task on `conn`.
    pub fn start(conn: SqliteConnection) -> Writer {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(conn, queue));
        Writer { jobs }
    }

    /// Queues `write` and returns its result after the transaction holding it has committed.
    pub async fn write<T, F>(&self, write: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
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

async fn run(mut conn: SqliteConnection, mut queue: mpsc::Receiver<Box<dyn Job>>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let committed = commit_batch(&mut conn, &mut batch).await;
        for job in batch.drain(..) {
            job.finish(committed.clone());
        }
    }
    let _ = sqlx::Connection::close(conn).await;
}

async fn commit_batch(conn: &mut SqliteConnection, batch: &mut [Box<dyn Job>]) -> Result<()> {
    exec(conn, "BEGIN IMMEDIATE").await?;
    let outcome = async {
        for job in batch.iter_mut() {
            exec(conn, "SAVEPOINT job").await?;
            if !job.run(conn).await {
                exec(conn, "ROLLBACK TO job").await?;
            }
            exec(conn, "RELEASE job").await?;
        }
        exec(conn, "COMMIT").await
    }
    .await;
    if outcome.is_err() {
        let _ = exec(conn, "ROLLBACK").await;
    }
    outcome
}

async fn exec(conn: &mut SqliteConnection, sql: &str) -> Result<()> {
    sqlx::query(sql)
        .execute(conn)
        .await
        .map(drop)
        .map_err(backend)
}
