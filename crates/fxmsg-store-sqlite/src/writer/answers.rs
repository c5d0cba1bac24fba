//! Where a committed batch's callers are answered and its events published.
//!
//! Answering a caller wakes its request handler. From the writer thread every wake is a hand-off
//! into the runtime from outside it: a lock on the runtime's shared queue, and often a syscall
//! to wake a parked worker, for each of a batch's sends. So the writer hands the whole batch to
//! one task on the runtime instead, and that task answers the callers there, where a wake is a
//! push onto the worker's own queue: one cross-thread wake per batch rather than one per send.
//! Without a runtime (the writer was started outside one, or the runtime has stopped), the
//! writer answers on its own thread as before.

use std::sync::Arc;

use fxmsg_store::{LiveEvent, Result};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::Job;

/// What the answering task is handed, in commit order.
enum Answer {
    /// A batch's outcome: its callers first, then the streams.
    Batch {
        jobs: Vec<Box<dyn Job>>,
        committed: Result<()>,
        events: Vec<Arc<LiveEvent>>,
    },
    /// The writer has stopped: answered after every batch before it.
    Closed(oneshot::Sender<Result<()>>, Result<()>),
}

/// The writer's side: answers through the runtime's task when there is one.
pub(super) struct Answers {
    task: Option<mpsc::UnboundedSender<Answer>>,
    publish: broadcast::Sender<Arc<LiveEvent>>,
}

impl Answers {
    /// Spawns the answering task on the runtime this is called in, if any.
    pub(super) fn start(publish: broadcast::Sender<Arc<LiveEvent>>) -> Answers {
        let task = tokio::runtime::Handle::try_current().ok().map(|runtime| {
            let (task, mut answers) = mpsc::unbounded_channel();
            let publish = publish.clone();
            runtime.spawn(async move {
                while let Some(answer) = answers.recv().await {
                    deliver(answer, &publish);
                }
            });
            task
        });
        Answers { task, publish }
    }

    /// Answers a batch's callers with its outcome, then publishes its events.
    pub(super) fn batch(
        &self,
        jobs: Vec<Box<dyn Job>>,
        committed: Result<()>,
        events: Vec<Arc<LiveEvent>>,
    ) {
        self.send(Answer::Batch {
            jobs,
            committed,
            events,
        });
    }

    /// Answers a close, after everything handed over before it.
    pub(super) fn closed(&self, reply: oneshot::Sender<Result<()>>, outcome: Result<()>) {
        self.send(Answer::Closed(reply, outcome));
    }

    fn send(&self, answer: Answer) {
        let answer = match &self.task {
            Some(task) => match task.send(answer) {
                Ok(()) => return,
                // The runtime has stopped: answer here.
                Err(mpsc::error::SendError(answer)) => answer,
            },
            None => answer,
        };
        deliver(answer, &self.publish);
    }
}

fn deliver(answer: Answer, publish: &broadcast::Sender<Arc<LiveEvent>>) {
    match answer {
        Answer::Batch {
            jobs,
            committed,
            events,
        } => {
            // The callers first: their handlers then run before the streams' fan-out, which
            // with a thousand streams takes milliseconds of the core.
            for job in jobs {
                job.finish(committed.clone());
            }
            for event in events {
                // No receiver is not an error: nobody is listening.
                let _ = publish.send(event);
            }
        }
        Answer::Closed(reply, outcome) => {
            let _ = reply.send(outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::super::{Db, Typed};
    use super::*;

    /// A job whose write already ran and gave `value`, and where its answer arrives.
    fn job(value: u32) -> (Box<dyn Job>, oneshot::Receiver<Result<u32>>) {
        let (reply, answer) = oneshot::channel();
        let job = Typed {
            write: |_: &mut Db<'_>| Ok(0u32),
            result: Some(Ok(value)),
            reply,
            queued: Instant::now(),
        };
        (Box::new(job), answer)
    }

    /// Started outside a runtime, the writer answers on its own thread, at once.
    #[test]
    fn without_a_runtime_callers_are_answered_at_once() {
        let answers = Answers::start(broadcast::channel(1).0);
        let (job, mut answer) = job(7);
        answers.batch(vec![job], Ok(()), Vec::new());
        assert_eq!(answer.try_recv().unwrap().unwrap(), 7);
    }

    /// On a runtime, a batch is answered by its task, and a close only after every batch handed
    /// over before it; a failed commit fails each of its callers.
    #[tokio::test]
    async fn on_a_runtime_batches_are_answered_in_order_before_the_close() {
        let answers = Answers::start(broadcast::channel(1).0);
        let (first, mut first_answer) = job(1);
        let (second, mut second_answer) = job(2);
        answers.batch(vec![first], Ok(()), Vec::new());
        answers.batch(
            vec![second],
            Err(fxmsg_store::StoreError::Backend("disk".into())),
            Vec::new(),
        );
        let (reply, closed) = oneshot::channel();
        // From another thread, as the writer hands them over.
        std::thread::scope(|s| {
            s.spawn(|| answers.closed(reply, Ok(())));
        });
        closed.await.unwrap().unwrap();
        assert_eq!(first_answer.try_recv().unwrap().unwrap(), 1);
        assert!(second_answer.try_recv().unwrap().is_err());
    }

    /// Once the runtime has stopped, the writer answers on its own thread again.
    #[test]
    fn after_the_runtime_stops_callers_are_answered_by_the_writer() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let answers = runtime.block_on(async { Answers::start(broadcast::channel(1).0) });
        drop(runtime);
        let (job, mut answer) = job(3);
        answers.batch(vec![job], Ok(()), Vec::new());
        assert_eq!(answer.try_recv().unwrap().unwrap(), 3);
    }
}
