//! Sends committed together: the PostgreSQL counterpart of the SQLite writer's batches.
//!
//! A send's last step takes the event heads, rows every event writer in every node updates, and
//! holds them until its commit has reached the disk. One send per transaction therefore makes
//! sends wait on each other's fsync, one at a time, whatever the pool's size. Here workers take
//! the sends that are waiting (up to [`MAX_BATCH`]) and run them in one transaction: first every
//! send's own writes (message, key, inbox rows), then every event, then one commit. The heads
//! are held once per batch, for its events alone, and one fsync covers the batch.
//!
//! Each send is answered exactly as on its own. A send answered without a new message (a retry,
//! a missing medium) leaves nothing written in the batch. If any statement of the batch fails
//! before the commit (a deadlock with another node, say), the batch is rolled back and each of its
//! sends runs again in a transaction of its own, so a failure is only ever its own send's.

use std::sync::Arc;

use fxmsg_store::{IdempotencyKey, InsertOutcome, NewMessage, Result, StoreError};
use prometheus_client::metrics::counter::Counter;
use sqlx::postgres::PgPool;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::db;
use crate::messages::{self, Staged};

/// Most sends in one transaction.
pub(crate) const MAX_BATCH: usize = 64;
/// Workers running batches at once: one's own writes overlap another's events and commit.
const WORKERS: usize = 4;

struct Job {
    new: NewMessage,
    key: Option<IdempotencyKey>,
    reply: oneshot::Sender<Result<InsertOutcome>>,
}

/// The queue of sends; workers end when it is dropped.
pub(crate) struct Batcher {
    jobs: mpsc::Sender<Job>,
    /// Transactions that committed sends, and the sends they committed.
    pub(crate) counts: Counts,
}

/// What the batches did.
#[derive(Clone, Default)]
pub(crate) struct Counts {
    /// Transactions that committed at least one send.
    pub(crate) commits: Counter,
    /// Sends those transactions handled (in a batch, its answered retries too).
    pub(crate) sends: Counter,
    /// Batches rolled back and run again one send at a time.
    pub(crate) retried: Counter,
}

impl Batcher {
    /// Starts the workers on the current runtime.
    pub(crate) fn start(pool: PgPool) -> Batcher {
        let (jobs, queue) = mpsc::channel(4 * MAX_BATCH);
        let queue = Arc::new(Mutex::new(queue));
        let counts = Counts::default();
        for _ in 0..WORKERS {
            tokio::spawn(work(pool.clone(), queue.clone(), counts.clone()));
        }
        Batcher { jobs, counts }
    }

