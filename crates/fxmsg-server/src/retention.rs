//! The pruner: what the server forgets, off the send path. Idempotency keys past their window,
//! events past their retention, and (with `--retain-messages-days`) old messages with their
//! inbox rows and the media no remaining message needs. Each runs oldest first, in small steps,
//! so a step's commit never holds sends up for long.

use std::sync::Arc;
use std::time::Duration;

use fxmsg_store::Store;
use object_store::ObjectStore;

use crate::clock::Clock;

/// Most rows deleted per pruning step. Keys sit at random places in their table, so each one
/// deleted can dirty a page of its own: 250 keep a step's commit short enough not to hold up sends,
/// and with [`PAUSE`] a pass still deletes up to 25,000 keys a second, above the send path's
/// sustained rate on the benchmark's machine.
const CHUNK: u32 = 250;
/// Pause between two steps of one pass.
const PAUSE: Duration = Duration::from_millis(10);

/// What the pruner keeps.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Time between passes.
    pub every: Duration,
    /// How long events are kept for streams to resume from.
    pub events: Duration,
    /// How long messages are kept; `None`: forever.
    pub messages: Option<Duration>,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Every `retention.every` (and whenever `now` is notified: the test clock moved), one pass over
/// each kind of old row. A pass with nothing to delete is an index lookup per table.
pub async fn run(
    store: Arc<dyn Store>,
    media: Arc<dyn ObjectStore>,
    clock: Arc<dyn Clock>,
    now: Arc<tokio::sync::Notify>,
    retention: Retention,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(retention.every) => {}
            () = now.notified() => {}
        }
        steps("idempotency keys", || {
            let before = clock.now_ms() - crate::routes::message::IDEMPOTENCY_WINDOW_MS;
            store.prune_idempotency_keys(before, CHUNK)
        })
        .await;
        steps("events", || {
            let before = clock.now_ms().saturating_sub(millis(retention.events));
            store.prune_events(before, CHUNK)
        })
        .await;
        if let Some(keep) = retention.messages {
            steps("messages", || async {
                let now = clock.now_ms();
                let pruned = store
                    .prune_messages(now.saturating_sub(millis(keep)), now, CHUNK)
                    .await?;
                for m in &pruned.media {
                    let key = object_store::path::Path::from(m.object_key.as_str());
                    if let Err(e) = media.delete(&key).await {
                        tracing::warn!(error = %e, media_id = %m.media_id, "removing a pruned medium's bytes");
                    }
                }
                Ok((pruned.messages, pruned.done))
            })
            .await;
        }
    }
}

/// Runs `step` until it reports nothing more to do (or fails, which is logged).
async fn steps<F, Fut>(what: &str, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = fxmsg_store::Result<(u64, bool)>>,
{
    loop {
        match step().await {
            Ok((_, true)) => break,
            Ok((_, false)) => tokio::time::sleep(PAUSE).await,
            Err(e) => {
                tracing::warn!(error = %e, "pruning {what} failed");
                break;
            }
        }
    }
}
