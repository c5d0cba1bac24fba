//! Group commit on a dedicated writer thread. The thread owns the only write connection
//! (synchronous `rusqlite`, so a statement is a function call rather than a hand-off to another
//! thread). It takes every write queued at the moment, runs them in one transaction, and only after
//! the commit answers each caller (from a task on the runtime: see [`answers`]). Under load one
//! fsync covers many requests; alone, a write commits immediately. Before taking the queue the
//! thread yields once, so that handlers already runnable can add their writes to the same batch.
//!
//! While writes arrive concurrently (the previous batch held more than one), batches start at most
//! once per [`COMMIT_INTERVAL`]. Each commit has a fixed cost (about 140 µs of CPU on the
//! benchmark's VM: the fsync's own kernel work, WAL frames, thread switches) that a batch of a few
//! sends pays almost alone. Pacing commits at moderate load makes batches larger and the send
//! cheaper, at the price of up to one interval of added latency; a write alone is never delayed.
//!
//! A write that fails must not take the others down with it, nor commit half of its own changes.
//! Failures are rare (a constraint conflict on an admin call), so a batch first runs without
//! savepoints; if one of its writes fails, the transaction is rolled back and the batch runs again
//! with a SAVEPOINT around each write, so the failing one is undone alone.
//!
//! The WAL is kept bounded: see [`Checkpointer`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fxmsg_api::native::{Event, EventKind, Message};
use fxmsg_store::{LiveEvent, Result, StoreError};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use rusqlite::{Connection, Statement};
use tokio::sync::{broadcast, mpsc, oneshot};

use answers::Answers;

mod answers;

/// Most writes committed by one transaction.
const MAX_BATCH: usize = 256;
/// Queued writes before callers wait for room.
const QUEUE: usize = 4096;
/// Least time between the starts of two batches while writes arrive concurrently.
const COMMIT_INTERVAL: Duration = Duration::from_millis(1);
/// Committed events held for live subscribers by default; one that falls further behind catches
/// up from the store.
pub const EVENT_BUFFER: usize = 8192;

/// What a write runs against: the writer's connection (through `Deref`), the statements the
/// writer keeps prepared for as long as it runs, and the events the transaction logged.
pub struct Db<'c> {
    conn: &'c Connection,
    kept: Vec<(&'static str, Statement<'c>)>,
    /// Events logged by the running transaction: published once it commits, dropped if not.
    events: Vec<Pending>,
    /// Where committed events go; whether anyone listens decides if an event is built at once.
    publish: broadcast::Sender<Arc<LiveEvent>>,
    /// The last event number of each corp seen by this writer, and of all corps: the next ones
    /// are these plus one. Read from the log on first use and again after any rollback (see
    /// [`Db::forget_heads`]), so they always match what the transaction can see.
    heads: HashMap<String, i64>,
    global_head: Option<i64>,
}

/// An event logged by the running transaction, waiting for its commit: its numbers, and its
/// message when a stream listened as it was logged. When none did, nothing was copied; the event
/// is built from the log after the commit only if a stream has subscribed since.
struct Pending {
    global_seq: i64,
    seq: i64,
    kind: EventKind,
    message_seq: i64,
    open_user_id: Option<String>,
    at: i64,
    message_revoked_at: Option<i64>,
    message: Option<Message>,
}

impl<'c> Db<'c> {
    fn new(conn: &'c Connection, publish: broadcast::Sender<Arc<LiveEvent>>) -> Self {
        Db {
            conn,
            kept: Vec::new(),
            events: Vec::new(),
            publish,
            heads: HashMap::new(),
            global_head: None,
        }
    }

    /// The committed transaction's events as the streams get them, in log order.
    fn committed_events(&mut self) -> Vec<Arc<LiveEvent>> {
        let mut pending = std::mem::take(&mut self.events);
        let mut live = Vec::with_capacity(pending.len());
        for event in pending.drain(..) {
            let message = match event.message {
                Some(message) => message,
                // Nobody listened when it was logged, nor now: nothing to build.
                None if self.publish.receiver_count() == 0 => continue,
                None => match crate::messages::message_at(self.conn, event.message_seq) {
                    Ok(mut message) => {
                        message.revoked_at = event.message_revoked_at;
                        message
                    }
                    Err(e) => {
                        // The streams catch up from the log when they next look.
                        tracing::warn!(error = %e, "building a committed event failed");
                        continue;
                    }
                },
            };
            live.push(Arc::new(LiveEvent::new(Event {
                seq: event.seq,
                global_seq: event.global_seq,
                kind: event.kind,
                corp_id: message.corp_id.clone(),
                message_id: message.message_id.clone(),
                open_user_id: event.open_user_id,
                at: event.at,
                message,
            })));
        }
        self.events = pending;
        live
    }