    /// Stores a send (see [`messages::insert`]) in the next batch.
    pub(crate) async fn insert(
        &self,
        new: NewMessage,
        key: Option<IdempotencyKey>,
    ) -> Result<InsertOutcome> {
        let stopped = || StoreError::Backend("the store is closed".into());
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { new, key, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn work(pool: PgPool, queue: Arc<Mutex<mpsc::Receiver<Job>>>, counts: Counts) {
    loop {
        let mut batch = Vec::new();
        {
            let mut queue = queue.lock().await;
            // What is waiting now: no send waits for others to arrive.
            if queue.recv_many(&mut batch, MAX_BATCH).await == 0 {
                return;
            }
        }
        run(&pool, batch, &counts).await;
    }
}

async fn run(pool: &PgPool, batch: Vec<Job>, counts: &Counts) {
    if batch.len() > 1 {
        match together(pool, &batch).await {
            Ok(outcomes) => {
                counts.commits.inc();
                counts.sends.inc_by(batch.len() as u64);
                for (job, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
                return;
            }
            // The commit's outcome is unknown (it may have reached the disk before the
            // connection failed): running the sends again could store them twice.
            Err(Failed::Commit(e)) => {
                for job in batch {
                    let _ = job.reply.send(Err(StoreError::Backend(format!(
                        "committing a batch of sends: {e}"
                    ))));
                }
                return;
            }
            Err(Failed::Before(e)) => {
                counts.retried.inc();
                tracing::debug!(error = %e, sends = batch.len(), "a batch of sends failed; each runs alone");
            }
        }
    }
    for job in batch {
        let outcome = messages::insert(pool, &job.new, job.key.as_ref()).await;
        if matches!(outcome, Ok(InsertOutcome::Inserted)) {
            counts.commits.inc();
            counts.sends.inc();
        }
        let _ = job.reply.send(outcome);
    }
}

/// Why a batch did not commit.
enum Failed {
    /// A statement before the commit failed: nothing was committed.
    Before(StoreError),
    /// The commit failed: whether it took effect is unknown.
    Commit(StoreError),
}

impl From<StoreError> for Failed {
    fn from(e: StoreError) -> Self {
        Failed::Before(e)
    }
}

/// The batch in one transaction, or why not.
async fn together(pool: &PgPool, batch: &[Job]) -> std::result::Result<Vec<InsertOutcome>, Failed> {
    let mut tx = pool.begin().await.map_err(db)?;
    let mut staged = Vec::with_capacity(batch.len());
    for job in batch {
        staged.push(messages::stage(&mut tx, &job.new, job.key.as_ref()).await?);
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    for (job, staged) in batch.iter().zip(staged) {
        outcomes.push(match staged {
            Staged::Written(seq) => {
                messages::log_message(&mut tx, &job.new.message, seq).await?;
                InsertOutcome::Inserted
            }
            Staged::Answered(outcome) => outcome,
        });
    }
    tx.commit().await.map_err(|e| Failed::Commit(db(e)))?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use fxmsg_store::conformance::{key, message, replayed, seed};
    use fxmsg_store::{EventScope, Store};

    use super::*;
    use crate::testing::TempDatabase;
    use crate::PgStore;

    /// Jobs for `run`, and the receivers of their answers.
    fn jobs(
        sends: Vec<(NewMessage, Option<IdempotencyKey>)>,
    ) -> (Vec<Job>, Vec<oneshot::Receiver<Result<InsertOutcome>>>) {
        sends
            .into_iter()
            .map(|(new, key)| {
                let (reply, answer) = oneshot::channel();
                (Job { new, key, reply }, answer)
            })
            .unzip()
    }

    async fn answers(
        receivers: Vec<oneshot::Receiver<Result<InsertOutcome>>>,
    ) -> Vec<Result<InsertOutcome>> {
        let mut out = Vec::new();
        for r in receivers {
            out.push(r.await.expect("every send is answered"));
        }
        out
    }

    /// Every event of every corp, checked for gaps.
    async fn global_log(store: &PgStore) -> Vec<fxmsg_api::native::Event> {
        let events = store.events_after(&EventScope::All, 0, 1000).await.unwrap();
        let numbers: Vec<i64> = events.iter().map(|e| e.global_seq).collect();
        assert_eq!(numbers, (1..=events.len() as i64).collect::<Vec<_>>());
        for corp in ["C1", "C2"] {
            let mine = store
                .events_after(&EventScope::Corp(corp.into()), 0, 1000)
                .await
                .unwrap();
            let numbers: Vec<i64> = mine.iter().map(|e| e.seq).collect();
            assert_eq!(
                numbers,
                (1..=mine.len() as i64).collect::<Vec<_>>(),
                "{corp}"
            );
        }
        events
    }

    #[tokio::test]
    async fn a_batch_commits_once_and_answers_each_send_as_it_would_alone() {
        let database = TempDatabase::new().await;
        let store = PgStore::open(database.url(), 1024).await.unwrap();
        seed(&store).await;
        let mut cover = message("cover", "C1", &["UC10"], 4);
        cover.media_ids = vec!["no-such-image".into()];
        let (batch, receivers) = jobs(vec![
            (message("a", "C1", &["UC10", "UC11"], 1), None),
            (message("k1", "C2", &["UC20"], 2), Some(key("k", 7))),
            (message("b", "C2", &["UC21"], 3), None),
            // A retry of the send two places up, in the same transaction.
            (message("k2", "C2", &["UC20"], 5), Some(key("k", 7))),
            (cover, None),
            (message("c", "C1", &["UC12"], 6), None),
        ]);
        let counts = Counts::default();
        run(&store.pool, batch, &counts).await;
        let answers = answers(receivers).await;
        assert!(matches!(answers[0], Ok(InsertOutcome::Inserted)));
        assert!(matches!(answers[1], Ok(InsertOutcome::Inserted)));
        assert!(matches!(answers[2], Ok(InsertOutcome::Inserted)));
        let retry = answers[3].as_ref().unwrap();
        assert_eq!(replayed(retry), Some(([7; 32], "k1")), "{retry:?}");
        assert!(
            matches!(&answers[4], Ok(InsertOutcome::MissingMedia(m)) if m == "no-such-image"),
            "{:?}",
            answers[4]
        );
        assert!(matches!(answers[5], Ok(InsertOutcome::Inserted)));
        assert_eq!(
            (
                counts.commits.get(),
                counts.sends.get(),
                counts.retried.get()
            ),
            (1, 6, 0)
        );

        // Only the four new messages exist, with events numbered in the batch's order.
        let events = global_log(&store).await;
        let ids: Vec<&str> = events.iter().map(|e| e.message_id.as_str()).collect();
        assert_eq!(ids, ["a", "k1", "b", "c"]);
        for gone in ["k2", "cover"] {
            assert!(store.message(None, gone).await.unwrap().is_none(), "{gone}");
        }
        let inbox = store.inbox("C1", "UC11", None, 10).await.unwrap().0;
        assert_eq!(inbox.len(), 1);
    }

    #[tokio::test]
    async fn a_send_that_fails_in_a_batch_fails_alone_and_the_others_commit() {
        let database = TempDatabase::new().await;
        let store = PgStore::open(database.url(), 1024).await.unwrap();
        seed(&store).await;
        store
            .insert_message(message("taken", "C1", &["UC10"], 1), None)
            .await
            .unwrap();
        let (batch, receivers) = jobs(vec![
            (message("d", "C1", &["UC10"], 2), Some(key("j", 1))),
            // Its message id is taken: the whole transaction fails on it.
            (message("taken", "C1", &["UC11"], 3), None),
            (message("e", "C2", &["UC20"], 4), Some(key("j", 1))),
            (message("f", "C1", &["UC12"], 5), None),
        ]);
        let counts = Counts::default();
        run(&store.pool, batch, &counts).await;
        let answers = answers(receivers).await;
        assert!(matches!(answers[0], Ok(InsertOutcome::Inserted)));
        assert!(
            matches!(&answers[1], Err(StoreError::Conflict(_))),
            "{:?}",
            answers[1]
        );
        // Another app's key of the same name is another key.
        assert!(matches!(answers[2], Ok(InsertOutcome::Inserted)));
        assert!(matches!(answers[3], Ok(InsertOutcome::Inserted)));
        assert_eq!(
            (
                counts.commits.get(),
                counts.sends.get(),
                counts.retried.get()
            ),
            (3, 3, 1)
        );
        let ids: Vec<String> = global_log(&store)
            .await
            .into_iter()
            .map(|e| e.message_id)
            .collect();
        assert_eq!(ids, ["taken", "d", "e", "f"]);
        let detail = store.message(None, "taken").await.unwrap().unwrap();
        assert_eq!(detail.message.recipients, ["UC10"]);
    }

    #[tokio::test]
    async fn sends_that_arrive_together_share_commits() {
        let database = TempDatabase::new().await;
        let store = Arc::new(PgStore::open(database.url(), 1024).await.unwrap());
        seed(&*store).await;
        let sends: Vec<_> = (0..200)
            .map(|i| {
                let store = store.clone();
                let corp = if i % 2 == 0 { "C1" } else { "C2" };
                let user = format!("U{corp}{}", i % 3);
                tokio::spawn(async move {
                    store
                        .insert_message(message(&format!("m{i}"), corp, &[&user], i), None)
                        .await
                })
            })
            .collect();
        for send in sends {
            assert_eq!(send.await.unwrap().unwrap(), InsertOutcome::Inserted);
        }
        let counts = &store.sends.counts;
        assert_eq!(counts.sends.get(), 200);
        assert!(
            counts.commits.get() < 200,
            "{} commits for 200 sends",
            counts.commits.get()
        );
        assert_eq!(global_log(&store).await.len(), 200);
    }
}