    /// Drops the remembered event numbers: after a rollback they may count events that are gone.
    fn forget_heads(&mut self) {
        self.heads.clear();
        self.global_head = None;
    }

    /// Logs an event about `message` (stored as `message_seq`) in the running transaction. Its
    /// numbers are the next of its corp and of all corps. Only this thread writes events, so they
    /// are counted here rather than looked up per event (an `INSERT … RETURNING` with a `max()`
    /// subquery cost a send 45,000 instructions); a rollback makes the counts be read again, so
    /// a rolled-back write leaves no gap. Live subscribers get the event after the commit.
    pub fn log_event(
        &mut self,
        kind: EventKind,
        message: &Message,
        message_seq: i64,
        open_user_id: Option<&str>,
        at: i64,
    ) -> Result<()> {
        let global_seq = match self.global_head {
            Some(head) => head + 1,
            None => {
                self.kept(crate::messages::GLOBAL_HEAD)?
                    .query_row([], |r| r.get::<_, i64>(0))
                    .map_err(error)?
                    + 1
            }
        };
        let seq = match self.heads.get(&message.corp_id) {
            Some(head) => head + 1,
            None => {
                self.kept(crate::messages::CORP_HEAD)?
                    .query_row([&message.corp_id], |r| r.get::<_, i64>(0))
                    .map_err(error)?
                    + 1
            }
        };
        self.kept(
            "INSERT INTO events (global_seq, corp_id, seq, kind, message_seq, open_user_id,
                                 created_at, message_revoked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(rusqlite::params![
            global_seq,
            message.corp_id,
            seq,
            kind.as_str(),
            message_seq,
            open_user_id,
            at,
            message.revoked_at
        ])
        .map_err(error)?;
        self.global_head = Some(global_seq);
        match self.heads.get_mut(&message.corp_id) {
            Some(head) => *head = seq,
            None => {
                self.heads.insert(message.corp_id.clone(), seq);
            }
        }
        // A stream that subscribes before the commit still gets it: it is built then, from the
        // log. One that subscribes after reads the head, which holds it.
        let listening = self.publish.receiver_count() > 0;
        let pending = Pending {
            global_seq,
            seq,
            kind,
            message_seq,
            open_user_id: open_user_id.map(str::to_owned),
            at,
            message_revoked_at: message.revoked_at,
            message: listening.then(|| message.clone()),
        };
        self.events.push(pending);
        Ok(())
    }

    /// The statement for `sql` (a literal), prepared on its first use and then kept: for what
    /// every send runs. A hit compares one pointer per kept statement, where rusqlite's
    /// `prepare_cached` copies the SQL text into a new `Arc` and hashes it twice on every use
    /// (~1,900 instructions of a send's ~65,000 in the writer, three times per send).
    pub fn kept(&mut self, sql: &'static str) -> Result<&mut Statement<'c>> {
        // By address first; by text if the same SQL reached here from another literal.
        let found = self
            .kept
            .iter()
            .position(|(k, _)| std::ptr::eq(*k, sql))
            .or_else(|| self.kept.iter().position(|(k, _)| *k == sql));
        let at = match found {
            Some(at) => at,
            None => {
                let statement = self.conn.prepare(sql).map_err(error)?;
                self.kept.push((sql, statement));
                self.kept.len() - 1
            }
        };
        Ok(&mut self.kept[at].1)
    }
}

impl std::ops::Deref for Db<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

/// One queued write, type-erased so writes of every result type share the queue.
trait Job: Send {
    /// Runs the write and says whether it succeeded. Runs again if its batch is retried.
    fn run(&mut self, db: &mut Db<'_>) -> bool;
    /// Answers the caller once the transaction's fate is known.
    fn finish(self: Box<Self>, committed: Result<()>);
    /// When the write was queued.
    fn queued(&self) -> Instant;
}

struct Typed<T, F> {
    write: F,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
    queued: Instant,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: FnMut(&mut Db<'_>) -> Result<T> + Send + 'static,
{
    fn run(&mut self, db: &mut Db<'_>) -> bool {
        let result = (self.write)(db);
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

    fn queued(&self) -> Instant {
        self.queued
    }
}

/// What the writer thread is asked to do.
enum Request {
    /// Run a write in the next group commit.
    Write(Box<dyn Job>),
    /// Commit what is queued before this, copy the whole WAL back, stop, and then answer.
    Close(oneshot::Sender<Result<()>>),
}

/// The handle writes are sent through.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Request>,
    metrics: WriterMetrics,
    events: broadcast::Sender<Arc<LiveEvent>>,
}

/// What the writer and its checkpoint thread have done since they started. Each metric is shared:
/// clones count into the same values.
#[derive(Clone)]
pub struct WriterMetrics {
    /// Writes taken from the queue into batches (a retried batch counts its writes once).
    writes: Counter,
    /// Transactions committed.
    commits: Counter,
    /// Batches run again with a savepoint around each write, after one of their writes failed.
    retries: Counter,
    /// How long the oldest write of each batch waited in the queue before the batch took it.
    queue_wait_seconds: Histogram,
    /// From taking the queue to answering: the batch's statements, its commit and any catch-up.
    batch_seconds: Histogram,
    /// The writer's copies of the WAL's last stretch (see [`Checkpointer`]), commits waiting.
    catch_up_seconds: Histogram,
    /// Background checkpoint passes.
    passes: Counter,
}

impl Default for WriterMetrics {
    fn default() -> Self {
        // 0.125 ms to 64 ms: a batch alone takes a fraction of a millisecond, a stall several.
        let buckets = || Histogram::new(exponential_buckets(0.000_125, 2.0, 10));
        WriterMetrics {
            writes: Counter::default(),
            commits: Counter::default(),
            retries: Counter::default(),
            queue_wait_seconds: buckets(),
            batch_seconds: buckets(),
            catch_up_seconds: buckets(),
            passes: Counter::default(),
        }
    }
}

impl WriterMetrics {
    /// Adds every metric to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "writes",
            "Writes taken into group-commit batches",
            self.writes.clone(),
        );
        registry.register(
            "commits",
            "Group-commit transactions committed",
            self.commits.clone(),
        );
        registry.register(
            "batch_retries",
            "Batches run again with a savepoint per write after one write failed",
            self.retries.clone(),
        );
        registry.register_with_unit(
            "queue_wait",
            "How long the oldest write of each batch waited before the writer took it",
            Unit::Seconds,
            self.queue_wait_seconds.clone(),
        );
        registry.register_with_unit(
            "batch_duration",
            "Time from taking queued writes to answering them, commit and WAL catch-up included",
            Unit::Seconds,
            self.batch_seconds.clone(),
        );
        registry.register_with_unit(
            "wal_catch_up_duration",
            "Time the writer spent copying the WAL's last stretch back, commits waiting",
            Unit::Seconds,
            self.catch_up_seconds.clone(),
        );
        registry.register(
            "checkpoint_passes",
            "Background WAL checkpoint passes",
            self.passes.clone(),
        );
    }
}

impl Writer {
    /// [`Writer::start`] holding `event_buffer` committed events for live subscribers.
    pub fn start_buffering(path: &Path, event_buffer: usize) -> Result<Writer> {
        Writer::start_with(path, WalPolicy::default(), event_buffer)
    }

    /// Opens the write connection on `path` (already migrated) and starts the writer thread.
    #[cfg(test)]
    pub fn start(path: &Path) -> Result<Writer> {
        Writer::start_with(path, WalPolicy::default(), EVENT_BUFFER)
    }

    /// What this writer has done, to register for `/metrics`.
    pub fn metrics(&self) -> &WriterMetrics {
        &self.metrics
    }

    /// Committed events from now on, in commit order.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.events.subscribe()
    }

    /// [`Writer::start`] with a given WAL policy.
    fn start_with(path: &Path, wal: WalPolicy, event_buffer: usize) -> Result<Writer> {
        let conn = Connection::open(path).map_err(error)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(error)?;
        // Savepoint journals stay in memory. Automatic checkpoints are off: the Checkpointer
        // copies frames on its own thread and hands the writer only a short last stretch.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -32768;
             PRAGMA journal_size_limit = {};",
            wal.size_limit
        ))
        .map_err(error)?;
        conn.set_prepared_statement_cache_capacity(64);
        let metrics = WriterMetrics::default();
        let checkpointer = Checkpointer::start(path, wal, metrics.clone())?;
        let (jobs, queue) = mpsc::channel(QUEUE);
        let (events, _) = broadcast::channel(event_buffer.max(1));
        let (counting, publish) = (metrics.clone(), events.clone());
        let answers = Answers::start(events.clone());
        std::thread::Builder::new()
            .name("fxmsg-writer".into())
            .spawn(move || run(conn, queue, checkpointer, answers, counting, publish))?;
        Ok(Writer {
            jobs,
            metrics,
            events,
        })
    }

    /// Queues `write` and returns its result after the transaction holding it has committed.
    /// `write` may run more than once (see the module docs), always against the same state.
    pub async fn write<T, F>(&self, write: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Db<'_>) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Typed {
            write,
            result: None,
            reply,
            queued: Instant::now(),
        });
        self.jobs
            .send(Request::Write(job))
            .await
            .map_err(|_| StoreError::Backend("the writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the writer stopped before answering".into()))?
    }

    /// Commits every write queued before this call, checkpoints the whole WAL back into the
    /// database (outside any transaction, where a checkpoint can run) and stops the writer thread.
    /// Writes queued afterwards fail with "the writer has stopped". Closing twice is harmless.
    pub async fn close(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        if self.jobs.send(Request::Close(reply)).await.is_err() {
            return Ok(());
        }
        answer.await.unwrap_or(Ok(()))
    }
}

fn run(
    conn: Connection,
    mut queue: mpsc::Receiver<Request>,
    checkpointer: Checkpointer,
    answers: Answers,
    metrics: WriterMetrics,
    events: broadcast::Sender<Arc<LiveEvent>>,
) {
    let mut db = Db::new(&conn, events);
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    let mut previous = None;
    let mut closing = None;
    while let Some(first) = queue.blocking_recv() {
        match first {
            Request::Write(job) => batch.push(job),
            Request::Close(reply) => {
                closing = Some(reply);
                break;
            }
        }
        let pause = pause_before_batch(previous, Instant::now(), COMMIT_INTERVAL);
        if pause.is_zero() {
            // The first write woke this thread, usually while request handlers still had work
            // ready on the same core. Letting them run first means the batch takes their writes
            // too: one commit (and fsync) for all of them instead of one for the first and another
            // for the rest. When nothing else is runnable this returns at once.
            std::thread::yield_now();
        } else {
            std::thread::sleep(pause);
        }
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(Request::Write(job)) => batch.push(job),
                Ok(Request::Close(reply)) => {
                    closing = Some(reply);
                    break;
                }
                Err(_) => break,
            }
        }
        let taken = Instant::now();
        previous = Some((taken, batch.len()));
        metrics.writes.inc_by(batch.len() as u64);
        // Writes are taken in the order they were queued: the first one waited longest.
        metrics
            .queue_wait_seconds
            .observe((taken - batch[0].queued()).as_secs_f64());
        let committed = commit_batch(&mut db, &mut batch, &metrics);
        // Committed (or not) before anyone hears of it; in commit order, as the log numbers them.
        let events = match committed {
            Ok(()) => db.committed_events(),
            Err(_) => {
                db.events.clear();
                Vec::new()
            }
        };
        let jobs = std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH));
        answers.batch(jobs, committed, events);
        checkpointer.after_commit(&db);
        metrics.batch_seconds.observe(taken.elapsed().as_secs_f64());
        if closing.is_some() {
            break;
        }
    }
    // Queued behind the close, or sent after it: refused, never run half-way.
    queue.close();
    while let Ok(request) = queue.try_recv() {
        match request {
            Request::Write(job) => {
                job.finish(Err(StoreError::Backend("the writer has stopped".into())))
            }
            Request::Close(reply) => drop(reply.send(Ok(()))),
        }
    }
    checkpointer.stop();
    if let Some(reply) = closing {
        // After every batch's answers: a closed writer has answered everything it committed.
        answers.closed(reply, final_checkpoint(&db));
    }
}

/// Copies the whole WAL back and truncates it, so a stopped server leaves one self-contained
/// database file. Runs between transactions: inside one, SQLite refuses a checkpoint ("database
/// table is locked"), which is what the previous shutdown path ran into on every stop.
fn final_checkpoint(conn: &Connection) -> Result<()> {
    let (busy, wal, copied): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .map_err(error)?;
    if busy != 0 {
        return Err(StoreError::Backend(format!(
            "a reader kept the final checkpoint from finishing ({copied} of {wal} WAL frames copied)"
        )));
    }
    Ok(())
}

/// How long the writer waits before taking its queue, given when the previous batch was taken and
/// how many writes it held: under concurrent load until `interval` after the previous batch, and
/// otherwise not at all.
fn pause_before_batch(
    previous: Option<(Instant, usize)>,
    now: Instant,
    interval: Duration,
) -> Duration {
    match previous {
        Some((taken, writes)) if writes > 1 => (taken + interval).saturating_duration_since(now),
        _ => Duration::ZERO,
    }
}

fn commit_batch(
    db: &mut Db<'_>,
    batch: &mut [Box<dyn Job>],
    metrics: &WriterMetrics,
) -> Result<()> {
    let mut transaction = |db: &mut Db<'_>, savepoints: bool| {
        db.events.clear();
        if savepoints {
            // The first attempt was rolled back: its events are gone.
            db.forget_heads();
        }
        exec(db, "BEGIN IMMEDIATE")?;
        let outcome = (|| {
            for job in batch.iter_mut() {
                if !savepoints {
                    if !job.run(db) {
                        return Ok(false);
                    }
                    continue;
                }
                exec(db, "SAVEPOINT job")?;
                let logged = db.events.len();
                if !job.run(db) {
                    exec(db, "ROLLBACK TO job")?;
                    db.events.truncate(logged);
                    db.forget_heads();
                }
                exec(db, "RELEASE job")?;
            }
            exec(db, "COMMIT")?;
            metrics.commits.inc();
            Ok(true)
        })();
        if !matches!(outcome, Ok(true)) {
            let _ = db.execute_batch("ROLLBACK");
            db.forget_heads();
        }
        outcome
    };
    if transaction(db, false)? {
        return Ok(());
    }
    metrics.retries.inc();
    transaction(db, true).map(drop)
}

/// Runs one of the batch's own statements.
fn exec(db: &mut Db<'_>, sql: &'static str) -> Result<()> {
    db.kept(sql)?.execute([]).map(drop).map_err(error)
}

/// When the WAL starts over and how often it is checkpointed.
#[derive(Debug, Clone, Copy)]
struct WalPolicy {
    /// WAL frames (pages) after which the WAL should start over from its beginning.
    restart_frames: i64,
    /// Frames a pass may leave behind and still hand the last stretch to the writer.
    catch_up_frames: i64,
    /// Bytes a WAL file is cut back to when it starts over, after a burst made it grow.
    size_limit: i64,
    /// Most back-to-back passes before the checkpoint thread rests.
    max_passes: usize,
    /// Least time between two background checkpoints.
    every: Duration,
}

impl Default for WalPolicy {
    fn default() -> Self {
        WalPolicy {
            restart_frames: 4096,
            catch_up_frames: 256,
            size_limit: 64 << 20,
            max_passes: 8,
            every: Duration::from_millis(250),
        }
    }
}

/// Keeps the WAL small without stalling commits.
///
/// A thread with its own connection copies WAL frames back into the database (PASSIVE
/// checkpoints never block the writer or readers). That alone never lets the WAL start over
/// under sustained load: frames keep arriving while a pass runs, so the pass never catches up,
/// and the file grows without bound (by ~50 MB/s at full send load). So once the WAL is past
/// `restart_frames`, the thread runs passes back to back until one leaves at most
/// `catch_up_frames` behind, and asks the writer to copy that last stretch itself between
/// two batches, when nothing else is appending. The writer's next transaction then starts the WAL
/// over from its beginning, rewriting pages the OS already holds instead of growing the file.
struct Checkpointer {
    wake: std::sync::mpsc::SyncSender<()>,
    catch_up: Arc<AtomicBool>,
    metrics: WriterMetrics,
    /// Dropped to stop the thread; it also cuts the thread's rest between passes short.
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    fn start(path: &Path, policy: WalPolicy, metrics: WriterMetrics) -> Result<Checkpointer> {
        let conn = Connection::open(path).map_err(error)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(error)?;
        let database = sync_handle(path)?;
        let (wake, nudges) = std::sync::mpsc::sync_channel::<()>(1);
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let catch_up = Arc::new(AtomicBool::new(false));
        let (flag, passes) = (catch_up.clone(), metrics.passes.clone());
        let thread = std::thread::Builder::new()
            .name("fxmsg-checkpoint".into())
            .spawn(move || {
                lower_priority();
                // The WAL's (frames, frames copied) when the database was last synced here.
                let mut synced = (0, 0);
                while nudges.recv().is_ok() {
                    // Bounded: a long read pins old frames, and then no pass catches up.
                    for _ in 0..policy.max_passes {
                        passes.inc();
                        let (wal, copied) = match checkpoint(&conn) {
                            Ok(frames) => frames,
                            Err(e) => {
                                tracing::warn!(error = %e, "checkpoint failed");
                                break;
                            }
                        };
                        // SQLite syncs the database only in a pass that reaches the WAL's end,
                        // which under load is the writer's catch-up: its fsync would flush every
                        // page copied since the WAL last started over, with commits waiting.
                        // Flushing each pass's pages here leaves it only the last stretch's.
                        if copied > 0 && (wal, copied) != synced {
                            if let Err(e) = database.sync_data() {
                                tracing::warn!(error = %e, "syncing the database failed");
                            }
                            synced = (wal, copied);
                        }
                        if wal < policy.restart_frames {
                            break;
                        }
                        if wal - copied <= policy.catch_up_frames {
                            flag.store(true, Ordering::Release);
                            break;
                        }
                    }
                    // Rest, unless told to stop.
                    match stopped.recv_timeout(policy.every) {
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        _ => break,
                    }
                }
            })?;
        Ok(Checkpointer {
            wake,
            catch_up,
            metrics,
            stop,
            thread,
        })
    }

    /// Stops the thread after its current pass and waits for it, so that no other checkpoint
    /// holds SQLite's checkpoint lock when the writer runs its final one.
    fn stop(self) {
        drop(self.stop);
        drop(self.wake);
        let _ = self.thread.join();
    }

    /// Called by the writer between batches: copies the WAL's last stretch if asked to, and asks
    /// for a background pass (a request already pending covers this one).
    fn after_commit(&self, writer: &Connection) {
        if self.catch_up.swap(false, Ordering::Acquire) {
            let started = Instant::now();
            if let Err(e) = checkpoint(writer) {
                tracing::warn!(error = %e, "checkpoint failed");
            }
            self.metrics
                .catch_up_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        let _ = self.wake.try_send(());
    }
}

/// A read-only descriptor of the database file at `path`, for syncing it outside SQLite.
///
/// Never closed: closing any descriptor of a file releases every POSIX lock the process holds on
/// it, SQLite's included, and another process could then take the database for unused (SQLite's
/// own unix VFS defers its closes for the same reason). So there is one per file for the life of
/// the process, shared by every store opened on it.
fn sync_handle(path: &Path) -> std::io::Result<Arc<std::fs::File>> {
    static HANDLES: std::sync::Mutex<Vec<Arc<std::fs::File>>> = std::sync::Mutex::new(Vec::new());
    let wanted = file_identity(&std::fs::metadata(path)?);
    let mut handles = HANDLES.lock().unwrap_or_else(|e| e.into_inner());
    for handle in handles.iter() {
        if wanted.is_some() && file_identity(&handle.metadata()?) == wanted {
            return Ok(handle.clone());
        }
    }
    let handle = Arc::new(std::fs::File::open(path)?);
    handles.push(handle.clone());
    Ok(handle)
}

/// Device and inode of a file that still has a name (a deleted file's inode number can come back
/// for a new one); `None` where the platform does not say.
#[cfg(unix)]
fn file_identity(file: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    (file.nlink() > 0).then(|| (file.dev(), file.ino()))
}

#[cfg(not(unix))]
fn file_identity(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// Gives the calling thread the lowest CPU priority (nice 19), as RocksDB does for its compaction
/// threads. Copying frames back is background work: while request handlers or the writer are
/// runnable on the same core they go first, and the thread copies in the core's idle time. Were it
/// to fall behind under a long burst, the WAL only grows for that while; the writer's catch-up
/// runs at normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // On Linux a nice value belongs to the thread: process id 0 means the calling thread.
    if let Err(e) = rustix::process::setpriority_process(None, 19) {
        tracing::debug!(error = %e, "could not lower the checkpoint thread's priority");
    }
}

/// A PASSIVE checkpoint: (frames in the WAL, frames copied into the database so far).
fn checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

/// Maps a driver error: unique violations are conflicts, foreign-key violations a missing parent.
pub fn error(e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi;
    match &e {
        rusqlite::Error::SqliteFailure(f, message) => {
            let what = message.clone().unwrap_or_else(|| e.to_string());
            match f.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    StoreError::Conflict(crate::taken_field(&what))
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                    StoreError::NotFound(fxmsg_store::UNKNOWN_REFERENCE.into())
                }
                _ if f.code == rusqlite::ErrorCode::DiskFull => StoreError::Full(what),
                _ => StoreError::Backend(what),
            }
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(dir: &tempfile::TempDir) -> std::path::PathBuf {
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL);",
        )
        .unwrap();
        path
    }

    fn ids(path: &Path) -> Vec<i64> {
        let conn = Connection::open(path).unwrap();
        let mut s = conn.prepare("SELECT id FROM t ORDER BY id").unwrap();
        let rows = s.query_map([], |r| r.get(0)).unwrap();
        rows.map(|r| r.unwrap()).collect()
    }

    /// A kept statement is prepared once, found again by the same SQL whichever literal it comes
    /// from, and can run again after each use.
    #[test]
    fn kept_statements_are_prepared_once_and_reused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .unwrap();
        let mut db = Db::new(&conn, broadcast::channel(1).0);
        const INSERT: &str = "INSERT INTO t (id) VALUES (?1)";
        for id in 1..=3 {
            db.kept(INSERT).unwrap().execute([id]).unwrap();
        }
        // The same text at another address, as another literal could be.
        let elsewhere: &'static str = Box::leak(INSERT.to_owned().into_boxed_str());
        db.kept(elsewhere).unwrap().execute([4]).unwrap();
        let count = "SELECT count(*) FROM t";
        for _ in 0..2 {
            let n: i64 = db.kept(count).unwrap().query_row([], |r| r.get(0)).unwrap();
            assert_eq!(n, 4);
        }
        assert_eq!(db.kept.len(), 2);
        // A statement that fails is reported, not kept.
        assert!(db.kept("INSERT INTO missing VALUES (1)").is_err());
        assert_eq!(db.kept.len(), 2);
    }

    /// One sync handle per database file, kept across reopening; a new file at the same path gets
    /// its own.
    #[test]
    fn a_database_file_has_one_sync_handle() {
        let dir = tempfile::tempdir().unwrap();
        let path = table(&dir);
        let first = sync_handle(&path).unwrap();
        assert!(Arc::ptr_eq(&first, &sync_handle(&path).unwrap()));
        let elsewhere = tempfile::tempdir().unwrap();
        assert!(!Arc::ptr_eq(
            &first,
            &sync_handle(&table(&elsewhere)).unwrap()
        ));
        std::fs::remove_file(&path).unwrap();
        let path = table(&dir);
        assert!(!Arc::ptr_eq(&first, &sync_handle(&path).unwrap()));
    }

    /// The checkpoint thread runs at the lowest priority, and only it: the writer and the request
    /// handlers keep theirs.
    #[cfg(target_os = "linux")]
    #[test]
    fn only_the_checkpoint_thread_runs_at_low_priority() {
        let dir = tempfile::tempdir().unwrap();
        let _writer = Writer::start(&table(&dir)).unwrap();
        // (name, nice) of every thread of this process, from /proc.
        let threads = || -> Vec<(String, i64)> {
            let tasks = std::fs::read_dir("/proc/self/task").unwrap();
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("stat")).ok())
                .map(|stat| {
                    // The name is in parentheses and may hold spaces; fields follow the last ')'.
                    let (head, rest) = stat.rsplit_once(')').unwrap();
                    let name = head.split_once('(').unwrap().1.to_owned();
                    let nice = rest.split_whitespace().nth(16).unwrap().parse().unwrap();
                    (name, nice)
                })
                .collect()
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !threads()
            .iter()
            .any(|(name, nice)| name.starts_with("fxmsg-checkpoin") && *nice == 19)
        {
            assert!(Instant::now() < deadline, "no checkpoint thread at nice 19");
            std::thread::yield_now();
        }
        // Whatever the test runner's own nice value, the writer shares it.
        let own = i64::from(rustix::process::getpriority_process(None).unwrap());
        for (name, nice) in threads() {
            if name.starts_with("fxmsg-writer") {
                assert_eq!(nice, own, "the writer thread's priority changed");
            }
        }
    }

    /// Closing commits what was queued before it, leaves an empty WAL (the whole log copied back,
    /// which a checkpoint inside a transaction could never do), and refuses later writes.
    #[tokio::test]
    async fn close_commits_the_queue_and_checkpoints_the_whole_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = table(&dir);
        let writer = Writer::start(&path).unwrap();
        let writes: Vec<_> = (1..=50)
            .map(|id| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    writer
                        .write(move |db| {
                            db.execute("INSERT INTO t (id, body) VALUES (?1, zeroblob(5000))", [id])
                                .map(drop)
                                .map_err(error)
                        })
                        .await
                })
            })
            .collect();
        for write in writes {
            write.await.unwrap().unwrap();
        }
        let wal = dir.path().join("w.db-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        writer.close().await.unwrap();
        assert_eq!(std::fs::metadata(&wal).map_or(0, |m| m.len()), 0);
        assert_eq!(ids(&path).len(), 50);
        let late = writer.write(|_| Ok(())).await;
        assert!(matches!(late, Err(StoreError::Backend(m)) if m.contains("stopped")));
        writer.close().await.unwrap();
    }

    /// Batches are paced only while writes arrive together, and never beyond the interval.
    #[test]
    fn commits_are_paced_only_under_concurrent_writes() {
        let (t, ms) = (Instant::now(), Duration::from_millis(1));
        let us = Duration::from_micros;
        // A write after idle, or after a batch of one, goes at once.
        assert_eq!(pause_before_batch(None, t, ms), Duration::ZERO);
        assert_eq!(
            pause_before_batch(Some((t, 1)), t + us(100), ms),
            Duration::ZERO
        );
        // After a batch of several, the next one waits out the rest of the interval...
        assert_eq!(pause_before_batch(Some((t, 2)), t + us(300), ms), us(700));
        assert_eq!(pause_before_batch(Some((t, 256)), t, ms), ms);
        // ...and not at all once it has passed.
        assert_eq!(pause_before_batch(Some((t, 2)), t + ms, ms), Duration::ZERO);
        assert_eq!(
            pause_before_batch(Some((t, 9)), t + us(4000), ms),
            Duration::ZERO
        );
    }

    /// A failing write in a batch is undone alone, including what it wrote before failing; the
    /// others in the same transaction commit.
    #[tokio::test]
    async fn a_failing_write_is_undone_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = table(&dir);
        let writer = Writer::start(&path).unwrap();
        // Hold the writer inside a first batch until the next writes are all queued, so they form
        // one batch together.
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel::<()>();
        let hold = std::sync::Mutex::new(hold);
        let holding = tokio::spawn({
            let writer = writer.clone();
            async move {
                writer
                    .write(move |_| {
                        let _ = started.send(());
                        let _ = hold.lock().unwrap().recv();
                        Ok(())
                    })
                    .await
            }
        });
        let insert = |id: i64, fail: bool| {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .write(move |c| {
                        c.execute("INSERT INTO t (id, body) VALUES (?1, x'00')", [id])
                            .map_err(error)?;
                        if fail {
                            return Err(StoreError::Conflict("refused after writing".into()));
                        }
                        Ok(id)
                    })
                    .await
            })
        };
        tokio::task::spawn_blocking(move || running.recv_timeout(Duration::from_secs(10)))
            .await
            .unwrap()
            .expect("the holding write started");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let tasks = [insert(1, false), insert(2, true), insert(3, false)];
        while QUEUE - writer.jobs.capacity() < tasks.len() {
            assert!(
                std::time::Instant::now() < deadline,
                "the writes were never queued"
            );
            tokio::task::yield_now().await;
        }
        let queued_by = Instant::now();
        tokio::task::yield_now().await;
        let released = Instant::now();
        release.send(()).unwrap();
        holding.await.unwrap().unwrap();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        assert!(matches!(results[0], Ok(1)));
        assert!(matches!(results[1], Err(StoreError::Conflict(_))));
        assert!(matches!(results[2], Ok(3)));
        assert_eq!(ids(&path), [1, 3]);
        // Two batches (the holding write, then the three), the second committed only on its retry.
        let metrics = writer.metrics();
        assert_eq!(metrics.writes.get(), 4);
        assert_eq!(metrics.commits.get(), 2);
        assert_eq!(metrics.retries.get(), 1);
        // A batch's duration is recorded after its callers are answered (it includes any WAL
        // catch-up that follows), so the second one may land just after the answers.
        while metrics.batch_seconds.count() < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the second batch's duration was never recorded"
            );
            tokio::task::yield_now().await;
        }
        assert_eq!(metrics.batch_seconds.count(), 2);
        // The three waited in the queue at least until the first batch was released.
        assert_eq!(metrics.queue_wait_seconds.count(), 2);
        assert!(metrics.queue_wait_seconds.sum() >= (released - queued_by).as_secs_f64());
    }

    /// Under writes that never pause, the WAL still starts over instead of growing with every
    /// byte written.
    #[tokio::test]
    async fn the_wal_stays_bounded_under_sustained_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = table(&dir);
        let policy = WalPolicy {
            restart_frames: 64,
            catch_up_frames: 16,
            size_limit: 1 << 20,
            max_passes: 8,
            every: Duration::from_millis(5),
        };
        let writer = Writer::start_with(&path, policy, EVENT_BUFFER).unwrap();
        let wal = dir.path().join("w.db-wal");
        let row = 16 * 1024;
        let rows = 1280; // 20 MB in all
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..8 {
            let writer = writer.clone();
            tasks.spawn(async move {
                for n in 0..rows / 8 {
                    let id = worker * rows + n;
                    writer
                        .write(move |c| {
                            c.execute(
                                "INSERT INTO t (id, body) VALUES (?1, zeroblob(?2))",
                                [id as i64, row as i64],
                            )
                            .map(drop)
                            .map_err(error)
                        })
                        .await
                        .unwrap();
                }
            });
        }
        let mut largest_wal = 0;
        while !tasks.is_empty() {
            tokio::select! {
                _ = tasks.join_next() => {}
                () = tokio::time::sleep(Duration::from_millis(2)) => {}
            }
            let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
            largest_wal = largest_wal.max(size);
        }
        assert_eq!(ids(&path).len(), rows);
        let written = (rows * row) as u64;
        assert!(
            largest_wal < written / 4,
            "the WAL reached {largest_wal} bytes for {written} bytes written"
        );
        // The WAL started over through the writer's catch-ups, counted for `/metrics`.
        let metrics = writer.metrics();
        assert!(metrics.catch_up_seconds.count() > 0);
        assert!(metrics.passes.get() > 0);
        assert_eq!(metrics.writes.get(), rows as u64);
    }

    /// A WAL that one large transaction grew past `journal_size_limit` is cut back to it once the
    /// WAL starts over.
    #[tokio::test]
    async fn a_grown_wal_is_cut_back_to_the_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = table(&dir);
        let limit = 256 * 1024;
        let policy = WalPolicy {
            restart_frames: 64,
            catch_up_frames: 16,
            size_limit: limit,
            max_passes: 8,
            every: Duration::from_millis(5),
        };
        let writer = Writer::start_with(&path, policy, EVENT_BUFFER).unwrap();
        let insert = |id: i64, bytes: i64| {
            let writer = writer.clone();
            async move {
                writer
                    .write(move |c| {
                        c.execute(
                            "INSERT INTO t (id, body) VALUES (?1, zeroblob(?2))",
                            [id, bytes],
                        )
                        .map(drop)
                        .map_err(error)
                    })
                    .await
                    .unwrap()
            }
        };
        // One transaction of 4 MB: the WAL must hold all of it at once.
        insert(0, 4 << 20).await;
        let wal = dir.path().join("w.db-wal");
        let size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
        assert!(size() > 4 << 20, "the burst did not grow the WAL");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut id = 1;
        while size() > limit as u64 {
            assert!(
                std::time::Instant::now() < deadline,
                "the WAL stayed at {} bytes",
                size()
            );
            insert(id, 100).await;
            id += 1;
        }
    }
}
